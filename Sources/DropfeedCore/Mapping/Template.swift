/// Text with `{name}` placeholders: `"{given_name} {family_name}"`. `{{` and `}}` are literal braces.
public struct Template: Sendable, Equatable {
    public enum Part: Sendable, Equatable {
        case text(String)
        case placeholder(String)
    }

    public let source: String
    public let parts: [Part]

    /// The placeholder names, in order of appearance.
    public var placeholders: [String] {
        parts.compactMap { if case .placeholder(let name) = $0 { return name } else { return nil } }
    }

    public init(_ source: String) throws {
        self.source = source
        var parts: [Part] = []
        var text = ""
        var chars = source[...]
        while let c = chars.popFirst() {
            if c == "{" {
                if chars.first == "{" {
                    chars.removeFirst()
                    text.append("{")
                    continue
                }
                guard let close = chars.firstIndex(of: "}") else {
                    throw TemplateError(message: "unclosed `{` in template `\(source)`")
                }
                let name = String(chars[..<close])
                guard !name.isEmpty, !name.contains("{") else {
                    throw TemplateError(message: "empty or nested placeholder in template `\(source)`")
                }
                if !text.isEmpty { parts.append(.text(text)) }
                text = ""
                parts.append(.placeholder(name))
                chars = chars[chars.index(after: close)...]
            } else if c == "}" {
                guard chars.first == "}" else {
                    throw TemplateError(message: "lone `}` in template `\(source)` (write `}}`)")
                }
                chars.removeFirst()
                text.append("}")
            } else {
                text.append(c)
            }
        }
        if !text.isEmpty { parts.append(.text(text)) }
        self.parts = parts
    }

    /// The text with each placeholder replaced by `value(name)`.
    public func render(_ value: (String) -> String) -> String {
        var out = ""
        for part in parts {
            switch part {
            case .text(let t): out += t
            case .placeholder(let name): out += value(name)
            }
        }
        return out
    }
}

public struct TemplateError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// A strict date reformatting: `{ from: "MM/dd/yyyy", to: "yyyy-MM-dd" }`.
///
/// Supported fields: `yyyy` `yy` `MM` `M` `MMM` (Jan…Dec) `dd` `d` `HH` `H` `mm` `ss`; any other
/// non-letter is a literal, and `'text'` quotes letters. Parsing is strict: every character must
/// match, numbers have the digits the field says (`M`/`d`/`H` take one or two), and the day must
/// exist in that month. A value that does not parse rejects the row; an empty value stays empty.
public struct DateConversion: Sendable, Equatable {
    enum Token: Sendable, Equatable {
        case year4, year2, month2, month1, monthName, day2, day1, hour2, hour1, minute2, second2
        case literal(Character)
    }

    public let from: String
    public let to: String
    let input: [Token]
    let output: [Token]

    public init(from: String, to: String) throws {
        self.from = from
        self.to = to
        input = try DateConversion.tokens(from)
        output = try DateConversion.tokens(to)
        let has = { (tokens: [Token], wanted: [Token]) in tokens.contains { wanted.contains($0) } }
        for (needed, label) in [
            ([Token.year4, .year2], "year"), ([.month2, .month1, .monthName], "month"), ([.day2, .day1], "day"),
        ]
        where has(output, needed) && !has(input, needed) {
            throw TemplateError(message: "date output `\(to)` uses a \(label) that input `\(from)` does not have")
        }
    }

