import Foundation
import Testing

@testable import DropfeedCore

struct WriteCase: Sendable, CustomTestStringConvertible {
    var name: String
    var options: CSVWriteOptions
    var rows: [[String]]
    var expected: [UInt8]

    var testDescription: String { name }

    init(_ name: String, _ options: CSVWriteOptions = .init(), _ rows: [[String]], _ expected: [UInt8]) {
        self.name = name
        self.options = options
        self.rows = rows
        self.expected = expected
    }
}

private let always = CSVWriteOptions(quote: .always)
private let lf = CSVWriteOptions(lineEnding: .lf)

let writeCases: [WriteCase] = [
    WriteCase("minimal, CRLF", .init(), [["a", "b"], ["1", "2"]], utf8("a,b\r\n1,2\r\n")),
    WriteCase("minimal, LF", lf, [["a", "b"], ["1", "2"]], utf8("a,b\n1,2\n")),
    WriteCase(
        "always quotes every field", always, [["a", "b"], ["", "x y"]], utf8("\"a\",\"b\"\r\n\"\",\"x y\"\r\n")),
    WriteCase("always doubles quotes", always, [["q\"", "\"\""]], utf8("\"q\"\"\",\"\"\"\"\"\"\r\n")),
    WriteCase("delimiter is quoted", .init(), [["a,b", "c"]], utf8("\"a,b\",c\r\n")),
    WriteCase("quote is quoted and doubled", .init(), [["say \"hi\"", "\""]], utf8("\"say \"\"hi\"\"\",\"\"\"\"\r\n")),
    WriteCase("CR is quoted", .init(), [["a\rb", "c"]], utf8("\"a\rb\",c\r\n")),
    WriteCase("LF is quoted", lf, [["a\nb", "c"]], utf8("\"a\nb\",c\n")),
    WriteCase("CRLF inside a field, LF endings", lf, [["a\r\nb"]], utf8("\"a\r\nb\"\n")),
    WriteCase(
        "leading and trailing spaces are quoted, inner ones not", .init(), [[" a", "b ", "c d", " "]],
        utf8("\" a\",\"b \",c d,\" \"\r\n")),
    WriteCase(
        "tabs and other whitespace are not quoted", .init(), [["\tx", "y\t", "\u{A0}z"]],
        utf8("\tx,y\t,\u{A0}z\r\n")),
    WriteCase("empty fields are not quoted", .init(), [["", "", ""], ["x", ""]], utf8(",,\r\n" + "x,\r\n")),
    WriteCase(
        "semicolon: only the chosen delimiter is quoted", .init(delimiter: UInt8(ascii: ";")),
        [["a;b", "a,b", "c"]], utf8("\"a;b\";a,b;c\r\n")),
    WriteCase(
        "tab delimiter, LF", .init(delimiter: 0x09, lineEnding: .lf), [["a\tb", "c d"]], utf8("\"a\tb\"\tc d\n")),
    WriteCase(
        "pipe delimiter, always", .init(delimiter: UInt8(ascii: "|"), quote: .always), [["a|b", "c"]],
        utf8("\"a|b\"|\"c\"\r\n")),
    WriteCase("UTF-8 BOM", .init(bom: true), [["a"], ["é"]], [0xEF, 0xBB, 0xBF] + utf8("a\r\né\r\n")),
    WriteCase("UTF-8 BOM with no rows", .init(bom: true), [], [0xEF, 0xBB, 0xBF]),
    WriteCase("no BOM by default, no rows", .init(), [], []),
    WriteCase(
        "header: false still writes every row given", .init(header: false), [["h1", "h2"], ["1", "2"]],
        utf8("h1,h2\r\n1,2\r\n")),
    WriteCase("unicode is written as is", .init(), [["名前", "👩‍👩‍👧", "e\u{301}"]], utf8("名前,👩‍👩‍👧,e\u{301}\r\n")),
    WriteCase("NUL is not special", .init(), [["a\u{0}b"]], utf8("a\u{0}b\r\n")),
    WriteCase("an empty row is an empty line", .init(), [[]], utf8("\r\n")),
    // A lone empty field must not become an empty line: readers (this one, Python's DictReader, pandas)
    // skip those, and the row would vanish. Python's csv.writer writes `""` here too.
    WriteCase(
        "a row of one empty field is written as \"\"", .init(), [["a"], [""], ["b"]],
        utf8("a\r\n\"\"\r\nb\r\n")),
    WriteCase("a row of one empty field, always", always, [[""]], utf8("\"\"\r\n")),
    // A field starting with U+FEFF would be taken for a byte-order mark at the start of a file.
    WriteCase(
        "a field starting with U+FEFF is quoted", .init(), [["\u{FEFF}a", "b\u{FEFF}"]],
        utf8("\"\u{FEFF}a\",b\u{FEFF}\r\n")),
    WriteCase(
        "windows-1252", .init(encoding: .windows1252), [["€ café", "\u{201C}q\u{201D}", "Ÿ…"]],
        [0x80, 0x20, 0x63, 0x61, 0x66, 0xE9, 0x2C, 0x93, 0x71, 0x94, 0x2C, 0x9F, 0x85, 0x0D, 0x0A]),
    WriteCase(
        "windows-1252: C1 controls of unassigned bytes", .init(encoding: .windows1252), [["\u{81}\u{9D}"]],
        [0x81, 0x9D, 0x0D, 0x0A]),
    WriteCase("windows-1252 ignores bom", .init(bom: true, encoding: .windows1252), [["é"]], [0xE9, 0x0D, 0x0A]),
    WriteCase(
        "iso-8859-1", .init(lineEnding: .lf, encoding: .iso88591), [["café ÿ", "\u{80}\u{9F}", "a,b"]],
        [0x63, 0x61, 0x66, 0xE9, 0x20, 0xFF, 0x2C, 0x80, 0x9F, 0x2C, 0x22, 0x61, 0x2C, 0x62, 0x22, 0x0A]),
    WriteCase(
        "UTF-16 is little-endian with a BOM", .init(encoding: .utf16), [["a", "😀"], ["\"é\""]],
        [
            0xFF, 0xFE, 0x61, 0x00, 0x2C, 0x00, 0x3D, 0xD8, 0x00, 0xDE, 0x0D, 0x00, 0x0A, 0x00,
            0x22, 0x00, 0x22, 0x00, 0x22, 0x00, 0xE9, 0x00, 0x22, 0x00, 0x22, 0x00, 0x22, 0x00, 0x0D, 0x00, 0x0A, 0x00,
        ]),
    WriteCase(
        "UTF-16 has a BOM even when bom is off", .init(lineEnding: .lf, bom: false, encoding: .utf16), [["€"]],
        [0xFF, 0xFE, 0xAC, 0x20, 0x0A, 0x00]),
]

