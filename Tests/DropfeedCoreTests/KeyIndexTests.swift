import Foundation
import Testing

@testable import DropfeedCore

/// `KeyIndex` (sort, match, duplicates) and `RowSet` key order, against independent computations;
/// hash collisions are forced by building entries by hand.
struct KeyIndexTests {
    // MARK: - Helpers

    /// A RowSet of `rows` whose key is the first `keyCount` columns.
    static func rowSet(_ rows: [[String]], keyCount: Int) -> RowSet {
        let width = rows.first?.count ?? keyCount
        var set = RowSet(columns: (0..<width).map { "c\($0)" }, keyPositions: Array(0..<keyCount))
        for (k, row) in rows.enumerated() { set.append(row, line: k + 2) }
        return set
    }

    /// Keys as byte arrays, one per component: the order and equality the index must follow.
    static func bytesKey(_ row: [String], _ keyCount: Int) -> [[UInt8]] { row.prefix(keyCount).map { Array($0.utf8) } }

    static func componentLess(_ a: [[UInt8]], _ b: [[UInt8]]) -> Bool {
        for (x, y) in zip(a, b) where x != y { return x.lexicographicallyPrecedes(y) }
        return a.count < b.count
    }

    /// The key of an entry, decoded.
    static func key(_ set: RowSet, _ entry: KeyEntry) -> [[UInt8]] {
        set.index.keyParts(entry, componentCount: set.keyPositions.count)
    }

    /// An index built by hand: each entry gets the given key hash, so collisions can be forced.
    static func handIndex(_ items: [(key: String, hash: UInt64, row: UInt64)]) -> KeyIndex {
        var index = KeyIndex()
        for (k, item) in items.enumerated() {
            let start = index.keyBytes.count
            index.keyBytes.append(contentsOf: Array(item.key.utf8))
            index.entries.append(
                KeyEntry(
                    keyHash: item.hash, rowHash: item.row, keyStart: UInt32(start),
                    keyLength: UInt32(item.key.utf8.count), location: Int64(k), length: 0, line: UInt32(k + 1)))
        }
        return index
    }

    static func keyString(_ index: KeyIndex, _ position: Int) -> String {
        String(decoding: index.keyParts(index.entries[position], componentCount: 1)[0], as: UTF8.self)
    }

    static let alphabet = ["a", "b", "ab", "", "é", "e\u{301}", "Z", "\u{0}", "😀", "a,b", "\u{1F}", "x"]

    static func randomRows(_ random: inout Xorshift, count: Int, keyCount: Int) -> [[String]] {
        var seen = Set<[[UInt8]]>()
        var rows: [[String]] = []
        while rows.count < count {
            var row = (0..<keyCount).map { _ in
                (0..<(1 + random.below(3))).map { _ in alphabet[random.below(alphabet.count)] }.joined()
            }
            row.append("v\(random.below(3))")
            if seen.insert(bytesKey(row, keyCount)).inserted { rows.append(row) }
        }
        return rows
    }

    // MARK: - Match

    /// old → new with random composite keys: onlyOld, onlyNew, changed and unchanged are exactly
    /// what a dictionary keyed by the bytes of each component says.
    @Test(arguments: [(UInt64(1), 1), (2, 2), (3, 3), (4, 2)])
    func matchAgreesWithADictionary(seed: UInt64, keyCount: Int) {
        var random = Xorshift(seed: seed)
        let pool = Self.randomRows(&random, count: 400, keyCount: keyCount)
        let old = pool.filter { _ in random.below(4) != 0 }
        var new: [[String]] = []
        for row in pool where random.below(4) != 0 {
            var r = row
            if random.below(5) == 0 { r[keyCount] = "changed" }
            new.append(r)
        }
        var oldSet = Self.rowSet(old, keyCount: keyCount)
        var newSet = Self.rowSet(new, keyCount: keyCount)
        oldSet.index.sort()
        newSet.index.sort()
        let match = KeyIndex.match(old: oldSet.index, new: newSet.index)

        var oldByKey: [[[UInt8]]: [String]] = [:]
        var newByKey: [[[UInt8]]: [String]] = [:]
        for r in old { oldByKey[Self.bytesKey(r, keyCount)] = r }
        for r in new { newByKey[Self.bytesKey(r, keyCount)] = r }
        let onlyOld = Set(oldByKey.keys.filter { newByKey[$0] == nil })
        let onlyNew = Set(newByKey.keys.filter { oldByKey[$0] == nil })
        let both = oldByKey.keys.filter { newByKey[$0] != nil }
        let changed = Set(both.filter { oldByKey[$0]!.map { Array($0.utf8) } != newByKey[$0]!.map { Array($0.utf8) } })

        #expect(Set(match.onlyOld.map { Self.key(oldSet, oldSet.index.entries[$0]) }) == onlyOld)
        #expect(match.onlyOld.count == onlyOld.count)
        #expect(Set(match.onlyNew.map { Self.key(newSet, newSet.index.entries[$0]) }) == onlyNew)
        #expect(match.onlyNew.count == onlyNew.count)
        #expect(Set(match.changed.map { Self.key(newSet, newSet.index.entries[$0.new]) }) == changed)
        for (o, n) in match.changed {
            #expect(Self.key(oldSet, oldSet.index.entries[o]) == Self.key(newSet, newSet.index.entries[n]))
        }
        #expect(match.unchanged == both.count - changed.count)
        #expect(oldSet.index.duplicates(limit: 5).isEmpty)
    }

