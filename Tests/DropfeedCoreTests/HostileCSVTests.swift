import Foundation
import Testing

@testable import DropfeedCore

#if canImport(Glibc)
    import Glibc
#endif

/// Hostile CSV input: every limit on both sides, bytes no export holds, files that are not files.
@Suite struct HostileCSVTests {
    private func limited(field: Int = CSVLimits.defaultMaxFieldBytes, columns: Int = CSVLimits.defaultMaxColumns)
        -> CSVReadOptions
    {
        CSVReadOptions(limits: CSVLimits(maxFieldBytes: field, maxColumns: columns))
    }

    /// Reads `bytes` from a file with several small buffers and from memory; all must agree.
    private func outcome(_ bytes: [UInt8], options: CSVReadOptions) throws -> ReadOutcome {
        let dir = try TemporaryDirectory()
        let path = try dir.write(bytes, to: "in.csv")
        let fromMemory = readOutcome(bytes, options: options)
        for size in smallBufferSizes + [1 << 20] {
            let fromFile = readOutcome(path: path, bufferSize: size, options: options)
            #expect(fromFile == fromMemory, "buffer \(size)")
        }
        return fromMemory
    }

    @Test(arguments: [false, true])
    func fieldSizeLimitOnBothSides(quoted: Bool) throws {
        let q = quoted ? "\"" : ""
        let fits = "id,note\n1,\(q)\(String(repeating: "x", count: 40))\(q)\n"
        #expect(try outcome(utf8(fits), options: limited(field: 40)) == .table(
            header: ["id", "note"], rows: [["1", String(repeating: "x", count: 40)]]))
        let over = "id,note\n1,\(q)\(String(repeating: "x", count: 41))\(q)\n2,b\n"
        #expect(try outcome(utf8(over), options: limited(field: 40)) == .failure(
            "field longer than the limit of 40 bytes at <input>:2:3 (source.maxFieldBytes)"))
    }

    @Test func defaultFieldLimitIs16MiB() throws {
        let limit = CSVLimits.defaultMaxFieldBytes
        #expect(limit == 16 * 1024 * 1024)
        let dir = try TemporaryDirectory()
        for (size, ok) in [(limit, true), (limit + 1, false)] {
            let path = try dir.write(utf8("id,photo\n1,") + [UInt8](repeating: 0x41, count: size) + utf8("\n"), to: "big.csv")
            let reader = try CSVReader(path: path, displayName: "big.csv")
            if ok {
                let record = try #require(try reader.next())
                #expect(record.rawBytes(1).count == limit)
            } else {
                #expect(throws: CSVError(.fieldTooLarge(limit: limit), file: "big.csv", line: 2, column: 3)) {
                    _ = try reader.next()
                }
            }
        }
    }

    @Test func recordSizeLimitOnBothSides() throws {
        let options = CSVReadOptions(limits: CSVLimits(maxFieldBytes: 10, maxColumns: 100, maxRecordBytes: 24))
        // "aaaaaaaaaa,bbbbbbbbbb,c\n" is 24 bytes, one more `c` makes 25.
        let fits = "h1,h2,h3\naaaaaaaaaa,bbbbbbbbbb,c\n"
        #expect(try outcome(utf8(fits), options: options) == .table(
            header: ["h1", "h2", "h3"], rows: [["aaaaaaaaaa", "bbbbbbbbbb", "c"]]))
        let over = "h1,h2,h3\naaaaaaaaaa,bbbbbbbbbb,cc\n"
        #expect(try readOutcome(utf8(over), options: options) == .failure(
            "record longer than the limit of 24 bytes at <input>:2:1"))
    }

    @Test func columnLimitOnBothSides() throws {
        let header = (1...5).map { "c\($0)" }.joined(separator: ",")
        #expect(try outcome(utf8(header + "\n1,2,3,4,5\n"), options: limited(columns: 5)) == .table(
            header: (1...5).map { "c\($0)" }, rows: [["1", "2", "3", "4", "5"]]))
        #expect(try outcome(utf8(header + ",c6\n"), options: limited(columns: 5)) == .failure(
            "more than 5 fields (the limit) at <input>:1:16"))
    }

    @Test func defaultColumnLimitIs16384AndAMillionColumnHeaderFailsAtIt() throws {
        let limit = CSVLimits.defaultMaxColumns
        #expect(limit == 16_384)
        let names = (1...limit).map { "column\($0)" }
        let reader = try CSVReader(bytes: utf8(names.joined(separator: ",") + "\n"))
        #expect(reader.header == names)
        let million = (1...1_000_000).map { "c\($0)" }.joined(separator: ",")
        #expect(throws: CSVError.self) { _ = try CSVReader(bytes: utf8(million + "\n")) }
        let message = readOutcome(utf8(million + "\n"))
        #expect(message.description.contains("more than 16384 fields (the limit) at <input>:1:"))
    }

    private let source = CSVReadOptions(textOnly: true)

    @Test func sourceMaxFieldBytesSetsTheLimit() throws {
        let w = try FeedWorkspace()
        try w.write("hr.csv", "id,email\n1,a@x\n")
        try w.write(
            "m.json",
            "{ version: 1, key: \"user_id\", columns: [ { name: \"user_id\", from: \"id\" } ], output: { file: \"u_{seq}.csv\" } }")
        for (value, limit) in [("1024", 1024), ("1073741824", 1 << 30)] {
            try w.write(
                "dropfeed.json",
                """
                { version: 1, source: { path: "hr.csv", key: "id", maxFieldBytes: \(value) }, stateDir: "state",
                  targets: [ { name: "t", mapping: "m.json", deliver: { directory: "out" } } ] }
                """)
            let config = try FeedConfig.load(path: w.path("dropfeed.json"))
            #expect(config.source.options.limits.maxFieldBytes == limit)
            #expect(config.source.options.limits.maxRecordBytes == max(limit, CSVLimits.defaultMaxRecordBytes))
        }
        try w.write(
            "dropfeed.json",
            """
            { version: 1, source: { path: "hr.csv", key: "id", maxFieldBytes: 0 }, stateDir: "state",
              targets: [ { name: "t", mapping: "m.json", deliver: { directory: "out" } } ] }
            """)
        #expect(throws: ConfigError.self) { try FeedConfig.load(path: w.path("dropfeed.json")) }
    }

    @Test func nulByteIsReportedWithItsPlace() throws {
        #expect(try outcome(utf8("id,name\n1,Ann\n2,B") + [0] + utf8("b\n"), options: source) == .failure(
            "NUL byte at <input>:3:4 (a binary file, or not a CSV export?)"))
        // Past the eight-byte fast scan, too.
        #expect(try outcome(utf8("id,name\n1,abcdefghijklmnop") + [0] + utf8("\n"), options: source) == .failure(
            "NUL byte at <input>:2:19 (a binary file, or not a CSV export?)"))
    }

    @Test func withoutTextOnlyNULAndBOMAreData() throws {
        #expect(readOutcome(utf8("a\n") + [0, 0xEF, 0xBB, 0xBF] + utf8("\n")) == .table(header: ["a"], rows: [["\0\u{FEFF}"]]))
    }

    @Test func byteOrderMarkAtTheStartIsSkippedAndInsideIsAnError() throws {
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        #expect(try outcome(bom + utf8("id\n1\n"), options: source) == .table(header: ["id"], rows: [["1"]]))
        #expect(try outcome(bom + utf8("id\n1\n") + bom + utf8("id\n2\n"), options: source) == .failure(
            "byte-order mark (U+FEFF) in the middle of the file at <input>:3:1 (two files joined together?)"))
        #expect(try outcome(utf16LE("id\n1\n\u{FEFF}2\n"), options: CSVReadOptions(encoding: .utf16, textOnly: true)) == .failure(
            "byte-order mark (U+FEFF) in the middle of the file at <input>:3:1 (two files joined together?)"))
    }

    @Test func aBinaryFileIsInvalidText() throws {
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D]
        #expect(try outcome(png, options: source) == .failure(
            "invalid UTF-8 at <input>:1:1 (set the source encoding if the file is not UTF-8)"))
        #expect(try outcome(png, options: CSVReadOptions(encoding: .windows1252, textOnly: true)).description.contains("NUL byte at <input>:3:1"))
    }

    @Test func aFIFOIsRefusedWithoutWaitingForAWriter() throws {
        let dir = try TemporaryDirectory()
        let fifo = dir.url.appendingPathComponent("export.csv").path
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(readOutcome(path: fifo, bufferSize: 64) == .failure(
            "cannot read <input>: is a FIFO (named pipe), not a regular file"))
        #expect(readOutcome(path: "/dev/null", bufferSize: 64) == .failure(
            "cannot read <input>: is a character device, not a regular file"))
    }
}
