import Foundation
import Testing

@testable import DropfeedCore

// MARK: - A feed in a temporary folder (shared by MappingTests, ConfigTests, SnapshotStateTests)

/// A throw-away folder holding a feed: `dropfeed.json`, `hr.csv`, `mappings/`, `outbox/`, `state/`.
/// Removed when the value goes away.
final class FeedWorkspace {
    let root: String
    /// Each `execute` runs one day after the previous one, so run ids (and generations) sort in run order.
    private var day = 0

    init() throws {
        let base = NSTemporaryDirectory().hasSuffix("/") ? NSTemporaryDirectory() : NSTemporaryDirectory() + "/"
        root = base + "dropfeed-core-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    func path(_ relative: String) -> String { root + "/" + relative }

    /// Writes `text` to `relative`, creating folders; returns the absolute path.
    @discardableResult
    func write(_ relative: String, _ text: String) throws -> String {
        try write(relative, bytes: Array(text.utf8))
    }

    @discardableResult
    func write(_ relative: String, bytes: [UInt8]) throws -> String {
        let full = path(relative)
        try FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: full))
        return full
    }

    /// Writes a CSV (comma, LF, minimal quoting).
    @discardableResult
    func writeCSV(_ relative: String, header: [String], rows: [[String]]) throws -> String {
        try write(relative, ([header] + rows).map(feedCSVLine).joined())
    }

    func read(_ relative: String) throws -> String {
        try String(decoding: Data(contentsOf: URL(fileURLWithPath: path(relative))), as: UTF8.self)
    }

    func bytes(_ relative: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path(relative))))
    }

    func exists(_ relative: String) -> Bool { FileManager.default.fileExists(atPath: path(relative)) }

    /// The visible file names in a folder, sorted (empty when it does not exist).
    func files(in relative: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path(relative))) ?? []).filter { !$0.hasPrefix(".") }
            .sorted()
    }

    /// A CSV file as rows of fields (the header is the first row).
    func readCSV(_ relative: String) throws -> [[String]] {
        let reader = try CSVReader(path: path(relative), hasHeader: false)
        var rows: [[String]] = []
        try reader.forEach { rows.append($0.strings) }
        return rows
    }

    /// `dropfeed.json` with the source `hr.csv` and one directory target per name,
    /// `mappings/<name>.json` → `outbox/<name>`.
    func writeConfig(
        targets: [String], sourceKey: String = "\"id\"", sourceExtra: String = "",
        deliver: [String: String] = [:]
    ) throws {
        let list = targets.map { name in
            "{ name: \"\(name)\", mapping: \"mappings/\(name).json\", deliver: { directory: \"\(deliver[name] ?? "outbox/\(name)")\" } }"
        }
        try write(
            "dropfeed.json",
            """
            // written by FeedWorkspace
            {
              version: 1,
              source: { path: "hr.csv", key: \(sourceKey), \(sourceExtra) },
              stateDir: "state",
              targets: [
                \(list.joined(separator: ",\n    ")),
              ],
            }
            """)
    }

    func config() throws -> FeedConfig { try FeedConfig.load(path: path("dropfeed.json")) }

    /// Runs `plan` or `run` in process, delivering to local folders.
    func execute(
        _ command: RunOptions.Command = .run, allowDeletes: Int? = nil, allowUpdates: Int? = nil,
        allowShrink: Bool = false, outDir: String? = nil, targets: [String] = [], date: Date? = nil,
        savePlan: String? = nil, applyPlan: String? = nil, explain: (String, [String])? = nil,
        drops: DropProvider = DirectoryDropProvider()
    ) throws -> RunReport {
        day += 1
        let when = date ?? Date(timeIntervalSince1970: 1_795_000_000 + Double(day) * 86_400)
        var options = RunOptions(
            command: command, targets: targets, allowDeletes: allowDeletes, allowUpdates: allowUpdates,
            allowShrink: allowShrink, outDir: outDir, savePlan: savePlan, applyPlan: applyPlan)
        options.explain = explain.map { (target: $0.0, key: $0.1) }
        return FeedRunner(config: try config(), options: options, clock: RunClock(date: when), drops: drops).execute()
    }

    func state(_ target: String) -> TargetState { TargetState(stateDir: path("state"), target: target) }
}

/// One CSV record (comma, LF), quoted where needed.
func feedCSVLine(_ fields: [String]) -> String {
    fields.map { f in
        // Bytes, not characters: "\r\n" is one Character, which contains neither "\r" nor "\n".
        f.utf8.contains { $0 == 0x2C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D } || f.hasPrefix(" ")
            || f.hasSuffix(" ")
            ? "\"" + f.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : f
    }.joined(separator: ",") + "\n"
}

