import Foundation
import Testing

@testable import DropfeedCore

/// The JSON5 reader: what Foundation's JSON5 mode reads, it reads the same; keys written twice,
/// nesting and size are bounded and reported.
@Suite struct JSON5ParserTests {
    /// A value both readers can be compared on (numbers as Double, objects as sorted pairs).
    private indirect enum Plain: Equatable {
        case null, bool(Bool), number(Double), string([UInt8]), array([Plain]), object([String: Plain])

        init(_ node: ConfigNode) {
            switch node {
            case .null: self = .null
            case .bool(let b): self = .bool(b)
            case .number(let n): self = .number(n)
            case .string(let s): self = .string(Array(s.utf8))
            case .array(let a): self = .array(a.map(Plain.init))
            case .object(let o): self = .object(o.mapValues(Plain.init))
            }
        }

    }

    /// Foundation's JSON5 reader, the oracle (it reads what the old loader read).
    private struct FoundationValue: Decodable {
        var plain: Plain

        private struct AnyKey: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        init(from decoder: Decoder) throws {
            if let keyed = try? decoder.container(keyedBy: AnyKey.self) {
                var object: [String: Plain] = [:]
                for key in keyed.allKeys { object[key.stringValue] = try keyed.decode(FoundationValue.self, forKey: key).plain }
                plain = .object(object)
            } else if var list = try? decoder.unkeyedContainer() {
                var items: [Plain] = []
                while !list.isAtEnd { items.append(try list.decode(FoundationValue.self).plain) }
                plain = .array(items)
            } else {
                let single = try decoder.singleValueContainer()
                if single.decodeNil() {
                    plain = .null
                } else if let b = try? single.decode(Bool.self) {
                    plain = .bool(b)
                } else if let n = try? single.decode(Double.self) {
                    plain = .number(n)
                } else {
                    plain = .string(Array(try single.decode(String.self).utf8))
                }
            }
        }
    }

    private func foundation(_ text: String) -> Plain? {
        let decoder = JSONDecoder()
        decoder.allowsJSON5 = true
        return (try? decoder.decode(FoundationValue.self, from: Data(text.utf8)))?.plain
    }

    private func ours(_ text: String) -> Plain? { (try? ConfigNode.parse(Array(text.utf8))).map(Plain.init) }

    static let snippets = [
        "{}", "[]", "[1, 2, 3,]", "{a: 1, 'b': \"two\", \"c\": [true, false, null],}",
        "// comment\n{ /* block\n comment */ x: 1 }", "{ hex: 0x1F, neg: -0x10, plus: +3, dot: .5, trail: 5., exp: 1e3 }",
        "{ s: 'it\\'s', d: \"say \\\"hi\\\"\", u: \"\\u00e9\\u20AC\", pair: \"\\uD83D\\uDE00\", x: '\\x41' }",
        "{ tab: \"a\\tb\" }", "{ $id: 1, _under: 2, caf\u{E9}: 3 }",
        "\"just a string\"", "42", "{ nested: { deeper: { list: [[1], [2, [3]]] } } }", "{ inf: Infinity, ninf: -Infinity }",
        "{ a: 1 } // trailing comment", "\u{FEFF}{ bom: true }",
    ]

    @Test(arguments: snippets)
    func readsWhatFoundationReads(_ text: String) throws {
        let expected = try #require(foundation(text))
        #expect(ours(text) == expected)
    }

