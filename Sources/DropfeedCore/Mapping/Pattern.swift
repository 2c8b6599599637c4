import Foundation

/// A regular expression from a mapping (`matches`, `replace`), with fast paths for the shapes
/// that mappings use most: a literal with optional `^`/`$` anchors, and a single character class
/// such as `[^0-9+]`. Everything else goes to `NSRegularExpression` (ICU syntax).
public struct Pattern: @unchecked Sendable {
    public let source: String
    /// What was compiled, in one object: a pattern is copied with every transform step, and one
    /// reference is cheaper to copy than the sets, arrays and regex of the kind.
    private let compiled: Compiled
    private var kind: Kind { compiled.kind }
    private var asciiClass: [Bool]? { compiled.asciiClass }

    private final class Compiled {
        let kind: Kind
        let asciiClass: [Bool]?
        init(kind: Kind, asciiClass: [Bool]?) {
            self.kind = kind
            self.asciiClass = asciiClass
        }
    }

    private enum Kind {
        /// Compared as UTF-8 bytes (code points, as ICU does), not as `Character`s: Swift's
        /// canonical equivalence would make `é` equal `e\u{301}`, which the regex does not.
        case literal([UInt8], anchoredStart: Bool, anchoredEnd: Bool)
        case characterClass(
            Set<Unicode.Scalar>, ranges: [ClosedRange<UInt32>], spaces: Bool, negated: Bool, repeated: Bool)
        /// `TEXT.*` or `TEXT.*$`: from the first `TEXT` to the end. Exact only for values without
        /// line terminators (`.` does not match them); others go to the regex.
        case literalThenRest([UInt8], regex: NSRegularExpression)
        /// `TEXT$`, `TEXT\\s*$`, optionally after `(?i)`: does a value end with `TEXT` (then only
        /// white space, with `\\s*`)? The usual `where` on a mail domain. `TEXT` is stored lower
        /// case when `caseInsensitive`; a value with bytes outside ASCII goes to the regex there
        /// (ICU folds `K` KELVIN SIGN to `k`), as does trailing white space outside ASCII.
        case suffix([UInt8], caseInsensitive: Bool, trailingSpace: Bool, regex: NSRegularExpression)
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
        if let why = PatternSafety.problem(in: source) {
            throw PatternError(
                message: "regular expression `\(source)` can take exponential time on a long value (\(why)); "
                    + "write it without the nesting, e.g. `(a+)+` as `a+`, or use an atomic group `(?>…)`")
        }
        let kind: Kind
        if let literal = Pattern.literal(source) {
            kind = literal
        } else if let cls = Pattern.characterClass(source) {
            kind = cls
        } else if let prefix = Pattern.literalThenRest(source) {
            kind = .literalThenRest(prefix, regex: regex)
        } else if let (text, caseInsensitive, trailingSpace) = Pattern.suffix(source) {
            kind = .suffix(text, caseInsensitive: caseInsensitive, trailingSpace: trailingSpace, regex: regex)
        } else {
            kind = .regex(regex)
        }
        compiled = Compiled(kind: kind, asciiClass: Pattern.asciiTable(kind))
    }

    /// For a character class: which ASCII bytes it holds (before negation), to replace in pure
    /// ASCII values byte by byte.
    private static func asciiTable(_ kind: Kind) -> [Bool]? {
        guard case .characterClass(let set, let ranges, let spaces, _, _) = kind else { return nil }
        return (0..<128).map { b in Pattern.inClass(Unicode.Scalar(UInt8(b)), set, ranges, spaces) }
    }

