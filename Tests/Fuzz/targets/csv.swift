// libFuzzer target: the CSV reader in every dialect. Invariant: whatever the reader accepts, the
// writer writes so that reading it back gives the same rows (parse → write → parse is the
// identity); whatever it refuses is a CSVError or InputFileError, never a trap.
import Foundation

@testable import DropfeedCore

private let delimiters: [UInt8] = [0x2C, 0x3B, 0x09, 0x7C]
private let encodings: [TextEncoding] = [.utf8, .windows1252, .iso88591, .utf16]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCSV(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    // The first byte picks the dialect: delimiter, source encoding, and how the rows are written back.
    let pick = Int(data[0])
    let input = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    var read = CSVReadOptions(
        delimiter: delimiters[pick & 3], encoding: encodings[(pick >> 2) & 3],
        limits: CSVLimits(maxFieldBytes: 4096, maxColumns: 64, maxRecordBytes: 16384), textOnly: pick & 0x80 != 0)
    var rows: [[String]] = []
    do {
        let reader = try CSVReader(bytes: input, options: read, hasHeader: false)
        try reader.forEach { rows.append($0.strings) }
    } catch is CSVError {
        return 0
    } catch is InputFileError {
        return 0
    } catch {
        fatalError("unexpected error type \(type(of: error)): \(error)")
    }
    let write = CSVWriteOptions(
        delimiter: read.delimiter, quote: pick & 0x10 != 0 ? .always : .minimal, lineEnding: pick & 0x20 != 0 ? .lf : .crlf,
        bom: pick & 0x40 != 0, header: false, encoding: .utf8)
    var writer = CSVWriter(options: write)
    for row in rows { try! writer.write(row) }
    read.encoding = .utf8
    read.limits = CSVLimits(maxFieldBytes: 1 << 20, maxColumns: 1 << 10, maxRecordBytes: 1 << 22)
    var again: [[String]] = []
    do {
        let reader = try CSVReader(bytes: writer.bytes, options: read, hasHeader: false)
        try reader.forEach { again.append($0.strings) }
    } catch {
        fatalError("rows read from \(input) do not read back after writing: \(error)")
    }
    let same = again.count == rows.count
        && zip(again, rows).allSatisfy { a, b in a.map { Array($0.utf8) } == b.map { Array($0.utf8) } }
    if !same { fatalError("parse → write → parse changed the rows: \(rows) became \(again)") }
    return 0
}
