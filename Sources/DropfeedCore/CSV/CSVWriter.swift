/// A character the output encoding cannot represent.
public struct EncodingError: Error, Sendable, CustomStringConvertible {
    public var scalar: Unicode.Scalar
    public var encoding: TextEncoding

    public var description: String {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        return
            "character U+\(String(repeating: "0", count: max(0, 4 - hex.count)))\(hex) cannot be written in \(encoding.rawValue)"
    }
}

/// Writes CSV records in a vendor's dialect into a byte buffer.
///
/// Fields are quoted when they hold the delimiter, a quote, CR or LF, or begin or end with a
/// space (always, with `QuotePolicy.always`); quotes inside are doubled. Two more cases are quoted
/// so they survive a reader: a field starting with U+FEFF (at the start of a file it would be taken
/// for a byte-order mark) and a record of one empty field (written `""`, as Python does; an empty
/// line is skipped by readers). What it writes reads back as the same values in Python's `csv`
/// module, Excel and pandas.
public struct CSVWriter {
    public let options: CSVWriteOptions
    /// The encoded bytes written so far.
    public private(set) var bytes: [UInt8] = []
    /// The number of records written, header included.
    public private(set) var records = 0
    private var utf8Row: [UInt8] = []
    private let lineEnding: [UInt8]

    public init(options: CSVWriteOptions) {
        self.options = options
        self.lineEnding = options.lineEnding.bytes
        switch options.encoding {
        case .utf8: if options.bom { bytes = [0xEF, 0xBB, 0xBF] }
        case .utf16: bytes = [0xFF, 0xFE]
        case .windows1252, .iso88591: break
        }
    }

    /// Appends one record.
    public mutating func write(_ fields: [String]) throws {
        utf8Row.removeAll(keepingCapacity: true)
        for (k, field) in fields.enumerated() {
            if k > 0 { utf8Row.append(options.delimiter) }
            appendField(field, alone: fields.count == 1)
        }
        utf8Row.append(contentsOf: lineEnding)
        try emit(utf8Row)
        records += 1
    }

    /// Appends `text` as it is, not a record, and a line ending (a preamble line before the header).
    public mutating func writeLine(_ text: String) throws {
        try emit(Array(text.utf8) + lineEnding)
    }

    /// Appends one record made of `leading` (say, a delta's action) and then the `count`
    /// fields of an encoded row (each a varint length and UTF-8 bytes), without building
    /// strings. Throws `EncodingError` as `write` does, and when the row does not decode.
    mutating func write(leading: String?, encodedRow row: UnsafeBufferPointer<UInt8>, count: Int) throws {
        utf8Row.removeAll(keepingCapacity: true)
        let total = count + (leading == nil ? 0 : 1)
        var first = true
        if let leading {
            appendField(leading, alone: total == 1)
            first = false
        }
        var cursor = FieldCursor(row, from: 0, to: row.count)
        for _ in 0..<count {
            guard let field = cursor.next() else { throw CSVWriteError.badRow }
            if !first { utf8Row.append(options.delimiter) }
            first = false
            appendField(bytes: field, alone: total == 1)
        }
        utf8Row.append(contentsOf: lineEnding)
        try emit(utf8Row)
        records += 1
    }

    private mutating func appendField(bytes utf8: UnsafeBufferPointer<UInt8>, alone: Bool) {
        let needsQuotes: Bool
        if options.quote == .always {
            needsQuotes = true
        } else {
            let delimiter = options.delimiter
            needsQuotes =
                utf8.first == 0x20 || utf8.last == 0x20
                || utf8.contains { $0 == delimiter || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }
                || (alone && utf8.isEmpty) || utf8.starts(with: [0xEF, 0xBB, 0xBF])
        }
        guard needsQuotes else {
            utf8Row.append(contentsOf: utf8)
            return
        }
        utf8Row.append(0x22)
        for byte in utf8 {
            if byte == 0x22 { utf8Row.append(0x22) }
            utf8Row.append(byte)
        }
        utf8Row.append(0x22)
    }

    private mutating func appendField(_ field: String, alone: Bool) {
        var field = field
        field.withUTF8 { appendField(bytes: $0, alone: alone) }
    }

    /// Hands over the bytes written so far and empties the buffer (to stream a large file out).
    public mutating func takeBytes() -> [UInt8] {
        defer { bytes.removeAll(keepingCapacity: true) }
        return bytes
    }

    private mutating func emit(_ utf8: [UInt8]) throws {
        switch options.encoding {
        case .utf8:
            bytes.append(contentsOf: utf8)
        case .utf16:
            for unit in String(decoding: utf8, as: UTF8.self).utf16 {
                bytes.append(UInt8(unit & 0xFF))
                bytes.append(UInt8(unit >> 8))
            }
        case .iso88591, .windows1252:
            let recordStart = bytes.count
            // ASCII passes as is; anything else is decoded from UTF-8 (valid: it came from a
            // String or a checked snapshot row) and mapped to its single byte.
            var i = 0
            let n = utf8.count
            while i < n {
                let b = utf8[i]
                if b < 0x80 {
                    bytes.append(b)
                    i += 1
                    continue
                }
                var value: UInt32
                var length: Int
                if b >= 0xF0 {
                    value = UInt32(b & 0x07)
                    length = 4
                } else if b >= 0xE0 {
                    value = UInt32(b & 0x0F)
                    length = 3
                } else {
                    value = UInt32(b & 0x1F)
                    length = 2
                }
                for k in 1..<length where i + k < n { value = value << 6 | UInt32(utf8[i + k] & 0x3F) }
                i += length
                let scalar = Unicode.Scalar(value) ?? "\u{FFFD}"
                guard let byte = singleByte(scalar, options.encoding) else {
                    // Leave no half record behind: a caller may report the row and go on.
                    bytes.removeSubrange(recordStart...)
                    throw EncodingError(scalar: scalar, encoding: options.encoding)
                }
                bytes.append(byte)
            }
        }
    }
}

/// An encoded row that does not decode (a damaged row got past its hash check: never expected).
enum CSVWriteError: Error, CustomStringConvertible {
    case badRow
    var description: String { "a stored row does not decode" }
}

private let windows1252Reverse: [UInt32: UInt8] = {
    var map: [UInt32: UInt8] = [:]
    for byte in 0x80..<0xA0 { map[windows1252Table[byte]] = UInt8(byte) }
    return map
}()

/// Whether every character of `value` exists in the single-byte `encoding`.
func isRepresentable(_ value: String, in encoding: TextEncoding) -> Bool {
    if value.utf8.allSatisfy({ $0 < 0x80 }) { return true }
    return value.unicodeScalars.allSatisfy { singleByte($0, encoding) != nil }
}

private func singleByte(_ scalar: Unicode.Scalar, _ encoding: TextEncoding) -> UInt8? {
    let v = scalar.value
    if v < 0x80 { return UInt8(v) }
    if encoding == .iso88591 { return v < 0x100 ? UInt8(v) : nil }
    if v >= 0xA0 && v < 0x100 { return UInt8(v) }
    return windows1252Reverse[v]
}
