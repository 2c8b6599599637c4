import Foundation
import Testing

@testable import DropfeedCore

// MARK: - Shared helpers for the CSV suites (CSVReaderTests, CSVWriterTests, CSVPropertyTests, CSVOracleTests)

/// The UTF-8 bytes of `s`.
func utf8(_ s: String) -> [UInt8] { Array(s.utf8) }

/// `s` in UTF-16 little-endian, with a byte-order mark unless `bom` is false.
func utf16LE(_ s: String, bom: Bool = true) -> [UInt8] {
    (bom ? [0xFF, 0xFE] : []) + s.utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
}

/// `s` in UTF-16 big-endian, with a byte-order mark.
func utf16BE(_ s: String) -> [UInt8] {
    [0xFE, 0xFF] + s.utf16.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
}

/// What reading a whole CSV input gave: the header and rows, or the error message.
///
/// Compared by exact UTF-8 bytes: `String ==` treats canonically equivalent text as equal
/// (`é` vs `e\u{301}`), which would hide a reader that normalizes.
enum ReadOutcome: Equatable, Sendable, CustomStringConvertible {
    case table(header: [String], rows: [[String]])
    case failure(String)

    static func == (a: ReadOutcome, b: ReadOutcome) -> Bool {
        switch (a, b) {
        case (.table(let h1, let r1), .table(let h2, let r2)):
            return h1.map { Array($0.utf8) } == h2.map { Array($0.utf8) }
                && r1.map { $0.map { Array($0.utf8) } } == r2.map { $0.map { Array($0.utf8) } }
        case (.failure(let m1), .failure(let m2)):
            return m1 == m2
        default:
            return false
        }
    }

    var description: String {
        switch self {
        case .table(let header, let rows): return "header \(header.debugDescription) rows \(rows.debugDescription)"
        case .failure(let message): return "error \(message.debugDescription)"
        }
    }
}

/// Reads every record of `reader` into an outcome.
private func drain(_ make: () throws -> CSVReader, path: String?) -> ReadOutcome {
    do {
        let reader = try make()
        var rows: [[String]] = []
        try reader.forEach { rows.append($0.strings) }
        return .table(header: reader.header, rows: rows)
    } catch let error as CSVError {
        return .failure(error.description)
    } catch let error as InputFileError {
        // The file's real (temporary) path is not part of what a test can know.
        var message = error.description
        if let path { message = message.replacingOccurrences(of: path, with: "<input>") }
        return .failure(message)
    } catch {
        return .failure("unexpected \(type(of: error)): \(error)")
    }
}

/// Reads `bytes` from memory.
func readOutcome(_ bytes: [UInt8], options: CSVReadOptions = .init(), hasHeader: Bool = true) -> ReadOutcome {
    drain({ try CSVReader(bytes: bytes, options: options, hasHeader: hasHeader) }, path: nil)
}

/// Reads the file at `path` with a read buffer of `bufferSize` bytes; errors name it `<input>`.
func readOutcome(path: String, bufferSize: Int, options: CSVReadOptions = .init(), hasHeader: Bool = true)
    -> ReadOutcome
{
    drain(
        {
            try CSVReader(
                path: path, displayName: "<input>", options: options, hasHeader: hasHeader,
                bufferSize: bufferSize)
        }, path: path)
}

/// A fresh directory under the system temporary directory, removed when the value goes away.
final class TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("dropfeed-csv-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    /// Writes `bytes` to `name` in the directory and returns the file's path.
    func write(_ bytes: [UInt8], to name: String) throws -> String {
        let file = url.appendingPathComponent(name)
        try Data(bytes).write(to: file)
        return file.path
    }
}

/// The read-buffer sizes every file-based read runs with: tiny and odd ones make records,
/// CRLF pairs, doubled quotes and multi-byte characters straddle chunk boundaries.
let smallBufferSizes = [16, 17, 64]

// MARK: - Reading table

struct ReadCase: Sendable, CustomTestStringConvertible {
    var name: String
    var input: [UInt8]
    var options = CSVReadOptions()
    var hasHeader = true
    var expected: ReadOutcome

    var testDescription: String { name }

    init(
        _ name: String, _ input: [UInt8], options: CSVReadOptions = .init(), hasHeader: Bool = true,
        header: [String], rows: [[String]]
    ) {
        self.name = name
        self.input = input
        self.options = options
        self.hasHeader = hasHeader
        self.expected = .table(header: header, rows: rows)
    }

