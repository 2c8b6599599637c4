import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The on-disk format of snapshots (format 2), read and written explicitly — never the memory
/// layout of a Swift struct — so a later release can add a field without making every existing
/// snapshot unreadable.
///
/// A snapshot is `meta.json`, an `index.bin` (what identifies and compares each row: key and row
/// hashes, where the row is, the key bytes) and the row *segments* it points into. Segments are
/// immutable and shared: a night that changed 5% of the rows writes a segment with those rows
/// only, and its index points at the earlier segments for the rest ("changes against a base").
/// When most of the bytes its segments hold are no longer used, a snapshot is compacted into one
/// new segment.
enum SnapshotFormat {
    static let version: UInt32 = 2
    static let indexMagic = Array("DFIDX\0\0\u{2}".utf8)
    static let segmentMagic = Array("DFSEG\0\0\u{2}".utf8)
    static let indexHeaderSize = 40
}

/// One segment a snapshot uses: its file name (in the target's `segments/` folder, or in a
/// pending or saved snapshot's own folder until it is committed) and size.
public struct SegmentInfo: Codable, Sendable, Equatable {
    public var name: String
    public var bytes: Int
}

/// Encoded rows: each field a varint length and its UTF-8 bytes.
enum RowCodec {
    static func hash(_ row: UnsafeBufferPointer<UInt8>) -> UInt64 { RowHash.combine(RowHash.seed, row) }

    static func hash(_ row: [UInt8]) -> UInt64 { row.withUnsafeBufferPointer { hash($0) } }
}

// MARK: - Segments

/// Appends encoded rows to a new segment file (created exclusively, 0600).
final class SegmentWriter {
    let path: String
    private let fd: Int32
    private var buffer: [UInt8] = []
    /// Bytes in the file so far, header included: the offset the next row gets.
    private(set) var size: Int

    init(path: String) throws {
        self.path = path
        fd = try FileSystem.createNew(path)
        buffer = SnapshotFormat.segmentMagic
        buffer.reserveCapacity(1 << 20)
        size = buffer.count
    }

    deinit { close(fd) }

    /// Appends one encoded row; returns its offset.
    func append(_ row: UnsafeBufferPointer<UInt8>) throws -> Int {
        let offset = size
        buffer.append(contentsOf: row)
        size += row.count
        if buffer.count >= 1 << 20 { try flush() }
        return offset
    }

    func append(_ row: [UInt8]) throws -> Int { try row.withUnsafeBufferPointer { try append($0) } }

    private func flush() throws {
        try FileSystem.writeAll(fd, buffer, path: path)
        buffer.removeAll(keepingCapacity: true)
    }

    /// Writes what is buffered and syncs the file.
    func finish() throws {
        try flush()
        guard fsync(fd) == 0 else { throw StateError("cannot sync \(path): \(FileSystem.errnoText())") }
    }
}

/// Reads rows from a snapshot's segments by location, each checked against its row hash.
///
/// Reads go through a one-block cache: rows read in the order they were written cost one
/// `pread` per 256 KB; a row read out of order (a key-ordered file from a segment written in
/// export order) costs one `pread` of 4 KB, not of a large block it will not use. Not shared between threads: each thread makes its own (`Snapshot.rowReader()`).
final class RowReader: @unchecked Sendable {
    private let files: [SegmentFile]
    private let target: String
    private var blockSegment = -1
    private var blockStart = 0
    private var block: [UInt8] = []
    private var blockValid = 0
    private var lastSegment = -1
    private var lastEnd = -1
    private static let blockSize = 256 << 10

    /// Each file's bytes mapped into memory, when `mapUpTo` allowed it.
    private var mapped: [UnsafeRawBufferPointer] = []

    /// A reader of the rows in `files`. When the files hold no more than `mapUpTo` bytes in all
    /// they are mapped into memory (rows read in key order then cost a page fault per page, not a
    /// read per row); otherwise rows are read with `pread`.
    init(files: [SegmentFile], target: String, mapUpTo: Int = 0) {
        self.files = files
        self.target = target
        if !files.isEmpty, files.reduce(0, { $0 + $1.size }) <= mapUpTo {
            for file in files {
                guard file.size > 0, let base = mmap(nil, file.size, PROT_READ, MAP_PRIVATE, file.fd, 0),
                    base != MAP_FAILED
                else {
                    unmap()
                    return
                }
                mapped.append(UnsafeRawBufferPointer(start: base, count: file.size))
            }
        }
    }

