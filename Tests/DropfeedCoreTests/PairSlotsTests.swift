import Testing

@testable import DropfeedCore

/// `PairSlots`, the reuse table of the second night: a row is found only under both of its
/// hashes (the second whole, the first's upper 32 bits), the first row inserted under a pair
/// wins, and rows not asked for stay -1.
struct PairSlotsTests {
    @Test func findsRowsOnlyUnderBothHashes() {
        var random = Xorshift(seed: 5)
        var pairs: [(UInt64, UInt64)] = []
        for _ in 0..<5000 {
            // Many rows share a first hash (a source key seen with other inputs) or a second one.
            let first = random.below(4) == 0 && !pairs.isEmpty ? pairs[random.below(pairs.count)].0 : random.next()
            let second = random.below(4) == 0 && !pairs.isEmpty ? pairs[random.below(pairs.count)].1 : random.next()
            pairs.append((first, second))
        }
        var table = PairSlots(capacity: pairs.count)
        var expected: [String: Int] = [:]
        for (row, (a, b)) in pairs.enumerated() {
            table.insert(a, b, row: row)
            if expected["\(a)/\(b)"] == nil { expected["\(a)/\(b)"] = row }
        }
        // Every pair, pairs with one hash changed, and every third one not asked for.
        let firsts = pairs.map(\.0) + pairs.map { $0.0 ^ (1 << 40) } + pairs.map(\.0)
        let seconds = pairs.map(\.1) + pairs.map(\.1) + pairs.map { $0.1 &+ 1 }
        let use = (0..<firsts.count).map { $0 % 3 != 2 }
        var rows = [Int32](repeating: 99, count: firsts.count)
        firsts.withUnsafeBufferPointer { f in
            seconds.withUnsafeBufferPointer { s in
                use.withUnsafeBufferPointer { u in rows.withUnsafeMutableBufferPointer { table.rows(f, s, use: u, into: $0) } }
            }
        }
        for k in 0..<firsts.count {
            let want = use[k] ? expected["\(firsts[k])/\(seconds[k])"].map(Int32.init) ?? -1 : -1
            #expect(rows[k] == want, "pair \(k)")
        }
    }
}