extension RunReport {
    func target(_ name: String) -> TargetOutcome? { targets.first { $0.name == name } }
}

// MARK: - The pipeline, in process

/// `FeedRunner` end to end with directory delivery: diffs, delete policies, modes, gates,
/// rejected rows, failed deliveries and their recovery, determinism, source gates.
struct FeedRunnerTests {
    static let header = ["id", "name", "email", "dept"]

    /// The users mapping: key `user_id`, a delta with action column A/U/D, LF endings.
    static func usersMapping(
        output: String = "", safety: String = "", required: String = "[\"user_id\"]",
        file: String = "{target}_{seq}_{kind}.csv"
    ) -> String {
        """
        {
          version: 1,
          key: "user_id",
          columns: [
            { name: "user_id", from: "id" },
            { name: "name", from: "name" },
            { name: "email", from: "email", transform: ["trim", "lower"] },
            { name: "dept", from: "dept" },
          ],
          required: \(required),
          output: {
            file: "\(file)", lineEnding: "lf",
            \(output.contains("action:") ? "" : "action: { column: \"action\", add: \"A\", update: \"U\", delete: \"D\" },")
            \(output)
          },
          \(safety.isEmpty ? "" : "safety: { \(safety) },")
        }
        """
    }

    /// A feed with target `lms` (and any others) using `usersMapping`.
    static func feed(
        output: String = "", safety: String = "", targets: [String] = ["lms"], sourceExtra: String = "",
        deliver: [String: String] = [:], file: String = "{target}_{seq}_{kind}.csv"
    ) throws -> FeedWorkspace {
        let w = try FeedWorkspace()
        for t in targets { try w.write("mappings/\(t).json", usersMapping(output: output, safety: safety, file: file)) }
        try w.writeConfig(targets: targets, sourceExtra: sourceExtra, deliver: deliver)
        return w
    }

    typealias People = [String: [String]]

    /// Source rows for `people` (id → name, email, dept), in a scrambled order.
    static func writeSource(_ w: FeedWorkspace, _ people: People) throws {
        let ids = people.keys.sorted { String($0.reversed()) < String($1.reversed()) }
        try w.writeCSV("hr.csv", header: header, rows: ids.map { [$0] + people[$0]! })
    }

    /// The mapped row of a source person (email trimmed and lowercased, as the mapping does).
    static func mapped(_ id: String, _ p: [String]) -> [String] {
        [id, p[0], p[1].trimmingCharacters(in: .whitespaces).lowercased(), p[2]]
    }

    /// The delta a diff of `old` → `new` should give, computed here without the diff engine:
    /// rows sorted by key bytes, deletes carrying the old values.
    static func expectedDelta(
        old: People, new: People, deleteAction: String? = "D",
        set: [Int: String] = [:]
    ) -> [[String]] {
        var rows: [(String, [String])] = []
        for (id, p) in new {
            if let o = old[id] {
                if mapped(id, o) != mapped(id, p) { rows.append((id, ["U"] + mapped(id, p))) }
            } else {
                rows.append((id, ["A"] + mapped(id, p)))
            }
        }
        if let deleteAction {
            for (id, o) in old where new[id] == nil {
                var values = mapped(id, o)
                for (k, v) in set { values[k] = v }
                rows.append((id, [deleteAction] + values))
            }
        }
        return [["action"] + ["user_id", "name", "email", "dept"]]
            + rows.sorted { Array($0.0.utf8).lexicographicallyPrecedes(Array($1.0.utf8)) }.map(\.1)
    }

    static func people(_ n: Int, from: Int = 1) -> People {
        var out: People = [:]
        for i in from..<(from + n) { out["\(i)"] = ["Person \(i)", "P\(i)@Example.com", i % 3 == 0 ? "Sales" : "Ops"] }
        return out
    }

    // MARK: First and repeated runs

    @Test func firstRunSendsEveryRowAsAnAdd() throws {
        let w = try Self.feed()
        let people = Self.people(12)
        try Self.writeSource(w, people)
        let report = try w.execute()
        #expect(report.exitCode == .success)
        let lms = try #require(report.target("lms"))
        #expect(lms.status == .delivered)
        #expect((lms.adds, lms.updates, lms.deletes, lms.unchanged, lms.rows) == (12, 0, 0, 0, 12))
        #expect(w.files(in: "outbox/lms") == ["lms_0001_delta.csv"])
        // Keys sort by bytes: "1" < "10" < "11" < "12" < "2" …
        #expect(try w.readCSV("outbox/lms/lms_0001_delta.csv") == Self.expectedDelta(old: [:], new: people))
        #expect(lms.files.map(\.name) == ["lms_0001_delta.csv"])
        #expect(lms.files[0].sha256 == SHA256.hex(try w.bytes("outbox/lms/lms_0001_delta.csv")))
        #expect(report.sourceRows == 12)
        #expect(report.sourceSHA256 == SHA256.hex(try w.bytes("hr.csv")))
        #expect(try w.state("lms").currentRunId() == report.runId)
    }

