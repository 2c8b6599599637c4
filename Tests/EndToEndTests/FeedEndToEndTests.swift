import Foundation
import Testing

/// `plan` and `run` on the sample feed (samples/dropfeed.local.json: acme-lms, badges and
/// awareness delivering to `outbox/<target>`), checked against the independent oracle
/// samples/expected_counts.py and against the files as Python's csv reads them.
@Suite struct FeedEndToEndTests {
    static let day1 = "2026-03-02T02:00:00Z"
    static let day2 = "2026-03-03T02:00:00Z"

    // MARK: plan

    @Test func planCountsMatchTheOracleOnBothDaysAndTouchNothing() throws {
        let oracle = try FeedOracle.sampleCounts()
        try FeedWorkspace.with { ws in
            ws.now = Self.day1
            let (r1, first) = try ws.report(["plan"])
            #expect(r1.exitCode == 0, "\(r1.stderr)")
            #expect(first.command == "plan")
            #expect(first.ok && first.exitCode == 0)
            #expect(first.source.rows == 3000)
            #expect(first.targets.map(\.name) == FeedWorkspace.targets)
            for name in FeedWorkspace.targets {
                let t = try first.target(name)
                #expect(t.status == "planned")
                FeedChecks.expectCounts(t, try oracle.target(name).first, "day 1 plan")
            }
            #expect(!ws.exists("state"), "plan wrote state")
            #expect(!ws.exists("outbox"), "plan delivered")

            let delivered = try ws.run(["run"])
            try #require(delivered.exitCode == 0, "\(delivered.stderr)")
            try ws.nextDay()
            ws.now = Self.day2
            let state = ws.contents(of: "state")
            let outbox = ws.contents(of: "outbox")
            #expect(!state.isEmpty && !outbox.isEmpty)

            let (r2, next) = try ws.report(["plan"])
            #expect(r2.exitCode == 0, "\(r2.stderr)")
            #expect(next.source.rows == 3012)
            for name in FeedWorkspace.targets {
                let t = try next.target(name)
                let figures = try oracle.target(name).next
                #expect(t.status == "planned")
                FeedChecks.expectCounts(t, figures, "day 2 plan")
                let data = t.files.filter { $0.kind == "delta" || $0.kind == "full" }
                let expected = figures.files.map(\.rows)
                #expect(data.map(\.rows) == expected, "\(name): rows of the files it would send")
            }
            #expect(ws.contents(of: "state") == state, "plan changed the state")
            #expect(ws.contents(of: "outbox") == outbox, "plan delivered")
        }
    }

