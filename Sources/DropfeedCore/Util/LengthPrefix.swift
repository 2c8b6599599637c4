/// The 4-byte little-endian lengths that prefix fields in the key and row arenas.
extension Array where Element == UInt8 {
    /// Appends `n` as four little-endian bytes.
    @inline(__always)
    mutating func appendLength(_ n: Int) {
        let v = UInt32(truncatingIfNeeded: n)
        append(UInt8(truncatingIfNeeded: v))
        append(UInt8(truncatingIfNeeded: v >> 8))
        append(UInt8(truncatingIfNeeded: v >> 16))
        append(UInt8(truncatingIfNeeded: v >> 24))
    }
}

/// Reads the four little-endian length bytes at `i`.
@inline(__always)
func readLength<C: RandomAccessCollection>(_ bytes: C, at i: C.Index) -> Int where C.Element == UInt8, C.Index == Int {
    Int(bytes[i]) | Int(bytes[i + 1]) << 8 | Int(bytes[i + 2]) << 16 | Int(bytes[i + 3]) << 24
}
