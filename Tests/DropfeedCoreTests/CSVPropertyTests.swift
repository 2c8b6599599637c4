import Foundation
import Testing

@testable import DropfeedCore

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny seeded generator, so every run sees the same rows
/// and a failure names the seed and iteration that reproduce it.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in `0..<n` (the modulo bias is irrelevant here, stability across toolchains is not).
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }

    mutating func int(in range: ClosedRange<Int>) -> Int { range.lowerBound + below(range.count) }

    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }

    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
}

/// Which characters a random field may hold: what the encoding can carry.
enum Repertoire: Sendable {
    /// Every Unicode scalar of every plane.
    case unicode
    /// What windows-1252 encodes; `pythonSafe` leaves out the five unassigned bytes' C1 controls,
    /// which WHATWG (and Dropfeed) map but Python's cp1252 codec rejects.
    case windows1252(pythonSafe: Bool)
    /// U+0000…U+00FF.
    case latin1

    /// Everything CSV treats specially, plus look-alikes that must stay data.
    static let awkward: [Unicode.Scalar] = [
        ",", ";", "\t", "|", "\"", "\r", "\n", " ", "\u{0}", "\u{FEFF}", "\u{85}", "\u{2028}", "\u{201C}", "\u{FF02}",
    ]

    func allows(_ s: Unicode.Scalar) -> Bool {
        switch self {
        case .unicode: return true
        case .latin1: return s.value < 0x100
        case .windows1252(let pythonSafe):
            if s.value < 0x80 || (0xA0..<0x100).contains(s.value) { return true }
            if pythonSafe && [0x81, 0x8D, 0x8F, 0x90, 0x9D].contains(s.value) { return false }
            return windows1252Table[0x80...].contains(s.value)
        }
    }

    func scalar(_ g: inout SplitMix64) -> Unicode.Scalar {
        while true {
            let s: Unicode.Scalar?
            switch g.below(100) {
            case 0..<30: s = g.pick(Repertoire.awkward)
            case 30..<55: s = Unicode.Scalar(UInt32(g.int(in: 0x20...0x7E)))
            case 55..<65: s = Unicode.Scalar(UInt32(g.int(in: 0x00...0x1F)))
            case 65..<75:
                if case .windows1252 = self {
                    s = Unicode.Scalar(windows1252Table[g.int(in: 0x80...0xFF)])
                } else {
                    s = Unicode.Scalar(UInt32(g.int(in: 0x80...0xFF)))
                }
            case 75..<88: s = Unicode.Scalar(UInt32(g.int(in: 0x100...0xFFFF)))  // nil for surrogates
            default: s = Unicode.Scalar(UInt32(g.int(in: 0x10000...0x10FFFF)))
            }
            if let s, allows(s) { return s }
        }
    }

    func field(_ g: inout SplitMix64, maxLength: Int = 12) -> String {
        var out = String.UnicodeScalarView()
        for _ in 0..<g.int(in: 0...maxLength) { out.append(scalar(&g)) }
        return String(out)
    }

    /// 1–6 rows of 1–6 fields (every row the same width when `header` is set, with unique,
    /// non-empty header names in the first row).
    func rows(_ g: inout SplitMix64, header: Bool) -> [[String]] {
        let width = g.int(in: 1...6)
        var rows: [[String]] = []
        if header {
            var names: [String] = []
            while names.count < width {
                let name = field(&g, maxLength: 6)
                // Names are unique as Swift strings (canonical equivalence), as the reader checks them.
                if !name.isEmpty && !names.contains(name) { names.append(name) }
            }
            rows.append(names)
        }
        for _ in 0..<g.int(in: 0...5) {
            let n = header ? width : g.int(in: 1...6)
            rows.append((0..<n).map { _ in field(&g) })
        }
        if rows.isEmpty { rows.append([field(&g)]) }
        return rows
    }
}

/// A seed from a name that is the same in every run (`hashValue` is randomized per process): FNV-1a.
func stableSeed(_ name: String) -> UInt64 {
    name.utf8.reduce(0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }
}

/// Exact comparison of rows by their UTF-8 bytes (no canonical equivalence).
func sameRows(_ a: [[String]], _ b: [[String]]) -> Bool {
    a.map { $0.map { Array($0.utf8) } } == b.map { $0.map { Array($0.utf8) } }
}

struct Dialect: Sendable, CustomTestStringConvertible {
    var options: CSVWriteOptions
    var repertoire: Repertoire

    var testDescription: String {
        let d = options.delimiter == 0x09 ? "tab" : String(UnicodeScalar(options.delimiter))
        return "\(d) \(options.quote) \(options.lineEnding) bom:\(options.bom) \(options.encoding.rawValue)"
    }

