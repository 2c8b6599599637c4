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

        example:
          dropfeed plan --out /tmp/preview && less /tmp/preview/acme-lms/changes.csv
        """

    static let runHelp = """
        usage: dropfeed run [--config FILE] [--target NAME]... [--json] [--report FILE]
                            [--allow-deletes N] [--allow-updates N] [--allow-shrink]
                            [--metrics FILE] [--on-success CMD] [--on-held CMD] [--on-failure CMD]
                            [--hook-timeout SECONDS]
                            [--wait-lock SECONDS] [-q | -v] [--progress] [--log-format text|json]
               dropfeed run --plan PLAN [--config FILE] [--target NAME]... [--json] [--report FILE] ...

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
          --metrics FILE      write the run's figures for node_exporter's textfile collector
                              (Prometheus text format, written atomically; targets that did not run
                              keep their last values)
          --on-success CMD, --on-held CMD, --on-failure CMD
                              run CMD (split into words, no shell) after a run that exited 0, 3, or
                              anything else, with the JSON report on its stdin; its failure is
                              reported and never changes the exit code
          --hook-timeout SECONDS
                              stop a hook still running after SECONDS (default 60)
          --wait-lock SECONDS wait up to SECONDS for another run's lock instead of exiting 75 at once
          -q, --quiet         print only errors      -v, --verbose   add per-phase timings
          --progress          show progress even when stderr is not a terminal
          --log-format json   stderr as JSON lines (time, level, runId, event, target, counts, durations)

        Every run appends a line to STATEDIR/history.jsonl and keeps its report in STATEDIR/runs/
        (see `dropfeed history`). A report, metrics or history file that cannot be written exits 73,
        saying whether the delivery itself succeeded.

        exit codes: 0 ok, 3 a target held by a gate, 65 bad source, 66 source missing, 69 delivery failed,
        73 state (or the report or metrics file) not writable or corrupt, 75 another run holds the lock,
        78 bad config.

        examples:
          dropfeed run --config /etc/dropfeed/dropfeed.json --quiet --metrics /var/lib/node_exporter/dropfeed.prom
          dropfeed run --on-failure 'mail -s "dropfeed failed" ops@example.com'
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
            : [
                "--config", "--target", "--report", "--plan", "--allow-deletes", "--allow-updates", "--metrics",
                "--on-success", "--on-held", "--on-failure", "--hook-timeout", "--wait-lock",
            ]
        let switches: Set<String> =
            command == .plan ? ["--json", "--allow-shrink", "--exit-code"] : ["--json", "--allow-shrink"]
        let a = try Arguments(args, command: command.rawValue, valued: valued, switches: switches)
        guard a.positionals.isEmpty else {
            throw UsageError("unexpected argument `\(a.positionals[0])`", command: command.rawValue)
        }
        if a.value("--plan") != nil {
            let approvals =
                ["--allow-deletes", "--allow-updates"].filter { a.value($0) != nil }
                + (a.has("--allow-shrink") ? ["--allow-shrink"] : [])
            if let first = approvals.first {
                throw UsageError(
                    "\(first) cannot be given with --plan: a saved plan's gates were decided when it was made (give \(first) to `dropfeed plan --save`)",
                    command: "run")
            }
        }
        var hookTimeout = 60.0
        if let raw = a.value("--hook-timeout") {
            guard let seconds = Double(raw), seconds > 0, seconds.isFinite else {
                throw UsageError("--hook-timeout takes a number of seconds, not `\(raw)`", command: "run")
            }
            hookTimeout = seconds
        }
        var hooks: [Hook] = []
        for (flag, event) in [("--on-success", Hook.Event.success), ("--on-held", .held), ("--on-failure", .failure)] {
            for command in a.all(flag) {
                _ = try Hook.split(command)
                hooks.append(Hook(event: event, command: command, timeoutSeconds: hookTimeout))
            }
        }
        let waitLock = try a.seconds("--wait-lock", command: "run") ?? 0
        let configPath = a.value("--config") ?? ConfigFile.defaultPath
        let cwd = FileManager.default.currentDirectoryPath
        var options = RunOptions(
            command: command, targets: a.all("--target"), allowDeletes: try a.count("--allow-deletes"),
            allowUpdates: try a.count("--allow-updates"), allowShrink: a.has("--allow-shrink"),
            outDir: a.value("--out").map { absolutePath($0, relativeTo: cwd) },
            savePlan: a.value("--save").map { absolutePath($0, relativeTo: cwd) },
            applyPlan: a.value("--plan").map { absolutePath($0, relativeTo: cwd) })
        options.lockWaitSeconds = waitLock
        if let explain {
            options.explain = (explain.target, splitKey(explain.key))
        }
        let clock = RunClock.now()
        Output.runId = clock.runId
        let started = Date()
        let report: RunReport
        var config: FeedConfig?
        do {
            let loaded = try ConfigFile.load(configPath)
            config = loaded
            let events = RunEvents(sourcePath: loaded.source.path)
            RunEvents.current = events
            options.observer = events
            report = FeedRunner(config: loaded, options: options, clock: clock, drops: DeliveryDrops()).execute()
            events.finish()
            RunEvents.current = nil
        } catch {
            // A script reading --json or --report gets a report, whatever failed.
            guard a.has("--json") || a.value("--report") != nil else { throw error }
            var failed = RunReport(command: command.rawValue, runId: clock.runId, startedAt: clock.iso, sourcePath: "")
            failed.error = "\(error)"
            failed.errorCode = ExitCode(for: error)
            report = failed
        }
        let json = report.json.rendered(indent: 2) + "\n"
        var exit = report.exitCode
        if a.has("--exit-code"), exit == .success, report.wouldSend { exit = .differences }
        var unwritten: [String] = []
        if let path = a.value("--report") {
            do {
                try Data(json.utf8).write(
                    to: URL(fileURLWithPath: absolutePath(path, relativeTo: cwd)), options: .atomic)
            } catch {
                unwritten.append("cannot write the report to \(path): \(error.localizedDescription)")
            }
        }
        if command == .run, let config {
            unwritten += RunRecord(
                config: config, report: report, reportJSON: Array(json.utf8), appliedPlan: options.applyPlan != nil,
                seconds: Date().timeIntervalSince(started),
                exitCode: unwritten.isEmpty || exit > .cannotCreate ? exit : .cannotCreate
            ).save(metricsPath: a.value("--metrics").map { absolutePath($0, relativeTo: cwd) })
        }
        if a.has("--json") { Output.stdout(json) }
        if let explanation = report.explanation { Output.stdout(explanation + "\n") }
        let runExit = exit
        if !unwritten.isEmpty && ExitCode.cannotCreate > exit { exit = .cannotCreate }
        RunSummary.print(report, exitCode: exit, seconds: Date().timeIntervalSince(started))
        let outcome =
            runExit == .success
            ? "the delivery itself succeeded" : "the run itself exited \(runExit.rawValue) (see the summary above)"
        for line in unwritten { Output.error("dropfeed \(command.rawValue): \(line); \(outcome)") }
        let event = Hook.event(for: exit)
        let secrets = Set(
            (config?.targets ?? []).flatMap { t -> [String] in
                guard case .sftp(let s) = t.deliver else { return [] }
                return [s.passphraseEnv, s.passwordEnv].compactMap { $0 }
            })
        for hook in hooks where hook.event == event {
            if let failure = hook.run(report: Array(json.utf8), runId: report.runId, exitCode: exit, secrets: secrets) {
                Output.error("dropfeed \(command.rawValue): the --on-\(event.rawValue) hook failed: \(failure)")
            }
        }
        return exit
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
}

/// The drops the executable can build: local folders (the core) and SFTP.
struct DeliveryDrops: DropProvider {
    func drop(for target: TargetConfig) throws -> FileDrop {
        if case .sftp(let settings) = target.deliver { return SFTPDrop(settings: settings) }
        return try DirectoryDropProvider().drop(for: target)
    }
}
