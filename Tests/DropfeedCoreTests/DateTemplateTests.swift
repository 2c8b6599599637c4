import Foundation
import Testing

@testable import DropfeedCore

/// `DateConversion` (strict date parsing and reformatting) and `Template` (`{name}` placeholders).
struct DateTemplateTests {
    // MARK: - Dates

    struct DateCase: Sendable, CustomTestStringConvertible {
        var from: String
        var to: String
        var input: String
        /// nil: the value must not parse.
        var output: String?
        var testDescription: String { "\(from) → \(to): \(input.debugDescription)" }
    }

    static func d(_ from: String, _ to: String, _ input: String, _ output: String?) -> DateCase {
        DateCase(from: from, to: to, input: input, output: output)
    }

    static let us = "MM/dd/yyyy", iso = "yyyy-MM-dd"

    static let dateCases: [DateCase] = [
        d(iso, "dd.MM.yyyy", "2026-11-29", "29.11.2026"),
        d(us, iso, "11/29/2026", "2026-11-29"),
        d(us, iso, "", ""),
        // days that do not exist
        d(us, iso, "02/31/2024", nil),
        d(us, iso, "02/30/2024", nil),
        d(us, iso, "04/31/2024", nil),
        d(us, iso, "04/30/2024", "2024-04-30"),
        d(us, iso, "01/31/2024", "2024-01-31"),
        d(us, iso, "01/32/2024", nil),
        d(us, iso, "01/00/2024", nil),
        d(us, iso, "00/10/2024", nil),
        d(us, iso, "13/01/2024", nil),
        // leap years
        d(us, iso, "02/29/2024", "2024-02-29"),
        d(us, iso, "02/29/2023", nil),
        d(us, iso, "02/29/2000", "2000-02-29"),
        d(us, iso, "02/29/1900", nil),
        d(us, iso, "02/29/2100", nil),
        d(us, iso, "02/29/2400", "2400-02-29"),
        d(us, iso, "02/29/1600", "1600-02-29"),
        d(us, iso, "02/28/2023", "2023-02-28"),
        // digit counts and literals
        d(us, iso, "2/29/2024", nil),
        d(us, iso, "02/9/2024", nil),
        d(us, iso, "02/29/24", nil),
        d(us, iso, "02/29/20244", nil),
        d(us, iso, "02-29-2024", nil),
        d(us, iso, " 02/29/2024", nil),
        d(us, iso, "02/29/2024 ", nil),
        d(us, iso, "02/29/2024\n", nil),
        d(us, iso, "ab/cd/efgh", nil),
        d(us, iso, "+2/29/2024", nil),
        d(us, iso, "０２/29/2024", nil),
        d("M/d/yyyy", iso, "2/3/2024", "2024-02-03"),
        d("M/d/yyyy", iso, "12/31/2024", "2024-12-31"),
        d("M/d/yyyy", iso, "012/31/2024", nil),
        d("M/d/yyyy", iso, "/3/2024", nil),
        d("yyyyMMdd", iso, "20240229", "2024-02-29"),
        d("yyyyMMdd", iso, "2024229", nil),
        d(iso, "M/d/yy", "2024-03-04", "3/4/24"),
        // two-digit years pivot at 70
        d("dd/MM/yy", iso, "01/02/69", "2069-02-01"),
        d("dd/MM/yy", iso, "01/02/70", "1970-02-01"),
        d("dd/MM/yy", iso, "29/02/00", "2000-02-29"),
        // month names
        d("dd MMM yyyy", iso, "05 Jan 2024", "2024-01-05"),
        d("dd MMM yyyy", iso, "05 jan 2024", "2024-01-05"),
        d("dd MMM yyyy", iso, "29 FEB 2023", nil),
        d("dd MMM yyyy", iso, "05 Foo 2024", nil),
        d("dd MMM yyyy", iso, "05 Ja", nil),
        d(iso, "dd MMM yyyy", "2024-12-01", "01 Dec 2024"),
        // times
        d("yyyy-MM-dd HH:mm:ss", "yyyyMMddHHmmss", "2024-01-01 23:59:59", "20240101235959"),
        d("yyyy-MM-dd HH:mm:ss", "yyyyMMddHHmmss", "2024-01-01 24:00:00", nil),
        d("yyyy-MM-dd HH:mm:ss", "yyyyMMddHHmmss", "2024-01-01 12:60:00", nil),
        d("yyyy-MM-dd HH:mm:ss", "yyyyMMddHHmmss", "2024-01-01 12:00:60", nil),
        d("yyyy-MM-dd H:mm", "HH:mm", "2024-01-01 7:05", "07:05"),
        d("yyyy-MM-dd HH:mm", iso, "2024-01-01 07:05", "2024-01-01"),
        // quoted letters
        d("yyyy-MM-dd'T'HH:mm", "dd.MM.yyyy 'um' HH:mm", "2024-01-01T10:30", "01.01.2024 um 10:30"),
        d("yyyy-MM-dd'T'HH:mm", iso, "2024-01-01 10:30", nil),
    ]

    @Test(arguments: dateCases)
    func strictConversion(_ c: DateCase) throws {
        let conversion = try DateConversion(from: c.from, to: c.to)
        #expect(conversion.convert(c.input) == c.output)
    }