    var readOptions: CSVReadOptions { CSVReadOptions(delimiter: options.delimiter, encoding: options.encoding) }
}

/// Every delimiter × quote policy × line ending in UTF-8 (BOM on for half), and the other encodings.
let propertyDialects: [Dialect] = {
    var out: [Dialect] = []
    var bom = false
    for delimiter in [",", ";", "\t", "|"].map({ UInt8(ascii: Unicode.Scalar($0)!) }) {
        for quote in [QuotePolicy.minimal, .always] {
            for ending in [LineEnding.crlf, .lf] {
                out.append(
                    Dialect(
                        options: .init(delimiter: delimiter, quote: quote, lineEnding: ending, bom: bom),
                        repertoire: .unicode))
                bom.toggle()
            }
        }
    }
    for (encoding, repertoire) in [
        (TextEncoding.utf16, Repertoire.unicode),
        (.windows1252, .windows1252(pythonSafe: false)), (.iso88591, .latin1),
    ] {
        out.append(
            Dialect(options: .init(quote: .minimal, lineEnding: .crlf, encoding: encoding), repertoire: repertoire))
        out.append(
            Dialect(
                options: .init(delimiter: UInt8(ascii: ";"), quote: .always, lineEnding: .lf, encoding: encoding),
                repertoire: repertoire))
        out.append(
            Dialect(
                options: .init(delimiter: 0x09, quote: .minimal, lineEnding: .lf, encoding: encoding),
                repertoire: repertoire))
    }
    return out
}()

@Suite("CSV round trip (property)")
struct CSVPropertyTests {
    static let iterations = 40

    @Test("write then read gives the same rows", arguments: propertyDialects)
    func roundTrip(_ dialect: Dialect) throws {
        let dir = try TemporaryDirectory()
        var g = SplitMix64(seed: stableSeed(dialect.testDescription))
        for iteration in 0..<Self.iterations {
            let header = g.chance(50)
            let rows = dialect.repertoire.rows(&g, header: header)
            var writer = CSVWriter(options: dialect.options)
            for row in rows { try writer.write(row) }

            let expected: ReadOutcome =
                header
                ? .table(header: rows[0], rows: Array(rows.dropFirst()))
                : .table(header: [], rows: rows)
            let context = "iteration \(iteration), rows \(rows.debugDescription)"

            #expect(
                readOutcome(writer.bytes, options: dialect.readOptions, hasHeader: header) == expected, "\(context)")
            let path = try dir.write(writer.bytes, to: "round-trip-\(iteration).csv")
            let size = g.pick([16, 17, 19, 32, 64])
            #expect(
                readOutcome(path: path, bufferSize: size, options: dialect.readOptions, hasHeader: header) == expected,
                "\(context), bufferSize \(size)")
        }
    }

    @Test func generatorCoversTheAwkwardCharacters() {
        var g = SplitMix64(seed: 1)
        var seen = Set<UInt32>()
        var planes = Set<UInt32>()
        for _ in 0..<5000 {
            let s = Repertoire.unicode.scalar(&g)
            seen.insert(s.value)
            planes.insert(s.value >> 16)
        }
        for s in Repertoire.awkward { #expect(seen.contains(s.value), "\(s.value)") }
        #expect(planes.count >= 10, "scalars from many planes")
        var w = SplitMix64(seed: 1)
        for _ in 0..<2000 {
            #expect(
                Repertoire.windows1252(pythonSafe: true).allows(Repertoire.windows1252(pythonSafe: true).scalar(&w)))
        }
    }

    @Test func splitMixIsTheReferenceSequence() {
        // First outputs of SplitMix64 seeded with 0, as published with the reference implementation.
        var g = SplitMix64(seed: 0)
        #expect(g.next() == 0xE220_A839_7B1D_CDAF)
        #expect(g.next() == 0x6E78_9E6A_A1B9_65F4)
    }

    /// Single-field rows, including the empty one, in every quote policy and line ending.
    @Test("single-field rows", arguments: [QuotePolicy.minimal, .always], [LineEnding.crlf, .lf])
    func singleFieldRows(quote: QuotePolicy, ending: LineEnding) throws {
        let rows = [["name"], [""], ["x"], [""], [""], [" "]]
        var writer = CSVWriter(options: .init(quote: quote, lineEnding: ending))
        for row in rows { try writer.write(row) }
        #expect(readOutcome(writer.bytes) == .table(header: ["name"], rows: Array(rows.dropFirst())))
    }

    /// A row with no fields is an empty line, which the reader skips (documented).
    @Test func zeroFieldRowsVanish() throws {
        var writer = CSVWriter(options: .init())
        for row in [["a"], [], ["1"], []] { try writer.write(row) }
        #expect(readOutcome(writer.bytes) == .table(header: ["a"], rows: [["1"]]))
    }
}
