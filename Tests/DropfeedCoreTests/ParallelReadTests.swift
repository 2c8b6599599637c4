import Foundation
import Testing

@testable import DropfeedCore

/// A large CSV export is read in stretches on several threads (`CSVSplit`, `SourceTable`): the
/// table and every error must be exactly those of one reader reading the file from start to end.
struct ParallelReadTests {
    static let header = ["id", "name", "note", "manager"]

    /// Rows with the fields that make cutting hard: quoted line breaks (LF and CRLF), doubled
    /// quotes, delimiters inside quotes, empty fields; CRLF and LF line ends and blank lines.
    static func text(rows: Int, seed: UInt64, duplicateEvery: Int? = nil) -> String {
        var random = Xorshift(seed: seed)
        var out = header.joined(separator: ",") + "\n"
        let notes = [
            "plain", "\"line one\nline two\"", "\"say \"\"hi\"\"\"", "\"a,b,c\"", "", "\"\r\n\"", "\"\"\"\"",
            "\"ends with a break\n\"", "é ü 東京",
        ]
        for k in 0..<rows {
            let id = duplicateEvery.map { k % $0 == 0 && k > 0 ? "E\(k - 1)" : "E\(k)" } ?? "E\(k)"
            let manager = k == 0 ? "" : "E\(random.below(k))"
            out += "\(id),Name \(k),\(notes[random.below(notes.count)]),\(manager)"
            out += random.below(5) == 0 ? "\r\n" : "\n"
            if random.below(40) == 0 { out += "\n" }
        }
        return out
    }

    static func table(_ path: String, readers: Int, duplicates: DuplicateKeyPolicy = .fail, root: String) throws
        -> SourceTable
    {
        let source = SourceConfig(
            path: path, displayPath: "hr.csv", key: ["id"], options: CSVReadOptions(textOnly: true), minRows: nil,
            maxShrinkPercent: nil)
        return try SourceTable(
            source: source, needed: ["name", "note"], lookupKeys: ["manager"], lookupTargets: ["name"],
            duplicates: duplicates, spoolFolder: root, readers: readers)
    }

    @Test(arguments: [2, 3, 5, 8])
    func cutsFallBetweenRecords(parts: Int) throws {
        let w = try FeedWorkspace()
        let path = try w.write("hr.csv", Self.text(rows: 3000, seed: UInt64(parts)))
        let size = Int64(try w.bytes("hr.csv").count)
        let cuts = try CSVSplit.cuts(path: path, size: size, parts: parts)
        #expect(cuts.count == parts - 1)
        #expect(cuts == cuts.sorted() && Set(cuts).count == cuts.count)
        var spans: [(Int64, Int64)] = []
        let reader = try CSVReader(path: path)
        try reader.forEach { spans.append(($0.byteOffset, $0.byteOffset + Int64($0.byteLength))) }
        for cut in cuts {
            #expect(!spans.contains { $0.0 < cut && cut < $0.1 }, "cut \(cut) falls inside a record")
        }
    }

    @Test func quotesAreCountedEightAtATime() {
        var random = Xorshift(seed: 7)
        for length in [0, 1, 7, 8, 9, 63, 64, 65, 1000] {
            let bytes = (0..<length).map { _ in [UInt8(0x22), 0x21, 0x23, 0xA2, 0x00, 0x41][random.below(6)] }
            let count = bytes.withUnsafeBufferPointer { CSVSplit.countQuotes($0.baseAddress!, $0.count) }
            #expect(count == bytes.filter { $0 == 0x22 }.count)
        }
    }