    /// Component boundaries are part of the key: ["ab","c"] and ["a","bc"] are different records.
    @Test func componentBoundariesMatter() {
        var old = Self.rowSet([["ab", "c", "1"], ["a", "bc", "2"]], keyCount: 2)
        var new = Self.rowSet([["a", "bc", "2"], ["abc", "", "3"]], keyCount: 2)
        old.index.sort()
        new.index.sort()
        let match = KeyIndex.match(old: old.index, new: new.index)
        #expect(match.onlyOld.map { Self.key(old, old.index.entries[$0]) } == [[Array("ab".utf8), Array("c".utf8)]])
        #expect(match.onlyNew.map { Self.key(new, new.index.entries[$0]) } == [[Array("abc".utf8), []]])
        #expect(match.unchanged == 1 && match.changed.isEmpty)
    }

    /// Canonically equivalent but different bytes are different keys (`String ==` would merge them).
    @Test func keysCompareAsBytes() {
        var old = Self.rowSet([["é", "1"]], keyCount: 1)
        var new = Self.rowSet([["e\u{301}", "1"]], keyCount: 1)
        old.index.sort()
        new.index.sort()
        let match = KeyIndex.match(old: old.index, new: new.index)
        #expect(match.onlyOld.count == 1 && match.onlyNew.count == 1 && match.unchanged == 0)
    }

    @Test func rowHashSeesFieldBoundariesAndEveryColumn() {
        let set = Self.rowSet([["k1", "ab", "c"], ["k2", "a", "bc"], ["k3", "ab", "c"]], keyCount: 1)
        let hashes = set.index.entries.map(\.rowHash)
        #expect(hashes[0] != hashes[1])
        // Same values, other key: the row hash covers the key too, but matching goes by key first.
        #expect(hashes[0] != hashes[2])
        var a = Self.rowSet([["k", "x", ""]], keyCount: 1)
        var b = Self.rowSet([["k", "", "x"]], keyCount: 1)
        a.index.sort()
        b.index.sort()
        #expect(KeyIndex.match(old: a.index, new: b.index).changed.count == 1)
    }

    // MARK: - Forced hash collisions

    @Test func collidingKeysStillMatchExactly() {
        var old = Self.handIndex([("alpha", 42, 1), ("beta", 42, 2), ("delta", 7, 4), ("ab", 42, 5)])
        var new = Self.handIndex([("gamma", 42, 3), ("beta", 42, 2), ("alpha", 42, 9), ("delta", 7, 4), ("abc", 42, 6)])
        old.sort()
        new.sort()
        // Sorted by hash, then by key bytes ("ab" before "abc": the shorter first on a tie).
        #expect(old.entries.indices.map { Self.keyString(old, $0) } == ["delta", "ab", "alpha", "beta"])
        #expect(new.entries.indices.map { Self.keyString(new, $0) } == ["delta", "abc", "alpha", "beta", "gamma"])
        let match = KeyIndex.match(old: old, new: new)
        #expect(match.onlyOld.map { Self.keyString(old, $0) } == ["ab"])
        #expect(match.onlyNew.map { Self.keyString(new, $0) }.sorted() == ["abc", "gamma"])
        #expect(match.changed.map { Self.keyString(old, $0.old) } == ["alpha"])
        #expect(match.changed.map { Self.keyString(new, $0.new) } == ["alpha"])
        #expect(match.unchanged == 2)
    }

