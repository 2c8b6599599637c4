import Foundation

/// A regular expression from a mapping (`matches`, `replace`), with fast paths for the shapes
/// that mappings use most: a literal with optional `^`/`$` anchors, and a single character class
/// such as `[^0-9+]`. Everything else goes to `NSRegularExpression` (ICU syntax).
public struct Pattern: @unchecked Sendable {
    public let source: String
    private let kind: Kind

    private enum Kind {
        /// Compared as UTF-8 bytes (code points, as ICU does), not as `Character`s: Swift's
        /// canonical equivalence would make `é` equal `e\u{301}`, which the regex does not.
        case literal([UInt8], anchoredStart: Bool, anchoredEnd: Bool)
        case characterClass(Set<Unicode.Scalar>, ranges: [ClosedRange<UInt32>], spaces: Bool, negated: Bool, repeated: Bool)
        case regex(NSRegularExpression)
    }

    /// Compiles `source`; throws a message naming what is wrong when it is not a valid pattern.
    public init(_ source: String) throws {
        self.source = source
        let regex: NSRegularExpression
        do {
            regex = try NSRegularExpression(pattern: source)
        } catch {
            throw PatternError(message: "invalid regular expression `\(source)`")
        }
        if let literal = Pattern.literal(source) {
            kind = literal
        } else if let cls = Pattern.characterClass(source) {
            kind = cls
        } else {
            kind = .regex(regex)
        }
    }

    /// Whether a fast path (literal or character class) runs instead of `NSRegularExpression`.
    var isFastPath: Bool {
        if case .regex = kind { return false }
        return true
    }

    /// Whether the pattern matches anywhere in `value` (anchors apply).
    public func matches(_ value: String) -> Bool {
        switch kind {
        case let .literal(text, start, end):
            var value = value
            return value.withUTF8 { Pattern.literalMatches(text, in: $0, anchoredStart: start, anchoredEnd: end) }
        case let .characterClass(set, ranges, spaces, negated, _):
            return value.unicodeScalars.contains { Pattern.inClass($0, set, ranges, spaces) != negated }
        case .regex(let regex):
            return regex.firstMatch(in: value, range: NSRange(value.startIndex..., in: value)) != nil
        }
    }

    /// `value` with every match replaced by `template` (`$1` refers to groups on the regex path).
    public func replacing(in value: String, with template: String) -> String {
        // `$0` and `\` in the replacement mean something to the regex: only it can apply them.
        let plainTemplate = !template.contains("$") && !template.contains("\\")
        switch kind {
        case let .characterClass(set, ranges, spaces, negated, repeated) where plainTemplate:
            var out = String.UnicodeScalarView()
            var lastWasMatch = false
            for scalar in value.unicodeScalars {
                if Pattern.inClass(scalar, set, ranges, spaces) != negated {
                    if !(repeated && lastWasMatch) { out.append(contentsOf: template.unicodeScalars) }
                    lastWasMatch = true
                } else {
                    out.append(scalar)
                    lastWasMatch = false
                }
            }
            return String(out)
        case let .literal(text, false, false) where !text.isEmpty && plainTemplate:
            var value = value
            return value.withUTF8 { Pattern.replacingLiteral(text, in: $0, with: template) }
        case .literal, .characterClass, .regex:
            let regex: NSRegularExpression
            if case .regex(let r) = kind { regex = r } else { regex = try! NSRegularExpression(pattern: source) }
            return regex.stringByReplacingMatches(
                in: value, range: NSRange(value.startIndex..., in: value), withTemplate: template)
        }
    }

    @inline(__always)
    private static func inClass(_ s: Unicode.Scalar, _ set: Set<Unicode.Scalar>, _ ranges: [ClosedRange<UInt32>],
                                _ spaces: Bool) -> Bool {
        set.contains(s) || ranges.contains { $0.contains(s.value) } || (spaces && s.properties.isWhitespace)
    }

    /// Whether `text` occurs in `value` as the anchors ask. ICU's `$` (without multiline) matches
    /// at the end and also before one final line terminator (`\n` `\r\n` `\r` VT FF NEL LS PS).
    private static func literalMatches(_ text: [UInt8], in value: UnsafeBufferPointer<UInt8>,
                                       anchoredStart: Bool, anchoredEnd: Bool) -> Bool {
        let n = text.count
        func occurs(at offset: Int) -> Bool {
            offset >= 0 && offset + n <= value.count && (0..<n).allSatisfy { value[offset + $0] == text[$0] }
        }
        if anchoredEnd {
            return endPositions(value).contains { end in anchoredStart ? end == n && occurs(at: 0) : occurs(at: end - n) }
        }
        if anchoredStart { return occurs(at: 0) }
        if n == 0 { return true }
        return value.count >= n && (0...(value.count - n)).contains { occurs(at: $0) }
    }