    @Test func secondIdenticalRunIsUnchanged() throws {
        let w = try Self.feed()
        try Self.writeSource(w, Self.people(5))
        let first = try w.execute()
        #expect(first.target("lms")?.status == .delivered)
        let second = try w.execute()
        let lms = try #require(second.target("lms"))
        #expect(second.exitCode == .success)
        #expect(lms.status == .unchanged)
        #expect(lms.files.isEmpty)
        #expect((lms.adds, lms.updates, lms.deletes, lms.unchanged) == (0, 0, 0, 5))
        #expect(w.files(in: "outbox/lms") == ["lms_0001_delta.csv"])
        // Nothing delivered: the snapshot in force is still the first run's.
        #expect(try w.state("lms").currentRunId() == first.runId)
        #expect(!w.exists("state/lms/pending"))
    }

    /// Random edits to a random population; the delta must be exactly the one computed here.
    @Test(arguments: [UInt64(7), 99, 2026])
    func changedSourceGivesExactDelta(seed: UInt64) throws {
        var random = Xorshift(seed: seed)
        var old: People = [:]
        for _ in 0..<150 {
            old["\(random.below(100_000))"] = [
                "N\(random.below(50))", "E\(random.below(9))@x.org", "D\(random.below(4))",
            ]
        }
        var new = old
        for id in old.keys.sorted() {
            switch random.below(10) {
            case 0: new[id] = nil
            case 1: new[id]![0] = "Renamed \(random.below(1000))"
            case 2: new[id]![1] = "  " + new[id]![1].uppercased() + " "  // maps to the same email: not an update
            case 3: new[id]![2] = "Moved"
            default: break
            }
        }
        for _ in 0..<20 { new["n\(random.below(100_000))"] = ["New", "new@x.org", "D0"] }

        let w = try Self.feed()
        try Self.writeSource(w, old)
        #expect(try w.execute().exitCode == .success)
        try Self.writeSource(w, new)
        let report = try w.execute()
        let lms = try #require(report.target("lms"))
        let expected = Self.expectedDelta(old: old, new: new)
        let adds = expected.filter { $0[0] == "A" }.count
        let updates = expected.filter { $0[0] == "U" }.count
        let deletes = expected.filter { $0[0] == "D" }.count
        #expect((lms.adds, lms.updates, lms.deletes) == (adds, updates, deletes))
        #expect(lms.unchanged == new.count - adds - updates)
        #expect(lms.rows == new.count)
        #expect(w.files(in: "outbox/lms") == ["lms_0001_delta.csv", "lms_0002_delta.csv"])
        #expect(try w.readCSV("outbox/lms/lms_0002_delta.csv") == expected)
        #expect(lms.files.first?.rows == adds + updates + deletes)
    }

    // MARK: Deletes