    init(
        _ name: String, _ input: [UInt8], options: CSVReadOptions = .init(), hasHeader: Bool = true,
        error: String
    ) {
        self.name = name
        self.input = input
        self.options = options
        self.hasHeader = hasHeader
        self.expected = .failure(error)
    }
}

private let semicolon = CSVReadOptions(delimiter: UInt8(ascii: ";"))
private let tab = CSVReadOptions(delimiter: 0x09)
private let pipe = CSVReadOptions(delimiter: UInt8(ascii: "|"))
private let cp1252 = CSVReadOptions(encoding: .windows1252)
private let latin1 = CSVReadOptions(encoding: .iso88591)
private let utf16 = CSVReadOptions(encoding: .utf16)
private let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
private let badUTF8Hint = "(set the source encoding if the file is not UTF-8)"

/// Inputs whose expectations are spelled out by hand.
let handWrittenReadCases: [ReadCase] = [
    // Line endings.
    ReadCase("LF", utf8("a,b\n1,2\n3,4\n"), header: ["a", "b"], rows: [["1", "2"], ["3", "4"]]),
    ReadCase("CRLF", utf8("a,b\r\n1,2\r\n3,4\r\n"), header: ["a", "b"], rows: [["1", "2"], ["3", "4"]]),
    ReadCase("lone CR", utf8("a,b\r1,2\r3,4\r"), header: ["a", "b"], rows: [["1", "2"], ["3", "4"]]),
    ReadCase(
        "mixed endings", utf8("a,b\n1,2\r\n3,4\r5,6\n7,8"), header: ["a", "b"],
        rows: [["1", "2"], ["3", "4"], ["5", "6"], ["7", "8"]]),
    ReadCase("no final newline", utf8("a,b\n1,2"), header: ["a", "b"], rows: [["1", "2"]]),
    ReadCase("LF CR is a line end then a blank line", utf8("a,b\n\r1,2\n"), header: ["a", "b"], rows: [["1", "2"]]),
    // Empty fields.
    ReadCase("trailing delimiter before LF", utf8("a,b\n1,\n"), header: ["a", "b"], rows: [["1", ""]]),
    ReadCase("trailing delimiter at EOF", utf8("a,b\n1,"), header: ["a", "b"], rows: [["1", ""]]),
    ReadCase("empty first and last field", utf8("a,b,c\n,x,\r\n"), header: ["a", "b", "c"], rows: [["", "x", ""]]),
    ReadCase(
        "row of delimiters only", utf8("a,b,c\n,,\n,,"), header: ["a", "b", "c"],
        rows: [["", "", ""], ["", "", ""]]),
    ReadCase(
        "blank lines of every kind are skipped", utf8("\n\r\n\ra,b\n\n1,2\r\n\r\n\r3,4\n\n"),
        header: ["a", "b"], rows: [["1", "2"], ["3", "4"]]),
    ReadCase(
        "a line of spaces is a record, not a blank line", utf8("a,b\n , \n"), header: ["a", "b"],
        rows: [[" ", " "]]),
    ReadCase("spaces around fields are kept", utf8("a,b\n x ,y  \n"), header: ["a", "b"], rows: [[" x ", "y  "]]),
    ReadCase("single column with a blank line", utf8("a\n1\n\n2\n"), header: ["a"], rows: [["1"], ["2"]]),
    ReadCase("quoted empty string is a record", utf8("a\n\"\"\n"), header: ["a"], rows: [[""]]),
    ReadCase("NUL byte is data", utf8("a,b\n\u{0},x\u{0}y\n"), header: ["a", "b"], rows: [["\u{0}", "x\u{0}y"]]),
    // Quoting.
    ReadCase("quoted delimiter", utf8("a,b\n\"x,y\",z\n"), header: ["a", "b"], rows: [["x,y", "z"]]),
    ReadCase(
        "doubled quotes", utf8("a,b\n\"he said \"\"hi\"\"\",\"\"\"\"\n"), header: ["a", "b"],
        rows: [["he said \"hi\"", "\""]]),
    ReadCase("quoted empty fields", utf8("a,b\n\"\",\"\"\n"), header: ["a", "b"], rows: [["", ""]]),
    ReadCase("LF inside quotes", utf8("a,b\n\"l1\nl2\",x\n"), header: ["a", "b"], rows: [["l1\nl2", "x"]]),
    ReadCase("CRLF inside quotes", utf8("a,b\r\n\"l1\r\nl2\",x\r\n"), header: ["a", "b"], rows: [["l1\r\nl2", "x"]]),
    ReadCase("lone CR inside quotes", utf8("a,b\r\"l1\rl2\",x\r"), header: ["a", "b"], rows: [["l1\rl2", "x"]]),
    ReadCase("blank lines inside quotes are data", utf8("a\n\"\n\n\r\n\"\n"), header: ["a"], rows: [["\n\n\r\n"]]),
    ReadCase("quoted field at EOF", utf8("a,b\n1,\"x\""), header: ["a", "b"], rows: [["1", "x"]]),
    ReadCase("quoted field then CR at EOF", utf8("a\n\"x\"\r"), header: ["a"], rows: [["x"]]),
    ReadCase("quoted header names", utf8("\"a,1\",\"b\"\"2\"\n1,2\n"), header: ["a,1", "b\"2"], rows: [["1", "2"]]),
    // Byte-order mark.
    ReadCase("UTF-8 BOM stripped", bom + utf8("a,b\n1,2\n"), header: ["a", "b"], rows: [["1", "2"]]),
    ReadCase(
        "BOM-like bytes later are kept", utf8("a,b\n") + bom + utf8("x,y\n"), header: ["a", "b"],
        rows: [["\u{FEFF}x", "y"]]),
    ReadCase(
        "only the first of two BOMs is stripped", bom + bom + utf8("a,b\n"), header: ["\u{FEFF}a", "b"],
        rows: []),
    // Delimiters.
    ReadCase("semicolon", utf8("a;b\n1,5;\"x;y\"\n"), options: semicolon, header: ["a", "b"], rows: [["1,5", "x;y"]]),
    ReadCase("tab", utf8("a\tb\n1 2\t\"x\ty\"\n"), options: tab, header: ["a", "b"], rows: [["1 2", "x\ty"]]),
    ReadCase("pipe", utf8("a|b\n|\"|\"\n"), options: pipe, header: ["a", "b"], rows: [["", "|"]]),
    ReadCase(
        "comma is data with semicolon delimiter", utf8("a,b;c\n1,2;3\n"), options: semicolon,
        header: ["a,b", "c"], rows: [["1,2", "3"]]),
    // Unicode.
    ReadCase(
        "CJK and emoji", utf8("名前,絵文字\n山田太郎,👩‍👩‍👧🇫🇷\n"), header: ["名前", "絵文字"],
        rows: [["山田太郎", "👩‍👩‍👧🇫🇷"]]),
    ReadCase(
        "combining marks are not normalized", utf8("a,b\ne\u{301},\u{E9}\nA\u{30A},\u{C5}\n"),
        header: ["a", "b"], rows: [["e\u{301}", "\u{E9}"], ["A\u{30A}", "\u{C5}"]]),
    // Header names are compared as Swift strings: canonically equivalent spellings are one name.
    ReadCase(
        "canonically equivalent header names are duplicates", utf8("\u{E9},e\u{301}\n"),
        error: "duplicate header name `e\u{301}` at <input>:1:3"),
    ReadCase(
        "error column counts scalars: combining marks", utf8("a,b\ne\u{301}\u{301},\"x\n"),
        error: "unterminated quoted field at <input>:2:5"),
    ReadCase(
        "RTL text", utf8("שם,اسم\n\u{202B}שלום\u{202C},\"مرحبا,عالم\"\n"), header: ["שם", "اسم"],
        rows: [["\u{202B}שלום\u{202C}", "مرحبا,عالم"]]),
    ReadCase(
        "U+2028 and NEL are not line breaks", utf8("a,b\nx\u{2028}y,p\u{85}q\n"), header: ["a", "b"],
        rows: [["x\u{2028}y", "p\u{85}q"]]),
    // Header-only and empty inputs.
    ReadCase("header only", utf8("a,b\n"), header: ["a", "b"], rows: []),
    ReadCase("header only without newline", utf8("a,b"), header: ["a", "b"], rows: []),
    ReadCase("empty file", [], error: "no header row in <input>"),
    ReadCase("only blank lines", utf8("\n\r\n\r\n"), error: "no header row in <input>"),
    ReadCase("only a BOM", bom, error: "no header row in <input>"),
    ReadCase(
        "no header, ragged rows", utf8("1\n1,2\n\n1,2,3"), hasHeader: false, header: [],
        rows: [["1"], ["1", "2"], ["1", "2", "3"]]),
    // Quote errors: the column is where the offending character is.
    ReadCase("unterminated quote at EOF", utf8("a,b\n1,\"x"), error: "unterminated quoted field at <input>:2:3"),
    ReadCase(
        "unterminated quote swallowing lines", utf8("a,b\n1,\"x\ny\n"),
        error: "unterminated quoted field at <input>:2:3"),
    ReadCase(
        "unterminated quote after a multi-line record", utf8("a,b\n\"1\n2\",x\n3,\"oops\n"),
        error: "unterminated quoted field at <input>:4:3"),
    ReadCase(
        "unterminated: escaped quote at EOF", utf8("a\n\"x\"\""), error: "unterminated quoted field at <input>:2:1"),
    ReadCase("unterminated: lone triple quote", utf8("a\n\"\"\""), error: "unterminated quoted field at <input>:2:1"),
    ReadCase(
        "unterminated after CR-only lines and a CR inside quotes", utf8("a,b\r1,2\r\"x\ry\",z\r1,\"q"),
        error: "unterminated quoted field at <input>:5:3"),
    ReadCase("text after closing quote", utf8("a,b\n\"x\"y,z\n"), error: "text after a closing quote at <input>:2:4"),
    ReadCase("space after closing quote", utf8("a,b\n1,\"x\" \n"), error: "text after a closing quote at <input>:2:6"),
    ReadCase(
        "text after closing quote in the header", utf8("\"a\"b\n"),
        error: "text after a closing quote at <input>:1:4"),
    ReadCase(
        "text after closing quote on the 2nd line of a record", utf8("a\n\"x\ny\"z\n"),
        error: "text after a closing quote at <input>:3:3"),
    ReadCase(
        "bare quote", utf8("a,b\nx\"y,z\n"),
        error: "quote inside an unquoted field at <input>:2:2 (quote the whole field and double the quote)"),
    ReadCase(
        "bare quote at end of field", utf8("a,b\n1,ab\"\n"),
        error: "quote inside an unquoted field at <input>:2:5 (quote the whole field and double the quote)"),
    ReadCase(
        "quote after a leading space", utf8("a\n \"x\"\n"),
        error: "quote inside an unquoted field at <input>:2:2 (quote the whole field and double the quote)"),
    // Field counts.
    ReadCase("too many fields", utf8("a,b\n1,2,3,4\n"), error: "4 fields where the header has 2 at <input>:2:5"),
    ReadCase(
        "too many fields: extra empty field", utf8("a,b\n1,2,\n"),
        error: "3 fields where the header has 2 at <input>:2:5"),
    ReadCase(
        "too many fields: quoted extra field", utf8("a,b\n1,2,\"3\"\n"),
        error: "3 fields where the header has 2 at <input>:2:5"),
    ReadCase(
        "too many fields on the 2nd line of a record", utf8("a,b\n\"x\ny\",1,2\n"),
        error: "3 fields where the header has 2 at <input>:3:6"),
    ReadCase("too few fields", utf8("a,b,c\n1,2\n"), error: "2 fields where the header has 3 at <input>:2:4"),
    ReadCase("too few fields: one", utf8("a,b\nx\n"), error: "1 field where the header has 2 at <input>:2:2"),
    ReadCase(
        "too few fields after leading blank lines", utf8("\n\na,b\n1\n"),
        error: "1 field where the header has 2 at <input>:4:2"),
    ReadCase(
        "too many fields after CRLF inside quotes", utf8("a,b\r\n\"x\r\ny\",z\r\n1,2,3\r\n"),
        error: "3 fields where the header has 2 at <input>:4:5"),
    ReadCase(
        "column counts characters, not bytes", utf8("a,b\n日本語\n"),
        error: "1 field where the header has 2 at <input>:2:4"),
    // Header names.
    ReadCase("duplicate header", utf8("id,name,id\n"), error: "duplicate header name `id` at <input>:1:9"),
    ReadCase("duplicate header, quoted", utf8("a,\"a\"\n"), error: "duplicate header name `a` at <input>:1:3"),
    ReadCase("duplicate header after BOM", bom + utf8("x,x\n"), error: "duplicate header name `x` at <input>:1:3"),
    ReadCase("header names are case-sensitive", utf8("a,A\n1,2\n"), header: ["a", "A"], rows: [["1", "2"]]),
    ReadCase("empty header name", utf8("a,,b\n"), error: "empty header name (column 2) at <input>:1:3"),
    ReadCase(
        "empty header name, trailing delimiter", utf8("a,b,\n"),
        error: "empty header name (column 3) at <input>:1:5"),
    ReadCase("empty header name, quoted", utf8("a,\"\"\n"), error: "empty header name (column 2) at <input>:1:3"),
    ReadCase(
        "empty header name first after BOM", bom + utf8(",a\n"),
        error: "empty header name (column 1) at <input>:1:1"),
    // Invalid UTF-8: line and column of the first bad byte.
    ReadCase(
        "invalid UTF-8: overlong", utf8("a,b\nx,") + [0xC0, 0xAF] + utf8("\n"),
        error: "invalid UTF-8 at <input>:2:3 \(badUTF8Hint)"),
    ReadCase(
        "invalid UTF-8: overlong 3-byte", utf8("a,b\nx,") + [0xE0, 0x80, 0xAF] + utf8("\n"),
        error: "invalid UTF-8 at <input>:2:3 \(badUTF8Hint)"),
    ReadCase(
        "invalid UTF-8: encoded surrogate", utf8("a,b\n1,2\n") + [0xED, 0xA0, 0x80] + utf8(",z\n"),
        error: "invalid UTF-8 at <input>:3:1 \(badUTF8Hint)"),
    ReadCase(
        "invalid UTF-8: above U+10FFFF", utf8("a,b\nxy,") + [0xF4, 0x90, 0x80, 0x80] + utf8("\n"),
        error: "invalid UTF-8 at <input>:2:4 \(badUTF8Hint)"),
    ReadCase(
        "invalid UTF-8: truncated sequence at EOF", utf8("a,b\n1,x") + [0xE2, 0x82],
        error: "invalid UTF-8 at <input>:2:4 \(badUTF8Hint)"),
    ReadCase(
        "invalid UTF-8: truncated sequence before newline", utf8("a,b\n1,x") + [0xF0, 0x9F, 0x98] + utf8("\n"),
        error: "invalid UTF-8 at <input>:2:4 \(badUTF8Hint)"),
    ReadCase(
        "invalid UTF-8: lone continuation byte after a multi-line record",
        utf8("a,b\n\"q\nr") + [0x80] + utf8("\",1\n"),
        error: "invalid UTF-8 at <input>:3:2 \(badUTF8Hint)"),
    ReadCase(
        "invalid UTF-8: in the header", utf8("a,") + [0xFF] + utf8("\n"),
        error: "invalid UTF-8 at <input>:1:3 \(badUTF8Hint)"),
    ReadCase(
        "invalid UTF-8: column counts characters", utf8("a,b\n日本,") + [0xFE] + utf8("\n"),
        error: "invalid UTF-8 at <input>:2:4 \(badUTF8Hint)"),
    ReadCase(
        "invalid UTF-8: records before the bad byte are fine, the error names its line",
        utf8("a\n1\n2\n3\n") + [0xC3],
        error: "invalid UTF-8 at <input>:5:1 \(badUTF8Hint)"),
    // Single-byte encodings.
    ReadCase(
        "windows-1252: euro, smart quotes, e-acute",
        utf8("name,note\n") + [0x80, 0x2C, 0x93] + utf8("hi") + [0x94] + utf8("\ncaf") + [0xE9, 0x2C, 0x85, 0x0A],
        options: cp1252, header: ["name", "note"], rows: [["€", "\u{201C}hi\u{201D}"], ["café", "…"]]),
    ReadCase(
        "windows-1252: smart quotes are not CSV quotes",
        utf8("a,b\n") + [0x93] + utf8("x,y") + [0x94] + utf8("\n"), options: cp1252, header: ["a", "b"],
        rows: [["\u{201C}x", "y\u{201D}"]]),
    ReadCase(
        "windows-1252: unassigned bytes are C1 controls", utf8("a\n") + [0x81, 0x8D, 0x9F] + utf8("\n"),
        options: cp1252, header: ["a"], rows: [["\u{81}\u{8D}\u{178}"]]),
    ReadCase(
        "windows-1252: error columns count characters",
        utf8("a,b\n") + [0xE9, 0xE9] + utf8("\"x\n"), options: cp1252,
        error: "quote inside an unquoted field at <input>:2:3 (quote the whole field and double the quote)"),
    ReadCase(
        "iso-8859-1: bytes are code points", utf8("a,b\n") + [0x80, 0x2C, 0xE9, 0xFF] + utf8("\n"),
        options: latin1, header: ["a", "b"], rows: [["\u{80}", "éÿ"]]),
    ReadCase(
        "iso-8859-1: quoted field with line break", utf8("a\n\"") + [0xC4] + utf8("\r\n") + [0xD6] + utf8("\"\n"),
        options: latin1, header: ["a"], rows: [["Ä\r\nÖ"]]),
    // UTF-16.
    ReadCase(
        "UTF-16 LE with BOM", utf16LE("a,b\r\n1,\"x\ny\"\r\n😀,é\r\n"), options: utf16, header: ["a", "b"],
        rows: [["1", "x\ny"], ["😀", "é"]]),
    ReadCase(
        "UTF-16 BE with BOM", utf16BE("名,b\n𝄞,\"\"\"\"\n"), options: utf16, header: ["名", "b"],
        rows: [["𝄞", "\""]]),
    ReadCase(
        "UTF-16 odd trailing byte", utf16LE("a,b\n1,2") + [0x41], options: utf16,
        error: "invalid UTF-16 at <input>:2:4"),
    ReadCase(
        "UTF-16 lone high surrogate", utf16LE("a,b\n1,") + [0x00, 0xD8] + utf16LE("x\n", bom: false),
        options: utf16, error: "invalid UTF-16 at <input>:2:3"),
    ReadCase(
        "UTF-16 lone low surrogate", utf16LE("a,b\n😀") + [0x00, 0xDC] + utf16LE(",x\n", bom: false),
        options: utf16, error: "invalid UTF-16 at <input>:2:2"),
    ReadCase(
        "UTF-16 high surrogate at EOF", utf16LE("a,b\n") + [0x3D, 0xD8], options: utf16,
        error: "invalid UTF-16 at <input>:2:1"),
    ReadCase(
        "UTF-16 without BOM", utf16LE("a,b\n1,2\n", bom: false), options: utf16,
        error: "cannot read <input>: utf-16 source without a byte-order mark"),
    ReadCase("UTF-16 empty after BOM", [0xFF, 0xFE], options: utf16, error: "no header row in <input>"),
]

