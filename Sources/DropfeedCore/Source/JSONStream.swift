import Foundation

/// A JSON value as a SCIM export holds it (numbers kept as written).
indirect enum JSONValue: Equatable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONValue])
    /// Members in the order written.
    case object([(String, JSONValue)])

    static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.number(let x), .number(let y)), (.string(let x), .string(let y)): return x == y
        case (.array(let x), .array(let y)): return x == y
        case (.object(let x), .object(let y)): return x.map(\.0) == y.map(\.0) && x.map(\.1) == y.map(\.1)
        default: return false
        }
    }

    /// The member named `name`, matched without regard to case (SCIM attribute names are).
    func member(_ name: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        let wanted = name.lowercased()
        return members.first { $0.0.lowercased() == wanted }?.1
    }

    /// A scalar as text (`true`, `42`, the string); nil for null, lists and objects.
    var text: String? {
        switch self {
        case .bool(let b): return b ? "true" : "false"
        case .number(let n): return n
        case .string(let s): return s
        default: return nil
        }
    }

    /// Folds the value into `h`, so that equal values hash alike wherever they are in the file.
    func hash(into h: inout UInt64) {
        func mix(_ tag: UInt8, _ s: String) {
            var s = s
            h = RowHash.fold(h ^ UInt64(tag), 0x9E37_79B9_7F4A_7C15)
            s.withUTF8 { h = RowHash.combine(h, $0) }
        }
        switch self {
        case .null: mix(0, "")
        case .bool(let b): mix(1, b ? "t" : "f")
        case .number(let n): mix(2, n)
        case .string(let s): mix(3, s)
        case .array(let items):
            mix(4, String(items.count))
            for item in items { item.hash(into: &h) }
        case .object(let members):
            mix(5, String(members.count))
            for (k, v) in members {
                mix(6, k)
                v.hash(into: &h)
            }
        }
    }
}

/// A strict JSON reader (RFC 8259) over a file, a megabyte at a time, that knows the line it is on.
final class JSONStream {
    private let file: FileByteSource
    let displayName: String
    private var buffer: [UInt8] = []
    private var position = 0
    private var atEnd = false
    /// The line of the next byte (1-based).
    private(set) var line = 1
    /// Bytes consumed so far.
    private(set) var consumed = 0
    /// `value` refuses to read past this many consumed bytes (set per resource by the caller).
    var limit = Int.max
    static let maxDepth = 64

    init(path: String, displayName: String) throws {
        file = try FileByteSource(path: path)
        self.displayName = displayName
        if try peek() == 0xEF {
            // A UTF-8 byte order mark.
            for expected: UInt8 in [0xEF, 0xBB, 0xBF] where try next() != expected {
                throw error("not JSON (a stray byte at the start)")
            }
        }
    }

    func error(_ message: String, line: Int? = nil) -> SourceFormatError {
        SourceFormatError(file: displayName, line: line ?? self.line, message)
    }

    func peek() throws -> UInt8? {
        if position == buffer.count {
            if atEnd { return nil }
            try fill()
            if position == buffer.count { return nil }
        }
        return buffer[position]
    }

    @discardableResult
    func next() throws -> UInt8? {
        guard let b = try peek() else { return nil }
        position += 1
        consumed += 1
        if b == 0x0A { line += 1 }
        return b
    }

    private func fill() throws {
        buffer.removeAll(keepingCapacity: true)
        position = 0
        let chunk = 1 << 20
        buffer = [UInt8](repeating: 0, count: chunk)
        var n = 0
        try buffer.withUnsafeMutableBufferPointer { n = try file.read(into: $0.baseAddress!, capacity: chunk) }
        buffer.removeLast(chunk - n)
        if n == 0 { atEnd = true }
    }

    /// Skips white space; the next byte, not consumed (nil at the end).
    func skipSpace() throws -> UInt8? {
        while let b = try peek() {
            guard b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 else { return b }
            try next()
        }
        return nil
    }

    func expect(_ byte: UInt8, _ what: String) throws {
        guard try skipSpace() == byte, try next() == byte else {
            throw error("expected \(what)" + (try describeNext()))
        }
    }

    private func describeNext() throws -> String {
        guard let b = try peek() else { return " but the file ends" }
        if b >= 0x21 && b < 0x7F { return ", found `\(Character(Unicode.Scalar(b)))`" }
        return ", found byte 0x\(String(b, radix: 16))"
    }

