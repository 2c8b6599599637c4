// libFuzzer target: the snapshot reader. A valid index.bin and segment are built once; each input
// is a list of changes to them (offset, XOR byte, and a length to cut at). Invariant: a changed
// index is reported (StateError), never read; a changed segment gives each row as written or an
// error, never another row.
import Foundation

@testable import DropfeedCore

private struct Original {
    var folder: String
    var index: [UInt8]
    var checksum: String
    var segment: [UInt8]
    var rows: [[String]]
    var rowIndex: RowIndex
}

private let original: Original = {
    let folder = fuzzFolder("snapshot")
    let rows = (0..<12).map { ["id\($0)", "user\($0)@example.org", $0 % 3 == 0 ? "" : "Dept \($0 % 4)"] }
    let segmentPath = folder + "/original.seg"
    let writer = try! SegmentWriter(path: segmentPath)
    var index = RowIndex(keyParts: 1)
    for row in rows {
        var encoded: [UInt8] = []
        for value in row { encoded.appendField(value) }
        let offset = try! writer.append(encoded)
        let key = RowIndex.keyBytes([row[0]])
        key.withUnsafeBufferPointer { k in
            index.append(
                key: k, keyHash: RowIndex.keyHash([row[0]]), rowHash: RowCodec.hash(encoded),
                location: RowIndex.location(segment: 0, offset: offset), rowLength: encoded.count,
                sourceKeyHash: 1, inputHash: 2)
        }
    }
    try! writer.finish()
    let indexPath = folder + "/original.index"
    let (_, checksum) = try! index.write(to: indexPath)
    return Original(
        folder: folder, index: [UInt8](FileManager.default.contents(atPath: indexPath)!), checksum: checksum,
        segment: [UInt8](FileManager.default.contents(atPath: segmentPath)!), rows: rows, rowIndex: index)
}()

/// `bytes` changed as `input` says: triples (offset high, offset low, xor), then a cut length.
private func mutate(_ bytes: [UInt8], _ input: ArraySlice<UInt8>) -> [UInt8] {
    var out = bytes
    var k = input.startIndex
    while k + 2 < input.endIndex {
        let offset = (Int(input[k]) << 8 | Int(input[k + 1])) % max(1, out.count)
        out[offset] ^= input[k + 2]
        k += 3
    }
    if k < input.endIndex, input[k] != 0 { out = Array(out.prefix(Int(input[k]) * out.count / 256)) }
    return out
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSnapshot(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let o = original
    let input = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))[...]
    if data[0] & 1 == 0 {
        let changed = mutate(o.index, input)
        let path = o.folder + "/index.bin"
        writeFile(path, changed)
        do {
            let index = try RowIndex.read(from: path, expectedChecksum: o.checksum, target: "t")
            if changed != o.index { fatalError("a changed index was read as \(index.rowHash.count) rows") }
        } catch is StateError {
            if changed == o.index { fatalError("the original index was refused") }
        } catch {
            fatalError("unexpected error type \(type(of: error)): \(error)")
        }
    } else {
        let changed = mutate(o.segment, input)
        let path = o.folder + "/segment.seg"
        writeFile(path, changed)
        guard let file = try? SegmentFile(path: path, expectedSize: nil, target: "t") else { return 0 }
        let reader = RowReader(files: [file], target: "t")
        for k in 0..<o.rows.count {
            do {
                let values = try reader.values(
                    location: o.rowIndex.location(k), length: Int(o.rowIndex.rowLength(k)), hash: o.rowIndex.rowHash(k),
                    columns: 3)
                if values.map({ Array($0.utf8) }) != o.rows[k].map({ Array($0.utf8) }) {
                    fatalError("row \(k) read as \(values), written as \(o.rows[k])")
                }
            } catch is StateError {
                continue
            } catch {
                fatalError("unexpected error type \(type(of: error)): \(error)")
            }
        }
    }
    return 0
}