    /// A reader for another thread: this one when its files are mapped (reading them then
    /// changes nothing, so threads can share it), else a new one of the same files.
    func forAnotherThread() -> RowReader {
        mapped.isEmpty ? RowReader(files: files, target: target) : self
    }

    private func unmap() {
        for region in mapped { munmap(UnsafeMutableRawPointer(mutating: region.baseAddress), region.count) }
        mapped = []
    }

    deinit { unmap() }

    /// The encoded bytes of the row at `location` (`length` bytes), checked against `hash`.
    func withRow<T>(
        location: UInt64, length: Int, hash: UInt64, _ body: (UnsafeBufferPointer<UInt8>) throws -> T
    ) throws -> T {
        let segment = RowIndex.segment(of: location)
        let offset = RowIndex.offset(of: location)
        guard segment < files.count, offset + length <= files[segment].size else {
            throw corrupt("a row points past the end of segment \(segment)")
        }
        if !mapped.isEmpty {
            let row = UnsafeBufferPointer(
                start: mapped[segment].baseAddress!.advanced(by: offset).assumingMemoryBound(to: UInt8.self),
                count: length)
            guard RowCodec.hash(row) == hash else { throw corrupt("a row does not match its hash") }
            return try body(row)
        }
        if segment != blockSegment || offset < blockStart || offset + length > blockStart + blockValid {
            let start = offset
            // Reading on from where the last row ended: a large block serves the rows after it.
            // Anywhere else (rows wanted in key order from a segment written in export order):
            // the row alone, since its neighbours are unlikely to be wanted next.
            let sequential = segment == lastSegment && offset == lastEnd
            let want = sequential ? max(length, RowReader.blockSize) : length
            let count = min(want, files[segment].size - start)
            if block.count < count { block = [UInt8](repeating: 0, count: max(count, RowReader.blockSize)) }
            try block.withUnsafeMutableBytes { raw in
                try FileSystem.readAll(
                    files[segment].fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<count]), at: start,
                    path: files[segment].path)
            }
            blockSegment = segment
            blockStart = start
            blockValid = count
        }
        lastSegment = segment
        lastEnd = offset + length
        return try block.withUnsafeBufferPointer { all in
            let row = UnsafeBufferPointer(rebasing: all[(offset - blockStart)..<(offset - blockStart + length)])
            guard RowCodec.hash(row) == hash else { throw corrupt("a row does not match its hash") }
            return try body(row)
        }
    }

    /// The decoded values of a row of `columns` fields.
    func values(location: UInt64, length: Int, hash: UInt64, columns: Int) throws -> [String] {
        try withRow(location: location, length: length, hash: hash) { row in
            guard let values = decodeFields(UnsafeRawBufferPointer(row), count: columns) else {
                throw corrupt("a row does not decode")
            }
            return values
        }
    }

    private func corrupt(_ what: String) -> StateError {
        StateError(
            "snapshot of target `\(target)` is corrupt (\(what)); restore it with `dropfeed state rollback \(target)` "
                + "or send everything again after `dropfeed state reset \(target)`")
    }
}

/// An open segment file.
final class SegmentFile: @unchecked Sendable {
    let path: String
    let fd: Int32
    let size: Int
    /// Whether the file has no name (a converted older snapshot): its rows must be copied into
    /// the next snapshot's own segment.
    let isTemporary: Bool

    init(path: String, expectedSize: Int?, target: String) throws {
        self.path = path
        fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            throw StateError(
                "snapshot segment \(path) of target `\(target)` is missing: the state is damaged (`dropfeed state reset \(target)` sends everything again)"
            )
        }
        var st = stat()
        fstat(fd, &st)
        size = Int(st.st_size)
        isTemporary = false
        var magic = [UInt8](repeating: 0, count: SnapshotFormat.segmentMagic.count)
        let n = magic.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, $0.count, 0) }
        guard n == magic.count, magic == SnapshotFormat.segmentMagic, expectedSize.map({ $0 == size }) ?? true else {
            close(fd)
            throw StateError(
                "snapshot segment \(path) of target `\(target)` is corrupt (\(size) bytes); restore it with `dropfeed state rollback \(target)` or `dropfeed state reset \(target)`"
            )
        }
    }

    /// A temporary, unlinked segment holding `rows` (encoded, one after another).
    init(temporaryIn folder: String, writing body: (SegmentWriter) throws -> Void) throws {
        let path = folder + "/.segment-" + FileSystem.randomSuffix()
        let writer = try SegmentWriter(path: path)
        defer { unlink(path) }
        try body(writer)
        try writer.finish()
        fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw StateError("cannot reopen \(path): \(FileSystem.errnoText())") }
        self.path = path
        size = writer.size
        isTemporary = true
    }

    deinit { close(fd) }
}

