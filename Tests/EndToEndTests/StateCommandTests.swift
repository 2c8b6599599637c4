import Foundation
import Testing

/// `dropfeed state list | show | reset | rollback` on the sample feed, and what the next run
/// sends after a reset or a rollback; the state directory's permissions.
@Suite struct StateCommandTests {
    static let day1 = "2026-03-02T02:00:00Z"
    static let day2 = "2026-03-03T02:00:00Z"

    struct Listed: Decodable {
        var name: String
        var runId: String?
        var rows: Int?
    }

    struct Shown: Decodable {
        var name: String
        var runId: String
        var rows: Int
        var files: [FeedReport.File]
        var earlier: [String]
    }

    /// Day 1 then day 2, both delivered; returns the two reports.
    func twoDays(_ ws: inout FeedWorkspace) throws -> (FeedReport, FeedReport) {
        ws.now = Self.day1
        let (r1, first) = try ws.report(["run"])
        try #require(r1.exitCode == 0, "day 1: \(r1.stderr)")
        try ws.nextDay()
        ws.now = Self.day2
        let (r2, second) = try ws.report(["run"])
        try #require(r2.exitCode == 0, "day 2: \(r2.stderr)")
        return (first, second)
    }

    func show(_ ws: FeedWorkspace, _ target: String) throws -> Shown {
        let r = try ws.run(["state", "show", target, "--json"])
        try #require(r.exitCode == 0, "state show \(target): \(r.stderr)")
        return try JSONDecoder().decode(Shown.self, from: r.stdoutData)
    }

    /// The data file of `target` that `report` says was sent, read from the outbox.
    func sent(_ ws: FeedWorkspace, _ report: FeedReport, _ target: String, _ kind: String) throws -> (
        FeedReport.File, CSVFile
    ) {
        let t = try report.target(target)
        let file = try #require(
            t.files.first { $0.kind == kind }, "\(target) sent no \(kind) file: \(t.status) \(t.error ?? "")")
        let csv = try CSVFile.read(
            ws.outbox(target).appendingPathComponent(file.name), try #require(SampleDialects.byTarget[target]))
        #expect(csv.sha256 == file.sha256 && csv.records.count == file.rows, "\(file.name) is not what the report says")
        return (file, csv)
    }

    // MARK: rollback

