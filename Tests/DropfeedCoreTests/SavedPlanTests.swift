import Foundation
import Testing

@testable import DropfeedCore

/// `plan --save PLAN` / `run --plan PLAN`: exactly the planned bytes and snapshot, or a refusal
/// (exit 65) naming what moved, with nothing sent.
struct SavedPlanTests {
    typealias F = FeedRunnerTests

    /// A feed that has had one night (people 1…6), then a changed export for the next.
    static func secondNight() throws -> (FeedWorkspace, F.People) {
        let w = try F.feed(targets: ["lms", "hr"])
        var people = F.people(6)
        try F.writeSource(w, people)
        #expect(try w.execute().exitCode == .success)
        people["2"]![0] = "Renamed"
        people["7"] = ["New Person", "new@x.org", "Ops"]
        try F.writeSource(w, people)
        return (w, people)
    }

    /// Every file under `relative`, by path below it.
    static func tree(_ w: FeedWorkspace, _ relative: String) throws -> [String: [UInt8]] {
        var out: [String: [UInt8]] = [:]
        let base = w.path(relative)
        guard let walker = FileManager.default.enumerator(atPath: base) else { return [:] }
        for case let name as String in walker {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: base + "/" + name, isDirectory: &isDir), !isDir.boolValue {
                out[name] = try w.bytes(relative + "/" + name)
            }
        }
        return out
    }

    @Test func aSavedPlanDeliversExactlyThePlannedBytes() throws {
        let (w, people) = try Self.secondNight()
        let reviewed = try w.execute(.plan, outDir: w.path("review"))
        let saved = try w.execute(.plan, savePlan: w.path("tonight.plan"))
        #expect(saved.exitCode == .success, "\(saved.text)")
        #expect(saved.target("lms")?.files.map(\.sha256) == reviewed.target("lms")?.files.map(\.sha256))
        // The plan is private.
        #expect(try SnapshotStateTests.mode(w.path("tonight.plan")) == 0o700)
        #expect(try SnapshotStateTests.mode(w.path("tonight.plan/plan.json")) == 0o600)

        let applied = try w.execute(applyPlan: w.path("tonight.plan"))
        #expect(applied.exitCode == .success, "\(applied.text)")
        for t in ["lms", "hr"] {
            let outcome = try #require(applied.target(t))
            #expect(outcome.status == .delivered)
            #expect((outcome.adds, outcome.updates, outcome.deletes) == (1, 1, 0))
            for file in outcome.files {
                #expect(try w.bytes("outbox/\(t)/\(file.name)") == w.bytes("review/\(t)/\(file.name)"))
                #expect(try sha256(ofFile: w.path("outbox/\(t)/\(file.name)")) == file.sha256)
            }
            #expect(try w.state(t).currentRunId() == saved.runId)
            #expect(try w.state(t).currentRows()?.rows == SnapshotStateTests.expectedRows(people))
        }
        // Applied once: the same plan is now stale, and a plain run has nothing to send.
        let again = try w.execute(applyPlan: w.path("tonight.plan"))
        #expect(again.exitCode == .data)
        #expect(again.error?.contains("plan is stale") == true)
        let next = try w.execute()
        #expect(next.target("lms")?.status == .unchanged && next.target("hr")?.status == .unchanged)
    }

    enum Move: String, CaseIterable, Sendable {
        case source, mapping, config, snapshot, pending
    }

    @Test(arguments: Move.allCases)
    func aStalePlanIsRefusedAndNothingIsSent(_ move: Move) throws {
        let (w, people) = try Self.secondNight()
        _ = try w.execute(.plan, savePlan: w.path("p"))
        let outboxBefore = try Self.tree(w, "outbox")
        let stateBefore = try w.state("lms").currentRunId()
        var expected: String
        switch move {
        case .source:
            var changed = people
            changed["3"]![1] = "other@x.org"
            try F.writeSource(w, changed)
            expected = "the source hr.csv changed since the plan"
        case .mapping:
            try w.write("mappings/lms.json", F.usersMapping(output: "checksum: \"sha256\","))
            expected = "target `lms`'s mapping"
        case .config:
            try w.write("dropfeed.json", try w.read("dropfeed.json") + "\n// edited\n")
            expected = "the config"
        case .snapshot:
            // Another run delivered meanwhile (for one target).
            #expect(try w.execute(targets: ["lms"]).exitCode == .success)
            expected = "target lms's snapshot changed since the plan"
        case .pending:
            let drops = MemoryDropProvider()
            drops.drop(named: "lms").fail(.put)
            _ = try w.execute(targets: ["lms"], drops: drops)
            #expect(try w.state("lms").pendingJournal() != nil)
            expected = "target lms has a pending delivery"
        }
        let outboxMid = try Self.tree(w, "outbox")
        let hrBefore = try w.state("hr").currentRunId()
        let report = try w.execute(applyPlan: w.path("p"))
        #expect(report.exitCode == .data)
        #expect(report.error?.contains("plan is stale") == true, "\(report.error ?? "")")
        #expect(report.error?.contains(expected) == true, "\(report.error ?? "") should name \(expected)")
        // Nothing was sent and no snapshot moved.
        #expect(try Self.tree(w, "outbox") == outboxMid)
        #expect(try w.state("hr").currentRunId() == hrBefore)
        if move != .snapshot && move != .pending {
            #expect(outboxMid == outboxBefore)
            #expect(try w.state("lms").currentRunId() == stateBefore)
        }
    }

    @Test func aDamagedPlanIsRefused() throws {
        let (w, _) = try Self.secondNight()
        let saved = try w.execute(.plan, savePlan: w.path("p"))
        let file = try #require(saved.target("lms")?.files.first)
        let path = "p/lms/files/\(file.name)"
        var bytes = try w.bytes(path)
        bytes[bytes.count / 2] ^= 0x20
        try w.write(path, bytes: bytes)
        let report = try w.execute(applyPlan: w.path("p"))
        #expect(report.exitCode == .data)
        #expect(report.error?.contains("damaged") == true, "\(report.error ?? "")")
        #expect(w.files(in: "outbox/lms") == ["lms_0001_delta.csv"])
        // Not a plan at all.
        try w.write("notaplan/plan.json", "{}")
        let junk = try w.execute(applyPlan: w.path("notaplan"))
        #expect(junk.exitCode == .data)
        let missing = try w.execute(applyPlan: w.path("nothing-here"))
        #expect(missing.exitCode != .success)
    }

    /// Gates are decided when the plan is made: a held target stays held when applied, and an
    /// approval given to `plan --save` travels with the plan.
    @Test func gatesAreDecidedWhenThePlanIsMade() throws {
        let w = try F.feed(safety: "maxDeletes: 1")
        var people = F.people(10)
        try F.writeSource(w, people)
        _ = try w.execute()
        people["1"] = nil
        people["2"] = nil
        people["3"] = nil
        try F.writeSource(w, people)
        _ = try w.execute(.plan, savePlan: w.path("held"))
        let held = try w.execute(applyPlan: w.path("held"))
        #expect(held.exitCode == .held)
        #expect(held.target("lms")?.status == .held)
        #expect(w.files(in: "outbox/lms") == ["lms_0001_delta.csv"])

        _ = try w.execute(.plan, allowDeletes: 3, savePlan: w.path("approved"))
        let approved = try w.execute(applyPlan: w.path("approved"))
        #expect(approved.exitCode == .success, "\(approved.text)")
        #expect(approved.target("lms")?.deletes == 3)
        #expect(w.files(in: "outbox/lms") == ["lms_0001_delta.csv", "lms_0002_delta.csv"])
    }

    /// A plan whose target failed is not saved (there is nothing exact to apply).
    @Test func aPlanWithAFailedTargetIsNotSaved() throws {
        let w = try F.feed()
        try F.writeSource(w, F.people(3))
        _ = try w.execute()
        let index = try #require(w.state("lms").generations().last)
        try SnapshotStateTests.damage(w.path("state/lms/generations/\(index)/index.bin"), .middleByte)
        let report = try w.execute(.plan, savePlan: w.path("p"))
        #expect(report.exitCode != .success)
        #expect(!w.exists("p"))
        #expect(report.error?.contains("not saved") == true || report.target("lms")?.status == .failed)
    }

    /// An unchanged night saves a plan that applies as "unchanged" and sends nothing.
    @Test func anUnchangedPlanSendsNothing() throws {
        let w = try F.feed()
        try F.writeSource(w, F.people(3))
        let first = try w.execute()
        _ = try w.execute(.plan, savePlan: w.path("p"))
        let report = try w.execute(applyPlan: w.path("p"))
        #expect(report.exitCode == .success, "\(report.text)")
        #expect(report.target("lms")?.status == .unchanged)
        #expect(try w.state("lms").currentRunId() == first.runId)
        #expect(w.files(in: "outbox/lms") == ["lms_0001_delta.csv"])
    }
}