    static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    private static func tokens(_ pattern: String) throws -> [Token] {
        var tokens: [Token] = []
        let chars = Array(pattern)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c == "'" {
                guard let close = chars[(i + 1)...].firstIndex(of: "'") else {
                    throw TemplateError(message: "unclosed quote in date pattern `\(pattern)`")
                }
                tokens += chars[(i + 1)..<close].map(Token.literal)
                i = close + 1
                continue
            }
            guard c.isLetter else {
                tokens.append(.literal(c))
                i += 1
                continue
            }
            var run = 1
            while i + run < chars.count && chars[i + run] == c { run += 1 }
            let token: Token? =
                switch (c, run) {
                case ("y", 4): .year4
                case ("y", 2): .year2
                case ("M", 3): .monthName
                case ("M", 2): .month2
                case ("M", 1): .month1
                case ("d", 2): .day2
                case ("d", 1): .day1
                case ("H", 2): .hour2
                case ("H", 1): .hour1
                case ("m", 2): .minute2
                case ("s", 2): .second2
                default: nil
                }
            guard let token else {
                throw TemplateError(
                    message:
                        "unsupported date field `\(String(repeating: c, count: run))` in `\(pattern)` (use yyyy yy MM M MMM dd d HH H mm ss)"
                )
            }
            tokens.append(token)
            i += run
        }
        return tokens
    }

    /// The reformatted value, or nil when `value` does not match the input pattern exactly.
    /// Read and written as UTF-8 bytes: it runs once per row and column.
    public func convert(_ value: String) -> String? {
        if value.isEmpty { return "" }
        var value = value
        var out: [UInt8] = []
        out.reserveCapacity(16)
        guard value.withUTF8({ convert(utf8: $0, into: &out) }) else { return nil }
        return String(decoding: out, as: UTF8.self)
    }

    /// `convert` on UTF-8 bytes: the reformatted value appended to `out` and true, or false
    /// (nothing appended) when `value` does not match the input pattern exactly.
    func convert(utf8 value: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) -> Bool {
        if value.isEmpty { return true }
        guard let fields = parse(value) else { return false }
        func pad(_ n: Int, _ width: Int) {
            let digits = String(n).utf8  // small enough to stay inline: no allocation
            for _ in digits.count..<max(digits.count, width) { out.append(0x30) }
            out.append(contentsOf: digits)
        }
        for token in output {
            switch token {
            case .year4: pad(fields.year, 4)
            case .year2: pad(fields.year % 100, 2)
            case .month2: pad(fields.month, 2)
            case .month1: pad(fields.month, 1)
            case .monthName: out.append(contentsOf: DateConversion.monthNames[fields.month - 1].utf8)
            case .day2: pad(fields.day, 2)
            case .day1: pad(fields.day, 1)
            case .hour2: pad(fields.hour, 2)
            case .hour1: pad(fields.hour, 1)
            case .minute2: pad(fields.minute, 2)
            case .second2: pad(fields.second, 2)
            case .literal(let c): out.append(contentsOf: c.utf8)
            }
        }
        return true
    }

    /// The fields of `chars` read by the input pattern, or nil when it does not match exactly
    /// or names a day, month or time that does not exist.
    private func parse(_ chars: UnsafeBufferPointer<UInt8>) -> (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int)? {
        var year = 2000
        var month = 1
        var day = 1
        var hour = 0
        var minute = 0
        var second = 0
        var i = 0
        func digits(_ min: Int, _ max: Int) -> Int? {
            var n = 0
            var count = 0
            while count < max && i < chars.count && chars[i] >= 0x30 && chars[i] <= 0x39 {
                n = n * 10 + Int(chars[i] - 0x30)
                i += 1
                count += 1
            }
            return count >= min ? n : nil
        }
        for token in input {
            switch token {
            case .year4:
                guard let v = digits(4, 4) else { return nil }
                year = v
            case .year2:
                guard let v = digits(2, 2) else { return nil }
                year = v < 70 ? 2000 + v : 1900 + v
            case .month2:
                guard let v = digits(2, 2) else { return nil }
                month = v
            case .month1:
                guard let v = digits(1, 2) else { return nil }
                month = v
            case .day2:
                guard let v = digits(2, 2) else { return nil }
                day = v
            case .day1:
                guard let v = digits(1, 2) else { return nil }
                day = v
            case .hour2:
                guard let v = digits(2, 2) else { return nil }
                hour = v
            case .hour1:
                guard let v = digits(1, 2) else { return nil }
                hour = v
            case .minute2:
                guard let v = digits(2, 2) else { return nil }
                minute = v
            case .second2:
                guard let v = digits(2, 2) else { return nil }
                second = v
            case .monthName:
                guard i + 3 <= chars.count else { return nil }
                let name = String(decoding: UnsafeBufferPointer(rebasing: chars[i..<(i + 3)]), as: UTF8.self)
                guard let index = DateConversion.monthNames.firstIndex(where: { $0.lowercased() == name.lowercased() })
                else { return nil }
                month = index + 1
                i += 3
            case .literal(let c):
                for b in c.utf8 {
                    guard i < chars.count, chars[i] == b else { return nil }
                    i += 1
                }
            }
        }
        guard i == chars.count, (1...12).contains(month), hour < 24, minute < 60, second < 60,
            day >= 1, day <= DateConversion.daysIn(month: month, year: year)
        else { return nil }
        return (year, month, day, hour, minute, second)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}
