import Foundation
import Testing

@testable import DropfeedCore

/// What one source row became, compared by exact UTF-8 bytes (`String ==` would call `é` and
/// `e\u{301}` equal and hide a normalising transform).
enum Mapped: Equatable, CustomStringConvertible {
    case skipped
    case rejected(String)
    case row([String])

    static func == (a: Mapped, b: Mapped) -> Bool {
        switch (a, b) {
        case (.skipped, .skipped): return true
        case (.rejected(let x), .rejected(let y)): return x == y
        case (.row(let x), .row(let y)): return x.map { Array($0.utf8) } == y.map { Array($0.utf8) }
        default: return false
        }
    }

    var description: String {
        switch self {
        case .skipped: return "skipped"
        case .rejected(let reason): return "rejected: \(reason)"
        case .row(let values): return "row \(values.map(\.debugDescription).joined(separator: ", "))"
        }
    }
}

/// Loads mapping text through the real loader and maps rows of a real `SourceTable`.
enum MappingHarness {
    struct LoadFailure: Error, CustomStringConvertible {
        var problems: [ConfigProblem]
        var description: String { problems.map(\.description).joined(separator: "\n") }
    }

    static func load(_ text: String, in w: FeedWorkspace, name: String = "mappings/m.json") throws -> Mapping {
        let path = try w.write(name, text)
        let log = ProblemLog(file: name)
        guard let mapping = MappingLoader.load(path: path, displayName: name, log: log), log.problems.isEmpty else {
            throw LoadFailure(problems: log.problems)
        }
        return mapping
    }

    /// Maps every row of a source with `header` and `rows`; returns each row's fate and the lookup misses.
    static func run(_ text: String, header: [String], rows: [[String]], key: [String] = ["id"]) throws
        -> (results: [Mapped], misses: Int)
    {
        let w = try FeedWorkspace()
        let mapping = try load(text, in: w)
        let csv = try w.writeCSV("source.csv", header: header, rows: rows)
        let source = SourceConfig(
            path: csv, displayPath: "source.csv", key: key, options: CSVReadOptions(),
            minRows: nil, maxShrinkPercent: nil)
        let problems = CompiledMapping.problems(mapping, header: header, sourceKey: key)
        guard problems.isEmpty else { throw LoadFailure(problems: problems) }
        let table = try SourceTable(
            source: source, needed: CompiledMapping.sourceColumns(of: mapping),
            lookupKeys: CompiledMapping.lookupKeys(of: mapping), lookupTargets: CompiledMapping.lookupTargets(of: mapping),
            spoolFolder: w.root)
        let compiled = CompiledMapping(mapping, table: table)
        var missList: [LookupMiss] = []
        let results = try (0..<table.rowCount).map { row -> Mapped in
            try evaluate(compiled, table: table, row: row, misses: &missList)
        }
        return (results, missList.count)
    }

    /// Row `row` through `CompiledMapping.evaluate`, checked against `ByteEvaluator` (the
    /// planner's path for CSV sources): the same outcome, key, values and lookup misses.
    static func evaluate(_ compiled: CompiledMapping, table: SourceTable, row: Int, misses: inout [LookupMiss]) throws
        -> Mapped
    {
        let lookup = { (value: String, column: Int, by: Int?) -> String? in table.lookup(value, column: column, by: by) }
        var found: [LookupMiss] = []
        let expected = compiled.evaluate(table.strings(row: row), lookup: lookup, misses: &found)
        misses += found
        var bytes = ByteEvaluator(compiled, table: table)
        if bytes.evaluatesBytes {
            var byteMisses: [LookupMiss] = []
            var cursor = SourceTable.RowCursor(table: table, rows: row..<(row + 1), dense: false)
            let outcome = try cursor.withValues(row) { bytes.evaluate($0, at: row, misses: &byteMisses) }
            #expect(byteMisses == found, "row \(row): lookup misses")
            switch (expected, outcome) {
            case (.skipped, .skipped): break
            case (.rejected(let key, let reason), .rejected(let byteKey, let byteReason)):
                #expect(byteReason == reason && byteKey.map { $0.map { Array($0.utf8) } } == key.map { $0.map { Array($0.utf8) } },
                        "row \(row): rejected as \(String(describing: byteKey)) \(byteReason), not \(String(describing: key)) \(reason)")
            case (.row(let values), .row):
                let byteValues = values.indices.map { bytes.string($0) }
                #expect(Mapped.row(byteValues) == Mapped.row(values), "row \(row): \(byteValues) instead of \(values)")
                var encoded: [UInt8] = []
                bytes.appendRow(to: &encoded)
                #expect(encoded == encodeFields(values), "row \(row): encoded row")
                #expect(bytes.keyBytes() == RowIndex.keyBytes(compiled.keyPositions.map { values[$0] }), "row \(row): key")
            default:
                Issue.record("row \(row): ByteEvaluator gave \(outcome), CompiledMapping \(expected)")
            }
        }
        switch expected {
        case .skipped: return .skipped
        case .rejected(_, let reason): return .rejected(reason)
        case .row(let values): return .row(values)
        }
    }

    /// A mapping with key `id` and one more output column `out` described by `spec`.
    static func oneColumn(_ spec: String, output: String = "", extra: String = "") -> String {
        """
        {
          version: 1,
          key: "id",
          columns: [ { name: "id", from: "id" }, { name: "out", \(spec) } ],
          output: { file: "m_{kind}.csv", mode: "full", \(output) },
          \(extra)
        }
        """
    }
}