struct EncodingErrorCase: Sendable, CustomTestStringConvertible {
    var encoding: TextEncoding
    var field: String
    var message: String
    var testDescription: String { "\(encoding.rawValue): \(message)" }
}

let encodingErrorCases: [EncodingErrorCase] = [
    EncodingErrorCase(
        encoding: .iso88591, field: "price €5", message: "character U+20AC cannot be written in iso-8859-1"),
    EncodingErrorCase(encoding: .iso88591, field: "Łódź", message: "character U+0141 cannot be written in iso-8859-1"),
    EncodingErrorCase(
        encoding: .windows1252, field: "ok 😀", message: "character U+1F600 cannot be written in windows-1252"),
    EncodingErrorCase(
        encoding: .windows1252, field: "\u{80}", message: "character U+0080 cannot be written in windows-1252"),
    EncodingErrorCase(
        encoding: .windows1252, field: "Đ\u{110}", message: "character U+0110 cannot be written in windows-1252"),
    EncodingErrorCase(
        encoding: .windows1252, field: "\u{FEFF}", message: "character U+FEFF cannot be written in windows-1252"),
]

@Suite("CSVWriter")
struct CSVWriterTests {
    @Test("exact bytes", arguments: writeCases)
    func exactBytes(_ c: WriteCase) throws {
        var writer = CSVWriter(options: c.options)
        for row in c.rows { try writer.write(row) }
        #expect(writer.bytes == c.expected, "got \(String(decoding: writer.bytes, as: UTF8.self).debugDescription)")
        #expect(writer.records == c.rows.count)
    }

