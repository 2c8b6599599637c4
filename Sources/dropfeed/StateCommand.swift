import DropfeedCore

/// `dropfeed state list | show | reset | rollback | pending | discard | export`.
enum StateCommand {
    static let help = """
        usage: dropfeed state list | show TARGET | reset TARGET | rollback TARGET
                              | pending TARGET | discard TARGET | export TARGET   [--config FILE] [--json]
                              [--wait-lock SECONDS]

          list              every target with the run that last delivered to it, and its last
                            success and last failure (from the run history)
          show TARGET       the snapshot in force: run, time, rows, columns, files it sent; earlier snapshots
          reset TARGET      forget the snapshot: the next run sends every row again (as adds)
          rollback TARGET   restore the snapshot before the current one (the vendor lost a file: the
                            next delta sends its changes again); after a reset, restores the newest
          pending TARGET    the delivery an interrupted run left: its run, files sent and not yet sent
          discard TARGET    drop that delivery when it cannot complete (say the vendor already has a
                            file of that name): the snapshot stays where it was and the next run
                            computes its changes again
          export TARGET     what the vendor has now: the snapshot's rows as CSV in the target's
                            dialect (with a header), or JSON Lines with --json, on stdout

        reset, rollback and discard take the state lock: exit 75 while a run holds it, or wait up to
        SECONDS for it with --wait-lock SECONDS.

        example:
          dropfeed state pending acme-lms && dropfeed state discard acme-lms
        """

    static func run(_ args: [String]) throws -> ExitCode {
        let a = try Arguments(args, command: "state", valued: ["--config", "--wait-lock"], switches: ["--json"])
        let waitLock = try a.seconds("--wait-lock", command: "state") ?? 0
        guard let action = a.positionals.first else {
            throw UsageError("state needs list, show, reset, rollback, pending, discard or export", command: "state")
        }
        let config = try ConfigFile.load(a.value("--config"))
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
            let outcomes = (try? RunHistory(stateDir: config.stateDir).lastOutcomes()) ?? [:]
            func brief(_ entry: HistoryEntry?, _ name: String) -> JSON {
                guard let entry, let t = entry.target(name) else { return .null }
                return .object([
                    ("runId", .string(entry.runId)), ("time", .string(entry.startedAt)), ("status", .string(t.status)),
                ])
            }
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
                        ("lastSuccess", brief(outcomes[name]?.success, name)),
                        ("lastFailure", brief(outcomes[name]?.failure, name)),
                    ]))
                var line = name.padding(toLength: max(20, name.count + 2), withPad: " ", startingAt: 0)
                if let meta {
                    line += "last delivered \(meta.time) (run \(meta.runId)), \(meta.rows) rows"
                } else {
                    line += "no snapshot (the next run sends everything)"
                }
                if let pending { line += "; delivery of run \(pending.runId) pending" }
                if let success = outcomes[name]?.success { line += "; last success \(success.startedAt)" }
                if let failure = outcomes[name]?.failure, let t = failure.target(name) {
                    line += "; last failure \(failure.startedAt) (\(t.status), run \(failure.runId))"
                }
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
        case "pending":
            let state = try target()
            guard let journal = try state.pendingJournal() else {
                if a.has("--json") {
                    Output.stdout("null\n")
                } else {
                    Output.stdout("\(state.name): no pending delivery\n")
                }
                return .success
            }
            if a.has("--json") {
                Output.stdout(
                    JSON.object([
                        ("name", .string(state.name)), ("runId", .string(journal.runId)),
                        ("time", .string(journal.time)),
                        (
                            "files",
                            .array(
                                journal.files.map {
                                    .object([
                                        ("name", .string($0.name)), ("bytes", .int($0.bytes)),
                                        ("sha256", .string($0.sha256)), ("delivered", .bool($0.delivered == true)),
                                    ])
                                })
                        ),
                    ]).rendered(indent: 2) + "\n")
            } else {
                var text = "\(state.name): delivery of run \(journal.runId) (\(journal.time)) pending\n"
                for f in journal.files {
                    text += "  \(f.delivered == true ? "sent    " : "not sent") \(f.name) (\(f.bytes) bytes)\n"
                }
                text +=
                    "the next `dropfeed run` sends what is not sent and commits its snapshot; if it cannot complete, `dropfeed state discard \(state.name)` drops it\n"
                Output.stdout(text)
            }
            return .success
        case "discard":
            let state = try target()
            let store = StateStore(stateDir: config.stateDir, lockWaitSeconds: waitLock)
            let lock = try store.lock()
            let dropped = try store.discardPending(target: state.name)
            withExtendedLifetime(lock) {}
            if let dropped {
                Output.note(
                    "\(state.name): dropped the pending delivery of run \(dropped.runId) (\(dropped.remaining.count) of \(dropped.files.count) files not sent); the snapshot stays where it was and the next run computes its changes again"
                )
            } else {
                Output.note("\(state.name): no pending delivery")
            }
            return .success
        case "export":
            let name = try target().name
            let t = config.targets.first { $0.name == name }!
            let rows = try SnapshotExport.export(
                target: t, stateDir: config.stateDir, format: a.has("--json") ? .json : .csv
            ) { Output.stdout(bytes: $0) }
            if let rows {
                Output.note("\(name): \(rows) rows (the snapshot in force)")
            } else {
                Output.note("\(name): no snapshot (the next run sends everything)")
            }
            return .success
        case "reset":
            let state = try target()
            let store = StateStore(stateDir: config.stateDir, lockWaitSeconds: waitLock)
            let lock = try store.lock()
            try store.reset(target: state.name)
            withExtendedLifetime(lock) {}
            Output.note(
                "\(state.name): snapshot forgotten; the next run sends every row as an add (undo with `dropfeed state rollback \(state.name)`)"
            )
            return .success
        case "rollback":
            let state = try target()
            let store = StateStore(stateDir: config.stateDir, lockWaitSeconds: waitLock)
            let lock = try store.lock()
            let restored = try store.rollback(target: state.name)
            withExtendedLifetime(lock) {}
            Output.note(
                "\(state.name): restored the snapshot of run \(restored); the next run sends what changed since then")
            return .success
        default:
            throw UsageError(
                "unknown state action `\(action)` (list, show, reset, rollback, pending, discard, export)",
                command: "state")
        }
    }
}
