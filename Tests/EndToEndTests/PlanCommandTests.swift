import Foundation
import Testing

/// The plan as a value on the command line: `plan --exit-code`, `plan --save` / `run --plan`,
/// `plan --explain`, and `state pending | discard | export` for a delivery that cannot complete.
@Suite struct PlanCommandTests {
    static let day1 = "2026-03-02T02:00:00Z"
    static let day2 = "2026-03-03T02:00:00Z"

    @Test func planExitCodeSaysWhetherAnythingWouldBeSent() throws {
        try FeedWorkspace.with { ws in
            ws.now = Self.day1
            #expect(try ws.run(["plan"]).exitCode == 0)
            let first = try ws.run(["plan", "--exit-code"])
            #expect(first.exitCode == 1, "\(first.stderr)")
            #expect(try ws.run(["run"]).exitCode == 0)
            ws.now = Self.day2
            let same = try ws.run(["plan", "--exit-code"])
            #expect(same.exitCode == 0, "nothing changed: \(same.stderr)")
            try ws.nextDay()
            #expect(try ws.run(["plan", "--exit-code"]).exitCode == 1)
            // A stopped run outranks "differences" (minRows: 1000 stops half an export).
            let text = try String(contentsOf: ws.file("hr_export.csv"), encoding: .utf8)
            let half = text.split(separator: "\n", omittingEmptySubsequences: false)
            try Data((half.prefix(half.count / 2).joined(separator: "\n") + "\n").utf8).write(to: ws.file("hr_export.csv"))
            let shrunk = try ws.run(["plan", "--exit-code"])
            #expect(shrunk.exitCode == 65, "\(shrunk.stderr)")
        }
    }

    @Test func aSavedPlanIsDeliveredByteForByte() throws {
        try FeedWorkspace.with { ws in
            ws.now = Self.day1
            #expect(try ws.run(["run"]).exitCode == 0)
            try ws.nextDay()
            ws.now = Self.day2
            let (rp, planned) = try ws.report(["plan", "--save", "tonight.plan", "--out", "review"])
            #expect(rp.exitCode == 0, "\(rp.stderr)")
            let before = ws.contents(of: "outbox")
            // Approvals belong to the plan, not to its application.
            let refused = try ws.run(["run", "--plan", "tonight.plan", "--allow-deletes", "100"])
            #expect(refused.exitCode == 64)
            #expect(refused.stderr.contains("plan --save"), "\(refused.stderr)")

            let (r, applied) = try ws.report(["run", "--plan", "tonight.plan"])
            #expect(r.exitCode == 0, "\(r.stderr)")
            for target in FeedWorkspace.targets {
                let p = try planned.target(target)
                let a = try applied.target(target)
                #expect(a.status == "delivered")
                #expect(a.files == p.files)
                #expect((a.adds, a.updates, a.deletes) == (p.adds, p.updates, p.deletes))
                for file in a.files {
                    let sent = try Data(contentsOf: ws.outbox(target).appendingPathComponent(file.name))
                    let reviewed = try Data(contentsOf: ws.file("review/\(target)/\(file.name)"))
                    #expect(sent == reviewed, "\(target)/\(file.name)")
                    #expect(before["\(target)/\(file.name)"] == nil)
                }
            }
            let stale = try ws.run(["run", "--plan", "tonight.plan"])
            #expect(stale.exitCode == 65)
            #expect(stale.stderr.contains("plan is stale"), "\(stale.stderr)")
            #expect(stale.stderr.contains("snapshot changed since the plan"), "\(stale.stderr)")
        }
    }

    @Test func aPlanIsStaleWhenTheExportMoved() throws {
        try FeedWorkspace.with { ws in
            ws.now = Self.day1
            #expect(try ws.run(["run"]).exitCode == 0)
            #expect(try ws.run(["plan", "--save", "p"]).exitCode == 0)
            try ws.nextDay()
            let before = ws.contents(of: "outbox")
            let r = try ws.run(["run", "--plan", "p"])
            #expect(r.exitCode == 65)
            #expect(r.stderr.contains("the source hr_export.csv changed since the plan"), "\(r.stderr)")
            #expect(ws.contents(of: "outbox") == before)
        }
    }

    @Test func explainPrintsOneRowsStory() throws {
        try FeedWorkspace.with { ws in
            ws.now = Self.day1
            #expect(try ws.run(["run"]).exitCode == 0)
            try ws.nextDay()
            let r = try ws.run(["plan", "--explain", "acme-lms", "E10985"])
            #expect(r.exitCode == 0, "\(r.stderr)")
            #expect(r.stdout.hasPrefix("acme-lms E10985: "), "\(r.stdout)")
            #expect(r.stdout.contains("source: line "), "\(r.stdout)")
            let unknown = try ws.run(["plan", "--explain", "acme", "E10985"])
            #expect(unknown.exitCode == 64)
            #expect(unknown.stderr.contains("no target `acme`"), "\(unknown.stderr)")
            let missingKey = try ws.run(["plan", "--explain", "acme-lms"])
            #expect(missingKey.exitCode == 64)
        }
    }

