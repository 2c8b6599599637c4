import Testing

@testable import DropfeedCore

@Suite struct ControlCharacterTests {
    static let cases: [(String, String)] = [
        ("plain Ünïcödé text", "plain Ünïcödé text"),
        ("\u{1B}[2J\u{07}", "\\u{1B}[2J\\u{7}"),
        ("a\rb\nc\td\u{7F}", "a\\u{D}b\\u{A}c\\u{9}d\\u{7F}"),
        ("c1 \u{9B}31m", "c1 \\u{9B}31m"),
        ("bidi \u{202E}txt.exe\u{2066}", "bidi \\u{202E}txt.exe\\u{2066}"),
        ("", ""),
    ]

    @Test(arguments: cases)
    func controlsAreEscaped(_ input: String, _ expected: String) {
        #expect(input.escapingControlCharacters() == expected)
    }

    @Test func lineBreaksCanBeKeptForMultiLineMessages() {
        #expect("one\n\ttwo\u{1B}".escapingControlCharacters(keepingLineBreaks: true) == "one\n\ttwo\\u{1B}")
    }

    @Test func configProblemsAndHeaderErrorsEscapeTheValuesTheyQuote() {
        let problem = ConfigProblem(file: "m.json", path: "columns[0]", message: "unknown `\u{1B}]0;owned\u{07}`")
        #expect(problem.description == "m.json: columns[0]: unknown `\\u{1B}]0;owned\\u{7}`")
        let error = CSVError(.duplicateHeader("id\u{1B}"), file: "hr.csv", line: 1, column: 4)
        #expect(error.description == "duplicate header name `id\\u{1B}` at hr.csv:1:4")
    }
}
