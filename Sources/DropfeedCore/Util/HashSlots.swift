/// An open-addressing table from 64-bit hashes to row numbers (linear probing, at most 70%
/// full): 12 bytes a slot, no per-entry allocation, for millions of keys. Equal hashes are kept
/// apart; the caller confirms a match by comparing the keys themselves (`first(_:where:)`).
struct HashSlots: Sendable {
    private var hashes: [UInt64]
    /// Row + 1 per slot; 0 marks an empty slot.
    private var rows: [Int32]
    private let mask: Int

    init(capacity: Int) {
        var size = 16
        while size * 7 < max(capacity, 1) * 10 { size <<= 1 }
        hashes = [UInt64](repeating: 0, count: size)
        rows = [Int32](repeating: 0, count: size)
        mask = size - 1
    }

    @inline(__always)
    private func slot(_ hash: UInt64) -> Int { Int(truncatingIfNeeded: (hash ^ (hash >> 29)) & UInt64(mask)) }

    /// Adds `row` under `hash`, unless a row `isSame` already holds it; returns that row then.
    @inline(__always)
    mutating func insert(_ hash: UInt64, row: Int, isSame: (Int) -> Bool) -> Int? {
        var i = slot(hash)
        while rows[i] != 0 {
            if hashes[i] == hash, isSame(Int(rows[i]) - 1) { return Int(rows[i]) - 1 }
            i = (i + 1) & mask
        }
        hashes[i] = hash
        rows[i] = Int32(row + 1)
        return nil
    }

    /// The first row under `hash` that `matches`.
    @inline(__always)
    func first(_ hash: UInt64, where matches: (Int) -> Bool) -> Int? {
        var i = slot(hash)
        while rows[i] != 0 {
            if hashes[i] == hash, matches(Int(rows[i]) - 1) { return Int(rows[i]) - 1 }
            i = (i + 1) & mask
        }
        return nil
    }
}
