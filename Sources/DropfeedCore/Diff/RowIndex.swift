/// What identifies and compares each row of a keyed set, column by column, and where its
/// bytes are — never the rows themselves.
///
/// About 48 bytes a row plus the key's bytes, whatever the row's width: a snapshot's index, or
/// the rows a plan mapped afresh. `location` packs the ordinal of the segment holding the row
/// (high 16 bits) and its byte offset there (low 48 bits).
struct RowIndex: Sendable {
    var keyHash: [UInt64] = []
    /// The hash of the row's encoded values (`RowCodec`): equal hashes, equal rows.
    var rowHash: [UInt64] = []
    var location: [UInt64] = []
    var rowLength: [UInt32] = []
    /// Where each key ends in `keyBytes`; it starts where the previous one ends.
    var keyEnds: [UInt32] = []
    /// One key column: its bytes; several: encoded fields (varint length + bytes).
    var keyBytes: [UInt8] = []
    /// The hash of the source key of the export row the row was mapped from (0 when carried
    /// over unmapped), and of everything its mapping read: while both match, the export row
    /// gets this row back without being mapped again.
    var sourceKeyHash: [UInt64] = []
    var inputHash: [UInt64] = []
    /// The export line of each row (rows mapped in this run; empty for a loaded snapshot).
    var line: [UInt32] = []
    /// How many key columns (1: `keyBytes` holds raw bytes).
    let keyParts: Int

    init(keyParts: Int) { self.keyParts = keyParts }

    var count: Int { keyHash.count }

    static func location(segment: Int, offset: Int) -> UInt64 { UInt64(segment) << 48 | UInt64(offset) }
    static func segment(of location: UInt64) -> Int { Int(location >> 48) }
    static func offset(of location: UInt64) -> Int { Int(location & 0xFFFF_FFFF_FFFF) }

    mutating func reserve(_ n: Int) {
        keyHash.reserveCapacity(n)
        rowHash.reserveCapacity(n)
        location.reserveCapacity(n)
        rowLength.reserveCapacity(n)
        keyEnds.reserveCapacity(n)
        sourceKeyHash.reserveCapacity(n)
        inputHash.reserveCapacity(n)
    }

    /// Appends a row whose key bytes are `key` (already in `keyBytes` form).
    mutating func append(
        key: UnsafeBufferPointer<UInt8>, keyHash: UInt64, rowHash: UInt64, location: UInt64, rowLength: Int,
        sourceKeyHash: UInt64, inputHash: UInt64, line: Int? = nil
    ) {
        self.keyHash.append(keyHash)
        self.rowHash.append(rowHash)
        self.location.append(location)
        self.rowLength.append(UInt32(rowLength))
        keyBytes.append(contentsOf: key)
        keyEnds.append(UInt32(keyBytes.count))
        self.sourceKeyHash.append(sourceKeyHash)
        self.inputHash.append(inputHash)
        if let line { self.line.append(UInt32(truncatingIfNeeded: line)) }
    }

    /// Appends row `i` of `other` as it is.
    mutating func append(_ i: Int, of other: RowIndex) {
        other.withKey(i) { key in
            append(
                key: key, keyHash: other.keyHash[i], rowHash: other.rowHash[i], location: other.location[i],
                rowLength: Int(other.rowLength[i]), sourceKeyHash: other.sourceKeyHash[i],
                inputHash: other.inputHash[i], line: other.line.isEmpty ? nil : Int(other.line[i]))
        }
    }

    @inline(__always)
    func keyRange(_ i: Int) -> Range<Int> { (i == 0 ? 0 : Int(keyEnds[i - 1]))..<Int(keyEnds[i]) }