    @Test func planOutWritesTheFilesRunWouldSend() throws {
        try FeedWorkspace.with { ws in
            ws.now = Self.day1
            let (r, plan) = try ws.report(["plan", "--out", "preview"])
            #expect(r.exitCode == 0, "\(r.stderr)")
            for t in plan.targets {
                #expect(!t.files.isEmpty)
                try FeedChecks.expectFiles(of: t, in: ws.file("preview/\(t.name)"), alsoThere: ["changes.csv"])
            }
            #expect(!ws.exists("state"), "plan --out wrote state")
            #expect(!ws.exists("outbox"), "plan --out delivered")

            // The same input at the same instant: run sends exactly what the plan showed.
            let (rr, run) = try ws.report(["run"])
            #expect(rr.exitCode == 0, "\(rr.stderr)")
            for t in run.targets {
                #expect(
                    t.files == (try plan.target(t.name)).files, "\(t.name): run sent other files than plan --out wrote")
            }
        }
    }

    // MARK: run

    @Test func runDeliversTheFilesTheReportDescribesThenNothingWhenNothingChanged() throws {
        let oracle = try FeedOracle.sampleCounts()
        try FeedWorkspace.with { ws in
            ws.now = Self.day1
            let (r, report) = try ws.report(["run", "--report", "report.json"])
            #expect(r.exitCode == 0, "\(r.stderr)")
            #expect(report.command == "run" && report.ok && report.exitCode == 0 && report.error == nil)
            #expect(report.source.rows == 3000)
            #expect(report.source.sha256?.count == 64)
            for name in FeedWorkspace.targets {
                let t = try report.target(name)
                #expect(t.status == "delivered", "\(name): \(t.error ?? "")")
                #expect(t.gate == nil && t.error == nil)
                FeedChecks.expectCounts(t, try oracle.target(name).first, "day 1 run")
                let read = try FeedChecks.expectFiles(of: t, in: ws.outbox(name))
                #expect(
                    read.values.map(\.records.count).sorted() == [try oracle.target(name).first.rows],
                    "\(name): one data file, every row")
            }
            let saved = try Data(contentsOf: ws.file("report.json"))
            #expect(saved == r.stdoutData, "--report FILE differs from the --json report")

            // The same export again, later that night: nothing to send, nothing sent.
            let outbox = ws.contents(of: "outbox")
            ws.now = "2026-03-02T03:30:00Z"
            let (again, second) = try ws.report(["run"])
            #expect(again.exitCode == 0, "\(again.stderr)")
            #expect(second.ok)
            for t in second.targets {
                #expect(t.status == "unchanged", "\(t.name)")
                #expect(t.files.isEmpty, "\(t.name)")
                #expect(t.adds == 0 && t.updates == 0 && t.deletes == 0)
                #expect(t.unchanged == (try oracle.target(t.name).first.rows))
            }
            #expect(ws.contents(of: "outbox") == outbox, "an unchanged run delivered something")
        }
    }

    @Test func dayTwoSendsExactlyTheRowsThatChanged() throws {
        let oracle = try FeedOracle.sampleCounts()
        try FeedWorkspace.with { ws in
            ws.now = Self.day1
            let (r1, first) = try ws.report(["run"])
            try #require(r1.exitCode == 0, "\(r1.stderr)")
            let firstRead = try Dictionary(
                uniqueKeysWithValues: FeedWorkspace.targets.map { name in
                    (name, try FeedChecks.expectFiles(of: try first.target(name), in: ws.outbox(name)))
                })
            try ws.nextDay()
            ws.now = Self.day2
            let (r2, next) = try ws.report(["run"])
            #expect(r2.exitCode == 0, "\(r2.stderr)")

            var read: [String: [String: CSVFile]] = [:]
            for name in FeedWorkspace.targets {
                let t = try next.target(name)
                #expect(t.status == "delivered", "\(name): \(t.error ?? "")")
                FeedChecks.expectCounts(t, try oracle.target(name).next, "day 2 run")
                // The folder now holds both days' files.
                let day1Names = Set(try first.target(name).files.map(\.name))
                let all = ws.delivered(name)
                #expect(all == day1Names.union(t.files.map(\.name)))
                let only = try TemporaryDirectory(prefix: "dropfeed-day2-\(name)")
                defer { only.remove() }
                for f in t.files {
                    try FileManager.default.copyItem(
                        at: ws.outbox(name).appendingPathComponent(f.name), to: only.file(f.name))
                }
                read[name] = try FeedChecks.expectFiles(of: t, in: only.url)
            }

            // acme-lms: a delta with an action column holding exactly the oracle's keys.
            let acme = try next.target("acme-lms")
            let acmeKeys = try FeedOracle.sampleKeys("acme-lms")
            let delta = try FeedChecks.dataFile("delta", of: acme, in: read["acme-lms"]!)
            #expect(FeedChecks.actionKeys(delta) == FeedChecks.actionKeys(acmeKeys))
            #expect(delta.records.count == (try oracle.target("acme-lms").next.deltaRows))
            let ids = delta.rows.map { $0["user_id"] ?? "" }
            #expect(ids == ids.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }, "the delta is sorted by key")
            // A delete row carries the values last delivered for that key.
            let day1Delta = try FeedChecks.dataFile(
                "delta", of: try first.target("acme-lms"), in: firstRead["acme-lms"]!)
            let day1ByKey = Dictionary(
                day1Delta.records.map { ($0[1], Array($0.dropFirst())) }, uniquingKeysWith: { a, _ in a })
            for record in delta.records where record.first == "D" {
                #expect(
                    Array(record.dropFirst()) == day1ByKey[record[1]],
                    "delete row \(record[1]) differs from what was delivered")
            }

            // awareness: no action column; a leaver is sent as an update with status INACTIVE.
            let aware = try next.target("awareness")
            let awareKeys = try FeedOracle.sampleKeys("awareness")
            let awareDelta = try FeedChecks.dataFile("delta", of: aware, in: read["awareness"]!)
            #expect(awareDelta.bom, "awareness asks for a BOM")
            let inactive = Set(awareDelta.rows.filter { $0["status"] == "INACTIVE" }.map { $0["email"] ?? "" })
            let active = Set(awareDelta.rows.filter { $0["status"] == "ACTIVE" }.map { $0["email"] ?? "" })
            #expect(inactive == awareKeys.deletes)
            #expect(active == awareKeys.adds.union(awareKeys.updates))
            #expect(awareDelta.records.count == (try oracle.target("awareness").next.deltaRows))

            // badges: a full file; its keys are yesterday's minus the deletes plus the adds.
            let badges = try next.target("badges")
            let badgeKeys = try FeedOracle.sampleKeys("badges")
            let full = try FeedChecks.dataFile("full", of: badges, in: read["badges"]!)
            let yesterday = Set(
                try FeedChecks.dataFile("full", of: try first.target("badges"), in: firstRead["badges"]!)
                    .records.map(SampleDialects.badgeKey))
            #expect(
                Set(full.records.map(SampleDialects.badgeKey))
                    == yesterday.subtracting(badgeKeys.deletes).union(badgeKeys.adds))
            #expect(full.records.count == (try oracle.target("badges").next.rows))
        }
    }

    @Test func targetOptionRunsOnlyThatTarget() throws {
        try FeedWorkspace.with { ws in
            ws.now = Self.day1
            let (r, report) = try ws.report(["run", "--target", "badges"])
            #expect(r.exitCode == 0, "\(r.stderr)")
            #expect(report.targets.map(\.name) == ["badges"])
            #expect((try report.target("badges")).status == "delivered")
            #expect(!ws.delivered("badges").isEmpty)
            for other in ["acme-lms", "awareness"] {
                #expect(!ws.exists("outbox/\(other)"), "\(other) was delivered")
                #expect(!ws.exists("state/\(other)"), "\(other)'s state was written")
            }
            let badges = ws.contents(of: "outbox/badges")

            ws.now = "2026-03-02T02:10:00Z"
            let (all, rest) = try ws.report(["run"])
            #expect(all.exitCode == 0, "\(all.stderr)")
            #expect((try rest.target("badges")).status == "unchanged")
            #expect((try rest.target("acme-lms")).status == "delivered")
            #expect((try rest.target("awareness")).status == "delivered")
            #expect(ws.contents(of: "outbox/badges") == badges)
        }
    }

    // MARK: the command line

    @Test(arguments: [
        ["--help"], ["help"], ["help", "run"], ["help", "plan"], ["help", "state"], ["run", "--help"],
    ])
    func helpGoesToStdoutAndExitsZero(_ arguments: [String]) throws {
        try TemporaryDirectory.with { dir in
            let r = try DropfeedProcess.run(arguments, cwd: dir)
            #expect(r.exitCode == 0, "\(arguments): \(r.stderr)")
            #expect(r.stdout.contains("usage"), "\(arguments): \(r.stdout)")
            #expect(r.stderr.isEmpty, "\(arguments): \(r.stderr)")
        }
    }

    @Test func versionPrintsAndExitsZero() throws {
        let r = try DropfeedProcess.run(["--version"])
        #expect(r.exitCode == 0)
        #expect(!r.stdout.isEmpty)
    }

    @Test(arguments: [
        (["run", "--jsno"], "--json"),
        (["plan", "--ot", "x"], "--out"),
        (["run", "--allow-deletes"], "--allow-deletes"),
        (["run", "--allow-deletes", "many"], "--allow-deletes"),
        (["run", "--target", "badgse"], "badges"),
        (["state", "rolback", "badges"], "rollback"),
        (["state", "show"], "TARGET"),
    ])
    func usageErrorsExit64AndSaySo(_ arguments: [String], _ mentions: String) throws {
        try FeedWorkspace.with { ws in
            let r = try ws.run(arguments)
            #expect(r.exitCode == 64, "\(arguments): \(r.stderr)")
            #expect(r.stderr.contains(mentions), "\(arguments): \(r.stderr)")
            #expect(!ws.exists("state") && !ws.exists("outbox"), "\(arguments) did something")
        }
    }

    @Test func unknownFlagSuggestsTheNearestOne() throws {
        try FeedWorkspace.with { ws in
            let r = try ws.run(["run", "--jsno"])
            #expect(r.exitCode == 64)
            #expect(r.stdout.isEmpty)
            #expect(r.stderr.contains("did you mean --json"), "\(r.stderr)")
        }
    }

    /// stdin is at end of file for every command these tests run: a prompt would read nothing.
    /// Destructive commands must still go ahead without asking.
    @Test func neverPrompts() throws {
        try FeedWorkspace.with { ws in
            ws.now = Self.day1
            for arguments in [["run"], ["state", "reset", "badges"], ["state", "rollback", "badges"], ["run"]] {
                let r = try ws.run(arguments)
                #expect(r.exitCode == 0, "\(arguments): \(r.stderr)")
                for text in [r.stdout, r.stderr] {
                    let lower = text.lowercased()
                    #expect(
                        !lower.contains("[y/n]") && !lower.contains("are you sure") && !lower.contains("continue?"),
                        "\(arguments) asked: \(text)")
                }
            }
        }
    }
}
