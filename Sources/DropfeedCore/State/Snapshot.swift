import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A file a run delivered (or is delivering), as recorded in snapshots, journals and reports.
public struct FileRecord: Codable, Sendable, Equatable {
    public var name: String
    /// `full`, `delta`, `checksum` or `trigger`.
    public var kind: String
    public var rows: Int
    public var bytes: Int
    public var sha256: String
    /// In a journal: whether the file has arrived under its final name.
    public var delivered: Bool?

    public init(name: String, kind: String, rows: Int, bytes: Int, sha256: String, delivered: Bool? = nil) {
        self.name = name
        self.kind = kind
        self.rows = rows
        self.bytes = bytes
        self.sha256 = sha256
        self.delivered = delivered
    }
}

/// What a snapshot is: which run delivered it, its rows' shape, and how to check it is intact.
///
/// Format 2 (this release) names its index and segments; format 1 (the first releases) held
/// the rows in one `snapshot.bin` and is still read (see `SnapshotV1`).
public struct SnapshotMeta: Codable, Sendable {
    public var format = Int(SnapshotFormat.version)
    public var target: String
    public var runId: String
    public var time: String
    public var columns: [String]
    public var key: [String]
    public var rows: Int
    public var seq: Int
    public var files: [FileRecord]
    /// What the mapped rows were made with (mapping, source shape, dropfeed version); while it
    /// is unchanged, an unchanged export row reuses its row instead of being mapped again.
    var inputDigest: String? = nil
    /// Format 2: the segments the index points into, in ordinal order.
    var segments: [SegmentInfo]? = nil
    /// Format 2: `index.bin`'s size and checksum.
    var indexBytes: Int? = nil
    var indexChecksum: String? = nil
    /// Format 2, optional: the checksum of `unmapped.bin` (the export rows not mapped).
    var unmappedChecksum: String? = nil
    // Format 1.
    var arenaBytes: Int? = nil
    var entryCount: Int? = nil
    var keyBytes: Int? = nil
    var checksum: String? = nil

    init(
        target: String, runId: String, time: String, columns: [String], key: [String], rows: Int, seq: Int,
        files: [FileRecord], inputDigest: String?
    ) {
        self.target = target
        self.runId = runId
        self.time = time
        self.columns = columns
        self.key = key
        self.rows = rows
        self.seq = seq
        self.files = files
        self.inputDigest = inputDigest
    }
}

/// A target's snapshot as loaded: its index in memory, its rows on disk in segments.
final class Snapshot: @unchecked Sendable {
    let meta: SnapshotMeta
    let index: RowIndex
    let segments: [SegmentFile]
    let target: String
    /// The export rows the run did not map (skipped or rejected), when the snapshot has them.
    let unmapped: UnmappedRows?

    init(meta: SnapshotMeta, index: RowIndex, segments: [SegmentFile], target: String, unmapped: UnmappedRows? = nil) {
        self.meta = meta
        self.index = index
        self.segments = segments
        self.target = target
        self.unmapped = unmapped
    }

    var count: Int { index.count }

    /// The segment names and sizes, as a later snapshot that keeps rows of this one lists them.
    var segmentInfos: [SegmentInfo] { meta.segments ?? [] }

    /// Whether a segment has no file of its own (a converted format-1 snapshot), so the next
    /// snapshot must copy the rows it keeps.
    var mustCopyRows: Bool { segments.contains { $0.isTemporary } }

    /// A reader of this snapshot's rows, for one thread.
    func rowReader() -> RowReader { RowReader(files: segments, target: target) }

    /// Row `i`'s values, in `meta.columns` order.
    func values(_ i: Int, _ reader: RowReader) throws -> [String] {
        try reader.values(
            location: index.location[i], length: Int(index.rowLength[i]), hash: index.rowHash[i],
            columns: meta.columns.count)
    }

    /// Reads the snapshot in `folder` (its `meta.json` and `index.bin`); segments are looked for
    /// beside them first (a pending or saved snapshot's own new segment), then in `segmentsFolder`.
    static func load(folder: String, segmentsFolder: String, target: String, spoolFolder: String) throws -> Snapshot {
        let meta = try readMeta(folder)
        if meta.format == 1 {
            return try SnapshotV1.load(folder: folder, meta: meta, target: target, spoolFolder: spoolFolder)
        }
        guard meta.format == Int(SnapshotFormat.version), let checksum = meta.indexChecksum, let infos = meta.segments
        else {
            throw StateError(
                "snapshot \(folder) has format \(meta.format), which this dropfeed (\(dropfeedVersion)) does not read; use a newer dropfeed"
            )
        }
        let index = try RowIndex.read(from: folder + "/index.bin", expectedChecksum: checksum, target: target)
        guard index.count == meta.rows, index.keyParts == max(1, meta.key.count) else {
            throw StateError("snapshot \(folder) of target `\(target)` is corrupt (its index does not match its metadata)")
        }
        var files: [SegmentFile] = []
        for info in infos {
            let beside = folder + "/" + info.name
            var st = stat()
            let path = lstat(beside, &st) == 0 ? beside : segmentsFolder + "/" + info.name
            files.append(try SegmentFile(path: path, expectedSize: info.bytes, target: target))
        }
        let unmapped = try meta.unmappedChecksum.map {
            try UnmappedRows.read(from: folder + "/unmapped.bin", expectedChecksum: $0, target: target)
        }
        return Snapshot(meta: meta, index: index, segments: files, target: target, unmapped: unmapped)
    }