    /// Where `$` can match: the end, and before a final line terminator.
    private static func endPositions(_ v: UnsafeBufferPointer<UInt8>) -> [Int] {
        let c = v.count
        if c >= 2 && v[c - 2] == 0x0D && v[c - 1] == 0x0A { return [c, c - 2] }
        if c >= 1 && (0x0A...0x0D).contains(v[c - 1]) { return [c, c - 1] }
        if c >= 2 && v[c - 2] == 0xC2 && v[c - 1] == 0x85 { return [c, c - 2] }
        if c >= 3 && v[c - 3] == 0xE2 && v[c - 2] == 0x80 && (v[c - 1] == 0xA8 || v[c - 1] == 0xA9) { return [c, c - 3] }
        return [c]
    }

    /// Every non-overlapping occurrence of `text` (non-empty) replaced by `template`, left to right.
    private static func replacingLiteral(_ text: [UInt8], in value: UnsafeBufferPointer<UInt8>, with template: String) -> String {
        let n = text.count
        var out: [UInt8] = []
        out.reserveCapacity(value.count)
        var i = 0
        while i < value.count {
            if i + n <= value.count && value[i] == text[0] && (1..<n).allSatisfy({ value[i + $0] == text[$0] }) {
                out.append(contentsOf: template.utf8)
                i += n
            } else {
                out.append(value[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static let special: Set<Unicode.Scalar> = ["\\", ".", "*", "+", "?", "(", ")", "[", "]", "{", "}", "|", "^", "$"]

    /// `^abc$`, `@example\.com$`…: only literal characters and `\`-escaped punctuation.
    private static func literal(_ source: String) -> Kind? {
        var chars = Array(source.unicodeScalars)
        let start = chars.first == "^"
        if start { chars.removeFirst() }
        var end = false
        if chars.last == "$" && !(chars.count >= 2 && chars[chars.count - 2] == "\\") {
            end = true
            chars.removeLast()
        }
        var text = String.UnicodeScalarView()
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c == "\\" {
                guard i + 1 < chars.count, special.contains(chars[i + 1]) || chars[i + 1] == "-" || chars[i + 1] == "@" else { return nil }
                text.append(chars[i + 1])
                i += 2
                continue
            }
            if special.contains(c) { return nil }
            text.append(c)
            i += 1
        }
        return .literal(Array(String(text).utf8), anchoredStart: start, anchoredEnd: end)
    }

    /// `[...]`, `[^...]`, optionally followed by `+`, with literal characters, `a-z` ranges,
    /// `\\s` (Unicode White_Space, as ICU) and escaped punctuation. `\\d` goes to the regex:
    /// ICU's decimal digits follow its own Unicode version, not the standard library's.
    private static func characterClass(_ source: String) -> Kind? {
        var chars = Array(source.unicodeScalars)
        var repeated = false
        if chars.last == "+" {
            repeated = true
            chars.removeLast()
        }
        guard chars.count >= 3, chars.first == "[", chars.last == "]" else { return nil }
        chars.removeFirst()
        chars.removeLast()
        var negated = false
        if chars.first == "^" {
            negated = true
            chars.removeFirst()
        }
        var set = Set<Unicode.Scalar>()
        var ranges: [ClosedRange<UInt32>] = []
        var spaces = false
        var members: [Unicode.Scalar] = []
        var i = 0
        while i < chars.count {
            var c = chars[i]
            if c == "[" || c == "]" || c == "&" { return nil }
            if c == "\\" {
                guard i + 1 < chars.count else { return nil }
                let e = chars[i + 1]
                switch e {
                case "s": spaces = true; i += 2; continue
                default:
                    guard e.properties.isASCIIHexDigit == false, !e.properties.isAlphabetic else { return nil }
                    c = e
                    i += 1
                }
            }
            if i + 2 < chars.count, chars[i + 1] == "-" {
                // An escaped range end (`[ -\\^]`) is left to the regex.
                if chars[i + 2] == "\\" { return nil }
                guard c.value <= chars[i + 2].value else { return nil }
                ranges.append(c.value...chars[i + 2].value)
                i += 3
                continue
            }
            members.append(c)
            i += 1
        }
        set.formUnion(members)
        return .characterClass(set, ranges: ranges, spaces: spaces, negated: negated, repeated: repeated)
    }
}

/// An invalid pattern in a mapping.
public struct PatternError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