struct MappingTests {
    // MARK: - Computing one column

    struct ColumnCase: Sendable, CustomTestStringConvertible {
        var label: String
        var spec: String
        /// Source columns besides `id`, with this row's values.
        var source: [(String, String)]
        var expected: Expected
        var output: String = ""

        enum Expected: Sendable {
            case value(String)
            case rejected(String)
        }

        var testDescription: String { label }
    }

    static func c(_ label: String, _ spec: String, _ source: [(String, String)], _ value: String, output: String = "")
        -> ColumnCase
    {
        ColumnCase(label: label, spec: spec, source: source, expected: .value(value), output: output)
    }

    static func reject(_ label: String, _ spec: String, _ source: [(String, String)], _ reason: String) -> ColumnCase {
        ColumnCase(label: label, spec: spec, source: source, expected: .rejected(reason))
    }

    static let columnCases: [ColumnCase] = [
        // from
        c("from one column", "from: \"a\"", [("a", "Ann")], "Ann"),
        c("from one column keeps spaces", "from: \"a\"", [("a", "  Ann ")], "  Ann "),
        c(
            "from list takes the first non-empty", "from: [\"a\", \"b\", \"c\"]", [("a", ""), ("b", ""), ("c", "Cy")],
            "Cy"),
        c("from list prefers the first", "from: [\"a\", \"b\"]", [("a", "Al"), ("b", "Bo")], "Al"),
        c("from list: a space is not empty", "from: [\"a\", \"b\"]", [("a", " "), ("b", "Bo")], " "),
        c("from list all empty", "from: [\"a\", \"b\"]", [("a", ""), ("b", "")], ""),
        // template
        c("template", "template: \"{a} {b}\"", [("a", "Ann"), ("b", "Lee")], "Ann Lee"),
        c("template with an empty value", "template: \"{a} {b}\"", [("a", "Ann"), ("b", "")], "Ann "),
        c("template {{ }} escapes", "template: \"{{{a}}}\"", [("a", "x")], "{x}"),
        c("template literal braces only", "template: \"}}{{\"", [("a", "x")], "}{"),
        c("template repeats a column", "template: \"{a}-{a}\"", [("a", "x")], "x-x"),
        // value
        c("value is a constant", "value: \"ACME\"", [("a", "ignored")], "ACME"),
        c("value can be empty with default", "value: \"\", default: \"d\"", [("a", "x")], "d"),
        // map and default
        c(
            "map hit", "from: \"s\", map: { A: \"active\", L: \"active\" }, default: \"inactive\"", [("s", "L")],
            "active"),
        c(
            "map miss takes default", "from: \"s\", map: { A: \"active\" }, default: \"inactive\"", [("s", "T")],
            "inactive"),
        c(
            "map miss on empty takes default", "from: \"s\", map: { A: \"active\" }, default: \"inactive\"",
            [("s", "")], "inactive"),
        c("map without default passes through", "from: \"s\", map: { A: \"active\" }", [("s", "T")], "T"),
        c("map without default passes empty through", "from: \"s\", map: { A: \"active\" }", [("s", "")], ""),
        c("map is case sensitive", "from: \"s\", map: { A: \"active\" }", [("s", "a")], "a"),
        c("map of the empty value", "from: \"s\", map: { \"\": \"none\" }", [("s", "")], "none"),
        c("default without map fills empty", "from: \"s\", default: \"n/a\"", [("s", "")], "n/a"),
        c("default without map keeps a value", "from: \"s\", default: \"n/a\"", [("s", "x")], "x"),
        c("default without map keeps a space", "from: \"s\", default: \"n/a\"", [("s", " ")], " "),
        // date
        c(
            "date reformat", "from: \"d\", date: { from: \"MM/dd/yyyy\", to: \"yyyy-MM-dd\" }", [("d", "11/29/2026")],
            "2026-11-29"),
        c(
            "date leap day", "from: \"d\", date: { from: \"MM/dd/yyyy\", to: \"yyyy-MM-dd\" }", [("d", "02/29/2024")],
            "2024-02-29"),
        c(
            "date 2000 is leap", "from: \"d\", date: { from: \"MM/dd/yyyy\", to: \"yyyyMMdd\" }", [("d", "02/29/2000")],
            "20000229"),
        c("date empty stays empty", "from: \"d\", date: { from: \"MM/dd/yyyy\", to: \"yyyy-MM-dd\" }", [("d", "")], ""),
        c(
            "date with default for empty",
            "from: \"d\", default: \"01/01/1970\", date: { from: \"MM/dd/yyyy\", to: \"yyyy-MM-dd\" }",
            [("d", "")], "1970-01-01"),
        reject(
            "date 02/31 does not exist", "from: \"d\", date: { from: \"MM/dd/yyyy\", to: \"yyyy-MM-dd\" }",
            [("d", "02/31/2024")],
            "`out`: `02/31/2024` is not a date like MM/dd/yyyy"),
        reject(
            "date 1900 is not leap", "from: \"d\", date: { from: \"MM/dd/yyyy\", to: \"yyyy-MM-dd\" }",
            [("d", "02/29/1900")],
            "`out`: `02/29/1900` is not a date like MM/dd/yyyy"),
        reject(
            "date 2023 is not leap", "from: \"d\", date: { from: \"MM/dd/yyyy\", to: \"yyyy-MM-dd\" }",
            [("d", "02/29/2023")],
            "`out`: `02/29/2023` is not a date like MM/dd/yyyy"),
        reject(
            "date wrong digit count", "from: \"d\", date: { from: \"MM/dd/yyyy\", to: \"yyyy-MM-dd\" }",
            [("d", "2/3/2024")],
            "`out`: `2/3/2024` is not a date like MM/dd/yyyy"),
        reject(
            "date trailing text", "from: \"d\", date: { from: \"yyyy-MM-dd\", to: \"dd.MM.yyyy\" }",
            [("d", "2024-01-02T00:00")],
            "`out`: `2024-01-02T00:00` is not a date like yyyy-MM-dd"),
        // lookup-free transforms
        c("trim", "from: \"a\", transform: [\"trim\"]", [("a", " \t Ann \n")], "Ann"),
        c("lower", "from: \"a\", transform: [\"lower\"]", [("a", "ÀNN")], "ànn"),
        c("upper", "from: \"a\", transform: \"upper\"", [("a", "straße")], "STRASSE"),
        c(
            "ascii strips diacritics", "from: \"a\", transform: [\"ascii\"]", [("a", "Zoë Ñúñez-Çelik")],
            "Zoe Nunez-Celik"),
        c("ascii ß", "from: \"a\", transform: [\"ascii\"]", [("a", "Straße")], "Strasse"),
        c("ascii Ł", "from: \"a\", transform: [\"ascii\"]", [("a", "Łukasz Wałęsa")], "Lukasz Walesa"),
        c("ascii Ø", "from: \"a\", transform: [\"ascii\"]", [("a", "Øystein Sørensen")], "Oystein Sorensen"),
        c("ascii Æ", "from: \"a\", transform: [\"ascii\"]", [("a", "Ærø")], "AEro"),
        c("ascii decomposed input", "from: \"a\", transform: [\"ascii\"]", [("a", "Jose\u{301}")], "Jose"),
        c("ascii drops CJK", "from: \"a\", transform: [\"ascii\"]", [("a", "山田 Taro")], " Taro"),
        c("ascii drops emoji", "from: \"a\", transform: [\"ascii\"]", [("a", "ok👍")], "ok"),
        c("ascii leaves ASCII alone", "from: \"a\", transform: [\"ascii\"]", [("a", "a-b_c.d@e")], "a-b_c.d@e"),
        c("truncate", "from: \"a\", transform: [{ truncate: 3 }]", [("a", "abcdef")], "abc"),
        c("truncate shorter value", "from: \"a\", transform: [{ truncate: 3 }]", [("a", "ab")], "ab"),
        c("truncate keeps flags whole", "from: \"a\", transform: [{ truncate: 2 }]", [("a", "🇫🇷🇩🇪🇮🇹")], "🇫🇷🇩🇪"),
        c(
            "truncate keeps combining marks", "from: \"a\", transform: [{ truncate: 2 }]",
            [("a", "e\u{301}e\u{301}e\u{301}")], "e\u{301}e\u{301}"),
        c("truncate keeps a ZWJ family", "from: \"a\", transform: [{ truncate: 1 }]", [("a", "👨‍👩‍👧x")], "👨‍👩‍👧"),
        c("truncate keeps CRLF together", "from: \"a\", transform: [{ truncate: 2 }]", [("a", "a\r\nb")], "a\r\n"),
        c(
            "replace with a character class", "from: \"a\", transform: [{ replace: \"[^0-9+]\", with: \"\" }]",
            [("a", "+1 (555) 010-9999")], "+15550109999"),
        c(
            "replace a class run", "from: \"a\", transform: [{ replace: \"[ _]+\", with: \"-\" }]", [("a", "a  b__c")],
            "a-b-c"),
        c(
            "replace with a regex and groups",
            "from: \"a\", transform: [{ replace: \"^(\\\\w+)@(\\\\w+)$\", with: \"$2/$1\" }]",
            [("a", "jane@acme")], "acme/jane"),
        c(
            "replace every match", "from: \"a\", transform: [{ replace: \"a.\", with: \"X\" }]", [("a", "abacad")],
            "XXX"),
        c(
            "replace a literal", "from: \"a\", transform: [{ replace: \"@old\\\\.com\", with: \"@new.com\" }]",
            [("a", "x@old.com")], "x@new.com"),
        // order
        c(
            "transforms in order: trim then truncate", "from: \"a\", transform: [\"trim\", { truncate: 2 }]",
            [("a", "  abc")], "ab"),
        c(
            "transforms in order: truncate then trim", "from: \"a\", transform: [{ truncate: 2 }, \"trim\"]",
            [("a", "  abc")], ""),
        c(
            "transforms in order: upper then replace",
            "from: \"a\", transform: [\"upper\", { replace: \"[a-z]\", with: \"_\" }]",
            [("a", "ab")], "AB"),
        c(
            "transforms in order: replace then upper",
            "from: \"a\", transform: [{ replace: \"[a-z]\", with: \"_\" }, \"upper\"]",
            [("a", "ab")], "__"),
        c(
            "transform after map", "from: \"s\", map: { A: \" Active \" }, transform: [\"trim\", \"upper\"]",
            [("s", "A")], "ACTIVE"),
        c("transform after default", "from: \"s\", default: \"none\", transform: [\"upper\"]", [("s", "")], "NONE"),
        c(
            "transform after date",
            "from: \"d\", date: { from: \"dd.MM.yyyy\", to: \"yyyy-MM-dd\" }, transform: [{ replace: \"-\", with: \"\" }]",
            [("d", "29.02.2024")], "20240229"),
        c(
            "map before date",
            "from: \"d\", map: { never: \"01/01/2000\" }, date: { from: \"MM/dd/yyyy\", to: \"yyyy\" }",
            [("d", "never")], "2000"),
        c(
            "transform after template", "template: \"{a}.{b}@x.org\", transform: [\"lower\", \"ascii\"]",
            [("a", "Zoë"), ("b", "ØRN")], "zoe.orn@x.org"),
        // formula guard (OWASP CSV injection)
        c("guard =", "from: \"a\"", [("a", "=1+1")], "'=1+1", output: "formulaGuard: true"),
        c("guard +", "from: \"a\"", [("a", "+49 30")], "'+49 30", output: "formulaGuard: true"),
        c("guard -", "from: \"a\"", [("a", "-5")], "'-5", output: "formulaGuard: true"),
        c("guard @", "from: \"a\"", [("a", "@SUM(A1)")], "'@SUM(A1)", output: "formulaGuard: true"),
        c("guard TAB", "from: \"a\"", [("a", "\tx")], "'\tx", output: "formulaGuard: true"),
        c("guard CR", "from: \"a\"", [("a", "\rx")], "'\rx", output: "formulaGuard: true"),
        c("guard leaves inner =", "from: \"a\"", [("a", "a=b")], "a=b", output: "formulaGuard: true"),
        c("guard leaves empty", "from: \"a\"", [("a", "")], "", output: "formulaGuard: true"),
        c(
            "guard after transforms", "from: \"a\", transform: [\"trim\"]", [("a", "  =cmd")], "'=cmd",
            output: "formulaGuard: true"),
        c("guard on a constant", "value: \"=HYPERLINK()\"", [("a", "")], "'=HYPERLINK()", output: "formulaGuard: true"),
        c("no guard by default", "from: \"a\"", [("a", "=1+1")], "=1+1"),
        c("no guard when false", "from: \"a\"", [("a", "@x")], "@x", output: "formulaGuard: false"),
        c(
            "guard except this column", "from: \"a\"", [("a", "+49 30")], "+49 30",
            output: "formulaGuard: { except: [\"out\"] }"),
        c(
            "guard except another column", "from: \"a\"", [("a", "+49 30")], "'+49 30",
            output: "formulaGuard: { except: [\"id\"] }"),
    ]

