import Testing

@testable import DropfeedCore

/// The 64-bit key prefixes the file writer radix-sorts on must never contradict the full key
/// order (values compared one by one as bytes, shorter first): `prefix(a) < prefix(b)` ⇒ a < b.
struct KeyPrefixTests {
    static let pieces = ["", "a", "B", "BE", "BER", "NYC", "\u{0}", "a\u{0}", "é", "zzzzzzzzz", "E1234567", "0"]

    static func index(_ keys: [[String]]) -> RowIndex {
        var index = RowIndex(keyParts: keys[0].count)
        for key in keys {
            RowIndex.keyBytes(key).withUnsafeBufferPointer {
                index.append(
                    key: $0, keyHash: RowIndex.keyHash(key), rowHash: 0, location: 0, rowLength: 0, sourceKeyHash: 0,
                    inputHash: 0)
            }
        }
        return index
    }

    static func less(_ a: [String], _ b: [String]) -> Bool {
        for (x, y) in zip(a, b) where x != y { return Array(x.utf8).lexicographicallyPrecedes(Array(y.utf8)) }
        return false
    }

    @Test(arguments: [1, 2, 3])
    func prefixesNeverContradictTheKeyOrder(parts: Int) {
        var random = Xorshift(seed: UInt64(40 + parts))
        var keys: [[String]] = []
        for _ in 0..<300 {
            keys.append((0..<parts).map { _ in Self.pieces[random.below(Self.pieces.count)] + Self.pieces[random.below(4)] })
        }
        let index = Self.index(keys)
        for composite in [true, false] {
            var usable = true
            let prefixes = (0..<keys.count).map { index.keyPrefix($0, composite: composite, usable: &usable) }
            // A composite prefix the writer would not use (a zero byte inside a value) is not checked.
            guard usable || !composite else { continue }
            for a in 0..<keys.count {
                for b in 0..<keys.count where prefixes[a] < prefixes[b] {
                    #expect(Self.less(keys[a], keys[b]), "\(keys[a]) before \(keys[b]), composite: \(composite)")
                }
            }
        }
    }

    /// Keys of several values whose first value is a short site code get distinct composite
    /// prefixes (so the radix sort does the work, not the comparison sort).
    @Test func shortFirstValuesStillGiveDistinctPrefixes() {
        let keys = [["BER", "NW-1"], ["BER", "NW-2"], ["NYC", "NW-3"], ["BE", "X"]]
        let index = Self.index(keys)
        var usable = true
        let composite = Set((0..<keys.count).map { index.keyPrefix($0, composite: true, usable: &usable) })
        #expect(usable && composite.count == 4)
        let plain = Set((0..<keys.count).map { index.keyPrefix($0, composite: false, usable: &usable) })
        #expect(plain.count == 3)
    }

    /// Keys sharing long first values (city names) and long common stretches: the radix sort of
    /// the first eight bytes refined eight bytes at a time gives exactly the full key order.
    @Test(arguments: [1, 2, 3])
    func refinedTiesGiveTheFullKeyOrder(parts: Int) {
        var random = Xorshift(seed: UInt64(70 + parts))
        let long = ["San Francisco", "San Francisco Bay", "Rio de Janeiro", "LO-E0000001", "LO-E00000", "", "é\u{0}x"]
        var seen = Set<[String]>()
        var keys: [[String]] = []
        while keys.count < 2000 {
            let key = (0..<parts).map { _ in long[random.below(long.count)] + String(random.below(1000)) }
            if seen.insert(key).inserted { keys.append(key) }
        }
        let index = Self.index(keys)
        for composite in [true, false] {
            var usable = true
            let prefixes = (0..<keys.count).map { index.keyPrefix($0, composite: composite, usable: &usable) }
            guard usable || !composite else { continue }
            var order = radixOrder(prefixes)
            orderTies(
                &order, prefixes: prefixes,
                prefix: { p, offset in
                    var ok = true
                    let v = index.keyPrefix(Int(p), composite: composite, offset: offset, usable: &ok)
                    return ok ? v : nil
                },
                length: { index.keyPrefixLength(Int($0), composite: composite) },
                less: { a, b in Self.less(keys[Int(a)], keys[Int(b)]) })
            let expected = keys.indices.sorted { Self.less(keys[$0], keys[$1]) }
            #expect(order.map { Int($0) } == expected, "composite: \(composite)")
        }
    }
}