    private static func replacingASCII(
        _ value: String, _ table: [Bool], negated: Bool, repeated: Bool,
        with template: String
    ) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(value.utf8.count)
        let replacement = Array(template.utf8)
        var lastWasMatch = false
        var changed = false
        for b in value.utf8 {
            if table[Int(b)] != negated {
                if !(repeated && lastWasMatch) { out.append(contentsOf: replacement) }
                lastWasMatch = true
                changed = true
            } else {
                out.append(b)
                lastWasMatch = false
            }
        }
        return changed ? String(decoding: out, as: UTF8.self) : value
    }

    /// Whether a fast path (literal or character class) runs instead of `NSRegularExpression`.
    var isFastPath: Bool {
        if case .regex = kind { return false }
        return true
    }

    /// Whether the pattern matches anywhere in `value` (anchors apply).
    public func matches(_ value: String) -> Bool {
        switch kind {
        case .literal(let text, let start, let end):
            var value = value
            return value.withUTF8 { Pattern.literalMatches(text, in: $0, anchoredStart: start, anchoredEnd: end) }
        case .characterClass(let set, let ranges, let spaces, let negated, _):
            return value.unicodeScalars.contains { Pattern.inClass($0, set, ranges, spaces) != negated }
        case .literalThenRest(let text, let regex):
            var value = value
            let found: Bool? = value.withUTF8 { bytes in
                Pattern.hasLineTerminator(bytes) ? nil : Pattern.firstOccurrence(text, in: bytes) != nil
            }
            return found ?? (regex.firstMatch(in: value, range: NSRange(value.startIndex..., in: value)) != nil)
        case .suffix(let text, let caseInsensitive, let trailingSpace, let regex):
            var value = value
            let found: Bool? = value.withUTF8 {
                Pattern.endsWith(text, in: $0, caseInsensitive: caseInsensitive, trailingSpace: trailingSpace)
            }
            return found ?? (regex.firstMatch(in: value, range: NSRange(value.startIndex..., in: value)) != nil)
        case .regex(let regex):
            return regex.firstMatch(in: value, range: NSRange(value.startIndex..., in: value)) != nil
        }
    }

    /// `value` with every match replaced by `template` (`$1` refers to groups on the regex path).
    public func replacing(in value: String, with template: String) -> String {
        // `$0` and `\` in the replacement mean something to the regex: only it can apply them.
        // (Compared as bytes: `String.contains(String)` goes through Foundation on every call.)
        let plainTemplate = !template.utf8.contains { $0 == UInt8(ascii: "$") || $0 == UInt8(ascii: "\\") }
        switch kind {
        case .characterClass(let set, let ranges, let spaces, let negated, let repeated) where plainTemplate:
            if value.isEmpty { return value }
            if let ascii = asciiClass, value.utf8.allSatisfy({ $0 < 0x80 }) {
                return Pattern.replacingASCII(value, ascii, negated: negated, repeated: repeated, with: template)
            }
            var out: [UInt8] = []
            out.reserveCapacity(value.utf8.count)
            let replacement = Array(template.utf8)
            var lastWasMatch = false
            var changed = false
            for scalar in value.unicodeScalars {
                if Pattern.inClass(scalar, set, ranges, spaces) != negated {
                    if !(repeated && lastWasMatch) { out.append(contentsOf: replacement) }
                    lastWasMatch = true
                    changed = true
                } else {
                    UTF8.encode(scalar) { out.append($0) }
                    lastWasMatch = false
                }
            }
            return changed ? String(decoding: out, as: UTF8.self) : value
        case .literal(let text, false, false) where !text.isEmpty && plainTemplate:
            var value = value
            return value.withUTF8 { Pattern.replacingLiteral(text, in: $0, with: template) }
        case .literalThenRest(let text, _) where plainTemplate:
            var value = value
            let replaced: String?? = value.withUTF8 { bytes in
                if Pattern.hasLineTerminator(bytes) { return .none }
                guard let at = Pattern.firstOccurrence(text, in: bytes) else { return .some(nil) }
                return .some(String(decoding: UnsafeBufferPointer(rebasing: bytes[0..<at]), as: UTF8.self) + template)
            }
            switch replaced {
            case .some(.some(let result)): return result
            case .some(.none): return value
            case .none: return regexReplacing(in: value, with: template)
            }
        case .literal, .characterClass, .literalThenRest, .suffix, .regex:
            return regexReplacing(in: value, with: template)
        }
    }

    /// `matches` on a value's UTF-8 bytes, or nil when only the `String` path can tell (the
    /// regex, or a value outside what a fast path decides exactly).
    func matches(utf8 v: UnsafeBufferPointer<UInt8>) -> Bool? {
        switch kind {
        case .literal(let text, let start, let end):
            return Pattern.literalMatches(text, in: v, anchoredStart: start, anchoredEnd: end)
        case .characterClass(_, _, _, let negated, _):
            guard let ascii = asciiClass, !v.contains(where: { $0 >= 0x80 }) else { return nil }
            return v.contains { ascii[Int($0)] != negated }
        case .literalThenRest(let text, _):
            return Pattern.hasLineTerminator(v) ? nil : Pattern.firstOccurrence(text, in: v) != nil
        case .suffix(let text, let caseInsensitive, let trailingSpace, _):
            return Pattern.endsWith(text, in: v, caseInsensitive: caseInsensitive, trailingSpace: trailingSpace)
        case .regex:
            return nil
        }
    }

    /// `replacing` on a value's UTF-8 bytes: the result appended to `out` and true, or false
    /// (nothing appended) when only the `String` path can do it. `template` is the replacement's
    /// bytes, `plain` whether it holds neither `$` nor `\\`.
    func replacing(utf8 v: UnsafeBufferPointer<UInt8>, with template: [UInt8], plain: Bool, into out: inout [UInt8])
        -> Bool
    {
        guard plain else { return false }
        switch kind {
        case .characterClass(let set, let ranges, let spaces, let negated, let repeated):
            guard let ascii = asciiClass else { return false }
            // Scalar by scalar, as `replacing(in:with:)` walks `unicodeScalars` (the bytes are
            // valid UTF-8: they come from a `String` or a validated source).
            var lastWasMatch = false
            var i = 0
            out.reserveCapacity(out.count + v.count)
            while i < v.count {
                // A run of ASCII bytes outside the class is copied at once.
                var end = i
                while end < v.count && v[end] < 0x80 && ascii[Int(v[end])] == negated { end += 1 }
                if end > i {
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: v[i..<end]))
                    lastWasMatch = false
                    i = end
                    if i == v.count { break }
                }
                let (value, length) = utf8Scalar(v, at: i)
                let matched =
                    value < 0x80
                    ? ascii[Int(value)] != negated
                    : Pattern.inClass(Unicode.Scalar(value)!, set, ranges, spaces) != negated
                if matched {
                    if !(repeated && lastWasMatch) { out.append(contentsOf: template) }
                    lastWasMatch = true
                } else {
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: v[i..<(i + length)]))
                    lastWasMatch = false
                }
                i += length
            }
            return true
        case .literalThenRest(let text, _):
            if Pattern.hasLineTerminator(v) { return false }
            if let at = Pattern.firstOccurrence(text, in: v) {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: v[0..<at]))
                out.append(contentsOf: template)
            } else {
                out.append(contentsOf: v)
            }
            return true
        case .literal, .suffix, .regex:
            return false
        }
    }

    private func regexReplacing(in value: String, with template: String) -> String {
        let regex: NSRegularExpression
        switch kind {
        case .regex(let r), .literalThenRest(_, let r), .suffix(_, _, _, let r): regex = r
        default: regex = try! NSRegularExpression(pattern: source)
        }
        return regex.stringByReplacingMatches(
            in: value, range: NSRange(value.startIndex..., in: value), withTemplate: template)
    }

    /// Whether `v` holds a line terminator (`\n` `\r` VT FF NEL LS PS), which `.` does not match.
    private static func hasLineTerminator(_ v: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        while i < v.count {
            let b = v[i]
            if b >= 0x0A && b <= 0x0D { return true }
            if b == 0xC2 && i + 1 < v.count && v[i + 1] == 0x85 { return true }
            if b == 0xE2 && i + 2 < v.count && v[i + 1] == 0x80 && (v[i + 2] == 0xA8 || v[i + 2] == 0xA9) {
                return true
            }
            i += 1
        }
        return false
    }

    /// The byte offset of the first occurrence of `text` in `v`.
    private static func firstOccurrence(_ text: [UInt8], in v: UnsafeBufferPointer<UInt8>) -> Int? {
        let n = text.count
        if n == 0 { return 0 }
        guard v.count >= n else { return nil }
        for i in 0...(v.count - n) where v[i] == text[0] && (1..<n).allSatisfy({ v[i + $0] == text[$0] }) { return i }
        return nil
    }

    /// `TEXT`, whether `(?i)` came first and whether `\\s*` follows it, for `(?i)TEXT\\s*$` and
    /// the shapes without either; `TEXT` a plain literal without `^` (ASCII when `(?i)`), not
    /// ending in white space.
    private static func suffix(_ source: String) -> ([UInt8], Bool, Bool)? {
        var rest = Substring(source)
        let caseInsensitive = rest.hasPrefix("(?i)")
        if caseInsensitive { rest = rest.dropFirst(4) }
        guard rest.hasSuffix("$"), !rest.hasSuffix("\\$") else { return nil }
        rest = rest.dropLast()
        let trailingSpace = rest.hasSuffix("\\s*") && !rest.dropLast(3).hasSuffix("\\")
        if trailingSpace { rest = rest.dropLast(3) }
        guard !rest.isEmpty, !rest.hasPrefix("^"), !rest.hasSuffix("\\"),
            case .literal(let text, false, false)? = literal(String(rest)), let last = text.last,
            last >= 0x80 ? !trailingSpace : !isWhiteSpace(Unicode.Scalar(last))
        else { return nil }
        if caseInsensitive {
            guard text.allSatisfy({ $0 < 0x80 }) else { return nil }
            return (text.map(asciiLower), true, trailingSpace)
        }
        // Without (?i) and without \s*, `literal` already took it (`TEXT$`).
        return (text, false, trailingSpace)
    }

    @inline(__always)
    private static func asciiLower(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5A ? b | 0x20 : b }

    /// Whether `v` ends with `text` as the `suffix` kind asks, or nil when only the regex can
    /// tell (see `Kind.suffix`).
    private static func endsWith(
        _ text: [UInt8], in v: UnsafeBufferPointer<UInt8>, caseInsensitive: Bool, trailingSpace: Bool
    ) -> Bool? {
        if caseInsensitive && v.contains(where: { $0 >= 0x80 }) { return nil }
        func occurs(endingAt end: Int) -> Bool {
            let n = text.count
            guard end >= n else { return false }
            for k in 0..<n {
                let b = v[end - n + k]
                if (caseInsensitive ? asciiLower(b) : b) != text[k] { return false }
            }
            return true
        }
        guard trailingSpace else { return endPositions(v).contains { occurs(endingAt: $0) } }
        // `\s*$`: only white space after TEXT (line terminators are white space too, so `$`'s
        // "before a final line terminator" adds nothing). TEXT does not end in white space, so
        // the one place it can end is where the trailing white space starts.
        var end = v.count
        while end > 0 {
            let b = v[end - 1]
            if b >= 0x80 { return nil }
            guard isWhiteSpace(Unicode.Scalar(b)) else { break }
            end -= 1
        }
        return occurs(endingAt: end)
    }

    /// The `TEXT` of `TEXT.*` / `TEXT.*$` when it is a plain literal without anchors.
    private static func literalThenRest(_ source: String) -> [UInt8]? {
        var prefix = source
        if prefix.hasSuffix(".*$") {
            prefix.removeLast(3)
        } else if prefix.hasSuffix(".*") {
            prefix.removeLast(2)
        } else {
            return nil
        }
        guard !prefix.isEmpty, !prefix.hasSuffix("\\"), !prefix.hasSuffix("\\"),
            case .literal(let text, false, false)? = literal(prefix), !text.isEmpty
        else { return nil }
        return text
    }

    @inline(__always)
    private static func inClass(
        _ s: Unicode.Scalar, _ set: Set<Unicode.Scalar>, _ ranges: [ClosedRange<UInt32>],
        _ spaces: Bool
    ) -> Bool {
        set.contains(s) || ranges.contains { $0.contains(s.value) } || (spaces && isWhiteSpace(s))
    }

    /// Whether `text` occurs in `value` as the anchors ask. ICU's `$` (without multiline) matches
    /// at the end and also before one final line terminator (`\n` `\r\n` `\r` VT FF NEL LS PS).
    private static func literalMatches(
        _ text: [UInt8], in value: UnsafeBufferPointer<UInt8>,
        anchoredStart: Bool, anchoredEnd: Bool
    ) -> Bool {
        let n = text.count
        func occurs(at offset: Int) -> Bool {
            offset >= 0 && offset + n <= value.count && (0..<n).allSatisfy { value[offset + $0] == text[$0] }
        }
        if anchoredEnd {
            return endPositions(value).contains { end in anchoredStart ? end == n && occurs(at: 0) : occurs(at: end - n)
            }
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
        if c >= 3 && v[c - 3] == 0xE2 && v[c - 2] == 0x80 && (v[c - 1] == 0xA8 || v[c - 1] == 0xA9) {
            return [c, c - 3]
        }
        return [c]
    }

    /// Every non-overlapping occurrence of `text` (non-empty) replaced by `template`, left to right.
    private static func replacingLiteral(_ text: [UInt8], in value: UnsafeBufferPointer<UInt8>, with template: String)
        -> String
    {
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

    private static let special: Set<Unicode.Scalar> = [
        "\\", ".", "*", "+", "?", "(", ")", "[", "]", "{", "}", "|", "^", "$",
    ]

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
                guard i + 1 < chars.count, special.contains(chars[i + 1]) || chars[i + 1] == "-" || chars[i + 1] == "@"
                else { return nil }
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
        // A bare `\s`, `\s+`, `\S`, `\S+` is the same class without brackets.
        switch source {
        case "\\s", "\\s+", "\\S", "\\S+":
            return .characterClass(
                [], ranges: [], spaces: true, negated: source.hasPrefix("\\S"), repeated: source.hasSuffix("+"))
        default:
            break
        }
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
                case "s":
                    spaces = true
                    i += 2
                    continue
                case "x":
                    // `\\xHH`: the code point HH.
                    guard i + 3 < chars.count,
                        let v = UInt32(String(String.UnicodeScalarView(chars[(i + 2)...(i + 3)])), radix: 16),
                        let scalar = Unicode.Scalar(v)
                    else { return nil }
                    c = scalar
                    i += 3
                default:
                    guard e.properties.isASCIIHexDigit == false, !e.properties.isAlphabetic else { return nil }
                    c = e
                    i += 1
                }
            }
            if i + 2 < chars.count, chars[i + 1] == "-" {
                var upper = chars[i + 2]
                var next = i + 3
                if upper == "\\" {
                    // `\\xHH` may end a range; any other escaped end (`[ -\\^]`) is left to the regex.
                    guard i + 5 < chars.count, chars[i + 3] == "x",
                        let v = UInt32(String(String.UnicodeScalarView(chars[(i + 4)...(i + 5)])), radix: 16),
                        let scalar = Unicode.Scalar(v)
                    else { return nil }
                    upper = scalar
                    next = i + 6
                }
                guard c.value <= upper.value else { return nil }
                ranges.append(c.value...upper.value)
                i = next
                continue
            }
            members.append(c)
            i += 1
        }
        set.formUnion(members)
        return .characterClass(set, ranges: ranges, spaces: spaces, negated: negated, repeated: repeated)
    }
}

/// Unicode White_Space (as ICU's `\\s` and Foundation's `whitespacesAndNewlines`), with the
/// ASCII answer computed inline: the property lookup is slow and nearly every scalar is ASCII.
@inline(__always)
func isWhiteSpace(_ s: Unicode.Scalar) -> Bool {
    let v = s.value
    if v < 0x80 { return v == 0x20 || (v >= 0x09 && v <= 0x0D) }
    return s.properties.isWhitespace
}

/// The scalar of valid UTF-8 `v` that starts at byte `i`, and how many bytes it takes.
@inline(__always)
func utf8Scalar(_ v: UnsafeBufferPointer<UInt8>, at i: Int) -> (value: UInt32, length: Int) {
    let b = v[i]
    if b < 0x80 { return (UInt32(b), 1) }
    let length = b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4
    var value = UInt32(b) & (length == 2 ? 0x1F : length == 3 ? 0x0F : 0x07)
    for k in 1..<length where i + k < v.count { value = value << 6 | UInt32(v[i + k] & 0x3F) }
    return (value, length)
}

/// An invalid pattern in a mapping.
public struct PatternError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