// MARK: - Index

/// The rows of an index as `index.bin` is written from them: a `RowIndex`, or the merge of a
/// kept part of one snapshot with the rows mapped in a run (`MergedIndex`), read row by row.
protocol IndexRows {
    var count: Int { get }
    var keyParts: Int { get }
    func keyHash(_ k: Int) -> UInt64
    func rowHash(_ k: Int) -> UInt64
    func location(_ k: Int) -> UInt64
    func rowLength(_ k: Int) -> UInt32
    func sourceKeyHash(_ k: Int) -> UInt64
    func inputHash(_ k: Int) -> UInt64
    func withKey<T>(_ k: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> T) rethrows -> T
}

extension RowIndex: IndexRows {
    func keyHash(_ k: Int) -> UInt64 { keyHash[k] }
    func rowHash(_ k: Int) -> UInt64 { rowHash[k] }
    func location(_ k: Int) -> UInt64 { location[k] }
    func rowLength(_ k: Int) -> UInt32 { rowLength[k] }
    func sourceKeyHash(_ k: Int) -> UInt64 { sourceKeyHash[k] }
    func inputHash(_ k: Int) -> UInt64 { inputHash[k] }

    /// Writes the index as `index.bin`.
    func write(to path: String) throws -> (bytes: Int, checksum: String) { try writeIndex(self, to: path) }
}

/// Writes `rows` as `index.bin` (format 2): a header (magic, version, key parts, row count, key
/// bytes), the columns one after another, each streamed through a buffer — row hashes,
/// locations (UInt64), row lengths, key ends (UInt32), source key hashes, input hashes (UInt64)
/// — then the key bytes and a checksum of it all (key hashes are not stored: reading computes
/// them from the keys). Returns the file's size and checksum (hex).
func writeIndex<R: IndexRows>(_ rows: R, to path: String) throws -> (bytes: Int, checksum: String) {
    let n = rows.count
    var keyTotal = 0
    for k in 0..<n { keyTotal += rows.withKey(k) { $0.count } }
    guard keyTotal < Int(UInt32.max) else { throw StateError("the keys of \(path) take more than 4 GB") }
    var header = SnapshotFormat.indexMagic
    header.appendLE(SnapshotFormat.version)
    header.appendLE(UInt32(rows.keyParts))
    header.appendLE(UInt64(n))
    header.appendLE(UInt64(keyTotal))
    header.appendLE(UInt64(0))
    var hasher = StreamHash()
    var h: UInt64 = 0
    var size = 0
    try FileSystem.writeAtomically(path) { fd, temp in
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 20)
        func flush() throws {
            hasher.update(buffer)
            try FileSystem.writeAll(fd, buffer, path: temp)
            size += buffer.count
            buffer.removeAll(keepingCapacity: true)
        }
        func column<T: FixedWidthInteger>(_ value: (Int) -> T) throws {
            for k in 0..<n {
                buffer.appendLE(value(k))
                if buffer.count >= 1 << 20 { try flush() }
            }
            try flush()
        }
        buffer = header
        try flush()
        try column { rows.rowHash($0) }
        try column { rows.location($0) }
        try column { rows.rowLength($0) }
        var end: UInt32 = 0
        try column { k in
            end += UInt32(rows.withKey(k) { $0.count })
            return end
        }
        try column { rows.sourceKeyHash($0) }
        try column { rows.inputHash($0) }
        for k in 0..<n {
            rows.withKey(k) { buffer.append(contentsOf: $0) }
            if buffer.count >= 1 << 20 { try flush() }
        }
        try flush()
        h = hasher.finish()
        var trailer: [UInt8] = []
        trailer.appendLE(h)
        try FileSystem.writeAll(fd, trailer, path: temp)
        size += trailer.count
    }
    return (size, hex64(h))
}

