@testable import DropfeedCore

/// A test helper: a keyed set of rows with the same columns, values packed in one byte arena,
/// plus the `KeyIndex` (key hash, row hash, where the row is) that `dropfeed diff` matches on —
/// so that the index can be tested on rows written by hand.
struct RowSet {
    let columns: [String]
    let keyPositions: [Int]
    var index: KeyIndex
    /// Rows one after another; each field is a 4-byte little-endian length and its UTF-8 bytes.
    var arena: [UInt8]

    init(columns: [String], keyPositions: [Int], capacity: Int = 0) {
        self.columns = columns
        self.keyPositions = keyPositions
        index = KeyIndex(capacity: capacity)
        arena = []
        arena.reserveCapacity(capacity * 64)
    }

    init(columns: [String], keyPositions: [Int], index: KeyIndex, arena: [UInt8]) {
        self.columns = columns
        self.keyPositions = keyPositions
        self.index = index
        self.arena = arena
    }

    var count: Int { index.entries.count }

    /// Appends a row (as many values as `columns`).
    mutating func append(_ row: [String], line: Int = 0, source: SourceLink = .none) {
        let start = arena.count
        var h = RowHash.seed
        for var value in row {
            value.withUTF8 { bytes in
                arena.appendLength(bytes.count)
                arena.append(contentsOf: bytes)
                h = RowHash.combine(h, bytes)
            }
        }
        let length = arena.count - start
        if keyPositions.count == 1 {
            // The common case: one key column, taken from the row as it is.
            var key = row[keyPositions[0]]
            key.withUTF8 { bytes in
                index.append(
                    partCount: 1, part: { _ in bytes }, rowHash: h, location: Int64(start), length: length,
                    line: line, source: source)
            }
            return
        }
        arena.withUnsafeBufferPointer { buffer in
            let starts = RowSet.fieldStarts(buffer, at: start, count: row.count)
            index.append(
                partCount: keyPositions.count,
                part: { k in
                    let s = starts[keyPositions[k]]
                    return UnsafeBufferPointer(rebasing: buffer[s.0..<(s.0 + s.1)])
                }, rowHash: h, location: Int64(start), length: length, line: line, source: source)
        }
    }

    /// Appends the row `entry` of `other` (same columns) as it is: its bytes, key and hashes.
    mutating func appendCopy(of entry: KeyEntry, from other: RowSet, line: Int, source: SourceLink) {
        let start = arena.count
        arena.append(contentsOf: other.rawRow(entry))
        let keyStart = index.keyBytes.count
        index.keyBytes.append(
            contentsOf: other.index.keyBytes[Int(entry.keyStart)..<Int(entry.keyStart + entry.keyLength)])
        var copy = entry
        copy.location = Int64(start)
        copy.keyStart = UInt32(keyStart)
        copy.line = UInt32(truncatingIfNeeded: line)
        copy.sourceKeyHash = source.keyHash
        copy.inputHash = source.inputHash
        index.entries.append(copy)
    }

    /// Makes room for this many bytes and entries in all, so appends do not reallocate.
    mutating func reserve(arena bytes: Int, entries: Int, keyBytes: Int) {
        arena.reserveCapacity(bytes)
        index.entries.reserveCapacity(entries)
        index.keyBytes.reserveCapacity(keyBytes)
    }

    /// Appends every row of `other` (same columns), keeping their order.
    mutating func append(contentsOf other: RowSet) {
        let arenaShift = Int64(arena.count)
        let keyShift = UInt32(index.keyBytes.count)
        arena.append(contentsOf: other.arena)
        index.keyBytes.append(contentsOf: other.index.keyBytes)
        index.entries.reserveCapacity(index.entries.count + other.index.entries.count)
        for var entry in other.index.entries {
            entry.location += arenaShift
            entry.keyStart += keyShift
            index.entries.append(entry)
        }
    }

    /// (offset, length) of each field of the row at `start`.
    private static func fieldStarts(_ buffer: UnsafeBufferPointer<UInt8>, at start: Int, count: Int) -> [(Int, Int)] {
        var out: [(Int, Int)] = []
        out.reserveCapacity(count)
        var i = start
        for _ in 0..<count {
            let n = readLength(buffer, at: i)
            out.append((i + 4, n))
            i += 4 + n
        }
        return out
    }

    /// The values of the row an entry points at.
    func row(_ entry: KeyEntry) -> [String] {
        arena.withUnsafeBufferPointer { buffer in
            RowSet.fieldStarts(buffer, at: Int(entry.location), count: columns.count).map {
                String(decoding: UnsafeBufferPointer(rebasing: buffer[$0.0..<($0.0 + $0.1)]), as: UTF8.self)
            }
        }
    }

    /// The raw bytes of a row (length-prefixed fields), to copy it into another set.
    func rawRow(_ entry: KeyEntry) -> ArraySlice<UInt8> {
        arena[Int(entry.location)..<(Int(entry.location) + Int(entry.length))]
    }

    /// Entry positions ordered by key, comparing key values component by component as bytes.
    ///
    /// Sorts on the first eight bytes of the first key component (as a big-endian number, which
    /// orders like the bytes) and compares whole keys only where those are equal.
    func keyOrder(_ positions: [Int]? = nil) -> [Int] {
        let all = positions ?? Array(index.entries.indices)
        let parts = keyPositions.count
        return index.keyBytes.withUnsafeBufferPointer { keys in
            let entries = index.entries
            var tagged = all.map { (RowSet.keyPrefix(keys, entries[$0], parts: parts), $0) }
            tagged.sort { $0.0 < $1.0 }
            var i = 0
            while i < tagged.count {
                var j = i + 1
                while j < tagged.count && tagged[j].0 == tagged[i].0 { j += 1 }
                if j - i > 1 {
                    tagged[i..<j].sort { RowSet.keyLess(keys, entries[$0.1], keys, entries[$1.1], parts: parts) }
                }
                i = j
            }
            return tagged.map(\.1)
        }
    }

    /// The first eight bytes of the key's first component, zero-padded, as a big-endian number.
    private static func keyPrefix(_ keys: UnsafeBufferPointer<UInt8>, _ e: KeyEntry, parts: Int) -> UInt64 {
        var start = Int(e.keyStart)
        var length = Int(e.keyLength)
        if parts > 1 {
            length = readLength(keys, at: start)
            start += 4
        }
        var v: UInt64 = 0
        for k in 0..<8 { v = v << 8 | UInt64(k < length ? keys[start + k] : 0) }
        return v
    }

    /// Whether key `a` sorts before key `b` (component-wise byte order).
    static func keyLess(
        _ ka: UnsafeBufferPointer<UInt8>, _ a: KeyEntry, _ kb: UnsafeBufferPointer<UInt8>, _ b: KeyEntry,
        parts: Int
    ) -> Bool {
        if parts == 1 { return KeyIndex.compare(ka, a, kb, b) < 0 }
        var i = Int(a.keyStart)
        var j = Int(b.keyStart)
        let endA = i + Int(a.keyLength)
        let endB = j + Int(b.keyLength)
        while i < endA && j < endB {
            let na = readLength(ka, at: i)
            let nb = readLength(kb, at: j)
            i += 4
            j += 4
            let n = min(na, nb)
            for k in 0..<n where ka[i + k] != kb[j + k] { return ka[i + k] < kb[j + k] }
            if na != nb { return na < nb }
            i += na
            j += nb
        }
        return endA - i < endB - j
    }
}