/// Inputs built by a loop: long records, many records, records larger than any small buffer.
let generatedReadCases: [ReadCase] = {
    var cases: [ReadCase] = []

    // 150 columns: more fields than the reader's initial field table holds.
    let names = (1...150).map { "c\($0)" }
    let values = (1...150).map { $0 % 3 == 0 ? "\"v,\($0)\"" : "v\($0)" }
    cases.append(
        ReadCase(
            "150 columns", utf8(names.joined(separator: ",") + "\n" + values.joined(separator: ",") + "\n"),
            header: names, rows: [(1...150).map { $0 % 3 == 0 ? "v,\($0)" : "v\($0)" }]))

    // A quoted field of ~1.5 KB with doubled quotes, CRLF and multi-byte characters at every alignment.
    let chunk = "ab\"\"cd\r\n€😀é"
    let long = String(repeating: chunk, count: 60)
    cases.append(
        ReadCase(
            "long quoted field", utf8("k,v\r\n1,\"\(long)\"\r\n2,z\r\n"), header: ["k", "v"],
            rows: [["1", String(repeating: "ab\"cd\r\n€😀é", count: 60)], ["2", "z"]]))

    // Many short records of growing length, so CR/LF pairs and quotes land on every chunk boundary.
    var text = "key,value\r\n"
    var rows: [[String]] = []
    for k in 0..<60 {
        let key = String(repeating: "k", count: k % 7) + "\(k)"
        text += "\(key),\"v\r\n\(k)\"\"\"\r\n"
        rows.append([key, "v\r\n\(k)\""])
    }
    cases.append(ReadCase("60 multi-line CRLF records", utf8(text), header: ["key", "value"], rows: rows))

    // The same with lone CRs, where a CR at the end of a chunk must wait for the next byte.
    text = "key,value\r"
    rows = []
    for k in 0..<60 {
        let key = String(repeating: "é", count: k % 5) + "\(k)"
        text += "\(key),\(k % 2 == 0 ? "" : "x")\r\r"
        rows.append([key, k % 2 == 0 ? "" : "x"])
    }
    cases.append(ReadCase("60 CR records with blank CR lines", utf8(text), header: ["key", "value"], rows: rows))

    // Multi-byte characters cut by chunk boundaries, unquoted.
    let wide = String(repeating: "é€😀ü", count: 25)
    cases.append(
        ReadCase(
            "long unquoted multi-byte fields", utf8("a,b\n\(wide),\(wide)\n\(wide),x"), header: ["a", "b"],
            rows: [[wide, wide], [wide, "x"]]))

    // An error deep in the file: 40 records of 2 lines each, then a short record on line 82.
    text = "a,b\n"
    for k in 0..<40 { text += "\"\(k)\nmore\",\(k)\n" }
    text += "only\n"
    cases.append(
        ReadCase(
            "field count error after 40 two-line records", utf8(text),
            error: "1 field where the header has 2 at <input>:82:5"))

    // Invalid UTF-8 deep in the file, after the reader has moved past many chunks.
    let deep = utf8("a,b\n" + String(repeating: "ok,fine😀\n", count: 30) + "€€,") + [0xED, 0xBF, 0xBF] + utf8("\n")
    cases.append(ReadCase("invalid UTF-8 on line 32", deep, error: "invalid UTF-8 at <input>:32:4 \(badUTF8Hint)"))

    // An unterminated quote opened early that runs to EOF through many chunks.
    cases.append(
        ReadCase(
            "unterminated quote spanning the file",
            utf8("a,b\n1,2\n3,\"" + String(repeating: "x\n", count: 100)),
            error: "unterminated quoted field at <input>:3:3"))

    // windows-1252 text where every byte becomes a 3-byte UTF-8 character.
    let euros = [UInt8](repeating: 0x80, count: 70)
    cases.append(
        ReadCase(
            "windows-1252: 3-byte characters filling the buffer",
            utf8("a,b\n") + euros + [0x2C] + [UInt8](repeating: 0x93, count: 41) + utf8("\n"),
            options: cp1252, header: ["a", "b"],
            rows: [[String(repeating: "€", count: 70), String(repeating: "\u{201C}", count: 41)]]))

    // UTF-16 with surrogate pairs and 3-byte characters across chunk boundaries.
    let mixed = String(repeating: "😀€x𝄞", count: 30)
    cases.append(
        ReadCase(
            "UTF-16: long fields with surrogate pairs", utf16LE("a,b\r\n\"\(mixed)\",\(mixed)\r\n"),
            options: utf16, header: ["a", "b"], rows: [[mixed, mixed]]))
    cases.append(
        ReadCase(
            "UTF-16 BE: long fields with surrogate pairs", utf16BE("a,b\n\(mixed),\"\(mixed)\n\"\n"),
            options: utf16, header: ["a", "b"], rows: [[mixed, mixed + "\n"]]))
    return cases
}()