    @inline(__always)
    func withKey<T>(_ i: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> T) rethrows -> T {
        try keyBytes.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[keyRange(i)])) }
    }

    /// The key's values (one per key column).
    func keyValues(_ i: Int) -> [String] {
        withKey(i) { RowIndex.keyValues($0, parts: keyParts) }
    }

    static func keyValues(_ bytes: UnsafeBufferPointer<UInt8>, parts: Int) -> [String] {
        if parts == 1 { return [String(decoding: bytes, as: UTF8.self)] }
        var cursor = FieldCursor(bytes, from: 0, to: bytes.count)
        var out: [String] = []
        while let field = cursor.next() { out.append(String(decoding: field, as: UTF8.self)) }
        return out
    }

    /// The `keyBytes` form of key values.
    static func keyBytes(_ values: [String]) -> [UInt8] {
        var out: [UInt8] = []
        if values.count == 1 { return Array(values[0].utf8) }
        for v in values { out.appendField(v) }
        return out
    }

    /// The key hash of a key in its `keyBytes` form (the same as `keyHash` of its values).
    static func keyHash(keyBytes bytes: UnsafeBufferPointer<UInt8>, parts: Int) -> UInt64 {
        if parts == 1 { return RowHash.combine(RowHash.seed, bytes) }
        var h = RowHash.seed
        var cursor = FieldCursor(bytes, from: 0, to: bytes.count)
        while let field = cursor.next() { h = RowHash.combine(h, field) }
        return h
    }

    /// The key hash of key values (the hash chained over each value's bytes).
    static func keyHash(_ values: [String]) -> UInt64 {
        var h = RowHash.seed
        for v in values {
            var s = v
            h = s.withUTF8 { RowHash.combine(h, $0) }
        }
        return h
    }

    /// Whether row `i` here and row `j` of `other` have the same key.
    @inline(__always)
    func sameKey(_ i: Int, _ other: RowIndex, _ j: Int) -> Bool {
        keyHash[i] == other.keyHash[j] && withKey(i) { a in other.withKey(j) { b in a.elementsEqual(b) } }
    }

    /// Hash order, then key bytes: the order in which two indexes merge.
    @inline(__always)
    func hashOrder(_ i: Int, _ other: RowIndex, _ j: Int) -> Int {
        if keyHash[i] != other.keyHash[j] { return keyHash[i] < other.keyHash[j] ? -1 : 1 }
        return withKey(i) { a in other.withKey(j) { b in compareBytes(a, b) } }
    }

    /// Sorts the rows by key hash, then key bytes (an LSD radix sort on the hash; ties, which are
    /// the same key repeated or a collision, by bytes).
    mutating func sortByHash() {
        let n = count
        guard n > 1 else { return }
        var order = radixOrder(keyHash)
        var i = 0
        while i < n {
            var j = i + 1
            while j < n && keyHash[Int(order[j])] == keyHash[Int(order[i])] { j += 1 }
            if j - i > 1 {
                order[i..<j].sort { a, b in withKey(Int(a)) { x in withKey(Int(b)) { y in compareBytes(x, y) < 0 } } }
            }
            i = j
        }
        permute(order)
    }

    /// Reorders every column by `order` (new position k holds old row `order[k]`).
    mutating func permute(_ order: [UInt32]) {
        func reordered<T>(_ a: [T]) -> [T] { order.map { a[Int($0)] } }
        keyHash = reordered(keyHash)
        rowHash = reordered(rowHash)
        location = reordered(location)
        rowLength = reordered(rowLength)
        sourceKeyHash = reordered(sourceKeyHash)
        inputHash = reordered(inputHash)
        if !line.isEmpty { line = reordered(line) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(keyBytes.count)
        var ends: [UInt32] = []
        ends.reserveCapacity(order.count)
        keyBytes.withUnsafeBufferPointer { all in
            for k in order {
                bytes.append(contentsOf: all[keyRange(Int(k))])
                ends.append(UInt32(bytes.count))
            }
        }
        keyBytes = bytes
        keyEnds = ends
    }

    /// Pairs of rows with the same key (after `sortByHash`), at most `limit`.
    func duplicates(limit: Int) -> [(Int, Int)] {
        var found: [(Int, Int)] = []
        var i = 1
        while i < count && found.count < limit {
            if sameKey(i - 1, self, i) { found.append((i - 1, i)) }
            i += 1
        }
        return found
    }

    /// Whether key `a` sorts before key `b` in the order files are written: key columns one by
    /// one, each compared by its UTF-8 bytes.
    static func keyLess(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>, parts: Int) -> Bool {
        if parts == 1 { return compareBytes(a, b) < 0 }
        var x = FieldCursor(a, from: 0, to: a.count)
        var y = FieldCursor(b, from: 0, to: b.count)
        while let p = x.next() {
            guard let q = y.next() else { return false }
            let c = compareBytes(p, q)
            if c != 0 { return c < 0 }
        }
        return !y.atEnd
    }

    /// An order-preserving 64-bit prefix of key `i`: if `prefix(a) < prefix(b)` then key a sorts
    /// before key b (equal prefixes say nothing; the keys are then compared further).
    ///
    /// `composite` reads the key as its values separated by a zero byte — which tells apart keys
    /// of several values whose first value is short (a site code) — and reports `false` in
    /// `usable` when a value byte inside the eight read is zero itself (then the separator could
    /// be mistaken for it: the caller uses the first value's bytes for every row). `offset` reads
    /// the eight bytes from there on, for keys whose first eight bytes are equal.
    func keyPrefix(_ i: Int, composite: Bool, offset: Int = 0, usable: inout Bool) -> UInt64 {
        withKey(i) { bytes in
            var v: UInt64 = 0
            if keyParts == 1 || !composite {
                var first = bytes
                if keyParts > 1 {
                    var cursor = FieldCursor(bytes, from: 0, to: bytes.count)
                    first = cursor.next() ?? first
                }
                for k in offset..<(offset + 8) { v = v << 8 | UInt64(k < first.count ? first[k] : 0) }
                return v
            }
            // Position in the packed key (values and separators) and how many of its bytes are taken.
            var position = 0
            var taken = 0
            var cursor = FieldCursor(bytes, from: 0, to: bytes.count)
            var firstField = true
            while taken < 8, let field = cursor.next() {
                if !firstField {
                    if position >= offset {
                        v = v << 8
                        taken += 1
                    }
                    position += 1
                }
                firstField = false
                if position + field.count <= offset {
                    position += field.count
                    continue
                }
                for b in field[(field.startIndex + max(0, offset - position))...] where taken < 8 {
                    if b == 0 { usable = false }
                    v = v << 8 | UInt64(b)
                    taken += 1
                }
                position += field.count
            }
            while taken < 8 {
                v = v << 8
                taken += 1
            }
            return v
        }
    }

    /// The length of key `i` as `keyPrefix` reads it (values and their separators, or the first value).
    func keyPrefixLength(_ i: Int, composite: Bool) -> Int {
        withKey(i) { bytes in
            if keyParts == 1 { return bytes.count }
            var cursor = FieldCursor(bytes, from: 0, to: bytes.count)
            if !composite { return cursor.next()?.count ?? 0 }
            var length = -1
            while let field = cursor.next() { length += field.count + 1 }
            return max(0, length)
        }
    }
}

