import DropfeedCore

/// `dropfeed state list | show TARGET | reset TARGET | rollback TARGET`.
enum StateCommand {
    static let help = """
        usage: dropfeed state list | show TARGET | reset TARGET | rollback TARGET   [--config FILE] [--json]

          list              every target with the run that last delivered to it
          show TARGET       the snapshot in force: run, time, rows, columns, files it sent; earlier snapshots
          reset TARGET      forget the snapshot: the next run sends every row again (as adds)
          rollback TARGET   restore the snapshot before the current one (the vendor lost a file: the
                            next delta sends its changes again); after a reset, restores the newest

        reset and rollback take the state lock (exit 75 while a run holds it).
        """

    static func run(_ args: [String]) throws -> ExitCode {
        let a = try Arguments(args, command: "state", valued: ["--config"], switches: ["--json"])
        guard let action = a.positionals.first else {
            throw UsageError("state needs list, show, reset or rollback", command: "state")
        }
        let config = try FeedConfig.load(path: a.value("--config") ?? "dropfeed.json")
        let names = config.targets.map(\.name)
        func target() throws -> TargetState {
            guard a.positionals.count == 2 else { throw UsageError("state \(action) needs a TARGET", command: "state") }
            let name = a.positionals[1]
            guard names.contains(name) else { throw UnknownTargetError(name: name, known: names) }
            return TargetState(stateDir: config.stateDir, target: name)
        }
        switch action {
        case "list":
            guard a.positionals.count == 1 else { throw UsageError("state list takes no target", command: "state") }
            var rows: [JSON] = []
            var lines: [String] = []
            for name in names {
                let state = TargetState(stateDir: config.stateDir, target: name)
                let current = try state.currentRunId()
                let meta = try current.map { try state.meta(runId: $0) }
                let pending = try state.pendingJournal()
                rows.append(
                    .object([
                        ("name", .string(name)),
                        ("runId", current.map(JSON.string) ?? .null),
                        ("time", meta.map { .string($0.time) } ?? .null),
                        ("rows", meta.map { .int($0.rows) } ?? .null),
                        ("pending", pending.map { .string($0.runId) } ?? .null),
                    ]))
                var line = name.padding(toLength: max(20, name.count + 2), withPad: " ", startingAt: 0)
                if let meta {
                    line += "last delivered \(meta.time) (run \(meta.runId)), \(meta.rows) rows"
                } else {
                    line += "no snapshot (the next run sends everything)"
                }
                if let pending { line += "; delivery of run \(pending.runId) pending" }
                lines.append(line)
            }
            Output.stdout(
                a.has("--json") ? JSON.array(rows).rendered(indent: 2) + "\n" : lines.joined(separator: "\n") + "\n")
            return .success
        case "show":
            let state = try target()
            guard let current = try state.currentRunId() else {
                Output.stdout("\(state.name): no snapshot (the next run sends everything)\n")
                return .success
            }
            let meta = try state.meta(runId: current)
            let earlier = state.generations().filter { $0 < current }
            if a.has("--json") {
                Output.stdout(
                    JSON.object([
                        ("name", .string(state.name)), ("runId", .string(meta.runId)), ("time", .string(meta.time)),
                        ("rows", .int(meta.rows)), ("seq", .int(meta.seq)),
                        ("columns", .array(meta.columns.map(JSON.string))),
                        ("key", .array(meta.key.map(JSON.string))),
                        (
                            "files",
                            .array(
                                meta.files.map {
                                    .object([
                                        ("name", .string($0.name)), ("rows", .int($0.rows)), ("bytes", .int($0.bytes)),
                                        ("sha256", .string($0.sha256)),
                                    ])
                                })
                        ),
                        ("earlier", .array(earlier.map(JSON.string))),
                    ]).rendered(indent: 2) + "\n")
            } else {
                var text = """
                    target   \(state.name)
                    run      \(meta.runId) at \(meta.time) (seq \(meta.seq))
                    rows     \(meta.rows)
                    key      \(meta.key.joined(separator: ", "))
                    columns  \(meta.columns.joined(separator: ", "))

                    """
                text +=
                    "files    "
                    + (meta.files.isEmpty
                        ? "none"
                        : meta.files.map {
                            "\($0.name) (\($0.rows) rows, \($0.bytes) bytes, sha256 \($0.sha256.prefix(16))…)"
                        }.joined(separator: "\n         ")) + "\n"
                text += "earlier  " + (earlier.isEmpty ? "none" : earlier.reversed().joined(separator: ", ")) + "\n"
                Output.stdout(text)
            }
            return .success
        case "reset":
            let state = try target()
            let lock = try StateLock(stateDir: config.stateDir)
            try state.reset()
            withExtendedLifetime(lock) {}
            Output.note(
                "\(state.name): snapshot forgotten; the next run sends every row as an add (undo with `dropfeed state rollback \(state.name)`)"
            )
            return .success
        case "rollback":
            let state = try target()
            let lock = try StateLock(stateDir: config.stateDir)
            let restored = try state.rollback()
            withExtendedLifetime(lock) {}
            Output.note(
                "\(state.name): restored the snapshot of run \(restored); the next run sends what changed since then")
            return .success
        default:
            throw UsageError("unknown state action `\(action)` (list, show, reset, rollback)", command: "state")
        }
    }
}