    @Test(arguments: columnCases)
    func column(_ c: ColumnCase) throws {
        let header = ["id"] + c.source.map(\.0)
        let row = ["7"] + c.source.map(\.1)
        let (results, misses) = try MappingHarness.run(
            MappingHarness.oneColumn(c.spec, output: c.output), header: header, rows: [row])
        switch c.expected {
        case .value(let value): #expect(results == [.row(["7", value])])
        case .rejected(let reason): #expect(results == [.rejected(reason)])
        }
        #expect(misses == 0)
    }

    // MARK: - where

    struct WhereCase: Sendable, CustomTestStringConvertible {
        var condition: String
        var value: String
        var passes: Bool
        var testDescription: String { "{\(condition)} on \(value.debugDescription)" }
    }

    static let whereCases: [WhereCase] = [
        WhereCase(condition: "in: [\"A\", \"L\"]", value: "A", passes: true),
        WhereCase(condition: "in: [\"A\", \"L\"]", value: "L", passes: true),
        WhereCase(condition: "in: [\"A\", \"L\"]", value: "T", passes: false),
        WhereCase(condition: "in: [\"A\", \"L\"]", value: "a", passes: false),
        WhereCase(condition: "in: [\"A\", \"L\"]", value: "", passes: false),
        WhereCase(condition: "in: \"A\"", value: "A", passes: true),
        WhereCase(condition: "in: []", value: "A", passes: false),
        WhereCase(condition: "notIn: [\"Contractors\"]", value: "Sales", passes: true),
        WhereCase(condition: "notIn: [\"Contractors\"]", value: "Contractors", passes: false),
        WhereCase(condition: "notIn: [\"Contractors\"]", value: "", passes: true),
        WhereCase(condition: "matches: \"@example\\\\.com$\"", value: "jo@example.com", passes: true),
        WhereCase(condition: "matches: \"@example\\\\.com$\"", value: "jo@example.computer", passes: false),
        WhereCase(condition: "matches: \"@example\\\\.com$\"", value: "jo@exampleXcom", passes: false),
        WhereCase(condition: "matches: \"example\"", value: "jo@example.com", passes: true),
        WhereCase(condition: "matches: \"^[0-9]{3}$\"", value: "123", passes: true),
        WhereCase(condition: "matches: \"^[0-9]{3}$\"", value: "1234", passes: false),
        WhereCase(condition: "matches: \"[^ -~]\"", value: "plain", passes: false),
        WhereCase(condition: "matches: \"[^ -~]\"", value: "naïve", passes: true),
        WhereCase(condition: "notEmpty: true", value: "x", passes: true),
        WhereCase(condition: "notEmpty: true", value: " ", passes: true),
        WhereCase(condition: "notEmpty: true", value: "", passes: false),
        WhereCase(condition: "notEmpty: false", value: "", passes: true),
        WhereCase(condition: "notEmpty: false", value: "x", passes: false),
        WhereCase(condition: "equals: \"A\"", value: "A", passes: true),
        WhereCase(condition: "equals: \"A\"", value: "a", passes: false),
        WhereCase(condition: "equals: \"A\"", value: "A ", passes: false),
        WhereCase(condition: "equals: \"\"", value: "", passes: true),
    ]