    @Test func readsTheShippedMappingsAndSamplesAsFoundationDoes() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        var checked = 0
        for folder in ["mappings", "samples"] {
            let dir = root.appendingPathComponent(folder)
            for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) where name.hasSuffix(".json") {
                let text = try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)
                #expect(ours(text) == foundation(text), "\(folder)/\(name)")
                checked += 1
            }
        }
        #expect(checked >= 6)
    }

    static let malformed: [(String, String)] = [
        ("{ a: 1", "unterminated object, expected `}` at line 1, column 7"),
        ("{ a 1 }", "expected `:` after key `a` at line 1, column 5"),
        ("[1 2]", "expected `,` or `]` at line 1, column 4"),
        ("{\n  a: 'open\n}", "line break inside a string (write \\n) at line 2, column 11"),
        ("{ a: tru }", "expected a value at line 1, column 6"),
        ("{ a: 1 } x", "unexpected text after the value at line 1, column 10"),
        ("/* never closed", "unterminated /* comment at line 1, column 15"),
        ("", "expected a value, found the end of the file at line 1, column 1"),
        ("{ 1a: 2 }", "expected a key at line 1, column 3"),
        ("['\\08']", "octal escapes are not allowed at line 1, column 5"),
    ]

    @Test(arguments: malformed)
    func syntaxErrorsNameLineAndColumn(_ text: String, _ message: String) {
        #expect(throws: JSON5SyntaxError.self) { try ConfigNode.parse(Array(text.utf8)) }
        do {
            _ = try ConfigNode.parse(Array(text.utf8))
        } catch {
            #expect(error.description == message)
        }
        #expect(foundation(text) == nil || text.isEmpty, "Foundation reads it too")
    }

    @Test func lineContinuationsAndZeroEscapes() throws {
        // Foundation reads neither; both are JSON5.
        #expect(ours("{ multi: 'one \\\ntwo', nul: \"a\\0b\" }") == .object(["multi": .string(utf8("one two")), "nul": .string([0x61, 0, 0x62])]))
    }

    @Test func keysWrittenTwiceAreListedWithTheirPathAndLines() throws {
        var parser = JSON5Parser(Array("{ a: 1,\n  list: [ { b: 1, b: 2 } ],\n  a: 3 }".utf8))
        let node = try parser.parse()
        #expect(
            parser.duplicates == [
                DuplicateKey(path: "list[0].b", firstLine: 2, secondLine: 2),
                DuplicateKey(path: "a", firstLine: 1, secondLine: 3),
            ])
        guard case .object(let o) = node, case .number(let a)? = o["a"] else {
            Issue.record("not an object")
            return
        }
        #expect(a == 3)
    }

    @Test func nestingLimitOnBothSides() throws {
        let depth = ConfigLimits.maxDepth
        #expect(depth == 64)
        let deepest = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        #expect(ours(deepest) != nil)
        let tooDeep = "{ a: " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + " }"
        #expect(throws: JSON5SyntaxError(
            message: "lists and objects nested deeper than 64 levels (the limit)", line: 1, column: 69))
        {
            try ConfigNode.parse(Array(tooDeep.utf8))
        }
        // A million levels: rejected at level 65, no stack overflow.
        #expect(throws: JSON5SyntaxError.self) {
            try ConfigNode.parse([UInt8](repeating: UInt8(ascii: "["), count: 1_000_000))
        }
    }

    @Test func fileSizeLimitOnBothSides() throws {
        let dir = try TemporaryDirectory()
        let limit = ConfigLimits.maxFileBytes
        #expect(limit == 8 * 1024 * 1024)
        // Exactly at the limit: read.
        let body = utf8("[1") + [UInt8](repeating: 0x20, count: limit - 3) + utf8("]")
        let log = ProblemLog(file: "big.json")
        let node = loadConfigNode(path: try dir.write(body, to: "big.json"), displayName: "big.json", log: log)
        #expect(log.problems.isEmpty)
        #expect(node == .array([.number(1)]))
        // One byte more, and a 50 MB file of the same: refused before reading.
        for size in [limit + 1, 50_000_000] {
            let over = utf8("[") + [UInt8](repeating: 0x20, count: size - 2) + utf8("]")
            let overLog = ProblemLog(file: "over.json")
            #expect(loadConfigNode(path: try dir.write(over, to: "over.json"), displayName: "over.json", log: overLog) == nil)
            #expect(overLog.problems.map(\.message) == [
                "\(size) bytes, larger than the limit of 8 MiB for a config or mapping file"
            ])
        }
    }

    @Test func notTextOrNotAFileIsAProblem() throws {
        let dir = try TemporaryDirectory()
        for (bytes, message) in [
            (utf8("{ a: 1,\n b: '") + [0xFF] + utf8("' }"), "not valid JSON5: invalid UTF-8 on line 2"),
            (utf8("{ a: 1,\n\n b: '") + [0] + utf8("' }"), "not valid JSON5: a NUL byte on line 3"),
        ] {
            let log = ProblemLog(file: "x.json")
            #expect(loadConfigNode(path: try dir.write(bytes, to: "x.json"), displayName: "x.json", log: log) == nil)
            #expect(log.problems.map(\.message) == [message])
        }
        let log = ProblemLog(file: "d")
        #expect(loadConfigNode(path: dir.url.path, displayName: "d", log: log) == nil)
        #expect(log.problems.map(\.message) == ["is a directory"])
        let fifo = dir.url.appendingPathComponent("fifo.json").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let fifoLog = ProblemLog(file: "fifo.json")
        #expect(loadConfigNode(path: fifo, displayName: "fifo.json", log: fifoLog) == nil)
        #expect(fifoLog.problems.map(\.message) == ["is a FIFO (named pipe), not a regular file"])
    }
}

extension ConfigNode: Equatable {
    public static func == (a: ConfigNode, b: ConfigNode) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.number(let x), .number(let y)): return x == y || (x.isNaN && y.isNaN)
        case (.string(let x), .string(let y)): return Array(x.utf8) == Array(y.utf8)
        case (.array(let x), .array(let y)): return x == y
        case (.object(let x), .object(let y)): return x == y
        default: return false
        }
    }
}