/// Sorts the runs of `order` whose `prefixes` are equal into full key order: each run of more than
/// a few rows by the keys' next eight bytes (`prefix(position, offset)`, nil when that cannot be
/// used for a row; `length(position)` is how many bytes it has to read), run by run, and by
/// `less` (the whole keys) only where that gives out — so a composite key with a long first value
/// (a city name) is still sorted by radix and integer sorts, not by comparisons.
func orderTies(
    _ order: inout [UInt32], prefixes: [UInt64], prefix: (UInt32, Int) -> UInt64?, length: (UInt32) -> Int,
    less: (UInt32, UInt32) -> Bool
) {
    var i = 0
    while i < order.count {
        var j = i + 1
        let p = prefixes[Int(order[i])]
        while j < order.count && prefixes[Int(order[j])] == p { j += 1 }
        if j - i > 1 { refineTies(&order, i..<j, offset: 8, prefix: prefix, length: length, less: less) }
        i = j
    }
}

private func refineTies(
    _ order: inout [UInt32], _ range: Range<Int>, offset: Int, prefix: (UInt32, Int) -> UInt64?,
    length: (UInt32) -> Int, less: (UInt32, UInt32) -> Bool
) {
    // Few rows, or keys that all end before `offset` (equal as far as prefixes can tell).
    guard range.count > 16, range.contains(where: { length(order[$0]) > offset }) else {
        order[range].sort(by: less)
        return
    }
    var tagged: [(UInt64, UInt32)] = []
    tagged.reserveCapacity(range.count)
    for k in range {
        guard let v = prefix(order[k], offset) else {
            order[range].sort(by: less)
            return
        }
        tagged.append((v, order[k]))
    }
    tagged.sort { $0.0 < $1.0 }
    for (n, t) in tagged.enumerated() { order[range.lowerBound + n] = t.1 }
    var a = 0
    while a < tagged.count {
        var b = a + 1
        while b < tagged.count && tagged[b].0 == tagged[a].0 { b += 1 }
        if b - a > 1 {
            refineTies(
                &order, (range.lowerBound + a)..<(range.lowerBound + b), offset: offset + 8, prefix: prefix,
                length: length, less: less)
        }
        a = b
    }
}

/// memcmp order, shorter first on a common prefix.
@inline(__always)
func compareBytes(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Int {
    let n = min(a.count, b.count)
    if n > 0, let pa = a.baseAddress, let pb = b.baseAddress {
        let c = memcmp(pa, pb, n)
        if c != 0 { return c < 0 ? -1 : 1 }
    }
    return a.count - b.count
}

/// The positions of `keys` in ascending order (an LSD radix sort, four 16-bit digits).
func radixOrder(_ keys: [UInt64]) -> [UInt32] {
    let n = keys.count
    var k1 = keys
    var o1 = [UInt32](unsafeUninitializedCapacity: n) { b, c in
        for i in 0..<n { b[i] = UInt32(i) }
        c = n
    }
    var k2 = [UInt64](repeating: 0, count: n)
    var o2 = [UInt32](repeating: 0, count: n)
    var counts = [Int](repeating: 0, count: 65537)
    for shift in stride(from: UInt64(0), to: 64, by: 16) {
        k1.withUnsafeBufferPointer { k in
            o1.withUnsafeBufferPointer { o in
                k2.withUnsafeMutableBufferPointer { kk in
                    o2.withUnsafeMutableBufferPointer { oo in
                        counts.withUnsafeMutableBufferPointer { c in
                            for i in 0..<c.count { c[i] = 0 }
                            for i in 0..<n { c[Int((k[i] >> shift) & 0xFFFF) + 1] += 1 }
                            for i in 1..<c.count { c[i] += c[i - 1] }
                            for i in 0..<n {
                                let d = Int((k[i] >> shift) & 0xFFFF)
                                let p = c[d]
                                c[d] = p + 1
                                kk[p] = k[i]
                                oo[p] = o[i]
                            }
                        }
                    }
                }
            }
        }
        swap(&k1, &k2)
        swap(&o1, &o2)
    }
    return o1
}

#if canImport(Glibc)
    import Glibc
#endif
