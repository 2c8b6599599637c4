/// LEB128 variable-length unsigned integers: one byte below 128, which is nearly every field
/// length in a row. The field encoding of the source spool and of snapshot segments.
extension Array where Element == UInt8 {
    /// Appends `n` as an unsigned LEB128 number.
    @inline(__always)
    mutating func appendVarint(_ n: Int) {
        var v = UInt(n)
        while v >= 0x80 {
            append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        append(UInt8(v))
    }

    /// Appends `bytes` prefixed by their length (a varint): one encoded field.
    @inline(__always)
    mutating func appendField(_ bytes: UnsafeBufferPointer<UInt8>) {
        appendVarint(bytes.count)
        append(contentsOf: bytes)
    }

    /// Appends a string as one encoded field.
    @inline(__always)
    mutating func appendField(_ string: String) {
        var s = string
        s.withUTF8 { appendField($0) }
    }
}

/// Reads encoded fields (varint length, then the bytes) one after another from a buffer.
struct FieldCursor {
    let base: UnsafePointer<UInt8>
    let end: Int
    private(set) var position: Int

    init(_ buffer: UnsafeRawBufferPointer) {
        base = buffer.baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) } ?? UnsafePointer(bitPattern: 1)!
        end = buffer.count
        position = 0
    }

    init(_ buffer: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) {
        base = buffer.baseAddress ?? UnsafePointer(bitPattern: 1)!
        self.end = end
        position = start
    }

    var atEnd: Bool { position >= end }

    /// The next field's bytes, or nil when the buffer ends (or a length runs past it: damage).
    @inline(__always)
    mutating func next() -> UnsafeBufferPointer<UInt8>? {
        var n = 0
        var shift = 0
        while true {
            guard position < end, shift < 63 else { return nil }
            let b = base[position]
            position += 1
            n |= Int(b & 0x7F) << shift
            if b < 0x80 { break }
            shift += 7
        }
        guard n <= end - position else { return nil }
        defer { position += n }
        return UnsafeBufferPointer(start: base + position, count: n)
    }

    /// The next field as a string (invalid UTF-8 is repaired, never trusted).
    @inline(__always)
    mutating func nextString() -> String? {
        next().map { String(decoding: $0, as: UTF8.self) }
    }
}

/// Decodes a whole encoded row of `count` fields; nil when the bytes are not such a row.
func decodeFields(_ bytes: UnsafeRawBufferPointer, count: Int) -> [String]? {
    var cursor = FieldCursor(bytes)
    var out: [String] = []
    out.reserveCapacity(count)
    for _ in 0..<count {
        guard let s = cursor.nextString() else { return nil }
        out.append(s)
    }
    return cursor.atEnd ? out : nil
}

/// Encodes `values` as one row of fields.
func encodeFields(_ values: [String]) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(values.reduce(values.count) { $0 + $1.utf8.count })
    for v in values { out.appendField(v) }
    return out
}
