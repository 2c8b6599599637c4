import Foundation
import Testing

@testable import DropfeedCore

/// Patterns that backtrack exponentially are refused when the mapping loads; ordinary ones pass.
@Suite struct PatternSafetyTests {
    static let refused = [
        "(a+)+$", "(a*)*", "(a|a)*", "(a|ab)+$", "^(\\w+\\s?)*$", "(?:x+y?)+", "((ab)*c)*", "(.*a){20}",
        "(\\d|1)+z", "([a-z]+)*@", "(a+){2,}", "(?i:(a|A)+)+",
    ]
    static let accepted = [
        "^\\d+$", "(\\d{3})-(\\d{4})", "(foo|bar)+", "[^0-9+]", "\\s+", "@.*$", "^(\\w+)@(\\w+)$", "(?i)@northwind\\.example\\s*$",
        "(a|b)*c", "(?>a+)+", "(a++)+", "(ab){1,3}", "[ _]+", "^[0-9]{3}", "(?:-|\\+)?\\d+", "([A-Z][a-z]+ )?x",
        "(a+b)", "\\p{L}+", "[^\\x20-\\xFF]", "(\\.[a-z]+){1,16}", "[é-ü]+", "[\u{100}-\u{200}]",
    ]

    @Test(arguments: refused)
    func catastrophicPatternsAreRefused(_ pattern: String) {
        #expect(PatternSafety.problem(in: pattern) != nil)
        #expect(throws: PatternError.self) { try Pattern(pattern) }
    }

    @Test(arguments: accepted)
    func ordinaryPatternsPass(_ pattern: String) throws {
        #expect(PatternSafety.problem(in: pattern) == nil)
        _ = try Pattern(pattern)
    }

    @Test func theMessageSaysWhyAndHowToFixIt() {
        do {
            _ = try Pattern("(a+)+$")
            Issue.record("accepted")
        } catch {
            #expect(
                "\(error)"
                    == "regular expression `(a+)+$` can take exponential time on a long value (nested repetition: a repeated group holds a repetition); write it without the nesting, e.g. `(a+)+` as `a+`, or use an atomic group `(?>…)`"
            )
        }
    }

    /// The rewritten pattern the message proposes matches the long value at once.
    @Test func theRewriteIsFast() throws {
        let value = String(repeating: "a", count: 20_000) + "b"
        #expect(try !Pattern("a+$").matches(value))
        #expect(try Pattern("(?>a+)+b$").matches(value))
    }

    @Test func aMappingWithSuchAPatternIsAConfigProblemNamingTheColumn() throws {
        let w = try FeedWorkspace()
        try w.write("hr.csv", "id,email\n1,a@x\n")
        try w.write(
            "mappings/m.json",
            """
            { version: 1, key: "user_id",
              columns: [ { name: "user_id", from: "id" },
                         { name: "email", from: "email", transform: [{ replace: "(a+)+$", with: "" }] } ],
              output: { file: "m.csv" } }
            """)
        try w.write(
            "dropfeed.json",
            """
            { version: 1, source: { path: "hr.csv", key: "id" }, stateDir: "state",
              targets: [ { name: "m", mapping: "mappings/m.json", deliver: { directory: "out" } } ] }
            """)
        do {
            _ = try FeedConfig.load(path: w.path("dropfeed.json"))
            Issue.record("loaded")
        } catch let error as ConfigError {
            #expect(error.exitCode == .config)
            #expect(error.problems.count == 1, "\(error.problems)")
            #expect(error.problems.first?.file == "mappings/m.json")
            #expect(error.problems.first?.path.hasPrefix("columns[1].transform[0]") == true)
            #expect(error.problems.first?.message.contains("exponential time") == true)
        }
    }
}
