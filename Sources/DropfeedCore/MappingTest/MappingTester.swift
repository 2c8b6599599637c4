import Foundation

/// What `dropfeed test-mapping` found: a line per case, a diff under each failing one.
public struct MappingTestReport: Sendable {
    /// The text to print: `ok`/`FAIL` per case, the diffs, and a summary line.
    public var text: String
    public var passed: Int
    public var failed: Int

    /// Whether every case passed.
    public var ok: Bool { failed == 0 }
}

/// Runs a mapping's case file: each case's source rows go through the mapping exactly as in a
/// run (the same reader, `where`, lookups, transforms, rejections), and the rows it makes are
/// compared with the expected ones by output key.
public enum MappingTester {
    /// Throws `ConfigError` (exit 78) when the mapping or the case file is invalid, or a case's
    /// rows lack a column the mapping reads.
    public static func run(mappingPath: String, casesPath: String) throws -> MappingTestReport {
        let log = ProblemLog(file: mappingPath)
        guard let mapping = MappingLoader.load(path: mappingPath, displayName: mappingPath, log: log) else {
            throw ConfigError(log.problems)
        }
        let cases = try MappingCaseFile.load(path: casesPath, displayName: casesPath)
        let scratch = try FileSystem.makeTemporaryFolder(prefix: "dropfeed-test-mapping")
        defer { try? FileSystem.remove(scratch) }
        var text = ""
        var passed = 0
        var failed = 0
        for (k, c) in cases.cases.enumerated() {
            let outcome = try evaluate(
                c, number: k, mapping: mapping, sourceKey: cases.sourceKey, in: scratch, file: cases.file)
            let diff = compare(c, outcome, mapping: mapping)
            if diff.isEmpty {
                passed += 1
                text += "ok    \(c.path) \(c.name)\n"
            } else {
                failed += 1
                text += "FAIL  \(c.path) \(c.name)\n" + diff.map { "      " + $0 + "\n" }.joined()
            }
        }
        let total = passed + failed
        text += "\(mappingPath): \(total) case\(total == 1 ? "" : "s"), \(passed) passed, \(failed) failed\n"
        return MappingTestReport(text: text, passed: passed, failed: failed)
    }

    /// What the mapping made of a case's rows: output rows and rejections, in source order.
    struct Outcome {
        var rows: [[String]] = []
        var rejections: [(key: [String]?, reason: String)] = []
    }

    private static func evaluate(
        _ c: MappingCase, number: Int, mapping: Mapping, sourceKey: [String], in scratch: String, file: String
    ) throws -> Outcome {
        // The rows become a CSV export, read by the same reader and source table as a run's.
        var header = sourceKey
        for name in Set(c.source.flatMap(\.keys)).sorted() where !header.contains(name) { header.append(name) }
        var csv = CSVWriter(options: CSVWriteOptions())
        try csv.write(header)
        for row in c.source { try csv.write(header.map { row[$0] ?? "" }) }
        let path = scratch + "/case-\(number).csv"
        try FileSystem.writeAtomically(path, csv.takeBytes(), mode: 0o600)
        let where_ = "\(file): \(c.path)"
        let source = SourceConfig(path: path, displayPath: where_, key: sourceKey, options: CSVReadOptions())
        let table: SourceTable
        do {
            table = try SourceTable(
                source: source, needed: CompiledMapping.sourceColumns(of: mapping),
                lookupKeys: CompiledMapping.lookupKeys(of: mapping),
                lookupTargets: CompiledMapping.lookupTargets(of: mapping),
                lookupBy: CompiledMapping.lookupByColumns(of: mapping), spoolFolder: scratch)
        } catch {
            throw ConfigError([ConfigProblem(file: file, path: "\(c.path).source", message: "\(error)")])
        }
        let problems = CompiledMapping.problems(mapping, header: header, sourceKey: sourceKey)
        if !problems.isEmpty {
            throw ConfigError(
                problems.map {
                    ConfigProblem(
                        file: file, path: "\(c.path).source",
                        message: "\($0.path): \($0.message) (give it in `base` or in the case's rows)")
                })
        }
        let compiled = CompiledMapping(mapping, table: table)
        var out = Outcome()
        try table.forEachRow(in: 0..<table.rowCount) { _, values in
            var misses: [LookupMiss] = []
            switch compiled.evaluate(
                values.strings(count: table.columns.count), lookup: { table.lookup($0, column: $1, by: $2) },
                misses: &misses)
            {
            case .skipped: break
            case .rejected(let key, let reason): out.rejections.append((key, reason))
            case .row(let values): out.rows.append(values)
            }
        }
        return out
    }

    /// The differences between what a case expects and what the mapping made, as diff lines
    /// (`-` expected, `+` produced); empty when they agree.
    static func compare(_ c: MappingCase, _ outcome: Outcome, mapping: Mapping) -> [String] {
        let names = mapping.columnNames
        let keyPositions = mapping.key.map { names.firstIndex(of: $0)! }
        func keyText(_ key: [String]) -> String {
            zip(mapping.key, key).map { "\($0)=\(quoted($1))" }.joined(separator: ", ")
        }
        var lines: [String] = []
        var produced: [String: [String]] = [:]
        var order: [String] = []
        for row in outcome.rows {
            let key = keyText(keyPositions.map { row[$0] })
            if produced[key] != nil {
                lines.append("+ row \(key) made twice (two source rows map to one output key)")
            } else {
                order.append(key)
            }
            produced[key] = row
        }
        var expectedKeys = Set<String>()
        for expected in c.expect {
            let key = keyText(mapping.key.map { expected[$0] ?? "" })
            expectedKeys.insert(key)
            guard let row = produced[key] else {
                lines.append("- row \(key) expected, not made")
                for name in names where expected[name] != nil {
                    lines.append("-     \(name): \(quoted(expected[name]!))")
                }
                continue
            }
            var rowLines: [String] = []
            for (k, name) in names.enumerated() {
                guard let want = expected[name] else {
                    rowLines.append("+     \(name): \(quoted(row[k]))   (not in the expected row)")
                    continue
                }
                if want != row[k] {
                    rowLines.append("-     \(name): \(quoted(want))")
                    rowLines.append("+     \(name): \(quoted(row[k]))")
                }
            }
            for name in expected.keys.sorted() where !names.contains(name) {
                rowLines.append(
                    "-     \(name): \(quoted(expected[name]!))   (not an output column\(suggestion(for: name, in: names)))"
                )
            }
            if !rowLines.isEmpty { lines += ["  row \(key):"] + rowLines }
        }
        for key in order where !expectedKeys.contains(key) {
            lines.append("+ row \(key) made, not expected")
            let row = produced[key]!
            for (k, name) in names.enumerated() { lines.append("+     \(name): \(quoted(row[k]))") }
        }
        let actual = outcome.rejections
        let matches =
            actual.count == c.rejected.count
            && zip(actual, c.rejected).allSatisfy { a, e in a.reason == e.reason && (e.key == nil || e.key! == a.key) }
        if !matches {
            lines.append("  rejections (in source row order):")
            for e in c.rejected {
                lines.append("-     \(e.key.map(keyText) ?? "(any key)"): \(e.reason)")
            }
            for a in actual { lines.append("+     \(a.key.map(keyText) ?? "(no key)"): \(a.reason)") }
        }
        return lines
    }

    /// A value as a diff line shows it: in quotes, control characters escaped.
    private static func quoted(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\x" + String(scalar.value, radix: 16, uppercase: false).leftPadded(2)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