@Suite("CSVReader")
struct CSVReaderTests {
    @Test("hostile input from memory", arguments: handWrittenReadCases + generatedReadCases)
    func fromBytes(_ c: ReadCase) {
        #expect(readOutcome(c.input, options: c.options, hasHeader: c.hasHeader) == c.expected)
    }

    @Test("hostile input from a file, small buffers", arguments: handWrittenReadCases + generatedReadCases)
    func fromFile(_ c: ReadCase) throws {
        let dir = try TemporaryDirectory()
        let path = try dir.write(c.input, to: "input.csv")
        for size in smallBufferSizes {
            let got = readOutcome(path: path, bufferSize: size, options: c.options, hasHeader: c.hasHeader)
            #expect(got == c.expected, "bufferSize \(size)")
        }
    }

    @Test func tableIsLargeEnough() {
        #expect(handWrittenReadCases.count + generatedReadCases.count >= 40)
        #expect(
            Set((handWrittenReadCases + generatedReadCases).map(\.name)).count
                == handWrittenReadCases.count + generatedReadCases.count, "case names are unique")
    }

    /// A file with a BOM, blank lines, a multi-line record and no final newline:
    /// line numbers, indexes, offsets and lengths of each record, and re-reading each one alone.
    @Test("record line, byteOffset, byteLength", arguments: [16, 17, 64, 1 << 20])
    func recordPositions(bufferSize: Int) throws {
        let records = ["1,\"a\r\nb\"\r\n", "2,x\n", "3,\"q\"\"\""]
        let file = bom + utf8("id,note\r\n" + "\r\n" + records[0] + records[1] + "\n" + records[2])
        let dir = try TemporaryDirectory()
        let path = try dir.write(file, to: "positions.csv")

        struct Seen: Equatable {
            var line: Int
            var index: Int
            var offset: Int64
            var length: Int
            var fields: [String]
        }
        let expected = [
            Seen(line: 3, index: 0, offset: 14, length: 10, fields: ["1", "a\r\nb"]),
            Seen(line: 5, index: 1, offset: 24, length: 4, fields: ["2", "x"]),
            Seen(line: 7, index: 2, offset: 29, length: 7, fields: ["3", "q\""]),
        ]
        let reader = try CSVReader(path: path, bufferSize: bufferSize)
        #expect(reader.offsetsAreFileOffsets)
        var seen: [Seen] = []
        var escaped: [[Bool]] = []
        var raw: [[String]] = []
        try reader.forEach { r in
            seen.append(
                Seen(line: r.line, index: r.index, offset: r.byteOffset, length: r.byteLength, fields: r.strings))
            escaped.append((0..<r.count).map(r.isEscaped))
            raw.append((0..<r.count).map { String(decoding: r.rawBytes($0), as: UTF8.self) })
        }
        #expect(seen == expected)
        #expect(escaped == [[false, false], [false, false], [false, true]])
        #expect(raw == [["1", "a\r\nb"], ["2", "x"], ["3", "q\"\""]])

        // The offsets let a caller fetch a record again and parse it on its own.
        let source = try FileByteSource(path: path)
        for (k, s) in seen.enumerated() {
            let bytes = try source.bytes(at: s.offset, count: s.length)
            #expect(bytes == utf8(records[k]))
            let again = try CSVReader(bytes: bytes, hasHeader: false)
            #expect(try again.next()?.strings == s.fields)
            #expect(try again.next() == nil)
        }

        // From memory the offsets are the same stream offsets.
        let inMemory = try CSVReader(bytes: file)
        var memorySeen: [Seen] = []
        try inMemory.forEach { r in
            memorySeen.append(
                Seen(
                    line: r.line, index: r.index, offset: r.byteOffset, length: r.byteLength,
                    fields: r.strings))
        }
        #expect(memorySeen == expected)
    }

    @Test func transcodedFilesDoNotClaimFileOffsets() throws {
        let dir = try TemporaryDirectory()
        let path = try dir.write([0x61, 0x0A, 0xE9, 0x0A], to: "latin1.csv")
        let reader = try CSVReader(path: path, options: latin1)
        #expect(!reader.offsetsAreFileOffsets)
        #expect(try reader.next()?.strings == ["é"])
    }

    @Test func recordFieldBytesAreUnescaped() throws {
        let reader = try CSVReader(bytes: utf8("a,b\n\"x\"\"y\",\"\"\n"))
        let record = try #require(try reader.next())
        #expect(record.bytes(0) == utf8("x\"y"))
        #expect(record.isEmpty(1))
        #expect(!record.isEmpty(0))
    }

    @Test func readingAfterTheEndKeepsReturningNil() throws {
        let reader = try CSVReader(bytes: utf8("a\n1\n"))
        #expect(try reader.next()?.strings == ["1"])
        #expect(try reader.next() == nil)
        #expect(try reader.next() == nil)
    }

    /// How the diff re-reads one record found earlier: no header, a known field count.
    @Test func expectedFieldsWithoutHeader() throws {
        let ok = try CSVReader(bytes: utf8("1,\"2\n3\"\r\n"), hasHeader: false, expectedFields: 2)
        #expect(try ok.next()?.strings == ["1", "2\n3"])
        let short = try CSVReader(bytes: utf8("1,2\n"), fileName: "hr.csv", hasHeader: false, expectedFields: 3)
        #expect(throws: CSVError(.tooFewFields(expected: 3, actual: 2), file: "hr.csv", line: 1, column: 4)) {
            try short.next()
        }
    }

    @Test(
        "delimiter names",
        arguments: [
            (",", 0x2C), (";", 0x3B), ("|", 0x7C), ("\\t", 0x09), ("\t", 0x09), ("tab", 0x09), ("TAB", 0x09),
            ("\"", nil), ("\n", nil), ("\r", nil), (",,", nil), ("", nil), ("§", nil),
        ] as [(String, UInt8?)])
    func delimiterNames(name: String, byte: UInt8?) {
        #expect(CSVReadOptions.delimiter(named: name) == byte)
    }

    @Test func missingFileAndDirectoryAreInputErrors() throws {
        let dir = try TemporaryDirectory()
        let missing = dir.url.appendingPathComponent("missing.csv").path
        #expect(
            readOutcome(path: missing, bufferSize: 64) == .failure("cannot read <input>: no such file or directory"))
        #expect(readOutcome(path: dir.url.path, bufferSize: 64) == .failure("cannot read <input>: is a directory"))
    }
}
