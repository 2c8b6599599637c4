import Foundation

/// A regular expression from a mapping (`matches`, `replace`), with fast paths for the shapes
/// that mappings use most: a literal with optional `^`/`$` anchors, and a single character class
/// such as `[^0-9+]`. Everything else goes to `NSRegularExpression` (ICU syntax).
public struct Pattern: @unchecked Sendable {
    public let source: String
    private let kind: Kind

    private enum Kind {
        case literal(String, anchoredStart: Bool, anchoredEnd: Bool)
        case characterClass(Set<Unicode.Scalar>, ranges: [ClosedRange<UInt32>], negated: Bool, repeated: Bool)
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

    /// Whether the pattern matches anywhere in `value` (anchors apply).
    public func matches(_ value: String) -> Bool {
        switch kind {
        case let .literal(text, start, end):
            switch (start, end) {
            case (true, true): return value == text
            case (true, false): return value.hasPrefix(text)
            case (false, true): return value.hasSuffix(text)
            case (false, false): return text.isEmpty || value.contains(text)
            }
        case let .characterClass(set, ranges, negated, _):
            return value.unicodeScalars.contains { Pattern.inClass($0, set, ranges) != negated }
        case .regex(let regex):
            return regex.firstMatch(in: value, range: NSRange(value.startIndex..., in: value)) != nil
        }
    }

    /// `value` with every match replaced by `template` (`$1` refers to groups on the regex path).
    public func replacing(in value: String, with template: String) -> String {
        switch kind {
        case let .characterClass(set, ranges, negated, repeated):
            var out = String.UnicodeScalarView()
            var lastWasMatch = false
            for scalar in value.unicodeScalars {
                if Pattern.inClass(scalar, set, ranges) != negated {
                    if !(repeated && lastWasMatch) { out.append(contentsOf: template.unicodeScalars) }
                    lastWasMatch = true
                } else {
                    out.append(scalar)
                    lastWasMatch = false
                }
            }
            return String(out)
        case let .literal(text, false, false) where !text.isEmpty && !template.contains("$") && !template.contains("\\"):
            return value.replacingOccurrences(of: text, with: template)
        case .literal, .regex:
            let regex: NSRegularExpression
            if case .regex(let r) = kind { regex = r } else { regex = try! NSRegularExpression(pattern: source) }
            return regex.stringByReplacingMatches(
                in: value, range: NSRange(value.startIndex..., in: value), withTemplate: template)
        }
    }

    @inline(__always)
    private static func inClass(_ s: Unicode.Scalar, _ set: Set<Unicode.Scalar>, _ ranges: [ClosedRange<UInt32>]) -> Bool {
        set.contains(s) || ranges.contains { $0.contains(s.value) }
    }

    private static let special: Set<Character> = ["\\", ".", "*", "+", "?", "(", ")", "[", "]", "{", "}", "|", "^", "$"]

    /// `^abc$`, `@example\.com$`…: only literal characters and `\`-escaped punctuation.
    private static func literal(_ source: String) -> Kind? {
        var chars = Array(source)
        let start = chars.first == "^"
        if start { chars.removeFirst() }
        var end = false
        if chars.last == "$" && !(chars.count >= 2 && chars[chars.count - 2] == "\\") {
            end = true
            chars.removeLast()
        }
        var text = ""
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
        return .literal(text, anchoredStart: start, anchoredEnd: end)
    }

    /// `[...]`, `[^...]`, optionally followed by `+`, with literal characters, `a-z` ranges and
    /// the escapes `\\d`, `\\s`, `\\w`-free simple escapes of punctuation.
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
        var members: [Unicode.Scalar] = []
        var i = 0
        while i < chars.count {
            var c = chars[i]
            if c == "[" || c == "]" || c == "&" { return nil }
            if c == "\\" {
                guard i + 1 < chars.count else { return nil }
                let e = chars[i + 1]
                switch e {
                case "d": ranges.append(0x30...0x39); i += 2; continue
                case "s": set.formUnion([" ", "\t", "\n", "\r", "\u{0B}", "\u{0C}"]); i += 2; continue
                default:
                    guard e.properties.isASCIIHexDigit == false, !e.properties.isAlphabetic else { return nil }
                    c = e
                    i += 1
                }
            }
            if i + 2 < chars.count, chars[i + 1] == "-", chars[i + 2] != "\\" {
                guard c.value <= chars[i + 2].value else { return nil }
                ranges.append(c.value...chars[i + 2].value)
                i += 3
                continue
            }
            members.append(c)
            i += 1
        }
        set.formUnion(members)
        return .characterClass(set, ranges: ranges, negated: negated, repeated: repeated)
    }
}

/// An invalid pattern in a mapping.
public struct PatternError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