    /// One whole value.
    func value(depth: Int = 0) throws -> JSONValue {
        guard depth < JSONStream.maxDepth else { throw error("nested deeper than \(JSONStream.maxDepth) levels") }
        if consumed > limit { throw error("a resource larger than \(SCIMExportReader.maxResourceBytes >> 20) MiB") }
        guard let b = try skipSpace() else { throw error("expected a value but the file ends") }
        switch b {
        case UInt8(ascii: "{"):
            try next()
            var members: [(String, JSONValue)] = []
            var names = Set<String>()
            if try skipSpace() == UInt8(ascii: "}") {
                try next()
                return .object([])
            }
            while true {
                let keyLine = line
                let key = try string()
                guard names.insert(key).inserted else {
                    throw error("the key `\(key)` is written twice in one object", line: keyLine)
                }
                try expect(UInt8(ascii: ":"), "`:` after a key")
                members.append((key, try value(depth: depth + 1)))
                if try endOfList(UInt8(ascii: "}")) { return .object(members) }
            }
        case UInt8(ascii: "["):
            try next()
            var items: [JSONValue] = []
            if try skipSpace() == UInt8(ascii: "]") {
                try next()
                return .array([])
            }
            while true {
                items.append(try value(depth: depth + 1))
                if try endOfList(UInt8(ascii: "]")) { return .array(items) }
            }
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw error("expected a value" + (try describeNext()))
        }
    }

    /// After a list item: true at `close` (consumed), false after a `,`.
    func endOfList(_ close: UInt8) throws -> Bool {
        let b = try skipSpace()
        if b == close {
            try next()
            return true
        }
        guard b == UInt8(ascii: ",") else {
            throw error("expected `,` or `\(Character(Unicode.Scalar(close)))`" + (try describeNext()))
        }
        try next()
        return false
    }

    private func literal(_ word: String, _ value: JSONValue) throws -> JSONValue {
        for expected in word.utf8 where try next() != expected { throw error("expected `\(word)`") }
        return value
    }

    private func number() throws -> String {
        var text: [UInt8] = []
        while let b = try peek(),
            b == UInt8(ascii: "-") || b == UInt8(ascii: "+") || b == UInt8(ascii: ".")
                || (b | 0x20) == UInt8(ascii: "e")
                || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9"))
        {
            text.append(b)
            try next()
        }
        let s = String(decoding: text, as: UTF8.self)
        guard s.range(of: #"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$"#, options: .regularExpression) != nil
        else {
            throw error("`\(s)` is not a JSON number")
        }
        return s
    }

    /// A string (the opening quote next, after white space).
    func string() throws -> String {
        guard try skipSpace() == UInt8(ascii: "\""), try next() != nil else {
            throw error("expected a string" + (try describeNext()))
        }
        var bytes: [UInt8] = []
        while true {
            if consumed > limit { throw error("a resource larger than \(SCIMExportReader.maxResourceBytes >> 20) MiB") }
            // The plain run of bytes up to a quote, an escape or a control character, at once.
            var end = position
            while end < buffer.count {
                let b = buffer[end]
                if b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") || b < 0x20 { break }
                end += 1
            }
            if end > position {
                bytes.append(contentsOf: buffer[position..<end])
                consumed += end - position
                position = end
                if consumed > limit { throw error("a resource larger than \(SCIMExportReader.maxResourceBytes >> 20) MiB") }
                continue
            }
            guard let b = try next() else { throw error("a string that does not end") }
            switch b {
            case UInt8(ascii: "\""):
                guard let s = String(validating: bytes, as: UTF8.self) else { throw error("invalid UTF-8 in a string") }
                return s
            case UInt8(ascii: "\\"):
                guard let e = try next() else { throw error("a string that does not end") }
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): bytes.append(e)
                case UInt8(ascii: "b"): bytes.append(0x08)
                case UInt8(ascii: "f"): bytes.append(0x0C)
                case UInt8(ascii: "n"): bytes.append(0x0A)
                case UInt8(ascii: "r"): bytes.append(0x0D)
                case UInt8(ascii: "t"): bytes.append(0x09)
                case UInt8(ascii: "u"):
                    var unit = try hex4()
                    if unit >= 0xD800 && unit < 0xDC00 {
                        guard try next() == UInt8(ascii: "\\"), try next() == UInt8(ascii: "u") else {
                            throw error("a lone UTF-16 surrogate in a \\u escape")
                        }
                        let low = try hex4()
                        guard low >= 0xDC00 && low < 0xE000 else {
                            throw error("a lone UTF-16 surrogate in a \\u escape")
                        }
                        unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                    } else if unit >= 0xDC00 && unit < 0xE000 {
                        throw error("a lone UTF-16 surrogate in a \\u escape")
                    }
                    bytes.append(contentsOf: Array(String(Character(Unicode.Scalar(unit)!)).utf8))
                default: throw error("an unknown escape `\\\(Character(Unicode.Scalar(e)))` in a string")
                }
            case 0x00..<0x20:
                throw error(
                    "a control character inside a string (write it as an escape)", line: b == 0x0A ? line - 1 : line)
            default: bytes.append(b)
            }
        }
    }

    private func hex4() throws -> UInt32 {
        var v: UInt32 = 0
        for _ in 0..<4 {
            guard let b = try next() else { throw error("a string that does not end") }
            let d: UInt32
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(b - 0x30)
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(b - 0x57)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(b - 0x37)
            default: throw error("a \\u escape needs four hex digits")
            }
            v = v << 4 | d
        }
        return v
    }
}
