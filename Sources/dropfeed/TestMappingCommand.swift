import DropfeedCore

/// `dropfeed test-mapping MAPPING --cases CASES.json`: a mapping's own tests, for CI.
enum TestMappingCommand {
    static let help = """
        usage: dropfeed test-mapping MAPPING --cases CASES.json

        Runs each case's source rows through MAPPING exactly as a run maps the export (where,
        lookups, transforms, required, rejections) and compares the rows it makes, by output key,
        with the case's expected rows, and its rejections, in source row order, with the expected
        ones and their reasons. Prints ok or FAIL per case and, under a failing case, a diff:
        `-` what the case expects, `+` what the mapping made.

        The case file (JSON5): { version: 1, sourceKey: "employee_id", base: { … },
          cases: [{ name, source: [{ column: value, … }], expect: [{ column: value, … }],
                    rejected: [{ key?, reason }] }] }
        `base` gives every source row its starting values; an expected row names every output column.

        example:
          dropfeed test-mapping mappings/acme-lms.json --cases mappings/cases/acme-lms.cases.json

        exit codes: 0 every case passed, 1 a case failed, 64 usage, 78 the mapping or the case file
        is invalid (every problem is listed with its JSON path).
        """

    static func run(_ args: [String]) throws -> ExitCode {
        let a = try Arguments(args, command: "test-mapping", valued: ["--cases"], switches: [])
        guard a.positionals.count == 1 else {
            throw UsageError(
                "test-mapping takes one mapping file (got \(a.positionals.count))", command: "test-mapping")
        }
        guard let cases = a.value("--cases") else {
            throw UsageError("test-mapping needs --cases CASES.json", command: "test-mapping")
        }
        let report = try MappingTester.run(mappingPath: a.positionals[0], casesPath: cases)
        Output.stdout(report.text)
        return report.ok ? .success : .differences
    }
}
