/// The bounds a config or mapping file must stay within (README "Limits").
public enum ConfigLimits {
    /// The largest config or mapping file: 8 MiB (the largest real mapping is a few KiB).
    public static let maxFileBytes = 8 << 20
    /// The deepest nesting of lists and objects: 64 levels (real files use fewer than 6).
    public static let maxDepth = 64
}

/// A syntax error in a JSON5 file, with the line and column (1-based, in bytes of that line).
struct JSON5SyntaxError: Error, Equatable {
    var message: String
    var line: Int
    var column: Int

    var description: String { "\(message) at line \(line), column \(column)" }
}

/// A key written twice in one object: its path (`output.mode`) and the two lines.
struct DuplicateKey: Equatable {
    var path: String
    var firstLine: Int
    var secondLine: Int
}

/// A JSON5 reader on UTF-8 bytes, in one pass and linear time.
///
/// It reads JSON with comments, trailing commas, unquoted keys, single-quoted strings, hex numbers,
/// `Infinity` and `NaN` (the JSON5 grammar). Unlike Foundation's reader it keeps what a config needs
/// to report: a key written twice is recorded with both lines (one of the two values would be lost
/// without a word), and nesting deeper than `ConfigLimits.maxDepth` stops the read at once, so
/// neither time nor the stack grow with a hostile file.
struct JSON5Parser {
    private let bytes: [UInt8]
    private var i = 0
    private var line = 1
    private var lineStart = 0
    private var depth = 0
    private var path: [PathPart] = []
    /// Keys written twice, in the order found.
    private(set) var duplicates: [DuplicateKey] = []

    private enum PathPart {
        case key(String)
        case index(Int)
    }

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Parses the whole input as one value; duplicate keys keep the last value and are listed in
    /// `duplicates`.
    mutating func parse() throws(JSON5SyntaxError) -> ConfigNode {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { i = 3 }
        try skipSpace()
        let value = try parseValue()
        try skipSpace()
        if i < bytes.count { throw fail("unexpected text after the value") }
        return value
    }

    private func fail(_ message: String) -> JSON5SyntaxError {
        var column = 1
        var k = lineStart
        while k < min(i, bytes.count) {
            if bytes[k] & 0xC0 != 0x80 { column += 1 }
            k += 1
        }
        return JSON5SyntaxError(message: message, line: line, column: column)
    }

    private var pathText: String {
        var out = ""
        for part in path {
            switch part {
            case .key(let k): out += out.isEmpty ? k : ".\(k)"
            case .index(let n): out += "[\(n)]"
            }
        }
        return out
    }

    // MARK: - Values

    private mutating func parseValue() throws(JSON5SyntaxError) -> ConfigNode {
        guard i < bytes.count else { throw fail("expected a value, found the end of the file") }
        switch bytes[i] {
        case UInt8(ascii: "{"):
            try enter()
            defer { depth -= 1 }
            return try parseObject()
        case UInt8(ascii: "["):
            try enter()
            defer { depth -= 1 }
            return try parseArray()
        case UInt8(ascii: "\""), UInt8(ascii: "'"): return .string(try parseString())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        default: return .number(try parseNumber())
        }
    }

    private mutating func enter() throws(JSON5SyntaxError) {
        if depth == ConfigLimits.maxDepth {
            throw fail("lists and objects nested deeper than \(ConfigLimits.maxDepth) levels (the limit)")
        }
        depth += 1
    }

    private mutating func literal(_ word: String, _ value: ConfigNode) throws(JSON5SyntaxError) -> ConfigNode {
        let w = Array(word.utf8)
        guard bytes.count - i >= w.count, Array(bytes[i..<i + w.count]) == w, !isIdentifierByte(at: i + w.count)
        else { throw fail("expected a value") }
        i += w.count
        return value
    }

