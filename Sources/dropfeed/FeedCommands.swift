import DropfeedCore
import Foundation

/// `plan`, `run` and `validate`: the feed described by `dropfeed.json`.
enum FeedCommands {
    static let planHelp = """
        usage: dropfeed plan [--config FILE] [--target NAME]... [--json] [--out DIR]
                             [--allow-deletes N] [--allow-updates N] [--allow-shrink]

        The dry run: reads the source, maps it for each target, diffs against what each target last
        received and applies the safety gates, then prints who would be added, updated and removed.
        Never connects to a server and never changes state. With --out DIR it writes the files it
        would deliver into DIR/<target>/.

        options:
          --config FILE       the feed config (default: dropfeed.json)
          --target NAME       only this target (repeatable)
          --json              print the JSON report on stdout
          --out DIR           keep the files it would send
          --allow-deletes N   plan as if up to N deletes per target were approved
          --allow-updates N   plan as if up to N updates per target were approved
          --allow-shrink      plan as if a source that failed minRows or maxShrinkPercent were approved
        """

    static let runHelp = """
        usage: dropfeed run [--config FILE] [--target NAME]... [--json] [--report FILE]
                            [--allow-deletes N] [--allow-updates N] [--allow-shrink]

        Does the whole job: finishes any delivery an earlier run left half done, reads the source once,
        maps and diffs each target, stops a target a safety gate trips on, writes and delivers its files,
        and only then moves its snapshot. Targets are independent: one failing does not stop the others.

        options:
          --config FILE       the feed config (default: dropfeed.json)
          --target NAME       only this target (repeatable)
          --json              print the JSON report on stdout
          --report FILE       also write the JSON report to FILE
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
        let valued: Set<String> =
            command == .plan
            ? ["--config", "--target", "--out", "--allow-deletes", "--allow-updates"]
            : ["--config", "--target", "--report", "--allow-deletes", "--allow-updates"]
        let a = try Arguments(
            args, command: command.rawValue, valued: valued, switches: ["--json", "--allow-shrink"])
        guard a.positionals.isEmpty else {
            throw UsageError("unexpected argument `\(a.positionals[0])`", command: command.rawValue)
        }
        let configPath = a.value("--config") ?? "dropfeed.json"
        let cwd = FileManager.default.currentDirectoryPath
        let options = RunOptions(
            command: command, targets: a.all("--target"), allowDeletes: try a.count("--allow-deletes"),
            allowUpdates: try a.count("--allow-updates"), allowShrink: a.has("--allow-shrink"),
            outDir: a.value("--out").map { absolutePath($0, relativeTo: cwd) })
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
        Output.note(report.text)
        return report.exitCode
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