    /// The vendor lost day 2's file; the operator rolls back that morning and runs again: the
    /// delta re-sends exactly what day 2 sent.
    @Test func rollbackResendsWhatTheLastRunSent() throws {
        let oracle = try FeedOracle.sampleCounts()
        try FeedWorkspace.with { ws in
            let (first, second) = try twoDays(&ws)
            let (day2File, day2Delta) = try sent(ws, second, "acme-lms", "delta")
            #expect(FeedChecks.actionKeys(day2Delta) == FeedChecks.actionKeys(try FeedOracle.sampleKeys("acme-lms")))

            ws.now = "2026-03-03T09:00:00Z"
            let rollback = try ws.run(["state", "rollback", "acme-lms"])
            #expect(rollback.exitCode == 0, "\(rollback.stderr)")
            let firstRun = try #require(first.runId)
            #expect(
                rollback.stderr.contains(firstRun), "rollback does not say which run it restored: \(rollback.stderr)")
            let restored = try show(ws, "acme-lms")
            let firstRows = try oracle.target("acme-lms").first.rows
            #expect(restored.runId == firstRun && restored.rows == firstRows)
            // Only acme-lms moved back.
            #expect(try show(ws, "badges").runId == second.runId)

            ws.now = "2026-03-03T09:30:00Z"
            let (r, resent) = try ws.report(["run"])
            #expect(r.exitCode == 0, "\(r.stderr)")
            let acme = try resent.target("acme-lms")
            #expect(acme.status == "delivered", "\(acme.error ?? "")")
            FeedChecks.expectCounts(acme, try oracle.target("acme-lms").next, "the run after a rollback")
            if acme.status == "delivered" {
                let (file, delta) = try sent(ws, resent, "acme-lms", "delta")
                #expect(FeedChecks.actionKeys(delta) == FeedChecks.actionKeys(day2Delta))
                #expect(delta.records == day2Delta.records, "the re-sent rows differ from day 2's")
                #expect(file.name != day2File.name, "a new delivery under the old file's name")
            }
            #expect(try resent.target("badges").status == "unchanged")
            #expect(try resent.target("awareness").status == "unchanged")
            #expect(try show(ws, "acme-lms").rows == (try oracle.target("acme-lms").next.rows))
        }
    }

    @Test func rollbackWithoutAnEarlierSnapshotFailsAndChangesNothing() throws {
        try FeedWorkspace.with { ws in
            ws.now = Self.day1
            try #require(try ws.run(["run"]).exitCode == 0)
            // The lock file holds the pid of its last holder: not part of the state.
            let state = ws.contents(of: "state").filter { $0.key != ".lock" }
            let r = try ws.run(["state", "rollback", "acme-lms"])
            #expect(r.exitCode != 0)
            #expect(r.stderr.contains("acme-lms"), "\(r.stderr)")
            #expect(ws.contents(of: "state").filter { $0.key != ".lock" } == state)
        }
    }

    // MARK: reset

    /// The vendor wiped its accounts the morning after the first delivery: reset, and the next
    /// run sends every row again — a full file for badges, a delta of adds for acme-lms.
    @Test func resetSendsEveryRowAgain() throws {
        let oracle = try FeedOracle.sampleCounts()
        try FeedWorkspace.with { ws in
            ws.now = Self.day1
            let (r1, first) = try ws.report(["run"])
            try #require(r1.exitCode == 0, "\(r1.stderr)")

            ws.now = "2026-03-02T10:00:00Z"
            for target in ["badges", "acme-lms"] {
                let r = try ws.run(["state", "reset", target])
                #expect(r.exitCode == 0, "\(r.stderr)")
                let shown = try ws.run(["state", "show", target])
                #expect(shown.exitCode == 0)
                #expect(shown.stdout.contains("no snapshot"), "\(shown.stdout)")
            }
            let listed = try JSONDecoder().decode(
                [Listed].self, from: try ws.run(["state", "list", "--json"]).stdoutData)
            #expect(listed.map(\.name) == FeedWorkspace.targets)
            #expect(listed.filter { $0.runId == nil }.map(\.name).sorted() == ["acme-lms", "badges"])
            #expect(listed.first { $0.name == "awareness" }?.runId == first.runId)

            ws.now = "2026-03-02T10:30:00Z"
            let (r, again) = try ws.report(["run"])
            #expect(r.exitCode == 0, "\(r.stderr)")
            let badges = try again.target("badges")
            let acme = try again.target("acme-lms")
            let figures = try oracle.target("badges").first
            let acmeFigures = try oracle.target("acme-lms").first
            #expect(badges.status == "delivered", "\(badges.error ?? "")")
            #expect(badges.adds == figures.rows && badges.updates == 0 && badges.deletes == 0 && badges.unchanged == 0)
            #expect(acme.status == "delivered", "\(acme.error ?? "")")
            #expect(acme.adds == acmeFigures.rows && acme.updates == 0 && acme.deletes == 0 && acme.unchanged == 0)
            if badges.status == "delivered" {
                let (_, full) = try sent(ws, again, "badges", "full")
                #expect(full.records.count == figures.rows)
            }
            if acme.status == "delivered" {
                let (_, delta) = try sent(ws, again, "acme-lms", "delta")
                #expect(delta.records.count == acmeFigures.rows)
                #expect(delta.rows.allSatisfy { $0["action"] == "A" }, "after a reset every row is an add")
            }
            #expect(try again.target("awareness").status == "unchanged")
        }
    }

    // MARK: list and show

    @Test func listAndShowNameTheRunsAndRows() throws {
        let oracle = try FeedOracle.sampleCounts()
        try FeedWorkspace.with { ws in
            let empty = try ws.run(["state", "list"])
            #expect(empty.exitCode == 0, "\(empty.stderr)")
            for target in FeedWorkspace.targets {
                #expect(
                    empty.stdout.split(separator: "\n").contains { $0.hasPrefix(target) && $0.contains("no snapshot") },
                    "\(empty.stdout)")
            }

            let (first, second) = try twoDays(&ws)
            let firstRun = try #require(first.runId)
            let secondRun = try #require(second.runId)
            #expect(firstRun != secondRun)
            let list = try ws.run(["state", "list"])
            #expect(list.exitCode == 0)
            for target in FeedWorkspace.targets {
                let rows = try oracle.target(target).next.rows
                let line = list.stdout.split(separator: "\n").first { $0.hasPrefix(target) }.map(String.init) ?? ""
                #expect(line.contains(secondRun) && line.contains("\(rows)"), "state list: \(line)")
            }
            let listed = try JSONDecoder().decode(
                [Listed].self, from: try ws.run(["state", "list", "--json"]).stdoutData)
            for entry in listed {
                #expect(entry.runId == secondRun)
                #expect(entry.rows == (try oracle.target(entry.name).next.rows))
            }

            let text = try ws.run(["state", "show", "acme-lms"])
            #expect(text.exitCode == 0)
            let acme = try second.target("acme-lms")
            for needle in [secondRun, firstRun, "\(acme.rows)"] + acme.files.map(\.name) {
                #expect(text.stdout.contains(needle), "state show does not mention \(needle):\n\(text.stdout)")
            }
            let shown = try show(ws, "acme-lms")
            #expect(shown.runId == secondRun && shown.rows == acme.rows)
            #expect(shown.earlier == [firstRun])
            #expect(shown.files.map(\.name) == acme.files.map(\.name))
            #expect(shown.files.map(\.sha256) == acme.files.map(\.sha256))

            let unknown = try ws.run(["state", "show", "badgse"])
            #expect(unknown.exitCode == 64)
            #expect(unknown.stderr.contains("badges"), "\(unknown.stderr)")
        }
    }

    // MARK: permissions

    @Test func theStateIsPrivate() throws {
        try FeedWorkspace.with { ws in
            ws.now = Self.day1
            try #require(try ws.run(["run"]).exitCode == 0)
            func mode(_ url: URL) throws -> Int {
                try #require(try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? Int)
            }
            let state = ws.file("state")
            let stateMode = try mode(state)
            #expect(stateMode == 0o700, "state/ is \(String(stateMode, radix: 8))")
            var snapshots = 0
            let walker = try #require(
                FileManager.default.enumerator(at: state, includingPropertiesForKeys: [.isDirectoryKey]))
            for case let url as URL in walker {
                let isDirectory = (try url.resourceValues(forKeys: [.isDirectoryKey])).isDirectory == true
                let m = try mode(url)
                if isDirectory {
                    #expect(m == 0o700, "\(url.lastPathComponent)/ is \(String(m, radix: 8))")
                } else {
                    #expect(m & 0o077 == 0, "\(url.lastPathComponent) is \(String(m, radix: 8)): readable by others")
                    if url.lastPathComponent == "index.bin" || url.lastPathComponent == "meta.json" {
                        #expect(m == 0o600, "\(url.path) is \(String(m, radix: 8))")
                        snapshots += 1
                    }
                }
            }
            #expect(snapshots == 2 * FeedWorkspace.targets.count, "found \(snapshots) snapshot files")
        }
    }
}