/// `changes.csv` and `plan --explain`, checked against the change set computed here from the
/// people themselves.
struct ChangesTests {
    typealias F = FeedRunnerTests

    static let columns = ["user_id", "name", "email", "dept"]

    /// `action,user_id,column,before,after` lines computed without the planner.
    static func expected(old: F.People, new: F.People, deleteAfter: (String, [String]) -> [String]) -> [[String]] {
        var lines: [[String]] = [["action", "user_id", "column", "before", "after"]]
        let ids = Set(old.keys).union(new.keys).sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        for id in ids {
            switch (old[id].map { F.mapped(id, $0) }, new[id].map { F.mapped(id, $0) }) {
            case (nil, let n?):
                for (c, name) in columns.enumerated() { lines.append(["add", id, name, "", n[c]]) }
            case (let o?, let n?) where o != n:
                for (c, name) in columns.enumerated() where o[c] != n[c] { lines.append(["update", id, name, o[c], n[c]]) }
            case (let o?, nil):
                let after = deleteAfter(id, o)
                for (c, name) in columns.enumerated() { lines.append(["delete", id, name, o[c], after[c]]) }
            default: break
            }
        }
        return lines
    }

    static func night(_ w: FeedWorkspace) throws -> (F.People, F.People) {
        let old = F.people(12)
        try F.writeSource(w, old)
        #expect(try w.execute().exitCode == .success)
        var new = old
        new["2"]![0] = "Renamed, \"quoted\""
        new["3"]![2] = "Legal"
        new["3"]![1] = " NEW@X.ORG "
        new["5"] = nil
        new["13"] = ["Multi\nLine", "m@x.org", ""]
        try F.writeSource(w, new)
        return (old, new)
    }