    /// Writing from encoded row bytes (the snapshot's and the planner's form) gives the bytes
    /// writing the strings gives, with and without a leading action field.
    @Test("encoded rows write the same bytes", arguments: writeCases.filter { !$0.rows.contains([]) })
    func encodedRowsMatchStrings(_ c: WriteCase) throws {
        for leading in [nil, "A"] as [String?] {
            var fromStrings = CSVWriter(options: c.options)
            var fromBytes = CSVWriter(options: c.options)
            for row in c.rows {
                try fromStrings.write(leading.map { [$0] + row } ?? row)
                var encoded: [UInt8] = []
                for field in row { encoded.appendField(field) }
                try encoded.withUnsafeBufferPointer {
                    try fromBytes.write(leading: leading, encodedRow: $0, count: row.count)
                }
            }
            #expect(fromBytes.bytes == fromStrings.bytes, "\(leading ?? "no leading field")")
        }
    }

    @Test("unrepresentable character from encoded bytes", arguments: encodingErrorCases)
    func unrepresentableFromBytes(_ c: EncodingErrorCase) throws {
        var writer = CSVWriter(options: .init(encoding: c.encoding))
        var encoded: [UInt8] = []
        for field in ["x", c.field, "y"] { encoded.appendField(field) }
        let error = #expect(throws: EncodingError.self) {
            try encoded.withUnsafeBufferPointer { try writer.write(leading: nil, encodedRow: $0, count: 3) }
        }
        #expect(error?.description == c.message)
        #expect(writer.bytes.isEmpty)
    }

    @Test func tableIsLargeEnough() {
        #expect(writeCases.count >= 15)
    }

    @Test("unrepresentable character", arguments: encodingErrorCases)
    func unrepresentable(_ c: EncodingErrorCase) throws {
        var writer = CSVWriter(options: .init(encoding: c.encoding))
        try writer.write(["before"])
        let good = writer.bytes
        let error = #expect(throws: EncodingError.self) { try writer.write(["x", c.field, "y"]) }
        #expect(error?.description == c.message)
        // The failed row leaves nothing behind, so a caller that reports it and goes on writes a clean file.
        #expect(writer.bytes == good)
        #expect(writer.records == 1)
        try writer.write(["after"])
        #expect(writer.bytes == good + utf8("after\r\n"))
    }

    @Test func takeBytesHandsOverAndEmpties() throws {
        var writer = CSVWriter(options: .init(bom: true))
        try writer.write(["a"])
        #expect(writer.takeBytes() == [0xEF, 0xBB, 0xBF] + utf8("a\r\n"))
        #expect(writer.bytes.isEmpty)
        try writer.write(["b"])
        #expect(writer.takeBytes() == utf8("b\r\n"))
        #expect(writer.records == 2)
    }

    /// Every written case that is valid CSV reads back as the rows written (the reader skips the
    /// empty line an empty row makes, which is why `[]` rows are left out).
    @Test("written bytes read back", arguments: writeCases.filter { !$0.rows.contains([]) && !$0.rows.isEmpty })
    func readsBack(_ c: WriteCase) throws {
        let read = CSVReadOptions(delimiter: c.options.delimiter, encoding: c.options.encoding)
        #expect(readOutcome(c.expected, options: read, hasHeader: false) == .table(header: [], rows: c.rows))
    }

    @Test func anEmptyRowIsSkippedOnRead() throws {
        var writer = CSVWriter(options: .init())
        for row in [["a", "b"], [], ["1", "2"]] { try writer.write(row) }
        #expect(readOutcome(writer.bytes) == .table(header: ["a", "b"], rows: [["1", "2"]]))
    }
}
