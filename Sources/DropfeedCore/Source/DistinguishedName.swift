/// An LDAP distinguished name (RFC 4514) taken apart: its attribute-value pairs, leftmost first.
public struct DistinguishedName: Sendable, Equatable {
    /// One `type=value` pair, the value unescaped.
    public struct Part: Sendable, Equatable {
        public var type: String
        public var value: String
    }

    /// Every pair, in the order written (the pairs of a multi-valued RDN `a=1+b=2` one after the other).
    public var parts: [Part]

    /// Parses `text`; nil when it is not a DN (no `=`, a bad escape, an empty type).
    public init?(_ text: String) {
        var parts: [Part] = []
        var bytes = Array(text.utf8)[...]
        var type: [UInt8] = []
        var value: [UInt8] = []
        var inValue = false
        var trailingSpaces = 0
        var quoted = false
        func hex(_ b: UInt8) -> UInt8? {
            switch b {
            case 0x30...0x39: return b - 0x30
            case 0x41...0x46: return b - 0x37
            case 0x61...0x66: return b - 0x57
            default: return nil
            }
        }
        func finish() -> Bool {
            let t = String(decoding: type, as: UTF8.self).trimmingSpaces()
            guard inValue, !t.isEmpty else { return false }
            value.removeLast(trailingSpaces)
            parts.append(Part(type: t, value: String(decoding: value, as: UTF8.self)))
            type = []
            value = []
            inValue = false
            trailingSpaces = 0
            return true
        }
        if bytes.allSatisfy({ $0 == 0x20 }) { return nil }
        while let b = bytes.popFirst() {
            if !inValue {
                if b == UInt8(ascii: "=") {
                    inValue = true
                    while bytes.first == 0x20 { bytes.removeFirst() }
                    if bytes.first == UInt8(ascii: "\"") {
                        quoted = true
                        bytes.removeFirst()
                    }
                } else if b == UInt8(ascii: ",") || b == UInt8(ascii: "+") {
                    return nil
                } else {
                    type.append(b)
                }
                continue
            }
            if quoted {
                if b == UInt8(ascii: "\"") {
                    quoted = false
                    trailingSpaces = 0
                } else if b == UInt8(ascii: "\\"), let next = bytes.popFirst() {
                    value.append(next)
                } else {
                    value.append(b)
                }
                continue
            }
            switch b {
            case UInt8(ascii: "\\"):
                guard let first = bytes.popFirst() else { return nil }
                if let high = hex(first), let second = bytes.first, let low = hex(second) {
                    bytes.removeFirst()
                    value.append(high << 4 | low)
                } else {
                    value.append(first)
                }
                trailingSpaces = 0
            case UInt8(ascii: ","), UInt8(ascii: "+"), UInt8(ascii: ";"):
                guard finish() else { return nil }
                while bytes.first == 0x20 { bytes.removeFirst() }
            case 0x20:
                if !value.isEmpty {
                    value.append(b)
                    trailingSpaces += 1
                }
            default:
                value.append(b)
                trailingSpaces = 0
            }
        }
        guard !quoted, finish() else { return nil }
        self.parts = parts
    }

    /// The values of the pairs of type `type` (case-insensitive: `CN`, `cn`), leftmost first.
    public func values(of type: String) -> [String] {
        let wanted = type.lowercased()
        return parts.filter { $0.type.lowercased() == wanted }.map(\.value)
    }

    /// A form in which two spellings of the same DN are equal: types and values lowercased,
    /// escapes and the spaces around separators gone.
    public var normalized: String {
        parts.map { $0.type.lowercased() + "=" + $0.value.lowercased() }.joined(separator: "\u{1}")
    }

    /// `text` normalized as a DN, or — when it is not one — trimmed and lowercased.
    public static func normalize(_ text: String) -> String {
        DistinguishedName(text)?.normalized ?? text.trimmingSpaces().lowercased()
    }
}

extension String {
    /// Without leading and trailing U+0020 spaces.
    fileprivate func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
