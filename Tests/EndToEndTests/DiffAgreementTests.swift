import Foundation
import Testing

/// `dropfeed diff --json` against Python's csv-diff on generated HR exports (bench/gen_exports.py):
/// the two must report the same added and removed rows, the same changed keys with the same
/// changes and the same columns, and the counts the generator says it made.
///
/// Needs `python3` and the `csv-diff` script on PATH (`make test` runs `pip install csv-diff`).
/// Without them the tests fail, saying so: they never skip.
@Suite struct DiffAgreementTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var seed: Int
        var rows: Int
        /// Explicit --adds, --updates, --removes; nil for the generator's defaults.
        var counts: (adds: Int, updates: Int, removes: Int)?
        /// Rewrite NEW without `cost_center` and with a new `badge_id` column.
        var reshapeColumns = false

        var testDescription: String {
            "\(rows) rows, seed \(seed)" + (counts.map { ", \($0.adds)/\($0.updates)/\($0.removes)" } ?? "")
                + (reshapeColumns ? ", columns reshaped" : "")
        }
    }

    static let cases: [Case] = [
        Case(seed: 1, rows: 3000, counts: nil),
        Case(seed: 2, rows: 3000, counts: (adds: 0, updates: 250, removes: 0)),
        Case(seed: 3, rows: 3000, counts: (adds: 400, updates: 0, removes: 150)),
        Case(seed: 4, rows: 3000, counts: nil, reshapeColumns: true),
    ]

    @Test(arguments: cases)
    func agreesWithCsvDiff(_ c: Case) throws {
        let python = try #require(
            DropfeedProcess.which("python3"), "python3 is not on PATH; the agreement tests need it")
        let csvDiff = try #require(
            DropfeedProcess.which("csv-diff"),
            "csv-diff is not installed (pip install csv-diff; `make test` does it): the agreement tests need it")
        try TemporaryDirectory.with { dir in
            let old = dir.appendingPathComponent("old.csv")
            let new = dir.appendingPathComponent("new.csv")
            var generate = [
                DropfeedProcess.packageRoot.appendingPathComponent("bench/gen_exports.py").path,
                "--rows", "\(c.rows)", "--seed", "\(c.seed)", "--out-old", old.path, "--out-new", new.path,
            ]
            if let counts = c.counts {
                generate += [
                    "--adds", "\(counts.adds)", "--updates", "\(counts.updates)", "--removes", "\(counts.removes)",
                ]
            }
            let generated = try DropfeedProcess.runProgram(python, generate)
            try #require(generated.exitCode == 0, "gen_exports.py failed: \(generated.stderr)")
            let expected = try #require(try JSONSerialization.jsonObject(with: generated.stdoutData) as? [String: Any])
            if c.reshapeColumns {
                let reshaped = try DropfeedProcess.runProgram(python, ["-c", Self.reshapeScript, new.path])
                try #require(reshaped.exitCode == 0, "reshaping NEW failed: \(reshaped.stderr)")
            }

            let ours = try DropfeedProcess.run(["diff", old.path, new.path, "--key", "employee_id", "--json"])
            try #require(ours.exitCode == 0, "dropfeed diff failed: \(ours.stderr)")
            // --format csv: the excel dialect, as dropfeed reads, rather than csv-diff's dialect sniffing.
            var environment = ProcessInfo.processInfo.environment
            environment["PYTHONUTF8"] = "1"
            let theirs = try DropfeedProcess.runProgram(
                csvDiff, [old.path, new.path, "--key", "employee_id", "--json", "--format", "csv"],
                environment: environment)
            try #require(theirs.exitCode == 0, "csv-diff failed: \(theirs.stderr)")

            let a = try DiffResult(json: ours.stdoutData)
            let b = try DiffResult(json: theirs.stdoutData)
            let disagreements = a.disagreements(with: b)
            #expect(disagreements.isEmpty, "dropfeed and csv-diff disagree")
            #expect(a.listed == a.count, "dropfeed lists a row twice")

            #expect(a.added.count == expected["added"] as? Int)
            #expect(a.removed.count == expected["removed"] as? Int)
            if c.reshapeColumns {
                #expect(a.columnsAdded == ["badge_id"])
                #expect(a.columnsRemoved == ["cost_center"])
                #expect(a.changed.count <= expected["updated"] as? Int ?? -1)
                let addedHaveNewColumns = a.added.allSatisfy { $0["badge_id"] != nil && $0["cost_center"] == nil }
                #expect(addedHaveNewColumns, "added rows carry the new file's columns")
            } else {
                #expect(a.changed.count == expected["updated"] as? Int)
                #expect(a.columnsAdded.isEmpty && a.columnsRemoved.isEmpty)
            }
        }
    }

    /// Drops `cost_center` from the CSV file argv[1] and appends a `badge_id` column, in place.
    static let reshapeScript = """
        import csv, sys
        path = sys.argv[1]
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        drop = rows[0].index("cost_center")
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\\r\\n")
            for n, row in enumerate(rows):
                w.writerow(row[:drop] + row[drop + 1:] + ["badge_id" if n == 0 else "B%05d" % n])
        """
}

