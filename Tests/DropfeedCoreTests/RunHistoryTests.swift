import Foundation
import Testing

@testable import DropfeedCore

/// `RunHistory`: lines appended whole, rotation past the bound, reports pruned, and the
/// metrics text drawn from it.
@Suite struct RunHistoryTests {
    func entry(_ k: Int, status: TargetOutcome.Status = .delivered) -> (HistoryEntry, [UInt8]) {
        var report = RunReport(
            command: "run", runId: "20260401T0200\(String(format: "%02d", k))Z-\(k)",
            startedAt: "2026-04-01T02:00:\(String(format: "%02d", k))Z", sourcePath: "x.csv")
        var t = TargetOutcome(name: "lms", status: status, destination: "/out")
        t.rows = 10 + k
        t.adds = k
        report.targets = [t]
        return (
            HistoryEntry(report: report, appliedPlan: false, durationSeconds: 1.5, exitCode: .success),
            Array(report.json.rendered().utf8)
        )
    }

    @Test func rotatesPastItsBoundAndKeepsTheLastReports() throws {
        let dir = try FileSystem.makeTemporaryFolder(prefix: "history-test-")
        defer { try? FileSystem.remove(dir) }
        let history = RunHistory(stateDir: dir, maxBytes: 1500, keptReports: 4)
        for k in 0..<12 {
            let (e, json) = entry(k)
            try history.record(e, reportJSON: json)
        }
        let current = try #require(try FileSystem.read(dir + "/history.jsonl"))
        let rotated = try #require(try FileSystem.read(dir + "/history.jsonl.1"))
        #expect(current.count <= 1500 && rotated.count <= 1500)
        let entries = try history.entries()
        // The newest lines, newest first, from both files; each whole.
        #expect(entries.first?.runId == entry(11).0.runId)
        #expect(entries.count >= 4 && entries.count < 12)
        #expect(entries.map(\.runId) == entries.map(\.runId).sorted().reversed())
        #expect(history.keptRunIds() == (8..<12).map { entry($0).0.runId })
        #expect(try history.report(runId: entry(11).0.runId) == entry(11).1)
        #expect(try history.report(runId: "../x") == nil)
    }

    @Test func metricsKeepTheLastValuesOfATargetThatDidNotRun() throws {
        let (old, _) = entry(1)
        var (held, _) = entry(2, status: .held)
        held.targets[0].exitCode = 3
        let text = Metrics.text(targets: ["lms", "never-ran"], history: [held, old])
        #expect(text.contains("dropfeed_held{target=\"lms\"} 1\n"))
        #expect(text.contains("dropfeed_last_success_timestamp_seconds{target=\"lms\"} \(Int(old.startedAtSeconds))\n"))
        #expect(text.contains("dropfeed_last_run_timestamp_seconds{target=\"lms\"} \(Int(held.startedAtSeconds))\n"))
        #expect(text.contains("dropfeed_last_exit_code{target=\"lms\"} 3\n"))
        #expect(!text.contains("never-ran"))
        #expect(Metrics.escape("a\"b\\c\nd") == "a\\\"b\\\\c\\nd")
    }
}
