import DropfeedCore
import Foundation

/// `dropfeed history [--target T] [--json] [--limit N]` and `dropfeed history show RUNID`.
enum HistoryCommand {
    static let help = """
        usage: dropfeed history [--config FILE] [--target NAME]... [--limit N] [--json]
               dropfeed history show RUNID [--config FILE]

        Lists past runs, newest first (20 unless --limit says otherwise): when each started, how
        long it took, its exit code, and per target its status and counts. `show RUNID` prints the
        full JSON report of one run. Every `run` (and `run --plan`) appends its line to
        STATEDIR/history.jsonl (rotated to history.jsonl.1 past 4 MB) and keeps its report in
        STATEDIR/runs/ (the last 100).

        options:
          --config FILE   the feed config (default: dropfeed.json)
          --target NAME   only runs that ran this target, showing it only (repeatable)
          --limit N       at most N runs (0: all that are kept)
          --json          one JSON array of the history lines on stdout

        examples:
          dropfeed history --target acme-lms --limit 7
          dropfeed history show 20261203T020000Z-19ad1e4f6b2 | jq '.targets[].status'
        """

    static func run(_ args: [String]) throws -> ExitCode {
        let a = try Arguments(
            args, command: "history", valued: ["--config", "--target", "--limit"], switches: ["--json"])
        let config = try ConfigFile.load(a.value("--config"))
        let history = RunHistory(stateDir: config.stateDir)
        if a.positionals.first == "show" {
            guard a.positionals.count == 2 else { throw UsageError("history show needs a RUNID", command: "history") }
            let runId = a.positionals[1]
            guard let bytes = try history.report(runId: runId) else {
                let kept = history.keptRunIds()
                throw NoSuchRun(runId: runId, newest: kept.last)
            }
            Output.stdout(bytes: bytes)
            return .success
        }
        guard a.positionals.isEmpty else {
            throw UsageError(
                "unexpected argument `\(a.positionals[0])` (did you mean `history show RUNID`?)", command: "history")
        }
        let names = config.targets.map(\.name)
        let only = a.all("--target")
        for name in only where !names.contains(name) { throw UnknownTargetError(name: name, known: names) }
        var entries = try history.entries()
        if !only.isEmpty {
            entries = entries.compactMap { e in
                var e = e
                e.targets = e.targets.filter { only.contains($0.name) }
                return e.targets.isEmpty ? nil : e
            }
        }
        let limit = try a.count("--limit") ?? 20
        if limit > 0 { entries = Array(entries.prefix(limit)) }
        if a.has("--json") {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            Output.stdout(String(decoding: try encoder.encode(entries), as: UTF8.self) + "\n")
            return .success
        }
        if entries.isEmpty {
            Output.note("no runs recorded in \(config.stateDir)/history.jsonl yet")
            return .success
        }
        var text = ""
        for e in entries {
            text +=
                "\(e.startedAt)  \(e.runId)  exit \(e.exitCode)  \(String(format: "%.1f", e.durationSeconds)) s"
                + (e.appliedPlan ? "  (saved plan)" : "") + "\n"
            if let error = e.error, e.targets.allSatisfy({ $0.status == "failed" }) { text += "    error: \(error)\n" }
            for t in e.targets {
                var line = "    \(t.name.padding(toLength: max(16, t.name.count + 1), withPad: " ", startingAt: 0))"
                line += t.status.padding(toLength: 10, withPad: " ", startingAt: 0)
                line += "\(t.rows) rows, +\(t.adds) ~\(t.updates) -\(t.deletes)"
                if t.rejected > 0 { line += ", \(t.rejected) rejected" }
                if t.files > 0 { line += ", \(t.files) files, \(t.bytesSent) bytes sent" }
                if let gate = t.gate { line += ", gate \(gate)" }
                text += line + "\n"
            }
        }
        Output.stdout(text)
        return .success
    }
}

/// `history show RUNID` for a run whose report is not kept (exit 66: the input is missing).
struct NoSuchRun: CodedError {
    var runId: String
    var newest: String?
    var exitCode: ExitCode { .noInput }
    var description: String {
        "no report kept for run `\(runId)`" + (newest.map { " (the newest is \($0); see `dropfeed history`)" } ?? "")
    }
}
