import Foundation
import Testing

@testable import DropfeedCore

/// Reads LDIF, csvde and SCIM text through the real `SourceTable`, and maps it with real mappings.
enum SourceFormatHarness {
    /// The table of `text` read as `format`, keeping `needed` (and the key) columns.
    static func table(
        _ text: String, format: SourceFormat, key: [String], needed: Set<String>, lookupTargets: Set<String> = [],
        lookupBy: Set<String> = [], in w: FeedWorkspace
    ) throws -> SourceTable {
        let name = "source.\(format.rawValue)"
        let path = try w.write(name, text)
        let source = SourceConfig(
            path: path, displayPath: name, key: key, options: CSVReadOptions(), minRows: nil, maxShrinkPercent: nil,
            format: format)
        return try SourceTable(
            source: source, needed: needed, lookupTargets: lookupTargets, lookupBy: lookupBy, spoolFolder: w.root)
    }

    /// The error reading `text` as `format` gives, as text.
    static func error(_ text: String, format: SourceFormat, key: [String] = ["dn"], needed: Set<String> = [])
        throws -> String
    {
        let w = try FeedWorkspace()
        do {
            _ = try table(text, format: format, key: key, needed: needed, in: w)
        } catch {
            return "\(error)"
        }
        Issue.record("no error reading \(format.rawValue)")
        return ""
    }

    /// Maps every record of `text` (read as `format`) with the mapping `mappingText`.
    static func run(_ mappingText: String, source text: String, format: SourceFormat, key: [String]) throws
        -> (results: [Mapped], misses: [LookupMiss])
    {
        let w = try FeedWorkspace()
        let mapping = try MappingHarness.load(mappingText, in: w)
        let table = try table(
            text, format: format, key: key, needed: CompiledMapping.sourceColumns(of: mapping),
            lookupTargets: CompiledMapping.lookupTargets(of: mapping),
            lookupBy: CompiledMapping.lookupByColumns(of: mapping), in: w)
        let problems = CompiledMapping.problems(mapping, header: table.header, sourceKey: key)
        guard problems.isEmpty else { throw MappingHarness.LoadFailure(problems: problems) }
        let compiled = CompiledMapping(mapping, table: table)
        var misses: [LookupMiss] = []
        let lookup = { (value: String, column: Int, by: Int?) -> String? in table.lookup(value, column: column, by: by)
        }
        let results = (0..<table.rowCount).map { row -> Mapped in
            switch compiled.evaluate(table.strings(row: row), lookup: lookup, misses: &misses) {
            case .skipped: return .skipped
            case .rejected(_, let reason): return .rejected(reason)
            case .row(let values): return .row(values)
            }
        }
        return (results, misses)
    }

    /// A mapping keyed by `id` with the given column specs (each `{ name: …, … }` without braces).
    static func mapping(_ key: String, extra: String = "", more: [String] = []) -> String {
        mapping([key] + more, extra: extra)
    }

    static func mapping(_ columns: [String], extra: String = "") -> String {
        """
        {
          version: 1,
          key: "id",
          columns: [ \(columns.map { "{ \($0) }" }.joined(separator: ", ")) ],
          output: { file: "m_{kind}.csv", mode: "full" },
          \(extra)
        }
        """
    }
}

/// `source.format` in `dropfeed.json`.
struct SourceFormatConfigTests {
    static func load(_ source: String) throws -> Result<FeedConfig, ConfigError> {
        let w = try FeedWorkspace()
        try w.write("mappings/m.json", SourceFormatHarness.mapping([#"name: "id", from: "uid""#]))
        let path = try w.write(
            "dropfeed.json",
            """
            { version: 1, source: { path: "d.ldif", key: "uid", \(source) }, stateDir: "state",
              targets: [ { name: "t", mapping: "mappings/m.json", deliver: { directory: "out" } } ] }
            """)
        do { return .success(try FeedConfig.load(path: path)) } catch let e as ConfigError { return .failure(e) }
    }

    @Test func formatIsReadAndDefaultsToCSV() throws {
        #expect(try Self.load("").get().source.format == .csv)
        #expect(try Self.load(#"format: "ldif""#).get().source.format == .ldif)
        #expect(try Self.load(#"format: "csvde", delimiter: ";""#).get().source.options.delimiter == UInt8(ascii: ";"))
        #expect(try Self.load(#"format: "scim""#).get().source.format == .scim)
    }

    @Test func unknownFormatsAndCSVSettingsOnJSONAreProblems() throws {
        guard case .failure(let e) = try Self.load(#"format: "xml""#) else { Issue.record("xml accepted"); return }
        #expect(
            e.problems.map(\.description).contains {
                $0.contains(#"source.format: must be one of "csv", "ldif", "csvde", "scim", found "xml""#)
            })
        guard case .failure(let e2) = try Self.load(#"format: "scim", encoding: "windows-1252""#) else {
            Issue.record("encoding accepted for scim")
            return
        }
        #expect(
            e2.problems.map(\.description).contains {
                $0.contains("source.encoding: only for the csv and csvde formats (scim is UTF-8)")
            })
    }
}
