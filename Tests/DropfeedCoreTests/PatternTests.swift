import Foundation
import Testing

@testable import DropfeedCore

/// `Pattern`'s fast paths (a literal with anchors, one character class) must behave exactly as
/// `NSRegularExpression` does on the same pattern: the expected results below are computed with
/// `NSRegularExpression` in the test, never written by hand.
struct PatternTests {
    // MARK: - The oracle

    private static func regex(_ pattern: String) throws -> NSRegularExpression {
        try NSRegularExpression(pattern: pattern)
    }

    private static func oracleMatches(_ pattern: String, _ value: String) throws -> Bool {
        try regex(pattern).firstMatch(in: value, range: NSRange(value.startIndex..., in: value)) != nil
    }

    private static func oracleReplacing(_ pattern: String, _ value: String, _ template: String) throws -> String {
        try regex(pattern).stringByReplacingMatches(
            in: value, range: NSRange(value.startIndex..., in: value), withTemplate: template)
    }

    /// Byte-exact comparison: `String ==` would call `é` and `e\u{301}` equal.
    private static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    // MARK: - Tables

    /// Patterns that take a fast path (checked below), with the shapes mappings use.
    static let fastPatterns: [String] = [
        // literals and anchors
        "abc", "^abc", "abc$", "^abc$", "^$", "@example\\.com$", "^ACME-", "\\+49", "a\\.b\\*c", "\\$5", "\\^x",
        "a\\-b", "x\\@y", "é", "e\u{301}", "\u{301}$", "^e", "café", "😀", "ab ab", "\\\\",
        // character classes
        "[0-9]", "[0-9]+", "[^0-9]", "[^0-9+]", "[^0-9+]+", "[a-zA-Z]", "[^a-zA-Z0-9._-]", "[-a]", "[a-]",
        "[\\s]", "[\\s]+", "[^\\s]", "[\\-\\.]", "[\\]]", "[\\[\\]]+", "[\\^a]", "[$^]", "[é-ü]", "[😀-😂]", "[ _]+",
        "[{}]", "[\\\\]", "[,;|]", "[^@]+", "[^\\x20-\\xFF]", "[^ -~]", "[\\x41-\\x43]+",
        // bare \s classes and TEXT.* (values with line terminators go to the regex inside)
        "\\s", "\\s+", "\\S", "\\S+", "@.*$", "@.*", "\\+.*", "ab.*$",
        // ends with TEXT (then white space), case-insensitive or not (a value outside ASCII goes to the regex)
        "(?i)@example\\.com\\s*$", "@example\\.com\\s*$", "(?i)abc$", "(?i)ABC\\s*$", "(?i)kit$", "(?i)S\\s*$",
        "abc\\s*$", "é\\.x\\s*$",
    ]

    /// Patterns that must go to `NSRegularExpression` (the fast paths cannot express them).
    static let regexPatterns: [String] = [
        "a.c", "^a+$", "(ab)+", "a|b", "[\\d]", "[\\w]+", "[a-z]{2}", "[ -\\^]", "\\d+", "[[:alpha:]]", "[a&&b]", "x*",
        "\\Qa.b\\E", "(?i)é$", "^(?i)abc$", "(?i)abc \\s*$", "(?i)\\s*$", "a\\\\s*$",
    ]

    static let inputs: [String] = [
        "", "abc", "xabcx", "abc\n", "abc\r\n", "abc\r", "abc\n\n", "abc\u{0B}", "abc\u{0C}", "abc\u{85}",
        "abc\u{2028}",
        "abc\u{2029}", "\n", "\r\n", "ABC", "a.b*c", "a-b", "x@y", "jane@example.com", "jane@example.com\n",
        "jane@example.computer", "ACME-12", "+49 (0)30 1234-567", "$5", "^x", "café", "cafe\u{301}", "e\u{301}", "é",
        "😀", "🇫🇷🇩🇪", "a\u{A0}b", "a\u{3000}b", "a\u{200B}b", "tab\there", "٣٤", "３", "[x]", "a]b", "\\", "{}", ",;|",
        "ab ab ab", "a_b c", "ü", "ÿ", "😁", "  two  spaces ", "jane@x.org @y", "a@b\nc@d", "ĀBC",
        "Jane@Example.COM", "jane@example.com  \t", "jane@example.com \u{A0}", "jane@example.com\u{2028}",
        "jane@éxample.com", "jane@example.com\r\n", "KIT", "\u{212A}it", "ſ", "S\n", "x\u{17F} ", "abc \n ",
        "é.x ", "É.X",
    ]

