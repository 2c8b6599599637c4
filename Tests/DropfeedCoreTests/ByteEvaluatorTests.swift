import Foundation
import Testing

@testable import DropfeedCore

/// `ByteEvaluator` (the planner's path for CSV sources) against `CompiledMapping.evaluate`, its
/// definition, on the shipped mappings and their benchmark copies, over the sample export with
/// values made hostile at random: white space inside and outside ASCII, case that ICU and Swift
/// fold differently (K, ſ), decomposed accents, line breaks, formula starts, dates that do not
/// exist, text windows-1252 cannot hold, lookups that miss. `MappingHarness.evaluate` compares
/// outcome, reason, key, values, encoded row and lookup misses row by row; every test of
/// `MappingTests` goes through it too.
struct ByteEvaluatorTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Values that sit on an edge of some step.
    static let hostile: [String] = [
        "", " ", "  padded  ", "\t tab", "trail\u{00A0}", "\u{2003}em space\u{2003}", "\u{200B}zw", "\u{0085}nel",
        "K", "\u{212A}elvin", "ſ", "e\u{301}", "É", "İstanbul", "Москва", "上海", "Zoë", "Ærø", "Łódź", "ß",
        "line\nbreak", "cr\r\nlf", "lone\r", "A", "L", "T", "Contractor", "Employee", "Remote", "New York", "Berlin",
        "=SUM(A1)", "+44 20 7946 0958", "-minus", "@at", "\tstart", "12/31/2020", "02/29/2020", "02/30/2021",
        "13/01/2020", "1/2/2020", "2020-01-02", "x@example.com", "UPPER@EXAMPLE.COM  ", "x@example.com\u{00A0}",
        "naïve@Example.Com", "a@b@c", "no-at-sign", "E10710", "E99999", "café ☕", "“quoted”", "dash – dash",
        String(repeating: "long ", count: 40), String(repeating: "é", count: 130), "a  \u{2003} b\n\nc",
    ]

    @Test func agreesWithTheStringEvaluatorOnTheShippedMappings() throws {
        let w = try FeedWorkspace()
        let sample = [UInt8](
            try Data(contentsOf: ByteEvaluatorTests.root.appendingPathComponent("samples/hr_export.csv")))
        guard case .table(let header, let sampleRows) = readOutcome(sample) else {
            Issue.record("samples/hr_export.csv does not read")
            return
        }
        var g = SplitMix64(seed: stableSeed("byte evaluator"))
        let ids = sampleRows.map { $0[0] }
        var rows: [[String]] = []
        for (n, row) in sampleRows.enumerated() {
            for copy in 0..<2 {
                var values = row
                values[0] = copy == 0 ? row[0] : "\(row[0])-\(copy)"
                for c in 1..<values.count where g.chance(25) {
                    values[c] = c == 12 && g.chance(50) ? g.pick(ids) : g.pick(ByteEvaluatorTests.hostile)
                }
                if n % 50 == 0 && copy == 1 { values[0] = g.pick(ByteEvaluatorTests.hostile) }
                rows.append(values)
            }
        }
        rows = Array(Dictionary(rows.map { ($0[0], $0) }, uniquingKeysWith: { a, _ in a }).values)
            .filter { !$0[0].isEmpty }.sorted { $0[0] < $1[0] }
        let csv = try w.writeCSV("source.csv", header: header, rows: rows)
        let key = ["employee_id"]
        let source = SourceConfig(
            path: csv, displayPath: "source.csv", key: key, options: CSVReadOptions(), minRows: nil, maxShrinkPercent: nil)
        var mappingsRun = 0
        var outcomes = (rows: 0, rejected: 0, skipped: 0, misses: 0)
        for folder in ["mappings", "bench/run/mappings"] {
            let dir = ByteEvaluatorTests.root.appendingPathComponent(folder)
            for name in try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() where name.hasSuffix(".json") {
                let log = ProblemLog(file: name)
                let mapping = try #require(
                    MappingLoader.load(path: dir.appendingPathComponent(name).path, displayName: name, log: log),
                    "\(folder)/\(name)")
                guard CompiledMapping.problems(mapping, header: header, sourceKey: key).isEmpty else { continue }
                let table = try SourceTable(
                    source: source, needed: CompiledMapping.sourceColumns(of: mapping),
                    lookupKeys: CompiledMapping.lookupKeys(of: mapping),
                    lookupTargets: CompiledMapping.lookupTargets(of: mapping),
                    lookupBy: CompiledMapping.lookupByColumns(of: mapping), spoolFolder: w.root)
                let compiled = CompiledMapping(mapping, table: table)
                guard ByteEvaluator(compiled, table: table).evaluatesBytes else { continue }
                mappingsRun += 1
                var misses: [LookupMiss] = []
                for row in 0..<table.rowCount {
                    switch try MappingHarness.evaluate(compiled, table: table, row: row, misses: &misses) {
                    case .row: outcomes.rows += 1
                    case .rejected: outcomes.rejected += 1
                    case .skipped: outcomes.skipped += 1
                    }
                }
                outcomes.misses += misses.count
            }
        }
        // Every outcome was met, on most of the mappings, so the comparison covered each path.
        #expect(mappingsRun >= 10)
        #expect(outcomes.rows > 1000 && outcomes.rejected > 100 && outcomes.skipped > 100 && outcomes.misses > 50)
    }

    /// Each step on random values of atoms that sit on its edges: white space in and outside
    /// ASCII (and scalars whose bytes start as white space does), table scalars that are a
    /// character each, combining marks, CR LF, emoji with a joiner.
    @Test(arguments: [UInt64(1), 2, 3])
    func everyStepAgreesOnRandomValues(seed: UInt64) throws {
        let atoms = [
            "a", "Z", "0", " ", "\t", "\r", "\n", "\r\n", "-", "=", "@", "é", "Ø", "ß", "ễ", "Ж", "λ", "ש", "ل", "☕", "上", "김",
            "カ", "\u{A0}", "\u{85}", "\u{1680}", "\u{2003}", "\u{2028}", "\u{202F}", "\u{3000}", "\u{2010}", "\u{2026}",
            "\u{1E9E}", "\u{301}", "\u{200D}", "😀", "\u{1F469}\u{200D}\u{1F4BB}", "\u{FE0F}", "\u{212A}", "ſ", "K",
        ]
        let steps = [
            "\"trim\"", "\"lower\"", "\"upper\"", "\"ascii\"", "{ truncate: 1 }", "{ truncate: 3 }", "{ truncate: 6 }",
            "{ replace: \"\\\\s+\", with: \" \" }", "{ replace: \"[^\\\\x20-\\\\xFF]\", with: \"\" }",
            "{ replace: \"[^ -~]\", with: \"?\" }", "{ replace: \"@.*$\", with: \"\" }",
        ]
        let columns = steps.enumerated().map { k, step in
            "{ name: \"c\(k)\", from: \"v\", transform: [\(step)] }"
        }
        let mapping = """
            {
              version: 1,
              key: "id",
              columns: [ { name: "id", from: "id" }, \(columns.joined(separator: ", ")),
                { name: "all", from: "v", transform: ["trim", "ascii", "upper", { truncate: 4 }] } ],
              output: { file: "m_{kind}.csv", mode: "full" },
            }
            """
        var g = SplitMix64(seed: seed)
        let rows = (0..<600).map { n in
            ["r\(n)", (0..<g.below(9)).map { _ in g.pick(atoms) }.joined()]
        }
        let result = try MappingHarness.run(mapping, header: ["id", "v"], rows: rows)
        #expect(result.results.count == rows.count)
    }
}