    @Test func deleteRowCarriesTheLastDeliveredValues() throws {
        let w = try Self.feed()
        var people = Self.people(3)
        try Self.writeSource(w, people)
        _ = try w.execute()
        people["2"]![0] = "Second Name"  // run 2 updates row 2
        try Self.writeSource(w, people)
        _ = try w.execute()
        let delivered = people
        people["2"] = nil  // run 3 deletes it: the D row carries run 2's values
        try Self.writeSource(w, people)
        let report = try w.execute()
        #expect(report.target("lms")?.deletes == 1)
        #expect(
            try w.readCSV("outbox/lms/lms_0003_delta.csv")
                == [["action", "user_id", "name", "email", "dept"], ["D"] + Self.mapped("2", delivered["2"]!)])
    }

    @Test func omittedDeletesAreNotSentButTheSnapshotMoves() throws {
        let w = try Self.feed(output: "deletes: \"omit\",")
        var people = Self.people(3)
        try Self.writeSource(w, people)
        _ = try w.execute()
        people["3"] = nil
        try Self.writeSource(w, people)
        let report = try w.execute()
        let lms = try #require(report.target("lms"))
        #expect(lms.deletes == 1)
        #expect(lms.files.isEmpty)
        #expect(report.exitCode == .success)
        #expect(w.files(in: "outbox/lms") == ["lms_0001_delta.csv"])
        // The delete is remembered: the next run does not find it again.
        let snapshot = try #require(try w.state("lms").currentRows())
        #expect(snapshot.rows.count == 2)
        let again = try w.execute()
        #expect(again.target("lms")?.deletes == 0)
        #expect(again.target("lms")?.status == .unchanged)
    }

    @Test func setDeletesSendLastValuesWithOverridesAsAnUpdate() throws {
        let w = try Self.feed(output: "deletes: { set: { dept: \"LEFT\", name: \"\" } },")
        var people = Self.people(4)
        try Self.writeSource(w, people)
        _ = try w.execute()
        let gone = people["4"]!
        people["4"] = nil
        people["1"]![2] = "Finance"
        try Self.writeSource(w, people)
        let report = try w.execute()
        let lms = try #require(report.target("lms"))
        #expect((lms.updates, lms.deletes) == (1, 1))
        var expected = Self.mapped("4", gone)
        expected[3] = "LEFT"
        expected[1] = ""
        #expect(
            try w.readCSV("outbox/lms/lms_0002_delta.csv") == [
                ["action", "user_id", "name", "email", "dept"],
                ["U"] + Self.mapped("1", people["1"]!),
                ["U"] + expected,
            ])
    }

    // MARK: Modes

    @Test func fullModeSendsEveryRowOnlyWhenSomethingChanged() throws {
        let w = try Self.feed(output: "mode: \"full\", action: false,")
        var people = Self.people(3)
        try Self.writeSource(w, people)
        let first = try w.execute()
        #expect(first.target("lms")?.files.map(\.name) == ["lms_0001_full.csv"])
        let header = ["user_id", "name", "email", "dept"]
        #expect(
            try w.readCSV("outbox/lms/lms_0001_full.csv") == [header]
                + ["1", "2", "3"].map { Self.mapped($0, people[$0]!) })
        #expect(try w.execute().target("lms")?.status == .unchanged)
        people["2"] = nil
        try Self.writeSource(w, people)
        let third = try w.execute()
        #expect(third.target("lms")?.deletes == 1)
        #expect(
            try w.readCSV("outbox/lms/lms_0002_full.csv") == [header] + ["1", "3"].map { Self.mapped($0, people[$0]!) })
    }

    @Test func bothModeSendsTheFullFileEveryRunAndTheDeltaWhenItHasRows() throws {
        let w = try Self.feed(output: "mode: \"both\",")
        var people = Self.people(2)
        try Self.writeSource(w, people)
        #expect(try w.execute().target("lms")?.files.map(\.name) == ["lms_0001_full.csv", "lms_0001_delta.csv"])
        let second = try w.execute()
        #expect(second.target("lms")?.files.map(\.name) == ["lms_0002_full.csv"])
        #expect(second.target("lms")?.status == .delivered)
        people["9"] = ["Nine", "n@x", "Ops"]
        try Self.writeSource(w, people)
        let third = try w.execute()
        #expect(third.target("lms")?.files.map(\.name) == ["lms_0003_full.csv", "lms_0003_delta.csv"])
        #expect(try w.readCSV("outbox/lms/lms_0003_delta.csv").count == 2)
        #expect(try w.readCSV("outbox/lms/lms_0003_full.csv").count == 4)
    }

    @Test func emptyDeltaSendIsAHeaderOnlyFile() throws {
        let w = try Self.feed(output: "emptyDelta: \"send\", checksum: \"sha256\", trigger: \".done\",")
        try Self.writeSource(w, Self.people(2))
        _ = try w.execute()
        let second = try w.execute()
        let lms = try #require(second.target("lms"))
        #expect(lms.status == .delivered)
        #expect(
            lms.files.map(\.name) == ["lms_0002_delta.csv", "lms_0002_delta.csv.sha256", "lms_0002_delta.csv.done"])
        #expect(try w.read("outbox/lms/lms_0002_delta.csv") == "action,user_id,name,email,dept\n")
        let digest = SHA256.hex(try w.bytes("outbox/lms/lms_0002_delta.csv"))
        #expect(try w.read("outbox/lms/lms_0002_delta.csv.sha256") == "\(digest)  lms_0002_delta.csv\n")
        #expect(try w.bytes("outbox/lms/lms_0002_delta.csv.done").isEmpty)
    }

    @Test func emptyDeltaSkipSendsNothing() throws {
        let w = try Self.feed(output: "emptyDelta: \"skip\",")
        try Self.writeSource(w, Self.people(2))
        _ = try w.execute()
        #expect(try w.execute().target("lms")?.files.isEmpty == true)
        #expect(w.files(in: "outbox/lms").count == 1)
    }

    // MARK: Safety gates

    struct GateCase: Sendable, CustomTestStringConvertible {
        var safety: String
        var deletes: Int
        var updates: Int
        var gate: String
        var actual: Double
        var testDescription: String { "\(safety) with \(deletes) deletes, \(updates) updates" }
    }

    static let gateCases: [GateCase] = [
        GateCase(safety: "maxDeletes: 2", deletes: 3, updates: 0, gate: "maxDeletes", actual: 3),
        GateCase(safety: "maxDeletePercent: 20", deletes: 3, updates: 0, gate: "maxDeletePercent", actual: 30),
        GateCase(safety: "maxUpdatePercent: 10", deletes: 0, updates: 2, gate: "maxUpdatePercent", actual: 20),
        GateCase(
            safety: "maxDeletes: 5, maxDeletePercent: 5", deletes: 1, updates: 0, gate: "maxDeletePercent", actual: 10),
    ]

    /// Ten delivered rows, then a change with `deletes` deletes and `updates` updates.
    static func gatedFeed(_ c: GateCase, onExceed: String = "") throws -> (FeedWorkspace, People, People) {
        let w = try Self.feed(safety: c.safety + (onExceed.isEmpty ? "" : ", onExceed: \"\(onExceed)\""))
        let old = Self.people(10)
        try Self.writeSource(w, old)
        #expect(try w.execute().exitCode == .success)
        var new = old
        for i in 0..<c.deletes { new["\(10 - i)"] = nil }
        for i in 0..<c.updates { new["\(i + 1)"]![0] += " changed" }
        new["11"] = ["Eleven", "e@x", "Ops"]
        try Self.writeSource(w, new)
        return (w, old, new)
    }

    @Test(arguments: gateCases)
    func gateHoldsTheTarget(_ c: GateCase) throws {
        let (w, _, _) = try Self.gatedFeed(c)
        let before = try w.state("lms").currentRunId()
        let report = try w.execute()
        let lms = try #require(report.target("lms"))
        #expect(lms.status == .held)
        #expect(report.exitCode == .held)
        #expect(lms.gate == GateTrip(name: c.gate, limit: lms.gate?.limit ?? -1, actual: c.actual))
        #expect(lms.files.isEmpty)
        #expect(w.files(in: "outbox/lms") == ["lms_0001_delta.csv"])
        #expect(try w.state("lms").currentRunId() == before)
        #expect(!w.exists("state/lms/pending"))
        // Held again next time: nothing moved.
        #expect(try w.execute().target("lms")?.status == .held)
    }

    @Test func allowDeletesReleasesDeleteGatesOnly() throws {
        let (w, old, new) = try Self.gatedFeed(
            GateCase(safety: "maxDeletes: 2", deletes: 3, updates: 0, gate: "", actual: 0))
        #expect(try w.execute(allowDeletes: 2).target("lms")?.status == .held)
        let report = try w.execute(allowDeletes: 3)
        #expect(report.exitCode == .success)
        #expect(report.target("lms")?.status == .delivered)
        #expect(try w.readCSV("outbox/lms/lms_0002_delta.csv") == Self.expectedDelta(old: old, new: new))

        let (u, _, _) = try Self.gatedFeed(
            GateCase(safety: "maxUpdatePercent: 10", deletes: 0, updates: 2, gate: "", actual: 0))
        #expect(try u.execute(allowDeletes: 100).target("lms")?.status == .held)
    }

    @Test func holdDeletesDeliversAddsAndUpdatesAndKeepsDeletesPending() throws {
        let c = GateCase(safety: "maxDeletes: 1", deletes: 2, updates: 1, gate: "maxDeletes", actual: 2)
        let (w, old, new) = try Self.gatedFeed(c, onExceed: "hold-deletes")
        let report = try w.execute()
        let lms = try #require(report.target("lms"))
        #expect(lms.status == .delivered)
        #expect(report.exitCode == .held)
        #expect(lms.heldDeletes == 2)
        #expect(lms.gate?.name == "maxDeletes")
        #expect(
            try w.readCSV("outbox/lms/lms_0002_delta.csv") == Self.expectedDelta(old: old, new: new, deleteAction: nil))
        // The held rows stay in the snapshot with their last delivered values.
        let snapshot = try #require(try w.state("lms").currentRows())
        #expect(snapshot.rows.count == 11)
        let rows = Dictionary(uniqueKeysWithValues: snapshot.rows.map { ($0[0], $0) })
        #expect(rows["10"] == Self.mapped("10", old["10"]!))
        #expect(rows["9"] == Self.mapped("9", old["9"]!))
        #expect(rows["1"] == Self.mapped("1", new["1"]!))
        // Found again on the next run, and released by an approval.
        let again = try w.execute()
        #expect(again.target("lms")?.deletes == 2)
        #expect(again.target("lms")?.heldDeletes == 2)
        #expect(again.exitCode == .held)
        #expect(again.target("lms")?.files.isEmpty == true)
        let released = try w.execute(allowDeletes: 2)
        #expect(released.exitCode == .success)
        let last = try #require(released.target("lms")?.files.first?.name)
        #expect(try w.readCSV("outbox/lms/\(last)").map { $0[0] + $0[1] } == ["actionuser_id", "D10", "D9"])
    }

    @Test func holdDeletesKeepsHeldRowsInTheFullFile() throws {
        let c = GateCase(safety: "maxDeletePercent: 10", deletes: 2, updates: 1, gate: "maxDeletePercent", actual: 20)
        let w = try Self.feed(output: "mode: \"both\",", safety: c.safety + ", onExceed: \"hold-deletes\"")
        let old = Self.people(10)
        try Self.writeSource(w, old)
        _ = try w.execute()
        var new = old
        new["10"] = nil
        new["9"] = nil
        new["1"]![0] = "One changed"
        try Self.writeSource(w, new)
        let report = try w.execute()
        let lms = try #require(report.target("lms"))
        #expect(report.exitCode == .held)
        #expect(lms.files.map(\.name) == ["lms_0002_full.csv", "lms_0002_delta.csv"])
        var expected = new
        expected["10"] = old["10"]
        expected["9"] = old["9"]
        let ids = expected.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        #expect(
            try w.readCSV("outbox/lms/lms_0002_full.csv") == [["user_id", "name", "email", "dept"]]
                + ids.map { Self.mapped($0, expected[$0]!) })
        #expect(try w.readCSV("outbox/lms/lms_0002_delta.csv").map(\.[0]) == ["action", "U"])
    }

    /// hold-deletes only releases adds and updates when the gates that tripped are delete gates.
    @Test func holdDeletesStillHoldsWhenTheUpdateGateTrips() throws {
        let c = GateCase(
            safety: "maxDeletes: 0, maxUpdatePercent: 10", deletes: 1, updates: 2, gate: "maxDeletes", actual: 1)
        let (w, _, _) = try Self.gatedFeed(c, onExceed: "hold-deletes")
        let report = try w.execute()
        #expect(report.target("lms")?.status == .held)
        #expect(report.target("lms")?.files.isEmpty == true)
        #expect(w.files(in: "outbox/lms") == ["lms_0001_delta.csv"])
    }

    // MARK: Rejected rows

    @Test func aRejectedRowDeliveredBeforeIsKeptNotDeleted() throws {
        let w = try FeedWorkspace()
        try w.write("mappings/lms.json", Self.usersMapping(required: "[\"user_id\", \"email\"]"))
        try w.writeConfig(targets: ["lms"])
        var people = Self.people(3)
        try Self.writeSource(w, people)
        _ = try w.execute()
        people["2"]![1] = ""  // now rejected: required email is empty
        people["3"]![0] = "Three renamed"
        try Self.writeSource(w, people)
        let report = try w.execute()
        let lms = try #require(report.target("lms"))
        #expect(lms.rejected == 1)
        #expect(lms.keptRejected == 1)
        #expect((lms.adds, lms.updates, lms.deletes) == (0, 1, 0))
        #expect(lms.rejections.first?.reason == "required column `email` is empty")
        #expect(lms.rejections.first?.key == "2")
        #expect(lms.rows == 3)
        #expect(try w.readCSV("outbox/lms/lms_0002_delta.csv").map(\.[0]) == ["action", "U"])
        let snapshot = try #require(try w.state("lms").currentRows())
        #expect(snapshot.rows.contains(Self.mapped("2", Self.people(3)["2"]!)))
    }

    // MARK: Failed delivery and recovery

    @Test func aFailingTargetDoesNotStopTheOthersAndIsFinishedNextRun() throws {
        // `outbox/bad` is a regular file, so the folder cannot be created (root ignores chmod).
        let w = try Self.feed(targets: ["bad", "good"])
        try w.write("outbox/bad", "not a folder")
        var people = Self.people(4)
        try Self.writeSource(w, people)
        let first = try w.execute()
        #expect(first.target("good")?.status == .delivered)
        #expect(first.target("bad")?.status == .failed)
        #expect(first.target("bad")?.exitCode == .unavailable)
        #expect(first.exitCode == .unavailable)
        #expect(try w.state("bad").currentRunId() == nil)
        #expect(try w.state("bad").pendingJournal()?.files.map(\.name) == ["bad_0001_delta.csv"])

        // Still broken, with a change: the pending delivery is not lost, the snapshot does not move.
        people["2"]![0] = "Changed"
        try Self.writeSource(w, people)
        let second = try w.execute()
        #expect(second.target("bad")?.status == .failed)
        #expect(second.target("good")?.status == .delivered)
        #expect(try w.state("bad").currentRunId() == nil)

        // Repaired: the next run finishes the pending delivery first, commits it, then diffs.
        try FileManager.default.removeItem(atPath: w.path("outbox/bad"))
        let third = try w.execute()
        let bad = try #require(third.target("bad"))
        #expect(third.exitCode == .success)
        #expect(bad.recovered == ["bad_0001_delta.csv"])
        #expect(bad.status == .delivered)
        #expect((bad.adds, bad.updates, bad.deletes) == (0, 1, 0))
        #expect(w.files(in: "outbox/bad") == ["bad_0001_delta.csv", "bad_0002_delta.csv"])
        #expect(try w.readCSV("outbox/bad/bad_0001_delta.csv") == Self.expectedDelta(old: [:], new: Self.people(4)))
        #expect(try w.readCSV("outbox/bad/bad_0002_delta.csv") == Self.expectedDelta(old: Self.people(4), new: people))
        #expect(!w.exists("state/bad/pending"))
        #expect(try w.state("bad").currentRunId() == third.runId)
    }

    @Test func aFailedDeliveryKeepsTheOldSnapshot() throws {
        let w = try Self.feed()
        var people = Self.people(3)
        try Self.writeSource(w, people)
        let first = try w.execute()
        try FileManager.default.moveItem(atPath: w.path("outbox/lms"), toPath: w.path("delivered"))
        try w.write("outbox/lms", "blocked")
        people["1"]![2] = "Legal"
        try Self.writeSource(w, people)
        let second = try w.execute()
        #expect(second.target("lms")?.status == .failed)
        #expect(try w.state("lms").currentRunId() == first.runId)
        // A plan meanwhile reports the pending files (it does not claim to finish them) and
        // diffs against where they lead.
        let plan = try w.execute(.plan)
        #expect(plan.target("lms")?.recovered == [])
        #expect(plan.target("lms")?.pending?.remaining == ["lms_0002_delta.csv"])
        #expect(plan.target("lms")?.updates == 0)
        #expect(plan.text.contains("is pending"))
        #expect(try w.state("lms").pendingJournal() != nil)
    }

    /// A file that already arrived (same name and size) is not sent again when finishing.
    @Test func recoverySkipsAFileThatAlreadyArrived() throws {
        let w = try Self.feed(output: "checksum: \"sha256\",")
        try Self.writeSource(w, Self.people(3))
        let state = w.state("lms")
        // Stage a delivery by hand: run while blocked, then put the data file in place ourselves.
        try w.write("outbox/lms", "blocked")
        _ = try w.execute()
        let journal = try #require(try state.pendingJournal())
        #expect(journal.files.map(\.name) == ["lms_0001_delta.csv", "lms_0001_delta.csv.sha256"])
        try FileManager.default.removeItem(atPath: w.path("outbox/lms"))
        let staged = try [UInt8](
            Data(contentsOf: URL(fileURLWithPath: state.pendingFilesFolder + "/lms_0001_delta.csv")))
        try w.write("outbox/lms/lms_0001_delta.csv", bytes: staged)
        let report = try w.execute()
        #expect(report.exitCode == .success)
        #expect(report.target("lms")?.recovered == journal.files.map(\.name))
        #expect(w.files(in: "outbox/lms") == ["lms_0001_delta.csv", "lms_0001_delta.csv.sha256"])
        #expect(try state.currentRunId() == journal.runId)
    }

    // MARK: Determinism

    @Test func identicalInputGivesByteIdenticalFiles() throws {
        let fixed = Date(timeIntervalSince1970: 1_796_000_000)
        var outputs: [[String: [UInt8]]] = []
        for _ in 0..<2 {
            let w = try Self.feed(
                output: "mode: \"both\", checksum: \"sha256\",", file: "{target}_{date}_{time}_{kind}.csv")
            try Self.writeSource(w, Self.people(40))
            let report = try w.execute(date: fixed)
            #expect(report.exitCode == .success)
            var files: [String: [UInt8]] = [:]
            for name in w.files(in: "outbox/lms") { files[name] = try w.bytes("outbox/lms/\(name)") }
            outputs.append(files)
        }
        let clock = RunClock(date: fixed)
        let stem = "lms_\(clock.day)_\(clock.time)_"
        #expect(
            outputs[0].keys.sorted() == [
                stem + "delta.csv", stem + "delta.csv.sha256", stem + "full.csv", stem + "full.csv.sha256",
            ])
        #expect(outputs[0] == outputs[1])
    }

    // MARK: Plan

    @Test func planWritesFilesToOutAndChangesNoState() throws {
        let w = try Self.feed()
        try Self.writeSource(w, Self.people(3))
        let report = try w.execute(.plan, outDir: w.path("review"))
        #expect(report.target("lms")?.status == .planned)
        #expect(report.exitCode == .success)
        #expect(w.files(in: "review/lms") == ["changes.csv", "lms_0001_delta.csv"])
        #expect(w.files(in: "outbox/lms").isEmpty)
        #expect(try w.state("lms").currentRunId() == nil)
        #expect(try w.execute().target("lms")?.adds == 3)
    }

    // MARK: Source gates

    @Test func minRowsStopsTheRunBeforeAnythingIsSent() throws {
        let w = try Self.feed(sourceExtra: "minRows: 5")
        try Self.writeSource(w, Self.people(4))
        let report = try w.execute()
        #expect(report.exitCode == .data)
        #expect(report.error?.contains("minRows") == true)
        #expect(report.target("lms")?.status == .failed)
        #expect(w.files(in: "outbox/lms").isEmpty)
        try Self.writeSource(w, Self.people(5))
        #expect(try w.execute().exitCode == .success)
    }

    @Test func maxShrinkPercentComparesWithTheLastRun() throws {
        let w = try Self.feed(sourceExtra: "maxShrinkPercent: 10")
        try Self.writeSource(w, Self.people(20))
        let first = try w.execute()
        #expect(first.exitCode == .success)
        try Self.writeSource(w, Self.people(17))  // 15% smaller
        let shrunk = try w.execute()
        #expect(shrunk.exitCode == .data)
        #expect(shrunk.error?.contains("maxShrinkPercent") == true)
        #expect(shrunk.error?.contains("from 20 to 17") == true)
        #expect(try w.state("lms").currentRunId() == first.runId)
        #expect(w.files(in: "outbox/lms").count == 1)
        try Self.writeSource(w, Self.people(18))  // 10%: allowed
        let ok = try w.execute()
        #expect(ok.exitCode == .success)
        #expect(ok.target("lms")?.deletes == 2)
    }

    @Test func aMissingMappedColumnIsADataErrorAndNothingIsSent() throws {
        let w = try Self.feed()
        try w.writeCSV("hr.csv", header: ["id", "name", "mail", "dept"], rows: [["1", "A", "a@x", "Ops"]])
        let report = try w.execute()
        #expect(report.exitCode == .data)
        #expect(report.error?.contains("columns[2].from: no source column `email`") == true)
        #expect(w.files(in: "outbox/lms").isEmpty)
    }

    @Test func aDuplicateSourceKeyIsADataError() throws {
        let w = try Self.feed()
        try w.writeCSV("hr.csv", header: Self.header, rows: [["1", "A", "a@x", "Ops"], ["1", "B", "b@x", "Ops"]])
        let report = try w.execute()
        #expect(report.exitCode == .data)
        #expect(report.error?.contains("duplicate key") == true)
    }

    /// `source.duplicateKeys: "reject"`: both rows are rejected in every target and reported,
    /// the other rows go out, and a row delivered before under that key is kept as it was.
    @Test func duplicateKeysRejectRejectsBothRowsAndKeepsWhatTheVendorHad() throws {
        let w = try Self.feed(targets: ["lms", "hr"], sourceExtra: "duplicateKeys: \"reject\",")
        var people = Self.people(4)
        try Self.writeSource(w, people)
        #expect(try w.execute().exitCode == .success)
        people["2"]![0] = "Changed"
        let ids = people.keys.sorted()
        var rows = ids.map { [$0] + people[$0]! }
        rows.append(["2", "Impostor", "imp@x.org", "Ops"])
        rows.append(["9", "Nine", "n@x.org", "Ops"])
        rows.append(["9", "Nine again", "n2@x.org", "Ops"])
        try w.writeCSV("hr.csv", header: Self.header, rows: rows)
        let report = try w.execute()
        #expect(report.exitCode == .success, "\(report.text)")
        for name in ["lms", "hr"] {
            let t = try #require(report.target(name))
            #expect(t.rejected == 4)
            #expect(t.rejections.allSatisfy { $0.reason.contains("duplicate source key") }, "\(t.rejections)")
            #expect(t.rejections.contains { $0.reason.contains("`2`") && $0.reason.contains("also at line") })
            #expect((t.adds, t.updates, t.deletes) == (0, 0, 0))
            #expect(t.keptRejected == 1)
        }
        // The vendor keeps Person 2 as delivered.
        #expect(try w.state("lms").currentRows()?.rows.contains(Self.mapped("2", Self.people(4)["2"]!)) == true)
        // Without the setting, a duplicate stops the run (the default).
        try w.writeConfig(targets: ["lms", "hr"])
        let strict = try w.execute()
        #expect(strict.exitCode == .data)
    }

    @Test func aSecondRunWhileTheLockIsHeldExits75() throws {
        let w = try Self.feed()
        try Self.writeSource(w, Self.people(2))
        let lock = try StateLock(stateDir: w.path("state"))
        let report = try w.execute()
        #expect(report.exitCode == .temporaryFailure)
        withExtendedLifetime(lock) {}
    }
}

/// xorshift64*: a small seeded generator for the random tests in this folder.
struct Xorshift {
    private var state: UInt64
    init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed &* 0x9E37_79B9_7F4A_7C15 }
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}
