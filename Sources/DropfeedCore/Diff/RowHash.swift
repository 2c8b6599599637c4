/// A fast 64-bit hash of byte strings (multiply-fold, in the style of wyhash), for matching keys
/// and detecting changed rows. Not for adversarial input: equal hashes are always confirmed by
/// comparing the key bytes; a changed row that collides with its old hash (probability 2⁻⁶⁴ per
/// row) would be missed, which is the same trade every hash-based diff makes.
enum RowHash {
    static let seed: UInt64 = 0xA076_1D64_78BD_642F
    private static let k1: UInt64 = 0xE703_7ED1_A0B4_28DB
    private static let k2: UInt64 = 0x8EBC_6AF0_9C88_C6E3
    private static let k3: UInt64 = 0x5899_65CC_7537_4CC3

    @inline(__always)
    static func fold(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let r = a.multipliedFullWidth(by: b)
        return r.high ^ r.low
    }

    /// The hash of `count` bytes at `p`, mixed into `h`.
    @inline(__always)
    static func combine(_ h: UInt64, _ p: UnsafePointer<UInt8>?, _ count: Int) -> UInt64 {
        var h = fold(h ^ k2, k1 ^ UInt64(truncatingIfNeeded: count))
        guard let p, count > 0 else { return h }
        let raw = UnsafeRawPointer(p)
        var i = 0
        while i + 16 <= count {
            let a = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            let b = raw.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self)
            h = fold(a ^ k1 ^ h, b ^ k3)
            i += 16
        }
        if i + 8 <= count {
            h = fold(h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self), k1)
            i += 8
        }
        if i < count {
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while i < count {
                tail |= UInt64(p[i]) << shift
                shift += 8
                i += 1
            }
            h = fold(h ^ tail, k3)
        }
        return h
    }

    @inline(__always)
    static func combine(_ h: UInt64, _ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        combine(h, bytes.baseAddress, bytes.count)
    }

    static func of(_ bytes: [UInt8]) -> UInt64 {
        bytes.withUnsafeBufferPointer { combine(seed, $0) }
    }

    static func of(_ string: String) -> UInt64 {
        var s = string
        return s.withUTF8 { combine(seed, $0) }
    }
}
