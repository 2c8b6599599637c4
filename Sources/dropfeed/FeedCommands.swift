import DropfeedCore
import Foundation

/// `plan`, `run` and `validate`: the feed described by `dropfeed.json`.
enum FeedCommands {
    static let planHelp = """
        usage: dropfeed plan [--config FILE] [--target NAME]... [--json] [--out DIR] [--save PLAN]
                             [--explain TARGET KEY] [--exit-code]
                             [--allow-deletes N] [--allow-updates N] [--allow-shrink]

        The dry run: reads the source, maps it for each target, diffs against what each target last
        received and applies the safety gates, then prints who would be added, updated and removed.
        Never connects to a server and never changes state. With --out DIR it writes the files it
        would deliver into DIR/<target>/, with DIR/<target>/changes.csv: one line per changed column
        (action, key, column, before, after). With --save PLAN it keeps the plan itself, for
        `dropfeed run --plan PLAN` to deliver exactly those bytes later.

        options:
          --config FILE       the feed config (default: dropfeed.json)
          --target NAME       only this target (repeatable)
          --json              print the JSON report on stdout
          --out DIR           keep the files it would send, and changes.csv
          --save PLAN         save the plan (a folder, 0700) for `run --plan PLAN`
          --explain TARGET KEY
                              print one row's story: its source line, its values before and after,
                              and which source columns make the change (a key of several columns:
                              the values separated by commas)
          --exit-code         exit 1 when anything would be sent, 0 when nothing would
          --allow-deletes N   plan as if up to N deletes per target were approved
          --allow-updates N   plan as if up to N updates per target were approved
          --allow-shrink      plan as if a source that failed minRows or maxShrinkPercent were approved
        """

    static let runHelp = """
        usage: dropfeed run [--config FILE] [--target NAME]... [--json] [--report FILE]
                            [--allow-deletes N] [--allow-updates N] [--allow-shrink]
               dropfeed run --plan PLAN [--config FILE] [--target NAME]... [--json] [--report FILE]

        Does the whole job: finishes any delivery an earlier run left half done, reads the source once,
        maps and diffs each target, stops a target a safety gate trips on, writes and delivers its files,
        and only then moves its snapshot. Targets are independent: one failing does not stop the others.

        options:
          --config FILE       the feed config (default: dropfeed.json)
          --target NAME       only this target (repeatable)
          --json              print the JSON report on stdout
          --report FILE       also write the JSON report to FILE
          --plan PLAN         deliver a plan saved by `plan --save PLAN`: exactly its files, then
                              exactly its snapshot, without reading the source again; refused
                              (exit 65) when the source, config, a mapping or a target's state moved
                              since (its gates were decided when it was made: give --allow-* there)
          --allow-deletes N   approve up to N deletes per target for this run (releases delete gates)
          --allow-updates N   approve up to N updates per target for this run (releases maxUpdatePercent)
          --allow-shrink      approve a source that failed minRows, maxShrinkPercent or the
                              empty-export default, for this run

        exit codes: 0 ok, 3 a target held by a gate, 65 bad source, 66 source missing, 69 delivery failed,
        73 state not writable or corrupt, 75 another run holds the lock, 78 bad config.
        """

    static let validateHelp = """
        usage: dropfeed validate [--config FILE]

        Checks the config, every mapping (unknown keys, unknown source columns, bad regular expressions,
        bad date patterns, templates naming missing columns) and the source header, and prints every
        problem with its file and JSON path. Exit 0 when all is well, 78 otherwise.
        """

    static func plan(_ args: [String]) throws -> ExitCode {
        try feed(args, command: .plan)
    }

    static func run(_ args: [String]) throws -> ExitCode {
        try feed(args, command: .run)
    }