    @Test(arguments: [2, 4, 7])
    func manyReadersGiveTheTableOfOne(readers: Int) throws {
        let w = try FeedWorkspace()
        let path = try w.write("hr.csv", Self.text(rows: 5000, seed: 11))
        let one = try Self.table(path, readers: 1, root: w.root)
        let many = try Self.table(path, readers: readers, root: w.root)
        #expect(one.stretchesRead == 1 && many.stretchesRead == readers)
        #expect(many.rowCount == 5000 && one.rowCount == 5000)
        #expect(many.header == one.header)
        #expect(many.lines == one.lines)
        #expect(many.rowHashes == one.rowHashes)
        #expect(many.keyHashes == one.keyHashes)
        for row in 0..<one.rowCount {
            #expect(many.strings(row: row) == one.strings(row: row))
            #expect(many.keyValues(row) == one.keyValues(row))
            #expect(many.line(of: row) == one.line(of: row))
        }
        let name = one.columnIndex["name"]!
        let manager = one.columnIndex["manager"]!
        for row in stride(from: 0, to: one.rowCount, by: 37) {
            #expect(many.lookupRow(keyColumn: manager, row: row) == one.lookupRow(keyColumn: manager, row: row))
            #expect(many.lookupValue(row: row, column: name) == one.lookupValue(row: row, column: name))
            #expect(many.row(forKey: ["E\(row)"]) == row)
        }
        #expect(many.sha256 == one.sha256 && many.byteCount == one.byteCount)
    }

    @Test func duplicatesAcrossStretchesNameTheirLines() throws {
        let w = try FeedWorkspace()
        let path = try w.write("hr.csv", Self.text(rows: 4000, seed: 12, duplicateEvery: 997))
        let one = try Self.table(path, readers: 1, duplicates: .reject, root: w.root)
        let many = try Self.table(path, readers: 4, duplicates: .reject, root: w.root)
        #expect(!one.duplicateRows.isEmpty && many.stretchesRead == 4)
        #expect(many.duplicateRows == one.duplicateRows)
        let failOne = #expect(throws: DataError.self) { try Self.table(path, readers: 1, root: w.root) }
        let failMany = #expect(throws: DataError.self) { try Self.table(path, readers: 4, root: w.root) }
        #expect(failMany?.description == failOne?.description)
    }

    /// A damaged file: whichever stretch meets the damage (or a cut the damage misplaced), the
    /// error is the one a single reader gives, with the same line and column.
    @Test(arguments: ["unclosed quote", "stray quote", "extra field", "inner BOM", "bad UTF-8", "empty key"])
    func errorsAreThoseOfOneReader(damage: String) throws {
        let w = try FeedWorkspace()
        var lines = Self.text(rows: 3000, seed: 13).components(separatedBy: "\n")
        let at: Int
        switch damage {
        case "unclosed quote":
            at = lines.count - 40
            lines[at] = "E\(at)x,Name,\"never closed,E1"
        case "stray quote":
            at = 200
            lines[at] = "E\(at)x,Na\"me,note,E1"
        case "extra field":
            at = lines.count * 3 / 4
            lines[at] = "E\(at)x,Name,note,E1,more"
        case "inner BOM":
            at = lines.count / 2
            lines[at] = "\u{FEFF}E\(at)x,Name,note,E1"
        case "empty key":
            at = lines.count * 2 / 3
            lines[at] = ",Name,note,E1"
        default:
            at = lines.count / 3
            lines[at] = "E\(at)x,Name,note,E1"
        }
        var bytes = Array(lines.joined(separator: "\n").utf8)
        if damage == "bad UTF-8" {
            let marker = Array("E\(at)x,Name".utf8)
            let start = (0..<bytes.count).first { Array(bytes[$0..<min(bytes.count, $0 + marker.count)]) == marker }!
            bytes[start + marker.count - 1] = 0xFF
        }
        let path = try w.write("hr.csv", bytes: bytes)
        var errors: [String] = []
        for readers in [1, 2, 4] {
            do {
                _ = try Self.table(path, readers: readers, root: w.root)
                errors.append("no error")
            } catch {
                errors.append("\(error)")
            }
        }
        #expect(errors[0] != "no error")
        #expect(errors[1] == errors[0])
        #expect(errors[2] == errors[0])
    }

    @Test func fileWithoutLineFeedsIsReadWhole() throws {
        let w = try FeedWorkspace()
        let text = Self.text(rows: 2000, seed: 14).replacingOccurrences(of: "\r\n", with: "\n")
            .replacingOccurrences(of: "\n", with: "\r")
        let path = try w.write("hr.csv", text)
        #expect(try CSVSplit.cuts(path: path, size: Int64(text.utf8.count), parts: 4).isEmpty)
        let one = try Self.table(path, readers: 1, root: w.root)
        let many = try Self.table(path, readers: 4, root: w.root)
        #expect(many.rowCount == 2000 && many.stretchesRead == 1)
        #expect(many.lines == one.lines && many.rowHashes == one.rowHashes)
    }
}