    static let templates: [String] = ["", "X", "-", "é", "$0", "<$0>", "\\$", "\\\\"]

    /// The byte entry points (the planner's), where they answer, must agree with the oracle too.
    static func checkBytes(
        _ compiled: Pattern, _ input: String, template: String, matches: Bool?, replaced: String?, _ label: String
    ) {
        var input = input
        let bytes = Array(template.utf8)
        let plain = !bytes.contains { $0 == UInt8(ascii: "$") || $0 == UInt8(ascii: "\\") }
        input.withUTF8 { v in
            if let matches, let got = compiled.matches(utf8: v) { #expect(got == matches, "bytes: \(label)") }
            var out: [UInt8] = [0x2A]
            if let replaced {
                if compiled.replacing(utf8: v, with: bytes, plain: plain, into: &out) {
                    #expect(out == [0x2A] + Array(replaced.utf8), "bytes: \(label)")
                } else {
                    #expect(out == [0x2A], "bytes left the buffer as it was: \(label)")
                }
            }
        }
    }

    @Test(arguments: fastPatterns)
    func fastPatternTakesTheFastPath(_ pattern: String) throws {
        #expect(try Pattern(pattern).isFastPath)
    }

    @Test(arguments: regexPatterns)
    func otherPatternsGoToTheRegex(_ pattern: String) throws {
        #expect(try !Pattern(pattern).isFastPath)
    }

    @Test(arguments: fastPatterns + regexPatterns)
    func matchesAgreesWithNSRegularExpression(_ pattern: String) throws {
        let compiled = try Pattern(pattern)
        for input in Self.inputs {
            let want = try Self.oracleMatches(pattern, input)
            #expect(compiled.matches(input) == want, "pattern \(pattern.debugDescription) on \(input.debugDescription)")
            Self.checkBytes(
                compiled, input, template: "", matches: want, replaced: nil,
                "pattern \(pattern.debugDescription) on \(input.debugDescription)")
        }
    }

    @Test(arguments: fastPatterns + regexPatterns)
    func replacingAgreesWithNSRegularExpression(_ pattern: String) throws {
        let compiled = try Pattern(pattern)
        for input in Self.inputs {
            for template in Self.templates {
                let got = compiled.replacing(in: input, with: template)
                let want = try Self.oracleReplacing(pattern, input, template)
                Self.checkBytes(
                    compiled, input, template: template, matches: nil, replaced: want,
                    "\(pattern.debugDescription) on \(input.debugDescription) with \(template.debugDescription)")
                #expect(
                    Self.bytes(got) == Self.bytes(want),
                    "pattern \(pattern.debugDescription) on \(input.debugDescription) with \(template.debugDescription): \(got.debugDescription) ≠ \(want.debugDescription)"
                )
            }
        }
    }