    private mutating func parseObject() throws(JSON5SyntaxError) -> ConfigNode {
        i += 1
        var object: [String: ConfigNode] = [:]
        var lines: [String: Int] = [:]
        while true {
            try skipSpace()
            guard i < bytes.count else { throw fail("unterminated object, expected `}`") }
            if bytes[i] == UInt8(ascii: "}") {
                i += 1
                return .object(object)
            }
            let keyLine = line
            let key = try parseKey()
            try skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("expected `:` after key `\(key)`") }
            i += 1
            try skipSpace()
            path.append(.key(key))
            if let first = lines[key] {
                duplicates.append(DuplicateKey(path: pathText, firstLine: first, secondLine: keyLine))
            }
            lines[key] = keyLine
            object[key] = try parseValue()
            path.removeLast()
            try skipSpace()
            guard i < bytes.count else { throw fail("unterminated object, expected `}`") }
            if bytes[i] == UInt8(ascii: ",") {
                i += 1
            } else if bytes[i] != UInt8(ascii: "}") {
                throw fail("expected `,` or `}`")
            }
        }
    }

    private mutating func parseArray() throws(JSON5SyntaxError) -> ConfigNode {
        i += 1
        var items: [ConfigNode] = []
        while true {
            try skipSpace()
            guard i < bytes.count else { throw fail("unterminated list, expected `]`") }
            if bytes[i] == UInt8(ascii: "]") {
                i += 1
                return .array(items)
            }
            path.append(.index(items.count))
            items.append(try parseValue())
            path.removeLast()
            try skipSpace()
            guard i < bytes.count else { throw fail("unterminated list, expected `]`") }
            if bytes[i] == UInt8(ascii: ",") {
                i += 1
            } else if bytes[i] != UInt8(ascii: "]") {
                throw fail("expected `,` or `]`")
            }
        }
    }

    private mutating func parseKey() throws(JSON5SyntaxError) -> String {
        let c = bytes[i]
        if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") { return try parseString() }
        let start = i
        while i < bytes.count && isIdentifierByte(at: i) { i += 1 }
        guard i > start, !(bytes[start] >= 0x30 && bytes[start] <= 0x39) else {
            i = start
            throw fail("expected a key")
        }
        return String(decoding: bytes[start..<i], as: UTF8.self)
    }

    /// Letters, digits, `_`, `$` and any non-ASCII byte (JSON5 allows Unicode letters in names).
    private func isIdentifierByte(at k: Int) -> Bool {
        guard k < bytes.count else { return false }
        let c = bytes[k]
        return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
            || c == UInt8(ascii: "_") || c == UInt8(ascii: "$") || c >= 0x80
    }

    // MARK: - Strings

    private mutating func parseString() throws(JSON5SyntaxError) -> String {
        let quote = bytes[i]
        i += 1
        var out: [UInt8] = []
        while true {
            guard i < bytes.count else { throw fail("unterminated string") }
            let c = bytes[i]
            if c == quote {
                i += 1
                return String(decoding: out, as: UTF8.self)
            }
            if c == 0x0A || c == 0x0D { throw fail("line break inside a string (write \\n)") }
            if c != UInt8(ascii: "\\") {
                out.append(c)
                i += 1
                continue
            }
            i += 1
            guard i < bytes.count else { throw fail("unterminated string") }
            let e = bytes[i]
            i += 1
            switch e {
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "v"): out.append(0x0B)
            case UInt8(ascii: "0"):
                if i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 { throw fail("octal escapes are not allowed") }
                out.append(0)
            case UInt8(ascii: "x"):
                let v = try hex(count: 2)
                appendScalar(v, to: &out)
            case UInt8(ascii: "u"):
                var v = try hex(count: 4)
                if v >= 0xD800 && v <= 0xDBFF, bytes.count - i >= 6, bytes[i] == UInt8(ascii: "\\"),
                    bytes[i + 1] == UInt8(ascii: "u")
                {
                    i += 2
                    let low = try hex(count: 4)
                    guard low >= 0xDC00 && low <= 0xDFFF else { throw fail("invalid surrogate pair") }
                    v = 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00)
                }
                guard !(v >= 0xD800 && v <= 0xDFFF) else { throw fail("lone surrogate in \\u escape") }
                appendScalar(v, to: &out)
            case 0x0A:
                newLine()
            case 0x0D:
                if i < bytes.count && bytes[i] == 0x0A { i += 1 }
                newLine()
            default:
                if e >= 0x30 && e <= 0x39 { throw fail("digits cannot be escaped") }
                out.append(e)
            }
        }
    }

    private mutating func hex(count: Int) throws(JSON5SyntaxError) -> UInt32 {
        guard bytes.count - i >= count else { throw fail("incomplete escape") }
        var v: UInt32 = 0
        for _ in 0..<count {
            guard let d = hexDigit(bytes[i]) else { throw fail("expected a hex digit") }
            v = v << 4 | d
            i += 1
        }
        return v
    }

    private func hexDigit(_ c: UInt8) -> UInt32? {
        switch c {
        case 0x30...0x39: return UInt32(c - 0x30)
        case 0x41...0x46: return UInt32(c - 0x41 + 10)
        case 0x61...0x66: return UInt32(c - 0x61 + 10)
        default: return nil
        }
    }

    private func appendScalar(_ v: UInt32, to out: inout [UInt8]) {
        out.append(contentsOf: String(Character(Unicode.Scalar(v)!)).utf8)
    }

    // MARK: - Numbers

    private mutating func parseNumber() throws(JSON5SyntaxError) -> Double {
        let start = i
        var negative = false
        if i < bytes.count && (bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-")) {
            negative = bytes[i] == UInt8(ascii: "-")
            i += 1
        }
        let sign: Double = negative ? -1 : 1
        if i < bytes.count && (bytes[i] == UInt8(ascii: "I") || bytes[i] == UInt8(ascii: "N")) {
            for (word, value) in [("Infinity", Double.infinity), ("NaN", Double.nan)] {
                let w = Array(word.utf8)
                if bytes.count - i >= w.count && Array(bytes[i..<i + w.count]) == w && !isIdentifierByte(at: i + w.count) {
                    i += w.count
                    return sign * value
                }
            }
        }
        if bytes.count - i >= 2 && bytes[i] == UInt8(ascii: "0") && (bytes[i + 1] | 0x20) == UInt8(ascii: "x") {
            i += 2
            let digits = i
            var v: Double = 0
            while i < bytes.count, let d = hexDigit(bytes[i]) {
                v = v * 16 + Double(d)
                i += 1
            }
            guard i > digits, !isIdentifierByte(at: i) else { throw fail("invalid hex number") }
            return sign * v
        }
        let digits = i
        // Whole numbers below 2^53, the common case, without making a String.
        var whole: Double = 0
        while i < bytes.count && bytes[i] >= 0x30 && bytes[i] <= 0x39 && i - digits < 15 {
            whole = whole * 10 + Double(bytes[i] - 0x30)
            i += 1
        }
        if i > digits && (i == bytes.count || !(isIdentifierByte(at: i) || bytes[i] == UInt8(ascii: "."))) {
            return sign * whole
        }
        i = digits
        while i < bytes.count {
            let c = bytes[i]
            let isNumberByte =
                (c >= 0x30 && c <= 0x39) || c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E")
                || ((c == UInt8(ascii: "+") || c == UInt8(ascii: "-")) && (bytes[i - 1] | 0x20) == UInt8(ascii: "e"))
            if !isNumberByte { break }
            i += 1
        }
        var text = String(decoding: bytes[digits..<i], as: UTF8.self)
        if text.hasPrefix(".") { text = "0" + text }
        if text.hasSuffix(".") { text += "0" }
        guard i > digits, let first = text.utf8.first, first >= 0x30 && first <= 0x39, let v = Double(text),
            !isIdentifierByte(at: i)
        else {
            i = start
            throw fail("expected a value")
        }
        return sign * v
    }

    // MARK: - Space and comments

    private mutating func newLine() {
        line += 1
        lineStart = i
    }

    private mutating func skipSpace() throws(JSON5SyntaxError) {
        while i < bytes.count {
            let c = bytes[i]
            switch c {
            case 0x20, 0x09, 0x0B, 0x0C:
                i += 1
            case 0x0A:
                i += 1
                newLine()
            case 0x0D:
                i += 1
                if i < bytes.count && bytes[i] == 0x0A { i += 1 }
                newLine()
            case 0xC2 where i + 1 < bytes.count && bytes[i + 1] == 0xA0:
                i += 2
            case 0xE2 where i + 2 < bytes.count && bytes[i + 1] == 0x80 && (bytes[i + 2] == 0xA8 || bytes[i + 2] == 0xA9):
                i += 3
                newLine()
            case 0xEF where i + 2 < bytes.count && bytes[i + 1] == 0xBB && bytes[i + 2] == 0xBF:
                i += 3
            case UInt8(ascii: "/") where i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "/"):
                while i < bytes.count && bytes[i] != 0x0A && bytes[i] != 0x0D { i += 1 }
            case UInt8(ascii: "/") where i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "*"):
                i += 2
                while true {
                    guard i + 1 < bytes.count else { throw fail("unterminated /* comment") }
                    if bytes[i] == UInt8(ascii: "*") && bytes[i + 1] == UInt8(ascii: "/") {
                        i += 2
                        break
                    }
                    if bytes[i] == 0x0A || (bytes[i] == 0x0D && bytes[i + 1] != 0x0A) {
                        i += 1
                        newLine()
                    } else {
                        i += 1
                    }
                }
            default:
                return
            }
        }
    }
}