    @Test func changesListEveryChangedColumnSortedByKey() throws {
        let w = try F.feed()
        let (old, new) = try Self.night(w)
        let report = try w.execute(.plan, outDir: w.path("review"))
        #expect((report.target("lms")?.adds, report.target("lms")?.updates, report.target("lms")?.deletes) == (1, 2, 1))
        let text = try w.read("review/lms/changes.csv")
        #expect(!text.contains("\r\n") && text.hasSuffix("\n"))
        #expect(try w.readCSV("review/lms/changes.csv") == Self.expected(old: old, new: new) { _, _ in ["", "", "", ""] })
    }

    /// `deletes: {set: …}` sends the last values with the overrides: `after` is what is sent.
    @Test func aSetDeleteShowsWhatIsSent() throws {
        let w = try F.feed(output: "deletes: { set: { dept: \"LEFT\" } },")
        let (old, new) = try Self.night(w)
        _ = try w.execute(.plan, outDir: w.path("review"))
        let expected = Self.expected(old: old, new: new) { _, o in [o[0], o[1], o[2], "LEFT"] }
        #expect(try w.readCSV("review/lms/changes.csv") == expected)
    }

    /// Each target's `--out` folder holds exactly this plan's files, not an earlier plan's.
    @Test func planOutLeavesOnlyThisPlansFiles() throws {
        let w = try F.feed()
        try F.writeSource(w, F.people(3))
        _ = try w.execute(.plan, outDir: w.path("review"))
        #expect(w.files(in: "review/lms") == ["changes.csv", "lms_0001_delta.csv"])
        try w.write("review/lms/stray.txt", "left by hand")
        _ = try w.execute()
        var people = F.people(3)
        people["1"]![0] = "Changed"
        try F.writeSource(w, people)
        _ = try w.execute(.plan, outDir: w.path("review"))
        #expect(w.files(in: "review/lms") == ["changes.csv", "lms_0002_delta.csv"])
    }

