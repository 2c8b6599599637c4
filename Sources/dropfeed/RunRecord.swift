import DropfeedCore
import Foundation

/// What a `run` leaves behind for the people and machines that watch it: its line in
/// `history.jsonl`, its report in `runs/`, and the `--metrics` file.
struct RunRecord {
    var config: FeedConfig
    var report: RunReport
    var reportJSON: [UInt8]
    var appliedPlan: Bool
    var seconds: Double
    var exitCode: ExitCode

    /// Writes the metrics (when asked) and the history; returns what could not be written.
    func save(metricsPath: String?) -> [String] {
        var failures: [String] = []
        let history = RunHistory(stateDir: config.stateDir)
        let entry = HistoryEntry(report: report, appliedPlan: appliedPlan, durationSeconds: seconds, exitCode: exitCode)
        if let metricsPath {
            do {
                let earlier = (try? history.entries()) ?? []
                try Metrics.write(
                    Metrics.text(targets: config.targets.map(\.name), history: [entry] + earlier), to: metricsPath)
            } catch {
                failures.append("cannot write the metrics to \(metricsPath): \(error)")
            }
        }
        // A run that stopped before it took the state directory (a usage error) leaves no trace in it.
        guard FileManager.default.fileExists(atPath: config.stateDir) else { return failures }
        do {
            try history.record(entry, reportJSON: reportJSON)
        } catch {
            failures.append("cannot record the run in \(config.stateDir)/history.jsonl: \(error)")
        }
        return failures
    }
}

/// The run's summary on stderr: the full text normally, only what went wrong with `--quiet`,
/// JSON events (figures only: no row values, no rejection reasons) with `--log-format json`.
enum RunSummary {
    static func print(_ report: RunReport, exitCode: ExitCode, seconds: Double) {
        switch (Output.logFormat, Output.verbosity) {
        case (.json, _):
            for t in report.targets {
                var fields: [(String, JSON)] = [
                    ("target", .string(t.name)), ("status", .string(t.status.rawValue)), ("rows", .int(t.rows)),
                    ("adds", .int(t.adds)), ("updates", .int(t.updates)), ("deletes", .int(t.deletes)),
                    ("unchanged", .int(t.unchanged)), ("rejected", .int(t.rejected)), ("files", .int(t.files.count)),
                    ("bytes", .int(t.files.reduce(0) { $0 + $1.bytes })), ("exitCode", .int(Int(t.exitCode.rawValue))),
                ]
                if let gate = t.gate { fields.append(("gate", .string(gate.name))) }
                if let error = t.error { fields.append(("error", .string(error))) }
                let level = t.status == .failed ? "error" : t.status == .held ? "warning" : "info"
                Output.log(level: level, event: "target", fields)
            }
            var fields: [(String, JSON)] = [
                ("command", .string(report.command)), ("exitCode", .int(Int(exitCode.rawValue))),
                ("durationSeconds", .double((seconds * 1000).rounded() / 1000)),
                ("targets", .int(report.targets.count)),
            ]
            if let rows = report.sourceRows { fields.append(("sourceRows", .int(rows))) }
            if let error = report.error { fields.append(("error", .string(error))) }
            Output.log(
                level: exitCode == .success || exitCode == .differences ? "info" : "error", event: "finished", fields)
        case (.text, .quiet):
            var lines: [String] = []
            if let error = report.error { lines.append("error: \(error)") }
            for t in report.targets {
                if let gate = t.gate, t.status == .held { lines.append("\(t.name): held — gate \(gate.text)") }
                if t.status == .failed, report.error == nil || t.error != "not run: the source failed its checks" {
                    lines.append("\(t.name): failed — \(t.error ?? "see the report")")
                }
            }
            if !lines.isEmpty { Output.error((lines + ["exit \(exitCode.rawValue)"]).joined(separator: "\n")) }
        case (.text, _):
            // The report's own last line is its exit code; a file that could not be written raises it.
            var text = report.text
            if exitCode != report.exitCode, let last = text.range(of: "\nexit ", options: .backwards) {
                text = String(text[..<last.lowerBound]) + "\nexit \(exitCode.rawValue)"
            }
            Output.note(text)
        }
    }
}