    @Test func collidingDifferentKeysAreNotAChange() {
        var old = Self.handIndex([("x", 1, 10)])
        var new = Self.handIndex([("y", 1, 10)])
        old.sort()
        new.sort()
        let match = KeyIndex.match(old: old, new: new)
        #expect(match.onlyOld == [0] && match.onlyNew == [0] && match.changed.isEmpty && match.unchanged == 0)
    }

    @Test func duplicatesAreFoundAmongCollisions() {
        var index = Self.handIndex([("x", 5, 1), ("y", 5, 2), ("x", 5, 3), ("z", 6, 4), ("y", 5, 5), ("w", 5, 6)])
        index.sort()
        let pairs = index.duplicates(limit: 10)
        let described = pairs.map { pair in
            String(decoding: index.keyParts(pair.0, componentCount: 1)[0], as: UTF8.self)
                + "@\(pair.0.line),\(pair.1.line)"
        }
        #expect(described.sorted() == ["x@1,3", "y@2,5"])
        #expect(index.duplicates(limit: 1).count == 1)
        var distinct = Self.handIndex([("p", 9, 1), ("q", 9, 2), ("r", 9, 3)])
        distinct.sort()
        #expect(distinct.duplicates(limit: 10).isEmpty)
    }

    /// Many entries over few hash values: every run of equal hashes is ordered by bytes, and the
    /// radix sort keeps all entries.
    @Test(arguments: [UInt64(11), 12])
    func sortOrdersByHashThenBytes(seed: UInt64) {
        var random = Xorshift(seed: seed)
        var items: [(key: String, hash: UInt64, row: UInt64)] = []
        for i in 0..<3000 {
            let hash: UInt64 = [0, 1, UInt64.max, 0x0001_0000_0000_0000, 0xFFFF, UInt64(random.below(20)) << 48][
                random.below(6)]
            items.append(("k\(random.below(500))-\(i % 7)", hash, UInt64(i)))
        }
        var index = Self.handIndex(items)
        index.sort()
        #expect(index.entries.count == items.count)
        #expect(Set(index.entries.map(\.rowHash)) == Set(items.map(\.row)))
        for i in 1..<index.entries.count {
            let a = index.entries[i - 1]
            let b = index.entries[i]
            #expect(a.keyHash <= b.keyHash)
            if a.keyHash == b.keyHash {
                let ka = Array(Self.keyString(index, i - 1).utf8)
                let kb = Array(Self.keyString(index, i).utf8)
                #expect(!kb.lexicographicallyPrecedes(ka), "\(i)")
            }
        }
    }

    // MARK: - Key order (files are written in it)

    @Test func keyOrderIsComponentWiseByBytes() {
        let rows = [
            ["ab", "", "1"], ["a", "b", "2"], ["a", "", "3"], ["", "z", "4"], ["a", "b\u{0}", "5"], ["b", "a", "6"],
            ["é", "x", "7"], ["e\u{301}", "x", "8"], ["Z", "x", "9"],
        ]
        let set = Self.rowSet(rows, keyCount: 2)
        let order = set.keyOrder().map { set.row(set.index.entries[$0])[2] }
        // ["", "z"] < ["Z", …] < ["a", ""] < ["a", "b"] < ["a", "b\0"] < ["ab", ""] < ["b", "a"] < ["e\u{301}", …] < ["é", …]
        #expect(order == ["4", "9", "3", "2", "5", "1", "6", "8", "7"])
    }

    @Test(arguments: [(UInt64(21), 1), (22, 2), (23, 3)])
    func keyOrderAgreesWithByteComparison(seed: UInt64, keyCount: Int) {
        var random = Xorshift(seed: seed)
        let rows = Self.randomRows(&random, count: 300, keyCount: keyCount)
        var set = Self.rowSet(rows, keyCount: keyCount)
        set.index.sort()
        let got = set.keyOrder().map { Self.key(set, set.index.entries[$0]) }
        let want = rows.map { Self.bytesKey($0, keyCount) }.sorted(by: Self.componentLess)
        #expect(got == want)
        // The subset form keeps only the positions given.
        let some = Array(stride(from: 0, to: set.count, by: 3))
        #expect(set.keyOrder(some).sorted() == some)
    }

    @Test func rowsRoundTripThroughTheArena() {
        let rows = [["k", "", "é", "e\u{301}", String(repeating: "x", count: 70_000), "a\r\nb", "\u{0}"]]
        let set = Self.rowSet(rows, keyCount: 1)
        let back = set.row(set.index.entries[0])
        #expect(back.map { Array($0.utf8) } == rows[0].map { Array($0.utf8) })
    }
}
