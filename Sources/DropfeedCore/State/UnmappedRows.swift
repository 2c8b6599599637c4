import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The export rows a run did not map — skipped by a `where` condition or rejected — by source
/// key hash and input hash, so that the next run does not evaluate them again when their inputs
/// are the same (in a nightly export most rows that were skipped or rejected yesterday are
/// skipped or rejected again today). Kept beside a snapshot as `unmapped.bin`; a snapshot
/// without one simply evaluates every row.
///
/// `unmapped.bin` (format 2): the magic `DFUNM\0\0\2`, the count and the number of key bytes
/// (UInt64 each, little-endian), then the columns — source key hashes, input hashes (UInt64),
/// kinds (UInt8: 0 skipped, 1 rejected), lookup misses (UInt32), key ends (UInt32) — then the
/// rejected rows' output key bytes, then a checksum (UInt64) of everything before it.
struct UnmappedRows: Sendable {
    enum Kind: UInt8, Sendable { case skipped = 0, rejected = 1 }

    static let magic = Array("DFUNM\0\0\u{2}".utf8)

    var sourceKeyHash: [UInt64] = []
    var inputHash: [UInt64] = []
    var kind: [UInt8] = []
    var misses: [UInt32] = []
    var keyEnds: [UInt32] = []
    var keyBytes: [UInt8] = []

    var count: Int { sourceKeyHash.count }

    mutating func append(
        sourceKeyHash: UInt64, inputHash: UInt64, kind: Kind, misses: Int, key: UnsafeBufferPointer<UInt8>?
    ) {
        self.sourceKeyHash.append(sourceKeyHash)
        self.inputHash.append(inputHash)
        self.kind.append(kind.rawValue)
        self.misses.append(UInt32(clamping: misses))
        if let key { keyBytes.append(contentsOf: key) }
        keyEnds.append(UInt32(truncatingIfNeeded: keyBytes.count))
    }

    mutating func append(contentsOf other: UnmappedRows) {
        let shift = UInt32(truncatingIfNeeded: keyBytes.count)
        sourceKeyHash += other.sourceKeyHash
        inputHash += other.inputHash
        kind += other.kind
        misses += other.misses
        keyEnds += other.keyEnds.map { $0 &+ shift }
        keyBytes += other.keyBytes
    }

    /// Entry `i`'s output key bytes (empty for a skipped row or one rejected before its key).
    func withKey<T>(_ i: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> T) rethrows -> T {
        let start = i == 0 ? 0 : Int(keyEnds[i - 1])
        return try keyBytes.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[start..<Int(keyEnds[i])])) }
    }

    /// Writes `unmapped.bin`; returns its size and checksum.
    func write(to path: String) throws -> (bytes: Int, checksum: String) {
        var out = UnmappedRows.magic
        out.appendLE(UInt64(count))
        out.appendLE(UInt64(keyBytes.count))
        for v in sourceKeyHash { out.appendLE(v) }
        for v in inputHash { out.appendLE(v) }
        out += kind
        for v in misses { out.appendLE(v) }
        for v in keyEnds { out.appendLE(v) }
        out += keyBytes
        var hasher = StreamHash()
        hasher.update(out)
        let h = hasher.finish()
        out.appendLE(h)
        try FileSystem.writeAtomically(path, out)
        return (out.count, hex64(h))
    }

    /// Reads an `unmapped.bin`, checking its layout and checksum.
    static func read(from path: String, expectedChecksum: String, target: String) throws -> UnmappedRows {
        let corrupt = StateError(
            "snapshot file \(path) of target `\(target)` is corrupt; restore it with `dropfeed state rollback \(target)` "
                + "or send everything again after `dropfeed state reset \(target)`")
        guard let bytes = try FileSystem.read(path) else {
            throw StateError("snapshot file \(path) is missing: the state is damaged")
        }
        let header = magic.count + 16
        guard bytes.count >= header + 8, Array(bytes[0..<magic.count]) == magic else { throw corrupt }
        let n = Int(clamping: bytes.readLE(UInt64.self, at: magic.count))
        let keyCount = Int(clamping: bytes.readLE(UInt64.self, at: magic.count + 8))
        guard n < 1 << 36, keyCount < 1 << 36, header + n * (8 + 8 + 1 + 4 + 4) + keyCount + 8 == bytes.count else {
            throw corrupt
        }
        var hasher = StreamHash()
        bytes.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<(bytes.count - 8)])) }
        guard hasher.finish() == bytes.readLE(UInt64.self, at: bytes.count - 8),
            hex64(hasher.finish()) == expectedChecksum
        else { throw corrupt }
        var rows = UnmappedRows()
        var offset = header
        func column<T: FixedWidthInteger>(_ type: T.Type) -> [T] {
            let size = MemoryLayout<T>.size
            let values = (0..<n).map { bytes.readLE(T.self, at: offset + $0 * size) }
            offset += n * size
            return values
        }
        rows.sourceKeyHash = column(UInt64.self)
        rows.inputHash = column(UInt64.self)
        rows.kind = Array(bytes[offset..<(offset + n)])
        offset += n
        rows.misses = column(UInt32.self)
        rows.keyEnds = column(UInt32.self)
        rows.keyBytes = Array(bytes[offset..<(offset + keyCount)])
        var previous: UInt32 = 0
        for end in rows.keyEnds {
            guard end >= previous, Int(end) <= keyCount else { throw corrupt }
            previous = end
        }
        guard rows.kind.allSatisfy({ Kind(rawValue: $0) != nil }) else { throw corrupt }
        return rows
    }
}