extension RowIndex {
    /// Reads an `index.bin` written by `write(to:)`, checking its size and checksum.
    static func read(from path: String, expectedChecksum: String, target: String) throws -> RowIndex {
        let corrupt = StateError(
            "snapshot index \(path) of target `\(target)` is corrupt; restore it with `dropfeed state rollback \(target)` "
                + "or send everything again after `dropfeed state reset \(target)`")
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw StateError("snapshot index \(path) is missing: the state is damaged") }
        defer { close(fd) }
        var st = stat()
        fstat(fd, &st)
        let fileSize = Int(st.st_size)
        guard fileSize >= SnapshotFormat.indexHeaderSize + 8 else { throw corrupt }
        var header = [UInt8](repeating: 0, count: SnapshotFormat.indexHeaderSize)
        try header.withUnsafeMutableBytes { try FileSystem.readAll(fd, into: $0, at: 0, path: path) }
        guard Array(header[0..<8]) == SnapshotFormat.indexMagic else { throw corrupt }
        let version = header.readLE(UInt32.self, at: 8)
        guard version == SnapshotFormat.version else {
            throw StateError(
                "snapshot index \(path) has format \(version), which this dropfeed (\(dropfeedVersion)) does not read; use a newer dropfeed"
            )
        }
        let parts = Int(header.readLE(UInt32.self, at: 12))
        // Bounded before they become Ints: a corrupted count above Int.max would trap (found by
        // `make fuzz`, Tests/Fuzz/regressions/snapshot/).
        let rawCount = header.readLE(UInt64.self, at: 16)
        let rawKeyCount = header.readLE(UInt64.self, at: 24)
        guard rawCount < 1 << 40, rawKeyCount < 1 << 40 else { throw corrupt }
        let n = Int(rawCount)
        let keyCount = Int(rawKeyCount)
        guard parts >= 1, n >= 0, keyCount >= 0,
            SnapshotFormat.indexHeaderSize + n * (8 * 4 + 4 * 2) + keyCount + 8 == fileSize
        else { throw corrupt }
        var hasher = StreamHash()
        hasher.update(header)
        var offset = SnapshotFormat.indexHeaderSize
        func column<T: FixedWidthInteger>(_ type: T.Type, _ count: Int, hashed: Bool = true) throws -> [T] {
            let bytes = count * MemoryLayout<T>.size
            let values = try [T](unsafeUninitializedCapacity: count) { buffer, filled in
                let raw = UnsafeMutableRawBufferPointer(buffer)
                try FileSystem.readAll(fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<bytes]), at: offset, path: path)
                if hashed { hasher.update(UnsafeRawBufferPointer(rebasing: raw[0..<bytes])) }
                filled = count
            }
            offset += bytes
            return values.map { T(littleEndian: $0) }
        }
        var index = RowIndex(keyParts: parts)
        index.rowHash = try column(UInt64.self, n)
        index.location = try column(UInt64.self, n)
        index.rowLength = try column(UInt32.self, n)
        index.keyEnds = try column(UInt32.self, n)
        index.sourceKeyHash = try column(UInt64.self, n)
        index.inputHash = try column(UInt64.self, n)
        index.keyBytes = try column(UInt8.self, keyCount)
        let h = hasher.finish()
        let trailer = try column(UInt64.self, 1, hashed: false)[0]
        guard trailer == h, hex64(h) == expectedChecksum else { throw corrupt }
        var previous: UInt32 = 0
        for end in index.keyEnds {
            guard end >= previous, Int(end) <= keyCount else { throw corrupt }
            previous = end
        }
        guard n == 0 || Int(previous) == keyCount else { throw corrupt }
        // The key hashes are not stored (an eighth of the file): they are the keys' hashes.
        index.keyHash = [UInt64](unsafeUninitializedCapacity: n) { buffer, filled in
            for i in 0..<n { buffer[i] = index.withKey(i) { RowIndex.keyHash(keyBytes: $0, parts: parts) } }
            filled = n
        }
        return index
    }
}

/// Sixteen hex digits.
func hex64(_ v: UInt64) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: 16 - s.count) + s
}

extension Array where Element == UInt8 {
    mutating func appendLE<T: FixedWidthInteger>(_ v: T) {
        var x = v.littleEndian
        for _ in 0..<MemoryLayout<T>.size {
            append(UInt8(truncatingIfNeeded: x))
            x = x >> 8
        }
    }

    func readLE<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T {
        var v: T = 0
        for k in 0..<MemoryLayout<T>.size { v |= T(self[offset + k]) << (8 * k) }
        return v
    }
}

extension Array where Element: FixedWidthInteger {
    /// The elements as little-endian bytes (as they are, on a little-endian machine).
    func withLittleEndianBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        #if _endian(little)
            return try withUnsafeBytes(body)
        #else
            return try map { $0.littleEndian }.withUnsafeBytes(body)
        #endif
    }
}