    /// A row failing `where` is skipped; a row passing it goes on to `required`, which rejects it
    /// here (its email is empty): rejections only ever concern rows that pass `where`.
    @Test(arguments: whereCases)
    func whereIsAppliedFirst(_ c: WhereCase) throws {
        let text = """
            {
              version: 1, key: "id",
              where: [ { column: "w", \(c.condition) } ],
              columns: [ { name: "id", from: "id" }, { name: "email", from: "email" } ],
              required: ["email"],
              output: { file: "m.csv", mode: "full" },
            }
            """
        let (results, _) = try MappingHarness.run(text, header: ["id", "w", "email"], rows: [["1", c.value, ""]])
        #expect(results == [c.passes ? .rejected("required column `email` is empty") : .skipped])
    }

    @Test func allWhereConditionsMustHold() throws {
        let text = """
            { version: 1, key: "id",
              where: [ { column: "status", in: ["A", "L"] }, { column: "dept", notIn: ["Contractors"] },
                       { column: "email", notEmpty: true } ],
              columns: [ { name: "id", from: "id" }, { name: "hire", from: "hire", date: { from: "yyyy-MM-dd", to: "yyyyMMdd" } } ],
              output: { file: "m.csv", mode: "full" } }
            """
        let rows = [
            ["1", "A", "Ops", "a@x", "2024-01-31"],
            ["2", "T", "Ops", "b@x", "garbage"],  // filtered out: its bad date is never looked at
            ["3", "L", "Contractors", "c@x", "garbage"],
            ["4", "L", "Ops", "", "2024-02-30"],
            ["5", "L", "Ops", "e@x", "2024-02-30"],  // passes: its bad date rejects it
        ]
        let (results, _) = try MappingHarness.run(text, header: ["id", "status", "dept", "email", "hire"], rows: rows)
        #expect(
            results == [
                .row(["1", "20240131"]), .skipped, .skipped, .skipped,
                .rejected("`hire`: `2024-02-30` is not a date like yyyy-MM-dd"),
            ])
    }

    // MARK: - required, keys

    @Test func requiredAndKeyRejections() throws {
        let text = """
            { version: 1, key: "id",
              columns: [ { name: "id", from: "eid", transform: ["trim"] }, { name: "email", from: "email" }, { name: "n", from: "n" } ],
              required: ["email"],
              output: { file: "m.csv", mode: "full" } }
            """
        let rows = [["1", "1", "a@x", ""], ["2", "2", "", "x"], ["3", " ", "c@x", "y"]]
        let (results, _) = try MappingHarness.run(text, header: ["id", "eid", "email", "n"], rows: rows)
        #expect(
            results == [
                .row(["1", "a@x", ""]),
                .rejected("required column `email` is empty"),
                .rejected("key column `id` is empty"),
            ])
    }

    @Test func anUnrepresentableValueInALatin1OutputIsARejection() throws {
        let (results, _) = try MappingHarness.run(
            MappingHarness.oneColumn("from: \"a\"", output: "encoding: \"iso-8859-1\""),
            header: ["id", "a"], rows: [["1", "Zoë"], ["2", "Łukasz"]])
        #expect(results[0] == .row(["1", "Zoë"]))
        #expect(results[1] == .rejected("`out`: `Łukasz` cannot be written in iso-8859-1 (add the ascii transform)"))
    }

    // MARK: - lookup

    /// The manager's email: a hit, an empty manager id, and a manager id naming nobody.
    ///
    /// An empty value gives an empty result without a warning (nobody has no manager to look up);
    /// a value naming no source row gives an empty result and counts as a lookup miss. Neither
    /// rejects the row.
    @Test func lookupReadsTheSourceRowWithThatKey() throws {
        let text = MappingHarness.oneColumn("from: \"manager\", lookup: \"email\"")
        let header = ["id", "email", "manager"]
        let rows = [
            ["1", "boss@x", ""], ["2", "w2@x", "1"], ["3", "w3@x", "99"], ["4", "w4@x", "2"], ["5", "w5@x", "99"],
        ]
        let (results, misses) = try MappingHarness.run(text, header: header, rows: rows)
        #expect(
            results == [
                .row(["1", ""]), .row(["2", "boss@x"]), .row(["3", ""]), .row(["4", "w2@x"]), .row(["5", ""]),
            ])
        #expect(misses == 2)
    }

    @Test func lookupThenMapThenTransform() throws {
        let spec =
            "from: \"manager\", lookup: \"dept\", map: { Sales: \"S\" }, default: \"other\", transform: [\"lower\"]"
        let rows = [["1", "Sales", ""], ["2", "Ops", "1"], ["3", "Ops", "2"]]
        let (results, _) = try MappingHarness.run(
            MappingHarness.oneColumn(spec), header: ["id", "dept", "manager"], rows: rows)
        #expect(results == [.row(["1", "other"]), .row(["2", "s"]), .row(["3", "other"])])
    }

    @Test func lookupMissesAreAWarningInTheRunReport() throws {
        let w = try FeedWorkspace()
        try w.write("mappings/t.json", MappingHarness.oneColumn("from: \"manager\", lookup: \"email\""))
        try w.writeConfig(targets: ["t"])
        try w.writeCSV(
            "hr.csv", header: ["id", "email", "manager"],
            rows: [["1", "a@x", "2"], ["2", "b@x", "7"], ["3", "c@x", "1"]])
        let report = try w.execute(.plan)
        let t = try #require(report.target("t"))
        #expect(t.lookupMisses == 1)
        #expect(t.lookupMissList == [LookupMissReport(key: "2", column: "out", value: "7")])
        #expect(t.rejected == 0)
        #expect(t.adds == 3)
        #expect(report.exitCode == .success)
        let json = try JSONSerialization.jsonObject(with: Data(report.json.rendered(indent: nil).utf8)) as? [String: Any]
        let targets = json?["targets"] as? [[String: Any]]
        #expect(targets?.first?["lookupMissExamples"] as? [[String: String]] == [["key": "2", "column": "out", "value": "7"]])
    }

    /// The report names the first 20 misses, and counts them all — reused rows included.
    @Test func theFirstTwentyLookupMissesAreListed() throws {
        let w = try FeedWorkspace()
        try w.write("mappings/t.json", MappingHarness.oneColumn("from: \"manager\", lookup: \"email\""))
        try w.writeConfig(targets: ["t"])
        let rows = (1...30).map { ["\($0)", "u\($0)@x", "m\($0)"] }
        try w.writeCSV("hr.csv", header: ["id", "email", "manager"], rows: rows)
        let first = try #require(try w.execute().target("t"))
        #expect(first.lookupMisses == 30)
        #expect(first.lookupMissList.count == TargetOutcome.keptRejections)
        #expect(Set(first.lookupMissList.map(\.value)).isSubset(of: Set((1...30).map { "m\($0)" })))
        // The next night reuses every row: the misses are still counted and named.
        let second = try #require(try w.execute().target("t"))
        #expect(second.status == .unchanged)
        #expect(second.lookupMisses == 30)
        #expect(second.lookupMissList.count == TargetOutcome.keptRejections)
    }

    @Test func lookupNeedsASingleColumnSourceKey() throws {
        let w = try FeedWorkspace()
        let mapping = try MappingHarness.load(MappingHarness.oneColumn("from: \"m\", lookup: \"email\""), in: w)
        let problems = CompiledMapping.problems(
            mapping, header: ["id", "site", "m", "email"], sourceKey: ["site", "id"])
        #expect(problems.map(\.path) == ["columns[1].lookup"])
        #expect(problems.first?.message == "lookup needs a single-column source key")
    }

    // MARK: - keys

    @Test func compositeOutputKeysMatchComponentWise() throws {
        let w = try FeedWorkspace()
        try w.write(
            "mappings/t.json",
            """
            { version: 1, key: ["site", "uid"],
              columns: [ { name: "site", from: "site" }, { name: "uid", from: "uid" }, { name: "name", from: "name" } ],
              output: { file: "t_{seq}.csv", lineEnding: "lf" } }
            """)
        try w.writeConfig(targets: ["t"])
        let header = ["id", "site", "uid", "name"]
        try w.writeCSV(
            "hr.csv", header: header,
            rows: [["1", "ab", "c", "x"], ["2", "a", "z", "y"], ["3", "a", "zz", "z"], ["4", "b", "a", "w"]])
        let first = try w.execute()
        #expect(first.target("t")?.adds == 4)
        // ["a","z"] < ["a","zz"] < ["ab","c"] < ["b","a"]: by component, not by the concatenation ("abc" < "az").
        #expect(
            try w.readCSV("outbox/t/t_0001.csv") == [
                ["action", "site", "uid", "name"], ["add", "a", "z", "y"], ["add", "a", "zz", "z"],
                ["add", "ab", "c", "x"], ["add", "b", "a", "w"],
            ])
        try w.writeCSV(
            "hr.csv", header: header,
            rows: [["1", "ab", "c", "x2"], ["2", "a", "z", "y"], ["4", "b", "a", "w"], ["5", "a", "zzz", "v"]])
        let second = try w.execute()
        let t = try #require(second.target("t"))
        #expect((t.adds, t.updates, t.deletes, t.unchanged) == (1, 1, 1, 2))
        #expect(
            try w.readCSV("outbox/t/t_0002.csv") == [
                ["action", "site", "uid", "name"], ["delete", "a", "zz", "z"], ["add", "a", "zzz", "v"],
                ["update", "ab", "c", "x2"],
            ])
    }

    @Test func duplicateOutputKeyFailsTheTargetOnly() throws {
        let w = try FeedWorkspace()
        // Two source rows map to the same lowercased email key.
        try w.write(
            "mappings/dup.json",
            """
            { version: 1, key: "email",
              columns: [ { name: "email", from: "email", transform: ["lower"] }, { name: "id", from: "id" } ],
              output: { file: "d.csv", mode: "full" } }
            """)
        try w.write("mappings/ok.json", MappingHarness.oneColumn("from: \"email\""))
        try w.writeConfig(targets: ["dup", "ok"])
        try w.writeCSV(
            "hr.csv", header: ["id", "email"], rows: [["1", "Ann@X.org"], ["2", "b@x.org"], ["3", "ann@x.org"]])
        let report = try w.execute()
        let dup = try #require(report.target("dup"))
        #expect(dup.status == .failed)
        #expect(dup.exitCode == .data)
        #expect(
            dup.error?.contains("two source rows map to the same output key `ann@x.org` (source lines 2 and 4)") == true
        )
        #expect(report.target("ok")?.status == .delivered)
        #expect(report.exitCode == .data)
        #expect(w.files(in: "outbox/dup").isEmpty)
        #expect(try w.state("dup").currentRunId() == nil)
    }

    // MARK: - through the written file

    /// The mapped values reach the vendor file unchanged (quoted where needed), in column order.
    @Test func mappedValuesReachTheFile() throws {
        let w = try FeedWorkspace()
        try w.write(
            "mappings/t.json",
            """
            { version: 1, key: "user_id",
              where: [ { column: "status", in: ["A"] } ],
              columns: [
                { name: "user_id", from: "id" },
                { name: "display", template: "{last}, {first}" },
                { name: "start", from: "hire", date: { from: "M/d/yyyy", to: "yyyy-MM-dd" } },
                { name: "note", from: "note", transform: ["trim"] },
                { name: "tenant", value: "ACME" },
              ],
              output: { file: "t.csv", mode: "full", formulaGuard: true, lineEnding: "crlf", quote: "minimal" } }
            """)
        try w.writeConfig(targets: ["t"])
        try w.writeCSV(
            "hr.csv", header: ["id", "first", "last", "hire", "note", "status"],
            rows: [
                ["2", "Zoë", "O\"Neil", "1/5/2025", " =2+2 ", "A"],
                ["1", "Ann", "Lee", "12/31/2024", "line1\nline2", "A"],
                ["3", "Gone", "Person", "bad", "", "T"],
            ])
        let report = try w.execute()
        #expect(report.target("t")?.rejected == 0)
        let text = try w.read("outbox/t/t.csv")
        #expect(
            text == "user_id,display,start,note,tenant\r\n"
                + "1,\"Lee, Ann\",2024-12-31,\"line1\nline2\",ACME\r\n"
                + "2,\"O\"\"Neil, Zoë\",2025-01-05,'=2+2,ACME\r\n")
    }
}
