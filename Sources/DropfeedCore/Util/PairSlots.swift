/// An open-addressing table from a pair of 64-bit hashes to a row number (linear probing, at
/// most 70% full). A 16-byte slot holds the second hash, the first hash's upper half and the
/// row side by side, so a lookup usually touches one cache line — unlike `HashSlots` plus a
/// separate array of second hashes, which costs three cache misses a probe once the table
/// outgrows the caches. A match agrees on the second hash and on the first's upper 32 bits:
/// 96 bits, where a false match (2^-96 a comparison) is far less likely than the collision of
/// 64-bit input hashes that reuse accepts anyway. Used where millions of rows are looked up by
/// (source key hash, input hash) once a run.
struct PairSlots: Sendable {
    private struct Slot {
        var second: UInt64
        /// The first hash's upper 32 bits.
        var tag: UInt32
        /// Row + 1; 0 marks an empty slot.
        var row: Int32
    }
    private var slots: [Slot]
    private let mask: Int

    init(capacity: Int) {
        var size = 16
        while size * 7 < max(capacity, 1) * 10 { size <<= 1 }
        slots = [Slot](repeating: Slot(second: 0, tag: 0, row: 0), count: size)
        mask = size - 1
    }

    @inline(__always)
    private static func slot(_ hash: UInt64, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (hash ^ (hash >> 29)) & UInt64(mask))
    }

    /// Adds `row` under (`first`, `second`) unless a row already holds that pair (the first stays).
    mutating func insert(_ first: UInt64, _ second: UInt64, row: Int) {
        let mask = mask
        slots.withUnsafeMutableBufferPointer { slots in
            var i = PairSlots.slot(first, mask)
            while slots[i].row != 0 {
                if slots[i].second == second && slots[i].tag == UInt32(truncatingIfNeeded: first >> 32) { return }
                i = (i + 1) & mask
            }
            slots[i] = Slot(second: second, tag: UInt32(truncatingIfNeeded: first >> 32), row: Int32(row + 1))
        }
    }

    /// Looks up every pair of `firsts` and `seconds` (where `use[k]`), writing the row or -1 into
    /// `rows`. The probes do not depend on one another, so the processor overlaps their cache
    /// misses instead of waiting for each in turn.
    func rows(
        _ firsts: UnsafeBufferPointer<UInt64>, _ seconds: UnsafeBufferPointer<UInt64>, use: UnsafeBufferPointer<Bool>,
        into rows: UnsafeMutableBufferPointer<Int32>
    ) {
        slots.withUnsafeBufferPointer { slots in
            for k in 0..<firsts.count {
                guard use[k] else {
                    rows[k] = -1
                    continue
                }
                let first = firsts[k]
                let second = seconds[k]
                var i = PairSlots.slot(first, mask)
                var found: Int32 = -1
                while slots[i].row != 0 {
                    if slots[i].second == second && slots[i].tag == UInt32(truncatingIfNeeded: first >> 32) {
                        found = slots[i].row - 1
                        break
                    }
                    i = (i + 1) & mask
                }
                rows[k] = found
            }
        }
    }
}
