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

/// `RowHash` over a stream of bytes, independent of how the stream is cut into pieces: the
/// bytes are hashed in fixed blocks of 64 KiB, so a file written in one set of chunks and read
/// back in another gets the same checksum.
struct StreamHash {
    static let block = 1 << 16
    private(set) var value = RowHash.seed
    private var pending: [UInt8] = []

    init() { pending.reserveCapacity(StreamHash.block) }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var rest = bytes
        if !pending.isEmpty {
            let take = min(StreamHash.block - pending.count, rest.count)
            pending.append(contentsOf: rest[0..<take])
            rest = UnsafeRawBufferPointer(rebasing: rest[take...])
            guard pending.count == StreamHash.block else { return }
            value = pending.withUnsafeBufferPointer { RowHash.combine(value, $0) }
            pending.removeAll(keepingCapacity: true)
        }
        while rest.count >= StreamHash.block {
            value = RowHash.combine(value, rest.baseAddress!.assumingMemoryBound(to: UInt8.self), StreamHash.block)
            rest = UnsafeRawBufferPointer(rebasing: rest[StreamHash.block...])
        }
        pending.append(contentsOf: rest)
    }

    mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    /// The checksum of everything given so far.
    func finish() -> UInt64 {
        pending.isEmpty ? value : pending.withUnsafeBufferPointer { RowHash.combine(value, $0) }
    }
}