    static func readMeta(_ folder: String) throws -> SnapshotMeta {
        guard let bytes = try FileSystem.read(folder + "/meta.json") else {
            throw StateError("snapshot \(folder) has no meta.json: the state is damaged")
        }
        do { return try JSONDecoder().decode(SnapshotMeta.self, from: Data(bytes)) } catch {
            throw StateError("snapshot metadata \(folder)/meta.json is corrupt: \(error.localizedDescription)")
        }
    }
}

/// Snapshots of format 1 (the first releases): `snapshot.bin` holds the row arena (fields with
/// 4-byte little-endian lengths), the index entries (56 bytes each) and the key bytes, with a
/// 64-bit checksum of the three in `meta.json`. Read once and converted: the rows go into a
/// temporary format-2 segment, and the next snapshot copies the ones it keeps.
enum SnapshotV1 {
    static let entrySize = 56

    static func load(folder: String, meta: SnapshotMeta, target: String, spoolFolder: String) throws -> Snapshot {
        let path = folder + "/snapshot.bin"
        let corrupt = StateError(
            "snapshot of target `\(target)` is corrupt (\(path): checksum mismatch); restore it with "
                + "`dropfeed state rollback \(target)` or send everything again after `dropfeed state reset \(target)`")
        guard let arenaBytes = meta.arenaBytes, let entryCount = meta.entryCount, let keyCount = meta.keyBytes,
            let checksum = meta.checksum, arenaBytes >= 0, entryCount >= 0, keyCount >= 0
        else { throw corrupt }
        guard let bytes = try FileSystem.read(path) else {
            throw StateError("snapshot \(path) is missing: the state is damaged")
        }
        guard bytes.count == arenaBytes + entryCount * entrySize + keyCount else { throw corrupt }
        let (index, rows) = try bytes.withUnsafeBufferPointer { all -> (RowIndex, [[UInt8]]) in
            let arena = UnsafeBufferPointer(rebasing: all[0..<arenaBytes])
            let entries = UnsafeBufferPointer(rebasing: all[arenaBytes..<(arenaBytes + entryCount * entrySize)])
            let keys = UnsafeBufferPointer(rebasing: all[(arenaBytes + entryCount * entrySize)...])
            var h = RowHash.combine(RowHash.seed, arena)
            h = RowHash.combine(h, entries)
            h = RowHash.combine(h, keys)
            guard hex64(h) == checksum else { throw corrupt }
            let parts = max(1, meta.key.count)
            var index = RowIndex(keyParts: parts)
            index.reserve(entryCount)
            var rows: [[UInt8]] = []
            rows.reserveCapacity(entryCount)
            func le<T: FixedWidthInteger>(_ type: T.Type, _ at: Int) -> T {
                var v: T = 0
                for k in 0..<MemoryLayout<T>.size { v |= T(entries[at + k]) << (8 * k) }
                return v
            }
            for e in 0..<entryCount {
                let base = e * entrySize
                let keyHash = le(UInt64.self, base)
                let keyStart = Int(le(UInt32.self, base + 16))
                let keyLength = Int(le(UInt32.self, base + 20))
                let location = Int(clamping: le(UInt64.self, base + 24))
                let length = Int(le(UInt32.self, base + 32))
                let sourceKeyHash = le(UInt64.self, base + 40)
                let inputHash = le(UInt64.self, base + 48)
                guard keyStart + keyLength <= keys.count, length <= arena.count, location <= arena.count - length
                else { throw corrupt }
                // The row: 4-byte lengths become varints.
                var row: [UInt8] = []
                var i = location
                for _ in 0..<meta.columns.count {
                    guard i + 4 <= location + length else { throw corrupt }
                    let n = readLength(arena, at: i)
                    guard i + 4 + n <= location + length else { throw corrupt }
                    row.appendField(UnsafeBufferPointer(rebasing: arena[(i + 4)..<(i + 4 + n)]))
                    i += 4 + n
                }
                // The key: several columns' 4-byte lengths become varints too.
                var key: [UInt8] = []
                let k = UnsafeBufferPointer(rebasing: keys[keyStart..<(keyStart + keyLength)])
                if parts == 1 {
                    key = Array(k)
                } else {
                    var j = 0
                    while j + 4 <= k.count {
                        let n = readLength(k, at: j)
                        guard j + 4 + n <= k.count else { throw corrupt }
                        key.appendField(UnsafeBufferPointer(rebasing: k[(j + 4)..<(j + 4 + n)]))
                        j += 4 + n
                    }
                }
                key.withUnsafeBufferPointer {
                    index.append(
                        key: $0, keyHash: keyHash, rowHash: RowCodec.hash(row), location: 0, rowLength: row.count,
                        sourceKeyHash: sourceKeyHash, inputHash: inputHash)
                }
                rows.append(row)
            }
            return (index, rows)
        }
        var converted = index
        let segment = try SegmentFile(temporaryIn: spoolFolder) { writer in
            for (i, row) in rows.enumerated() {
                converted.location[i] = RowIndex.location(segment: 0, offset: try writer.append(row))
            }
        }
        converted.sortByHash()
        var upgraded = meta
        upgraded.segments = [SegmentInfo(name: "(format 1 snapshot.bin)", bytes: segment.size)]
        return Snapshot(meta: upgraded, index: converted, segments: [segment], target: target)
    }
}