/// A csv-diff style JSON result as sets and dictionaries, so file order does not matter.
struct DiffResult {
    var added: Set<[String: String]>
    var removed: Set<[String: String]>
    /// Changed rows by key (a composite key joined with U+001F), each column's [old, new].
    var changed: [String: [String: [String]]]
    var columnsAdded: Set<String>
    var columnsRemoved: Set<String>
    /// How many rows the lists held, before sets merged repeats.
    var listed: Int
    var count: Int { added.count + removed.count + changed.count }

    /// Short descriptions of what differs from `other` (at most a few examples each), empty when they agree.
    func disagreements(with other: DiffResult, examples: Int = 3) -> [String] {
        var found: [String] = []
        func compare<T: Hashable>(_ what: String, _ mine: Set<T>, _ theirs: Set<T>, _ describe: (T) -> String) {
            let onlyMine = mine.subtracting(theirs)
            let onlyTheirs = theirs.subtracting(mine)
            guard !onlyMine.isEmpty || !onlyTheirs.isEmpty else { return }
            found.append(
                "\(what): \(onlyMine.count) only in dropfeed \(onlyMine.prefix(examples).map(describe)), "
                    + "\(onlyTheirs.count) only in csv-diff \(onlyTheirs.prefix(examples).map(describe))")
        }
        let rowKey = { (row: [String: String]) in row["employee_id"] ?? row.description }
        compare("added rows", added, other.added, rowKey)
        compare("removed rows", removed, other.removed, rowKey)
        compare("changed keys", Set(changed.keys), Set(other.changed.keys)) { $0 }
        compare("columns added", columnsAdded, other.columnsAdded) { $0 }
        compare("columns removed", columnsRemoved, other.columnsRemoved) { $0 }
        let differing = changed.keys.filter { other.changed[$0] != nil && other.changed[$0] != changed[$0] }.sorted()
        for key in differing.prefix(examples) {
            found.append("changes of \(key): dropfeed \(changed[key]!) csv-diff \(other.changed[key]!)")
        }
        if differing.count > examples { found.append("… \(differing.count) keys with other changes in all") }
        return found
    }

    init(json: Data) throws {
        let object = try JSONSerialization.jsonObject(with: json)
        guard let top = object as? [String: Any],
            let added = top["added"] as? [[String: String]], let removed = top["removed"] as? [[String: String]],
            let changed = top["changed"] as? [[String: Any]],
            let columnsAdded = top["columns_added"] as? [String],
            let columnsRemoved = top["columns_removed"] as? [String]
        else {
            throw ProcessLaunchError(
                description: "not a csv-diff JSON result: \(String(decoding: json.prefix(300), as: UTF8.self))")
        }
        self.added = Set(added)
        self.removed = Set(removed)
        self.columnsAdded = Set(columnsAdded)
        self.columnsRemoved = Set(columnsRemoved)
        self.changed = [:]
        for change in changed {
            let key: String
            if let single = change["key"] as? String {
                key = single
            } else if let parts = change["key"] as? [String] {
                key = parts.joined(separator: "\u{1F}")
            } else {
                throw ProcessLaunchError(description: "a changed row without a key: \(change)")
            }
            guard let columns = change["changes"] as? [String: [String]] else {
                throw ProcessLaunchError(description: "changes of \(key) are not {column: [old, new]}")
            }
            self.changed[key] = columns
        }
        listed = added.count + removed.count + changed.count
    }
}