    private static func feed(_ args: [String], command: RunOptions.Command) throws -> ExitCode {
        var args = args
        var explain: (target: String, key: String)?
        if command == .plan, let i = args.firstIndex(of: "--explain") {
            guard i + 2 < args.count else {
                throw UsageError("--explain needs a target and a key: --explain TARGET KEY", command: "plan")
            }
            explain = (args[i + 1], args[i + 2])
            args.removeSubrange(i...(i + 2))
        }
        let valued: Set<String> =
            command == .plan
            ? ["--config", "--target", "--out", "--save", "--allow-deletes", "--allow-updates"]
            : ["--config", "--target", "--report", "--plan", "--allow-deletes", "--allow-updates"]
        let switches: Set<String> = command == .plan ? ["--json", "--allow-shrink", "--exit-code"] : ["--json", "--allow-shrink"]
        let a = try Arguments(args, command: command.rawValue, valued: valued, switches: switches)
        guard a.positionals.isEmpty else {
            throw UsageError("unexpected argument `\(a.positionals[0])`", command: command.rawValue)
        }
        if a.value("--plan") != nil {
            let approvals = ["--allow-deletes", "--allow-updates"].filter { a.value($0) != nil }
                + (a.has("--allow-shrink") ? ["--allow-shrink"] : [])
            if let first = approvals.first {
                throw UsageError(
                    "\(first) cannot be given with --plan: a saved plan's gates were decided when it was made (give \(first) to `dropfeed plan --save`)",
                    command: "run")
            }
        }
        let configPath = a.value("--config") ?? "dropfeed.json"
        let cwd = FileManager.default.currentDirectoryPath
        var options = RunOptions(
            command: command, targets: a.all("--target"), allowDeletes: try a.count("--allow-deletes"),
            allowUpdates: try a.count("--allow-updates"), allowShrink: a.has("--allow-shrink"),
            outDir: a.value("--out").map { absolutePath($0, relativeTo: cwd) },
            savePlan: a.value("--save").map { absolutePath($0, relativeTo: cwd) },
            applyPlan: a.value("--plan").map { absolutePath($0, relativeTo: cwd) })
        if let explain {
            options.explain = (explain.target, splitKey(explain.key))
        }
        let clock = RunClock.now()
        let report: RunReport
        do {
            let config = try FeedConfig.load(path: configPath)
            report = FeedRunner(config: config, options: options, clock: clock, drops: DeliveryDrops()).execute()
        } catch {
            // A script reading --json or --report gets a report, whatever failed.
            guard a.has("--json") || a.value("--report") != nil else { throw error }
            var failed = RunReport(command: command.rawValue, runId: clock.runId, startedAt: clock.iso, sourcePath: "")
            failed.error = "\(error)"
            failed.errorCode = ExitCode(for: error)
            report = failed
        }
        let json = report.json.rendered(indent: 2) + "\n"
        if let path = a.value("--report") {
            do {
                try Data(json.utf8).write(
                    to: URL(fileURLWithPath: absolutePath(path, relativeTo: cwd)), options: .atomic)
            } catch {
                Output.note("dropfeed run: cannot write the report to \(path): \(error.localizedDescription)")
            }
        }
        if a.has("--json") { Output.stdout(json) }
        if let explanation = report.explanation { Output.stdout(explanation + "\n") }
        Output.note(report.text)
        if a.has("--exit-code"), report.exitCode == .success, report.wouldSend {
            return .differences
        }
        return report.exitCode
    }

    /// `--explain TARGET KEY`: the key's values, separated by commas (`\,` for a comma inside a value).
    static func splitKey(_ raw: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var escaped = false
        for c in raw {
            if escaped {
                current.append(c)
                escaped = false
            } else if c == "\\" {
                escaped = true
            } else if c == "," {
                parts.append(current)
                current = ""
            } else {
                current.append(c)
            }
        }
        parts.append(current)
        return parts
    }

    static func validate(_ args: [String]) throws -> ExitCode {
        let a = try Arguments(args, command: "validate", valued: ["--config"], switches: [])
        guard a.positionals.isEmpty else {
            throw UsageError("unexpected argument `\(a.positionals[0])`", command: "validate")
        }
        let path = a.value("--config") ?? "dropfeed.json"
        let (config, problems) = FeedValidation.check(configPath: path)
        if problems.isEmpty, let config {
            Output.stdout(
                "\(path): ok — source \(config.source.displayPath), \(config.targets.count) target\(config.targets.count == 1 ? "" : "s"): "
                    + config.targets.map(\.name).joined(separator: ", ") + "\n")
            return .success
        }
        Output.stdout(problems.map(\.description).joined(separator: "\n") + "\n")
        Output.note("\(problems.count) problem\(problems.count == 1 ? "" : "s") found")
        return .config
    }
}

/// The drops the executable can build: local folders (the core) and SFTP.
struct DeliveryDrops: DropProvider {
    func drop(for target: TargetConfig) throws -> FileDrop {
        if case .sftp(let settings) = target.deliver { return SFTPDrop(settings: settings) }
        return try DirectoryDropProvider().drop(for: target)
    }
}
