/// One row of a keyed table, reduced to what matching needs: 56 bytes, whatever the row's width.
struct KeyEntry {
    var keyHash: UInt64
    var rowHash: UInt64
    /// Where the key's bytes are in `KeyIndex.keyBytes`.
    var keyStart: UInt32
    var keyLength: UInt32
    /// Where the row can be read again (a file offset, or a row number).
    var location: Int64
    var length: UInt32
    /// The row's record number (0-based) or physical line, for messages.
    var line: UInt32
    /// In a snapshot: the hash of the source key of the export row this row was mapped from,
    /// and of everything the mapping read for it (the raw record and its lookups); 0 when the
    /// row was carried over unmapped. Lets an unchanged export row reuse its mapped row.
    var sourceKeyHash: UInt64 = 0
    var inputHash: UInt64 = 0
}

/// Which export row a mapped row came from, and a hash of all its mapping read (see `KeyEntry`).
struct SourceLink: Equatable {
    var keyHash: UInt64
    var inputHash: UInt64

    static let none = SourceLink(keyHash: 0, inputHash: 0)
}

/// The keys and row hashes of a table, sorted by key hash, for a merge against another one.
///
/// Memory is the entries plus the key bytes: a million rows of any width take about 50 MB.
struct KeyIndex {
    var entries: [KeyEntry] = []
    var keyBytes: [UInt8] = []

    init() {}

    init(capacity: Int) {
        entries.reserveCapacity(capacity)
        keyBytes.reserveCapacity(capacity * 8)
    }

    /// Appends a row whose key is `partCount` byte strings (length-prefixed when several).
    @inline(__always)
    mutating func append(
        partCount: Int, part: (Int) -> UnsafeBufferPointer<UInt8>, rowHash: UInt64,
        location: Int64, length: Int, line: Int, source: SourceLink = .none
    ) {
        let start = keyBytes.count
        var h = RowHash.seed
        if partCount == 1 {
            let field = part(0)
            keyBytes.append(contentsOf: field)
            h = RowHash.combine(h, field)
        } else {
            for k in 0..<partCount {
                let field = part(k)
                keyBytes.appendLength(field.count)
                keyBytes.append(contentsOf: field)
                h = RowHash.combine(h, field)
            }
        }
        entries.append(
            KeyEntry(
                keyHash: h, rowHash: rowHash, keyStart: UInt32(start), keyLength: UInt32(keyBytes.count - start),
                location: location, length: UInt32(length), line: UInt32(truncatingIfNeeded: line),
                sourceKeyHash: source.keyHash, inputHash: source.inputHash))
    }

    /// Sorts by key hash, then by key bytes, so equal keys are adjacent and two indexes merge.
    ///
    /// An LSD radix sort on the 64-bit hash (four 16-bit digits), then a comparison sort only
    /// inside the rare runs of equal hashes.
    mutating func sort() {
        let n = entries.count
        guard n > 1 else { return }
        let keys = [UInt64](unsafeUninitializedCapacity: n) { buffer, count in
            for i in 0..<n { buffer[i] = entries[i].keyHash }
            count = n
        }
        let order = radixOrder(keys)
        let old = entries
        entries = order.map { old[Int($0)] }
        // Equal hashes (the same key repeated, or a collision): order them by key bytes.
        let bytes = keyBytes
        bytes.withUnsafeBufferPointer { k in
            var i = 0
            while i < n {
                var j = i + 1
                while j < n && entries[j].keyHash == entries[i].keyHash { j += 1 }
                if j - i > 1 {
                    entries[i..<j].sort { KeyIndex.compare(k, $0, k, $1) < 0 }
                }
                i = j
            }
        }
    }

    /// Compares two keys' bytes (memcmp order, shorter first on a tie).
    @inline(__always)
    static func compare(
        _ ka: UnsafeBufferPointer<UInt8>, _ a: KeyEntry, _ kb: UnsafeBufferPointer<UInt8>, _ b: KeyEntry
    ) -> Int {
        let n = Int(min(a.keyLength, b.keyLength))
        let pa = ka.baseAddress! + Int(a.keyStart)
        let pb = kb.baseAddress! + Int(b.keyStart)
        for i in 0..<n where pa[i] != pb[i] { return pa[i] < pb[i] ? -1 : 1 }
        return Int(a.keyLength) - Int(b.keyLength)
    }

    /// Pairs of entries (first, repeat) with the same key, up to `limit`. Call after `sort()`.
    func duplicates(limit: Int) -> [(KeyEntry, KeyEntry)] {
        var found: [(KeyEntry, KeyEntry)] = []
        keyBytes.withUnsafeBufferPointer { k in
            var i = 1
            while i < entries.count && found.count < limit {
                let a = entries[i - 1]
                let b = entries[i]
                if a.keyHash == b.keyHash && KeyIndex.compare(k, a, k, b) == 0 {
                    found.append(a.line <= b.line ? (a, b) : (b, a))
                }
                i += 1
            }
        }
        return found
    }

    /// The key's component values, decoded from the stored bytes.
    func keyParts(_ entry: KeyEntry, componentCount: Int) -> [[UInt8]] {
        let slice = keyBytes[Int(entry.keyStart)..<Int(entry.keyStart + entry.keyLength)]
        if componentCount == 1 { return [Array(slice)] }
        var parts: [[UInt8]] = []
        var i = slice.startIndex
        while i < slice.endIndex {
            let n = readLength(slice, at: i)
            parts.append(Array(slice[(i + 4)..<(i + 4 + n)]))
            i += 4 + n
        }
        return parts
    }
}

/// What a merge of two sorted indexes found, as positions in their `entries`.
struct KeyMatch {
    var onlyOld: [Int] = []
    var onlyNew: [Int] = []
    var changed: [(old: Int, new: Int)] = []
    var unchanged = 0
}

extension KeyIndex {
    /// Merges two sorted indexes by key: rows only in one, rows in both whose hash differs.
    static func match(old: KeyIndex, new: KeyIndex) -> KeyMatch {
        var result = KeyMatch()
        old.keyBytes.withUnsafeBufferPointer { ko in
            new.keyBytes.withUnsafeBufferPointer { kn in
                let a = old.entries
                let b = new.entries
                var i = 0
                var j = 0
                while i < a.count && j < b.count {
                    let x = a[i]
                    let y = b[j]
                    let order: Int
                    if x.keyHash != y.keyHash {
                        order = x.keyHash < y.keyHash ? -1 : 1
                    } else {
                        order = compare(ko, x, kn, y)
                    }
                    if order < 0 {
                        result.onlyOld.append(i)
                        i += 1
                    } else if order > 0 {
                        result.onlyNew.append(j)
                        j += 1
                    } else {
                        if x.rowHash != y.rowHash { result.changed.append((i, j)) } else { result.unchanged += 1 }
                        i += 1
                        j += 1
                    }
                }
                while i < a.count {
                    result.onlyOld.append(i)
                    i += 1
                }
                while j < b.count {
                    result.onlyNew.append(j)
                    j += 1
                }
            }
        }
        return result
    }
}
