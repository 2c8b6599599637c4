import Foundation
import Testing

/// `dropfeed test-mapping`: every shipped mapping passes its own case file, a broken case fails
/// with a diff that names the row and the column, and a bad case file is a configuration error.
@Suite struct TestMappingCommandTests {
    static let root = DropfeedProcess.packageRoot

    /// The shipped mappings (every `mappings/*.json`).
    static var mappings: [String] {
        let names =
            (try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("mappings").path)) ?? []
        return names.filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }.sorted()
    }

    func testMapping(_ mapping: String, cases: String, cwd: URL? = nil) throws -> ProcessResult {
        try DropfeedProcess.run(["test-mapping", mapping, "--cases", cases], cwd: cwd ?? Self.root)
    }

    @Test func everyShippedMappingPassesItsCaseFile() throws {
        let names = Self.mappings
        #expect(names.count >= 9, "mappings/: \(names)")
        for name in names {
            let cases = "mappings/cases/\(name).cases.json"
            #expect(
                FileManager.default.fileExists(atPath: Self.root.appendingPathComponent(cases).path),
                "\(name) has no case file")
            let r = try testMapping("mappings/\(name).json", cases: cases)
            #expect(r.exitCode == 0, "\(name):\n\(r.stdout)\(r.stderr)")
            #expect(r.stdout.contains(", 0 failed"), "\(name): \(r.stdout)")
            #expect(!r.stdout.contains("FAIL"))
            // each case file exercises a row that is sent and one that is rejected or not sent
            #expect(r.stdout.split(separator: "\n").filter { $0.hasPrefix("ok ") }.count >= 2, "\(name): \(r.stdout)")
        }
    }

    /// The acme-lms case file with one expected value, one extra column and one reason changed.
    func brokenAcmeCases(in dir: URL) throws -> URL {
        var text = try String(
            contentsOf: Self.root.appendingPathComponent("mappings/cases/acme-lms.cases.json"), encoding: .utf8)
        for (from, to) in [
            ("status: \"suspended\"", "status: \"active\""),
            ("required column `username` is empty", "username missing"),
        ] {
            #expect(text.contains(from), "the case file no longer has \(from)")
            text = text.replacingOccurrences(of: from, with: to)
        }
        let url = dir.appendingPathComponent("broken.cases.json")
        try Data(text.utf8).write(to: url)
        return url
    }

    @Test func aBrokenCaseFailsWithAReadableDiff() throws {
        try TemporaryDirectory.with { dir in
            let cases = try brokenAcmeCases(in: dir)
            let r = try testMapping("mappings/acme-lms.json", cases: cases.path)
            #expect(r.exitCode == 1, "\(r.stderr)")
            let lines = r.stdout.split(separator: "\n").map(String.init)
            let expected = [
                "FAIL  cases[0] an employee and the manager whose email the lookup finds",
                "        row user_id=\"E200\":",
                "      -     status: \"active\"",
                "      +     status: \"suspended\"",
                "ok    cases[1] contractors and leavers are not sent",
                "FAIL  cases[2] no email, and a start date that is not a date, are rejected",
                "        rejections (in source row order):",
                "      -     (any key): username missing",
                "      +     user_id=\"E400\": required column `username` is empty",
            ]
            for line in expected { #expect(lines.contains(line), "missing line \(line) in:\n\(r.stdout)") }
            #expect(lines.last == "mappings/acme-lms.json: 3 cases, 1 passed, 2 failed")
        }
    }

    @Test func unexpectedAndMissingRowsAreShownWholeAndValuesEscaped() throws {
        try TemporaryDirectory.with { dir in
            let mapping = dir.appendingPathComponent("m.json")
            try Data(
                """
                { version: 1, key: "id", columns: [ { name: "id", from: "emp" }, { name: "note", from: "n" } ],
                  output: { file: "x_{seq}.csv" } }
                """.utf8
            ).write(to: mapping)
            let cases = dir.appendingPathComponent("c.json")
            try Data(
                """
                { version: 1, sourceKey: "emp", base: { n: "" },
                  cases: [ { name: "one", source: [{ emp: "1", n: "a\\tb\\u001b" }], expect: [{ id: "2", note: "" }] } ] }
                """.utf8
            ).write(to: cases)
            let r = try testMapping(mapping.path, cases: cases.path, cwd: dir)
            #expect(r.exitCode == 1)
            #expect(r.stdout.contains("- row id=\"2\" expected, not made"), "\(r.stdout)")
            #expect(r.stdout.contains("+ row id=\"1\" made, not expected"), "\(r.stdout)")
            #expect(r.stdout.contains("+     note: \"a\\tb\\x1b\""), "\(r.stdout)")
        }
    }

    @Test func aBadCaseFileIsAConfigurationErrorWithPaths() throws {
        try TemporaryDirectory.with { dir in
            let cases = dir.appendingPathComponent("bad.json")
            try Data(
                """
                { version: 1, sourceKey: "employee_id",
                  cases: [ { name: "a", source: { employee_id: 7 }, expect: [] },
                           { name: "a", source: [], expect: {}, rejected: [{ key: "x" }], extra: 1 } ] }
                """.utf8
            ).write(to: cases)
            let r = try testMapping("mappings/acme-lms.json", cases: cases.path)
            #expect(r.exitCode == 78, "\(r.stderr)")
            for text in [
                "cases[0].source.employee_id: expected a string, found a number",
                "cases[1].source: must not be empty",
                "cases[1].expect: expected a list of output rows, found an object",
                "cases[1].rejected[0].reason: required",
                "cases[1].extra: unknown key",
            ] {
                #expect(r.stderr.contains(text), "missing \(text) in:\n\(r.stderr)")
            }
            // a source row lacking a column the mapping reads names the column
            try Data(
                """
                { version: 1, sourceKey: "employee_id",
                  cases: [ { name: "short", source: { employee_id: "1", email: "a@b.c" }, expect: [] } ] }
                """.utf8
            ).write(to: cases)
            let short = try testMapping("mappings/acme-lms.json", cases: cases.path)
            #expect(short.exitCode == 78)
            #expect(
                short.stderr.contains("cases[0].source: where[0].column: no source column `employment_status`"),
                "\(short.stderr)")
            let missing = try testMapping("mappings/acme-lms.json", cases: dir.appendingPathComponent("none.json").path)
            #expect(missing.exitCode == 78)
            #expect(missing.stderr.contains("no such file"), "\(missing.stderr)")
            let usage = try DropfeedProcess.run(["test-mapping", "mappings/acme-lms.json"], cwd: Self.root)
            #expect(usage.exitCode == 64)
            #expect(usage.stderr.contains("--cases"))
        }
    }
}