    /// `\s` in a class is Unicode White_Space, as ICU has it: every BMP scalar agrees.
    @Test func whitespaceClassAgreesOnTheWholeBMP() throws {
        let fast = try Pattern("[\\s]")
        #expect(fast.isFastPath)
        let oracle = try Self.regex("[\\s]")
        var disagreements: [String] = []
        for value in UInt32(0)...0xFFFF {
            guard let scalar = Unicode.Scalar(value) else { continue }
            let s = String(scalar)
            let want = oracle.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) != nil
            if fast.matches(s) != want { disagreements.append(String(value, radix: 16)) }
        }
        #expect(disagreements.isEmpty, "U+\(disagreements.prefix(10).joined(separator: ", U+"))")
    }

    // MARK: - Random patterns and inputs

    private struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
    }

    static let classAtoms = [
        "a", "z", "0", "9", "-", "+", ".", "@", " ", "é", "\\s", "\\-", "\\.", "\\]", "\\[", "\\^",
        "\\\\", "a-z", "0-9", "A-Z", "é-ü", "$", "^", "_", "😀", "\\d", "{", "}", "&", "|", "#", "\u{301}",
    ]
    static let literalAtoms = [
        "a", "b", "ab", ".", "\\.", "@", "\\@", "-", "\\-", " ", "é", "e\u{301}", "\u{301}", "\\$",
        "\\^", "\\+", "\\\\", "x", "😀", "\\(", "/", "#", ",", "\\*", "\\{",
    ]
    static let inputAtoms = [
        "a", "b", "z", "0", "9", "-", "+", ".", "@", " ", "é", "e\u{301}", "\u{301}", "\n", "\r\n", "\r",
        "\u{85}", "\u{2028}", "\u{A0}", "\u{3000}", "\t", "$", "^", "[", "]", "\\", "😀", "🇫🇷", "٣", "x",
        "ab", "_", "&", "|", "{", "}", "#", "(", "*", "A", "B", "X", "\u{212A}", "\u{17F}", "S", "s", "É",
    ]

    @Test(arguments: [UInt64(1), 2, 3, 20_261_129])
    func randomPatternsAgreeWithNSRegularExpression(seed: UInt64) throws {
        var random = Generator(state: seed)
        var fastCount = 0
        for iteration in 0..<500 {
            let pattern: String
            if random.below(2) == 0 {
                pattern =
                    "[" + (random.below(3) == 0 ? "^" : "")
                    + (0..<(1 + random.below(4))).map { _ in random.pick(Self.classAtoms) }.joined()
                    + "]" + (random.below(2) == 0 ? "+" : "")
            } else if random.below(4) == 0 {
                // ends with TEXT: (?i)TEXT\s*$ and the shapes without either
                pattern =
                    (random.below(2) == 0 ? "(?i)" : "")
                    + (0..<(1 + random.below(3))).map { _ in random.pick(Self.literalAtoms) }.joined()
                    + (random.below(2) == 0 ? "\\s*" : "") + "$"
            } else {
                pattern =
                    (random.below(2) == 0 ? "^" : "")
                    + (0..<random.below(4)).map { _ in random.pick(Self.literalAtoms) }.joined()
                    + (random.below(2) == 0 ? "$" : "")
            }
            guard let oracle = try? Self.regex(pattern) else {
                #expect(throws: PatternError.self, "seed \(seed) #\(iteration): \(pattern.debugDescription)") {
                    try Pattern(pattern)
                }
                continue
            }
            let compiled = try Pattern(pattern)
            if compiled.isFastPath { fastCount += 1 }
            for _ in 0..<12 {
                let input = (0..<random.below(6)).map { _ in random.pick(Self.inputAtoms) }.joined()
                let range = NSRange(input.startIndex..., in: input)
                #expect(
                    compiled.matches(input) == (oracle.firstMatch(in: input, range: range) != nil),
                    "seed \(seed) #\(iteration): \(pattern.debugDescription) on \(input.debugDescription)")
                let template = random.pick(Self.templates)
                let got = compiled.replacing(in: input, with: template)
                let want = oracle.stringByReplacingMatches(in: input, range: range, withTemplate: template)
                Self.checkBytes(
                    compiled, input, template: template, matches: oracle.firstMatch(in: input, range: range) != nil,
                    replaced: want, "seed \(seed) #\(iteration): \(pattern.debugDescription) on \(input.debugDescription)")
                #expect(
                    Self.bytes(got) == Self.bytes(want),
                    "seed \(seed) #\(iteration): \(pattern.debugDescription) on \(input.debugDescription) with \(template.debugDescription)"
                )
            }
        }
        // The generator must exercise the fast paths, or this test proves nothing about them.
        #expect(fastCount > 250)
    }

    // MARK: - Errors

    @Test(arguments: ["[a-", "(ab", "a{2", "[z-a]", "*a", "a)", "[^]", "\\"])
    func invalidRegexIsAnError(_ pattern: String) {
        #expect(throws: PatternError.self) { try Pattern(pattern) }
        do {
            _ = try Pattern(pattern)
        } catch {
            #expect("\(error)".contains("invalid regular expression"))
            #expect("\(error)".contains(pattern))
        }
    }
}
