import Foundation
import Testing

@testable import DropfeedCore

/// The transform steps' fast paths (ASCII values) must give exactly what the plain definitions
/// give: `trim` as Unicode White_Space scalars dropped from both ends, `truncate` as `String.prefix` on
/// characters. The expected values are computed here from those definitions, for fixed values
/// with the edge cases and for random ones.
struct TransformTests {
    static let values: [String] = [
        "", " ", "a", " a", "a ", "\ta\n", "\r\n", "ab\r\n", "a\r\nb", "\r\nab", "  two  words  ", "\u{A0}x\u{A0}",
        "x\u{3000}", "\u{2028}x", "\u{85}", "é", " é ", "e\u{301}", "ab\u{301}", "😀", "a😀b", "🇫🇷🇩🇪", "abc\u{200B}",
        "\u{1C}x\u{1F}", "0123456789", "0123456789abcdef", "012345678\r\n9", "München", "ab\rc", "ab\r",
    ]

    private static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    /// The definition: White_Space scalars dropped from both ends (Foundation's
    /// `whitespacesAndNewlines` also drops U+200B, which is not White_Space).
    private static func oracleTrim(_ s: String) -> String {
        var scalars = Array(s.unicodeScalars)
        while let last = scalars.last, last.properties.isWhitespace { scalars.removeLast() }
        while let first = scalars.first, first.properties.isWhitespace { scalars.removeFirst() }
        var out = String.UnicodeScalarView()
        out.append(contentsOf: scalars)
        return String(out)
    }

    @Test func trimDropsWhiteSpaceAtBothEnds() {
        for value in Self.values {
            let want = Self.oracleTrim(value)
            #expect(Self.bytes(trimmed(value)) == Self.bytes(want), "\(value.debugDescription)")
            #expect(Self.bytes(apply(.trim, to: value)) == Self.bytes(want), "\(value.debugDescription)")
        }
    }

    @Test(arguments: [1, 2, 3, 5, 10, 12])
    func truncateKeepsAtMostNCharacters(_ n: Int) {
        for value in Self.values {
            let want = String(value.prefix(n))
            #expect(Self.bytes(truncated(value, to: n)) == Self.bytes(want), "\(value.debugDescription) to \(n)")
            #expect(Self.bytes(apply(.truncate(n), to: value)) == Self.bytes(want), "\(value.debugDescription) to \(n)")
        }
    }

    @Test(arguments: [UInt64(1), 2, 20_261_204])
    func randomValuesAgree(seed: UInt64) {
        let atoms = ["a", "Z", "0", " ", "\t", "\r", "\n", "\r\n", "é", "e\u{301}", "\u{301}", "\u{A0}", "😀", "-", "\u{2029}"]
        var state = seed
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        for _ in 0..<2_000 {
            let value = (0..<next(9)).map { _ in atoms[next(atoms.count)] }.joined()
            let n = 1 + next(6)
            #expect(
                Self.bytes(trimmed(value)) == Self.bytes(Self.oracleTrim(value)),
                "trim \(value.debugDescription)")
            #expect(
                Self.bytes(truncated(value, to: n)) == Self.bytes(String(value.prefix(n))),
                "truncate \(value.debugDescription) to \(n)")
        }
    }

    /// `ascii` folds a value of ASCII and table scalars scalar by scalar; its definition folds the
    /// whole value with Foundation. Random values of scalars from every block of the table, with
    /// ASCII (CR LF included) between them, and values with a combining mark or a joiner (which
    /// must leave the table's path) agree byte for byte.
    @Test(arguments: [UInt64(1), 2, 20_261_204])
    func asciiFoldingScalarByScalarAgreesWithFoundation(seed: UInt64) {
        var g = SplitMix64(seed: seed)
        let blocks = AsciiFoldTable.blocks
        let ascii = ["a", "Z", " ", "\r", "\n", "\r\n", "-", "'"]
        let outside = ["\u{301}", "\u{200D}", "\u{FE0F}", "😀", "\u{1100}", "\u{11A8}", "\u{0483}", "ﬁ"]
        var viaTable = 0
        for _ in 0..<3_000 {
            var value = ""
            for _ in 0..<(1 + g.below(8)) {
                switch g.below(10) {
                case 0..<4: value += g.pick(ascii)
                case 4: value += g.chance(30) ? g.pick(outside) : g.pick(ascii)
                default:
                    let block = g.pick(blocks)
                    value.unicodeScalars.append(Unicode.Scalar(block.lowerBound + UInt32(g.below(block.count)))!)
                }
            }
            var copy = value
            var out: [UInt8] = []
            if copy.withUTF8({ asciiFolded(utf8: $0, into: &out) }) { viaTable += 1 } else { #expect(out.isEmpty) }
            #expect(
                Self.bytes(asciiFolded(value)) == Self.bytes(asciiFoldedByFoundation(value)), "\(value.debugDescription)")
        }
        #expect(viaTable > 1_000)
    }

    /// Every scalar of the table folds alone as Foundation folds it beside ASCII letters.
    @Test func everyTableScalarFoldsAsFoundationDoes() {
        for block in AsciiFoldTable.blocks {
            for value in block {
                let s = "a" + String(Unicode.Scalar(value)!) + "b"
                #expect(Self.bytes(asciiFolded(s)) == Self.bytes(asciiFoldedByFoundation(s)), "U+\(String(value, radix: 16))")
            }
        }
    }
}
