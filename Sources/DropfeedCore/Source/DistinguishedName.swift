/// An LDAP distinguished name (RFC 4514) taken apart: its attribute-value pairs, leftmost first.
public struct DistinguishedName: Sendable, Equatable {
    /// One `type=value` pair, the value unescaped.
    public struct Part: Sendable, Equatable {
        public var type: String
        public var value: String
    }

    /// Every pair, in the order written (the pairs of a multi-valued RDN `a=1+b=2` one after the other).
    public var parts: [Part]

    /// Parses `text` (`\,` and `\2C` escapes, `"…"` quoted values, spaces around separators,
    /// `,` `;` `+` between pairs); nil when it is not a DN (no `=`, an empty type, an open quote).
    public init?(_ text: String) {
        var text = text
        guard let parts = text.withUTF8({ DistinguishedName.parse($0) }) else { return nil }
        self.parts = parts
    }

    private static func hex(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: return b - 0x30
        case 0x41...0x46: return b - 0x37
        case 0x61...0x66: return b - 0x57
        default: return nil
        }
    }

    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> [Part]? {
        var parts: [Part] = []
        var i = 0
        let n = bytes.count
        var value: [UInt8] = []
        while true {
            // type
            while i < n && bytes[i] == 0x20 { i += 1 }
            let typeStart = i
            while i < n && bytes[i] != UInt8(ascii: "=") {
                if bytes[i] == UInt8(ascii: ",") || bytes[i] == UInt8(ascii: "+") { return nil }
                i += 1
            }
            guard i < n else { return nil }
            var typeEnd = i
            while typeEnd > typeStart && bytes[typeEnd - 1] == 0x20 { typeEnd -= 1 }
            guard typeEnd > typeStart else { return nil }
            let type = String(decoding: UnsafeBufferPointer(rebasing: bytes[typeStart..<typeEnd]), as: UTF8.self)
            i += 1
            while i < n && bytes[i] == 0x20 { i += 1 }
            // value
            value.removeAll(keepingCapacity: true)
            var keep = 0  // the length of `value` without unescaped trailing spaces
            if i < n && bytes[i] == UInt8(ascii: "\"") {
                i += 1
                var closed = false
                while i < n {
                    let b = bytes[i]
                    i += 1
                    if b == UInt8(ascii: "\"") {
                        closed = true
                        break
                    }
                    if b == UInt8(ascii: "\\"), i < n {
                        value.append(bytes[i])
                        i += 1
                    } else {
                        value.append(b)
                    }
                }
                guard closed else { return nil }
                keep = value.count
                while i < n && bytes[i] == 0x20 { i += 1 }
            } else {
                while i < n {
                    let b = bytes[i]
                    if b == UInt8(ascii: ",") || b == UInt8(ascii: "+") || b == UInt8(ascii: ";") { break }
                    i += 1
                    if b == UInt8(ascii: "\\") {
                        guard i < n else { return nil }
                        if i + 1 < n, let high = hex(bytes[i]), let low = hex(bytes[i + 1]) {
                            value.append(high << 4 | low)
                            i += 2
                        } else {
                            value.append(bytes[i])
                            i += 1
                        }
                        keep = value.count
                    } else {
                        value.append(b)
                        if b != 0x20 { keep = value.count }
                    }
                }
            }
            parts.append(Part(type: type, value: String(decoding: value[..<keep], as: UTF8.self)))
            guard i < n else { return parts }
            let separator = bytes[i]
            guard separator == UInt8(ascii: ",") || separator == UInt8(ascii: "+") || separator == UInt8(ascii: ";") else {
                return nil
            }
            i += 1
        }
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
        if let dn = DistinguishedName(text) { return dn.normalized }
        var s = Substring(text)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return s.lowercased()
    }
}