    /// Every day of 1999…2001 and 2099…2101 written `MM/dd/yyyy` converts to what Foundation's
    /// Gregorian calendar says, and day 0 and day (last + 1) of every month do not parse.
    @Test(arguments: [1999, 2000, 2001, 2099, 2100, 2101])
    func everyDayOfAYearAgreesWithTheCalendar(year: Int) throws {
        let conversion = try DateConversion(from: "MM/dd/yyyy", to: "yyyy-MM-dd")
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        for month in 1...12 {
            let first = calendar.date(from: DateComponents(year: year, month: month, day: 1))!
            let days = calendar.range(of: .day, in: .month, for: first)!.count
            for day in 1...days {
                #expect(conversion.convert("\(two(month))/\(two(day))/\(year)") == "\(year)-\(two(month))-\(two(day))")
            }
            #expect(conversion.convert("\(two(month))/00/\(year)") == nil)
            #expect(conversion.convert("\(two(month))/\(two(days + 1))/\(year)") == nil, "\(year)-\(month)-\(days + 1)")
        }
    }

    struct PatternErrorCase: Sendable, CustomTestStringConvertible {
        var from: String
        var to: String
        var message: String
        var testDescription: String { "\(from) → \(to)" }
    }

    static let dateErrors: [PatternErrorCase] = [
        PatternErrorCase(
            from: "yyy-MM-dd", to: "yyyy",
            message: "unsupported date field `yyy` in `yyy-MM-dd` (use yyyy yy MM M MMM dd d HH H mm ss)"),
        PatternErrorCase(
            from: "yyyy-MM-DD", to: "yyyy",
            message: "unsupported date field `DD` in `yyyy-MM-DD` (use yyyy yy MM M MMM dd d HH H mm ss)"),
        PatternErrorCase(
            from: "yyyy", to: "EEE",
            message: "unsupported date field `EEE` in `EEE` (use yyyy yy MM M MMM dd d HH H mm ss)"),
        PatternErrorCase(
            from: "hh:mm", to: "HH",
            message: "unsupported date field `hh` in `hh:mm` (use yyyy yy MM M MMM dd d HH H mm ss)"),
        PatternErrorCase(from: "yyyy-MM-dd'T", to: "yyyy", message: "unclosed quote in date pattern `yyyy-MM-dd'T`"),
        PatternErrorCase(
            from: "MM/dd", to: "yyyy-MM-dd",
            message: "date output `yyyy-MM-dd` uses a year that input `MM/dd` does not have"),
        PatternErrorCase(
            from: "yyyy-dd", to: "MM", message: "date output `MM` uses a month that input `yyyy-dd` does not have"),
        PatternErrorCase(
            from: "yyyy-MM", to: "dd", message: "date output `dd` uses a day that input `yyyy-MM` does not have"),
    ]

    @Test(arguments: dateErrors)
    func badDatePatternsAreErrors(_ c: PatternErrorCase) {
        #expect(throws: TemplateError.self) { try DateConversion(from: c.from, to: c.to) }
        do {
            _ = try DateConversion(from: c.from, to: c.to)
        } catch {
            #expect("\(error)" == c.message)
        }
    }

    // MARK: - Templates

    struct TemplateCase: Sendable, CustomTestStringConvertible {
        var source: String
        var parts: [Template.Part]
        var testDescription: String { source.debugDescription }
    }

    static let templateCases: [TemplateCase] = [
        TemplateCase(source: "", parts: []),
        TemplateCase(source: "plain", parts: [.text("plain")]),
        TemplateCase(source: "{a}", parts: [.placeholder("a")]),
        TemplateCase(source: "{a} {b}", parts: [.placeholder("a"), .text(" "), .placeholder("b")]),
        TemplateCase(
            source: "{given_name}.{family_name}@x.org",
            parts: [.placeholder("given_name"), .text("."), .placeholder("family_name"), .text("@x.org")]),
        TemplateCase(source: "{{a}}", parts: [.text("{a}")]),
        TemplateCase(source: "{{{a}}}", parts: [.text("{"), .placeholder("a"), .text("}")]),
        TemplateCase(source: "x{{", parts: [.text("x{")]),
        TemplateCase(source: "}}x", parts: [.text("}x")]),
        TemplateCase(source: "{a b}", parts: [.placeholder("a b")]),
        TemplateCase(source: "{é}ü", parts: [.placeholder("é"), .text("ü")]),
    ]

    @Test(arguments: templateCases)
    func templateParts(_ c: TemplateCase) throws {
        let template = try Template(c.source)
        #expect(template.parts == c.parts)
        #expect(
            template.placeholders
                == c.parts.compactMap { if case .placeholder(let n) = $0 { return n } else { return nil } })
    }

    static let templateErrors: [(String, String)] = [
        ("{a", "unclosed `{` in template `{a`"),
        ("a}", "lone `}` in template `a}` (write `}}`)"),
        ("{}", "empty or nested placeholder in template `{}`"),
        ("{a{b}", "empty or nested placeholder in template `{a{b}`"),
        ("}}}", "lone `}` in template `}}}` (write `}}`)"),
        ("{a}}", "lone `}` in template `{a}}` (write `}}`)"),
    ]

    @Test(arguments: templateErrors)
    func badTemplatesAreErrors(_ source: String, _ message: String) {
        #expect(throws: TemplateError.self) { try Template(source) }
        do { _ = try Template(source) } catch { #expect("\(error)" == message) }
    }

    @Test func renderReplacesEachPlaceholder() throws {
        let template = try Template("{{{kind}}}/{target}_{kind}.csv")
        #expect(template.render { ["kind": "delta", "target": "acme"][$0] ?? "?" } == "{delta}/acme_delta.csv")
    }
}
