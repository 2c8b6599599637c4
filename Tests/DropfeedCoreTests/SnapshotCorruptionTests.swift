import Foundation
import Testing

@testable import DropfeedCore

/// Regressions found by `make fuzz` (Tests/Fuzz/regressions/snapshot/): a corrupted snapshot
/// index is reported as corrupt, never a trap and never read as other rows.
@Suite struct SnapshotCorruptionTests {
    private func writtenIndex(_ dir: TemporaryDirectory) throws -> (path: String, checksum: String, bytes: [UInt8]) {
        var index = RowIndex(keyParts: 1)
        for k in 0..<5 {
            let key = RowIndex.keyBytes(["id\(k)"])
            key.withUnsafeBufferPointer {
                index.append(
                    key: $0, keyHash: RowIndex.keyHash(["id\(k)"]), rowHash: UInt64(k), location: UInt64(k * 10),
                    rowLength: 10, sourceKeyHash: 0, inputHash: 0)
            }
        }
        let path = dir.url.appendingPathComponent("index.bin").path
        let (_, checksum) = try index.write(to: path)
        return (path, checksum, [UInt8](FileManager.default.contents(atPath: path)!))
    }

    /// The row count (offset 16) or key byte count (offset 24) with its top bit set was turned
    /// into an Int before it was checked, and trapped.
    @Test(arguments: [23, 31, 16, 24])
    func aCountAboveIntMaxIsCorruptNotATrap(_ offset: Int) throws {
        let dir = try TemporaryDirectory()
        let (path, checksum, bytes) = try writtenIndex(dir)
        var changed = bytes
        changed[offset] ^= 0xFF
        _ = try dir.write(changed, to: "index.bin")
        #expect(throws: StateError.self) { try RowIndex.read(from: path, expectedChecksum: checksum, target: "t") }
    }

    /// The input libFuzzer saved, applied as the fuzz target applies it.
    @Test func theSavedFuzzInputIsCorrupt() throws {
        let dir = try TemporaryDirectory()
        let (path, checksum, bytes) = try writtenIndex(dir)
        var changed = bytes
        changed[31] ^= 0xFF
        changed[65535 % changed.count] ^= 0xFF
        changed = Array(changed.prefix(255 * changed.count / 256))
        _ = try dir.write(changed, to: "index.bin")
        #expect(throws: StateError.self) { try RowIndex.read(from: path, expectedChecksum: checksum, target: "t") }
        #expect(try RowIndex.read(from: { _ = try? dir.write(bytes, to: "index.bin"); return path }(), expectedChecksum: checksum, target: "t").rowHash == [0, 1, 2, 3, 4])
    }
}