    /// A target held by a gate still explains itself: `plan --out` writes its changes.csv (the
    /// update's new value read from this run's rows) and `--explain` tells an updated row's story.
    @Test func aHeldTargetsChangesAndStoryAreReadable() throws {
        try MiniFeed.with(people: 20, maxDeletes: 2) { feed in
            #expect(try feed.run(["run"]).exitCode == 0)
            try feed.writeExport(people: 0..<15, renamed: [3])
            let plan = try feed.run(["plan", "--out", "preview"])
            #expect(plan.exitCode == 3, "\(plan.stderr)")
            #expect(plan.stderr.contains("lms: held"), "\(plan.stderr)")
            let changes = try String(contentsOf: feed.root.file("preview/lms/changes.csv"), encoding: .utf8)
            #expect(changes.contains("update,P1003,name,Person Number 3,Renamed Number 3\n"), "\(changes)")
            #expect(changes.contains("delete,P1019,email,person.19@mini.example,\n"), "\(changes)")
            let explain = try feed.run(["plan", "--explain", "lms", "P1003"])
            #expect(explain.exitCode == 3, "\(explain.stderr)")
            #expect(explain.stdout.contains("`Person Number 3` → `Renamed Number 3`"), "\(explain.stdout)")
        }
    }

    /// A delivery that cannot complete (the vendor's folder is blocked): `plan` reports it as
    /// pending, `state pending` shows it, `state discard` drops it, and the next run computes
    /// the changes again.
    @Test func aPendingDeliveryIsReportedAndCanBeDiscarded() throws {
        try FeedWorkspace.with { ws in
            ws.now = Self.day1
            try FileManager.default.createDirectory(at: ws.file("outbox"), withIntermediateDirectories: true)
            try Data("blocked".utf8).write(to: ws.outbox("acme-lms"))
            let failed = try ws.run(["run"])
            #expect(failed.exitCode == 69)
            let plan = try ws.run(["plan", "--target", "acme-lms"])
            #expect(plan.stderr.contains("is pending"), "\(plan.stderr)")
            #expect(!plan.stderr.contains("finished an interrupted delivery"), "\(plan.stderr)")
            #expect(try ws.run(["plan", "--exit-code", "--target", "acme-lms"]).exitCode == 1)
            let pending = try ws.run(["state", "pending", "acme-lms"])
            #expect(pending.exitCode == 0)
            #expect(pending.stdout.contains("acme_users_"), "\(pending.stdout)")
            let discarded = try ws.run(["state", "discard", "acme-lms"])
            #expect(discarded.exitCode == 0, "\(discarded.stderr)")
            #expect(!ws.exists("state/acme-lms/pending"))
            try FileManager.default.removeItem(at: ws.outbox("acme-lms"))
            let (r, report) = try ws.report(["run"])
            #expect(r.exitCode == 0, "\(r.stderr)")
            let lms = try report.target("acme-lms")
            #expect(lms.status == "delivered")
            #expect(lms.adds > 2000)
            // The discarded run's file name is not reused.
            #expect(lms.files.first?.name.contains("0002") == true, "\(lms.files.map(\.name))")
        }
    }

    /// `state export` gives what the vendor has: for a full-file target, the last full file.
    @Test func exportGivesTheRowsInForce() throws {
        try FeedWorkspace.with { ws in
            ws.now = Self.day1
            let (r, report) = try ws.report(["run"])
            #expect(r.exitCode == 0)
            let badges = try report.target("badges")
            let full = try #require(badges.files.first { $0.kind == "full" })
            let exported = try ws.run(["state", "export", "badges"])
            #expect(exported.exitCode == 0, "\(exported.stderr)")
            let delivered = try Data(contentsOf: ws.outbox("badges").appendingPathComponent(full.name))
            // The same bytes, with a header line (badges' own files have none).
            let firstLineEnd = try #require(exported.stdoutData.firstIndex(of: 0x0A))
            #expect(exported.stdoutData[(firstLineEnd + 1)...] == delivered[...])
            #expect(String(decoding: exported.stdoutData[..<firstLineEnd], as: UTF8.self).hasPrefix("\"site\";\"badge_id\""))
            let json = try ws.run(["state", "export", "acme-lms", "--json"])
            #expect(json.exitCode == 0)
            let lines = json.stdout.split(separator: "\n")
            #expect(lines.count == (try report.target("acme-lms")).rows)
            let first = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: String]
            #expect(first?["username"] != nil, "\(lines[0])")
        }
    }
}