    @Test func theFirstNightListsEveryRowAsAnAdd() throws {
        let w = try F.feed()
        let people = F.people(4)
        try F.writeSource(w, people)
        _ = try w.execute(.plan, outDir: w.path("review"))
        #expect(try w.readCSV("review/lms/changes.csv") == Self.expected(old: [:], new: people) { _, o in o })
    }

    @Test func explainTellsOneRowsStory() throws {
        let w = try F.feed()
        _ = try Self.night(w)
        let update = try w.execute(.plan, explain: ("lms", ["3"]))
        let text = try #require(update.explanation)
        #expect(text.hasPrefix("lms 3: update"), "\(text)")
        #expect(text.contains("source: line "))
        #expect(text.contains("`Sales` → `Legal`") || text.contains("→ `Legal`"), "\(text)")
        #expect(text.contains("`dept` = `Legal`"), "\(text)")
        #expect(text.contains("`email` = ` NEW@X.ORG `"), "\(text)")
        // The unchanged name column names no cause.
        let nameLine = try #require(text.split(separator: "\n").first { $0.contains("  name") })
        #expect(!nameLine.contains("from"))

        let add = try #require(try w.execute(.plan, explain: ("lms", ["13"])).explanation)
        #expect(add.hasPrefix("lms 13: add"))
        #expect(add.contains("`Multi\\nLine`"), "control characters are escaped: \(add)")
        let delete = try #require(try w.execute(.plan, explain: ("lms", ["5"])).explanation)
        #expect(delete.hasPrefix("lms 5: delete"))
        #expect(delete.contains("no export row gives this key any more"))
        let same = try #require(try w.execute(.plan, explain: ("lms", ["1"])).explanation)
        #expect(same.hasPrefix("lms 1: unchanged"))
        let none = try #require(try w.execute(.plan, explain: ("lms", ["nobody"])).explanation)
        #expect(none.contains("not in this plan and not delivered before"))
        let unknown = try w.execute(.plan, explain: ("nope", ["1"]))
        #expect(unknown.exitCode == .usage)
        #expect(unknown.error?.contains("no target `nope`") == true)
        // Explaining changes nothing.
        #expect(w.files(in: "outbox/lms") == ["lms_0001_delta.csv"])
    }

    @Test func explainShowsARejection() throws {
        let w = try F.feed()
        try w.write("mappings/lms.json", F.usersMapping(required: "[\"user_id\", \"email\"]"))
        var people = F.people(3)
        try F.writeSource(w, people)
        _ = try w.execute()
        people["2"]![1] = "   "
        try F.writeSource(w, people)
        let text = try #require(try w.execute(.plan, explain: ("lms", ["2"])).explanation)
        #expect(text.contains("rejected: required column `email` is empty"), "\(text)")
        #expect(text.hasPrefix("lms 2: unchanged (kept as last delivered"), "\(text)")
    }
}
