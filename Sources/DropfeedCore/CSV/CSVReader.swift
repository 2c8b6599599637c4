#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

private let quote = UInt8(ascii: "\"")
private let lf: UInt8 = 0x0A
private let cr: UInt8 = 0x0D

/// A strict, streaming RFC 4180 reader working on UTF-8 bytes.
///
/// The input is read in chunks into one growing buffer; a record is a list of byte ranges into
/// it, so reading a row allocates nothing. `String`s are made only for the fields a caller asks
/// for. Quoted fields may hold delimiters, doubled quotes and line breaks; LF, CRLF and a lone CR
/// end records; a leading UTF-8 byte-order mark is skipped; lines with no bytes at all are skipped.
/// Every malformation is a `CSVError` with the file, line and column.
public final class CSVReader {
    /// The name used in error messages (the path as the user wrote it).
    public let fileName: String
    public let options: CSVReadOptions
    /// The header row; empty when the reader was made with `hasHeader: false`.
    public private(set) var header: [String] = []
    /// Whether the file holds bytes exactly as parsed (UTF-8), so record offsets are file offsets.
    public let offsetsAreFileOffsets: Bool

    private let source: ByteSource
    private var buffer: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var position = 0
    private var end = 0
    private var atEOF = false
    private var validatedEnd = 0
    private var invalidAt = Int.max
    private var invalidProblem: TextProblem?
    private var bufferStreamOffset: Int64 = 0
    private var line = 1
    private var expectedFields = -1
    private var recordNumber = 0
    private var bounds: UnsafeMutablePointer<Int>
    private var boundsCapacity = 64
    private let stops: UnsafeMutablePointer<Bool>

    /// Opens `path` and reads its header row.
    public convenience init(
        path: String, displayName: String? = nil, options: CSVReadOptions = .init(),
        hasHeader: Bool = true, bufferSize: Int = 1 << 20
    ) throws {
        let source = try makeByteSource(path: path, encoding: options.encoding)
        try self.init(
            source: source, fileName: displayName ?? path, options: options, hasHeader: hasHeader,
            bufferSize: bufferSize, offsetsAreFileOffsets: options.encoding == .utf8)
    }

    /// Reads CSV from bytes in memory (already UTF-8 when `options.encoding` is UTF-8).
    public convenience init(
        bytes: [UInt8], fileName: String = "<input>", options: CSVReadOptions = .init(),
        hasHeader: Bool = true, expectedFields: Int? = nil
    ) throws {
        var source: ByteSource = MemoryByteSource(bytes)
        switch options.encoding {
        case .utf8: break
        case .windows1252, .iso88591: source = SingleByteTranscoder(source, encoding: options.encoding)
        case .utf16: source = UTF16Transcoder(source, path: fileName)
        }
        try self.init(
            source: source, fileName: fileName, options: options, hasHeader: hasHeader,
            bufferSize: max(64, min(bytes.count + 16, 1 << 20)), offsetsAreFileOffsets: false)
        if let expectedFields { self.expectedFields = expectedFields }
    }

    /// Reads the stretch `offset..<offset + length` of a UTF-8 file: from the start, the header
    /// and the records up to `length`; from a later `offset` — a record's start (see `CSVSplit`)
    /// — the data records of a file whose header has `expectedFields` names, with lines counted
    /// from 1 at `offset`. `byteOffset`s are file offsets.
    convenience init(
        path: String, displayName: String, options: CSVReadOptions, offset: Int64, length: Int64, expectedFields: Int
    ) throws {
        precondition(options.encoding == .utf8 && offset >= 0)
        let source = try FileByteSource(path: path, offset: offset, length: length)
        try self.init(
            source: source, fileName: displayName, options: options, hasHeader: offset == 0, bufferSize: 1 << 20,
            offsetsAreFileOffsets: true, streamOffset: offset)
        if offset > 0 { self.expectedFields = expectedFields }
    }

    init(
        source: ByteSource, fileName: String, options: CSVReadOptions, hasHeader: Bool, bufferSize: Int,
        offsetsAreFileOffsets: Bool, streamOffset: Int64 = 0
    ) throws {
        bufferStreamOffset = streamOffset
        self.source = source
        self.fileName = fileName
        self.options = options
        self.offsetsAreFileOffsets = offsetsAreFileOffsets
        capacity = max(16, bufferSize)
        buffer = .allocate(capacity: capacity)
        bounds = .allocate(capacity: boundsCapacity * 2)
        stops = .allocate(capacity: 256)
        stops.initialize(repeating: false, count: 256)
        stops[Int(options.delimiter)] = true
        stops[Int(quote)] = true
        stops[Int(lf)] = true
        stops[Int(cr)] = true
        try fill()
        if streamOffset == 0 && end - position >= 3 && buffer[0] == 0xEF && buffer[1] == 0xBB && buffer[2] == 0xBF {
            position = 3
        }
        if hasHeader {
            guard let record = try next() else { throw CSVError(.emptyFile, file: fileName, line: 1, column: 1) }
            var seen: [String: Int] = [:]
            var names: [String] = []
            names.reserveCapacity(record.count)
            seen.reserveCapacity(record.count)
            for k in 0..<record.count {
                let name = record.string(k)
                // The column is worked out only for an error: it scans the line, and doing it for
                // every name made a wide header cost the square of its width.
                if name.isEmpty || seen[name] != nil {
                    let column = columnOf(
                        offset: fieldStartForError(k, recordStart: record.offsetInBuffer),
                        recordStart: record.offsetInBuffer)
                    let kind: CSVError.Kind = name.isEmpty ? .emptyHeader(column: k + 1) : .duplicateHeader(name)
                    throw CSVError(kind, file: fileName, line: record.line, column: column)
                }
                seen[name] = k
                names.append(name)
            }
            header = names
            expectedFields = names.count
            recordNumber = 0
        }
    }

    /// The line the next record starts on (after the last record: one past the last line).
    public var nextLine: Int { line }

    deinit {
        buffer.deallocate()
        bounds.deallocate()
        stops.deallocate()
    }

    /// Calls `body` with every data record, in order. The record is valid only inside `body`.
    public func forEach(_ body: (CSVRecord) throws -> Void) throws {
        while let record = try next() { try body(record) }
    }

    /// The next data record, or `nil` at the end. The record is valid until the next call.
    public func next() throws -> CSVRecord? {
        while true {
            switch try parseRecord() {
            case .endOfData:
                return nil
            case .needMore:
                try fill()
            case .blankLine(let next, let lines):
                position = next
                line += lines
            case .record(let next, let fieldCount, let lines, let contentEnd):
                let start = position
                let record = CSVRecord(
                    base: buffer, bounds: bounds, count: fieldCount, line: line, index: recordNumber,
                    byteOffset: bufferStreamOffset + Int64(start), byteLength: next - start, offsetInBuffer: start,
                    contentLength: contentEnd - start)
                if invalidAt < next {
                    throw error(invalidKind, at: invalidAt, recordStart: start)
                }
                if fieldCount > options.limits.maxColumns {
                    throw error(
                        .tooManyColumns(limit: options.limits.maxColumns),
                        at: fieldStartForError(options.limits.maxColumns, recordStart: start), recordStart: start)
                }
                if next - start > options.limits.maxRecordBytes {
                    throw error(.recordTooLarge(limit: options.limits.maxRecordBytes), at: start, recordStart: start)
                }
                if expectedFields >= 0 && fieldCount != expectedFields {
                    if fieldCount > expectedFields {
                        throw error(
                            .tooManyFields(expected: expectedFields, actual: fieldCount),
                            at: fieldStartForError(expectedFields, recordStart: start), recordStart: start)
                    }
                    throw error(
                        .tooFewFields(expected: expectedFields, actual: fieldCount), at: contentEnd,
                        recordStart: start)
                }
                position = next
                line += lines
                recordNumber += 1
                return record
            }
        }
    }

    private var invalidKind: CSVError.Kind {
        switch invalidProblem {
        case .nul: return .nulByte
        case .byteOrderMark: return .byteOrderMarkInside
        case .invalid, nil: return options.encoding == .utf16 ? .invalidUTF16 : .invalidUTF8
        }
    }

    /// `.needMore`, unless the field that starts at `fieldStart` or the record would then hold more
    /// bytes than the limits allow: checked before the buffer grows, so it never grows past them.
    private func needMore(fieldStart: Int) throws -> Step {
        let limits = options.limits
        if end - fieldStart > limits.maxFieldBytes {
            throw error(.fieldTooLarge(limit: limits.maxFieldBytes), at: fieldStart, recordStart: position)
        }
        if end - position > limits.maxRecordBytes {
            throw error(.recordTooLarge(limit: limits.maxRecordBytes), at: position, recordStart: position)
        }
        return .needMore
    }

    /// Where field `k` begins for an error message: at its opening quote when it is quoted.
    private func fieldStartForError(_ k: Int, recordStart: Int) -> Int {
        let s = bounds[2 * k]
        let start = s < 0 ? ~s : s
        // An unquoted field starts the record or follows a delimiter, never a quote.
        return start > recordStart && buffer[start - 1] == quote ? start - 1 : start
    }

    // MARK: - Parsing

    private enum Step {
        case record(next: Int, fieldCount: Int, lines: Int, contentEnd: Int)
        case blankLine(next: Int, lines: Int)
        case needMore
        case endOfData
    }

    /// Parses one record starting at `position` without consuming it.
    ///
    /// Field `k` is `bounds[2k] ..< bounds[2k+1]`; for a quoted field the range is the text
    /// between the quotes and `bounds[2k]` is stored complemented (`~start`) when that text holds
    /// doubled quotes still to be unescaped.
    private func parseRecord() throws -> Step {
        let p = buffer
        let n = end
        let delimiter = options.delimiter
        let stops = self.stops
        let fieldEnd = Self.fieldEndMasks(delimiter)
        let quoteOrBreak = Self.quoteOrBreakMasks
        var i = position
        if i >= n { return atEOF ? .endOfData : .needMore }
        // A line with no bytes at all is skipped, as Python's csv.DictReader and Excel do.
        if p[i] == lf { return .blankLine(next: i + 1, lines: 1) }
        if p[i] == cr {
            if i + 1 >= n && !atEOF { return .needMore }
            return .blankLine(next: (i + 1 < n && p[i + 1] == lf) ? i + 2 : i + 1, lines: 1)
        }
        var fieldCount = 0
        var lines = 0
        let maxFieldBytes = options.limits.maxFieldBytes
        while true {
            if fieldCount == boundsCapacity { try growBounds(fieldStart: i) }
            let b = bounds
            if i >= n {
                if !atEOF { return .needMore }
                // The record ended with a delimiter right at the end of the input.
                b[2 * fieldCount] = i
                b[2 * fieldCount + 1] = i
                return .record(next: i, fieldCount: fieldCount + 1, lines: lines, contentEnd: i)
            }
            if p[i] == quote {
                let open = i
                i += 1
                var escaped = false
                while true {
                    // Fast scan to the next quote or line break, eight bytes at a time.
                    i = scan(p, from: i, to: n, quoteOrBreak)
                    while i < n {
                        let c = p[i]
                        if c == quote || c == lf || c == cr { break }
                        i += 1
                    }
                    if i >= n {
                        if !atEOF { return try needMore(fieldStart: open) }
                        throw error(.unterminatedQuote, at: open, recordStart: position)
                    }
                    let c = p[i]
                    if c == quote {
                        if i + 1 >= n && !atEOF { return try needMore(fieldStart: open) }
                        if i + 1 < n && p[i + 1] == quote {
                            escaped = true
                            i += 2
                            continue
                        }
                        break
                    }
                    if c == cr {
                        if i + 1 >= n && !atEOF { return try needMore(fieldStart: open) }
                        if !(i + 1 < n && p[i + 1] == lf) { lines += 1 }
                    } else {
                        lines += 1
                    }
                    i += 1
                }
                if i - open - 1 > maxFieldBytes {
                    throw error(.fieldTooLarge(limit: maxFieldBytes), at: open, recordStart: position)
                }
                b[2 * fieldCount] = escaped ? ~(open + 1) : open + 1
                b[2 * fieldCount + 1] = i
                fieldCount += 1
                i += 1
                if i >= n {
                    if !atEOF { return .needMore }
                    return .record(next: i, fieldCount: fieldCount, lines: lines, contentEnd: i)
                }
                let after = p[i]
                if after == delimiter {
                    i += 1
                    continue
                }
                if after == lf { return .record(next: i + 1, fieldCount: fieldCount, lines: lines + 1, contentEnd: i) }
                if after == cr {
                    if i + 1 >= n && !atEOF { return .needMore }
                    let next = (i + 1 < n && p[i + 1] == lf) ? i + 2 : i + 1
                    return .record(next: next, fieldCount: fieldCount, lines: lines + 1, contentEnd: i)
                }
                throw error(.textAfterClosingQuote, at: i, recordStart: position)
            }
            let start = i
            i = scan(p, from: i, to: n, fieldEnd)
            while i < n && !stops[Int(p[i])] { i += 1 }
            if i - start > maxFieldBytes {
                throw error(.fieldTooLarge(limit: maxFieldBytes), at: start, recordStart: position)
            }
            if i >= n {
                if !atEOF { return try needMore(fieldStart: start) }
                b[2 * fieldCount] = start
                b[2 * fieldCount + 1] = i
                return .record(next: i, fieldCount: fieldCount + 1, lines: lines, contentEnd: i)
            }
            let c = p[i]
            b[2 * fieldCount] = start
            b[2 * fieldCount + 1] = i
            fieldCount += 1
            if c == delimiter {
                i += 1
                continue
            }
            if c == lf { return .record(next: i + 1, fieldCount: fieldCount, lines: lines + 1, contentEnd: i) }
            if c == cr {
                if i + 1 >= n && !atEOF { return .needMore }
                let next = (i + 1 < n && p[i + 1] == lf) ? i + 2 : i + 1
                return .record(next: next, fieldCount: fieldCount, lines: lines + 1, contentEnd: i)
            }
            throw error(.bareQuote, at: i, recordStart: position)
        }
    }

    /// Byte patterns (each byte repeated eight times) that end an unquoted field.
    private static func fieldEndMasks(_ delimiter: UInt8) -> (UInt64, UInt64, UInt64, UInt64) {
        (repeated(delimiter), repeated(quote), repeated(lf), repeated(cr))
    }

    /// Byte patterns that stop the scan inside a quoted field (the fourth repeats the first).
    private static let quoteOrBreakMasks = (repeated(quote), repeated(lf), repeated(cr), repeated(quote))

    @inline(__always) private static func repeated(_ b: UInt8) -> UInt64 { UInt64(b) &* 0x0101_0101_0101_0101 }

    /// The first position at or after `i` that may hold one of four bytes, checking eight bytes at
    /// a time (SWAR): exact for the first match; stops short of the last partial word.
    @inline(__always)
    private func scan(
        _ p: UnsafeMutablePointer<UInt8>, from start: Int, to n: Int,
        _ masks: (UInt64, UInt64, UInt64, UInt64)
    ) -> Int {
        var i = start
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        while i + 8 <= n {
            let w = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
            let a = w ^ masks.0
            let b = w ^ masks.1
            let c = w ^ masks.2
            let d = w ^ masks.3
            let hit = ((a &- ones) & ~a | (b &- ones) & ~b | (c &- ones) & ~c | (d &- ones) & ~d) & highs
            if hit != 0 { return i + hit.trailingZeroBitCount >> 3 }
            i += 8
        }
        return i
    }

    /// Makes room for more fields, unless the record already has as many as the limit allows.
    private func growBounds(fieldStart: Int) throws {
        let limit = options.limits.maxColumns
        if boundsCapacity >= limit {
            throw error(.tooManyColumns(limit: limit), at: fieldStart, recordStart: position)
        }
        let bigger = UnsafeMutablePointer<Int>.allocate(capacity: boundsCapacity * 4)
        bigger.update(from: bounds, count: boundsCapacity * 2)
        bounds.deallocate()
        bounds = bigger
        boundsCapacity *= 2
    }

    /// Moves the unparsed bytes to the front, reads more, and checks the new bytes are UTF-8.
    private func fill() throws {
        if position > 0 {
            let remaining = end - position
            if remaining > 0 { memmove(buffer, buffer + position, remaining) }
            bufferStreamOffset += Int64(position)
            validatedEnd -= position
            if invalidAt != Int.max { invalidAt -= position }
            end = remaining
            position = 0
        }
        // Transcoding sources turn one input byte or unit into up to 4 bytes: always leave room.
        if capacity - end < minimumReadSpace {
            let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity * 2)
            bigger.update(from: buffer, count: end)
            buffer.deallocate()
            buffer = bigger
            capacity *= 2
        }
        let n = try source.read(into: buffer + end, capacity: capacity - end)
        if n == 0 { atEOF = true }
        end += n
        if invalidAt == Int.max {
            let (valid, problem) = validateText(
                buffer, from: validatedEnd, to: end, isFinal: atEOF, textOnly: options.textOnly,
                streamStart: bufferStreamOffset == 0 ? 0 : -1)
            validatedEnd = valid
            if let problem {
                invalidAt = valid
                invalidProblem = problem
            }
        }
    }

    // MARK: - Error positions

    private func error(_ kind: CSVError.Kind, at offset: Int, recordStart: Int) -> CSVError {
        var lineNumber = line
        var lineStart = recordStart
        var k = recordStart
        while k < offset {
            let c = buffer[k]
            if c == lf || (c == cr && !(k + 1 < end && buffer[k + 1] == lf)) {
                lineNumber += 1
                lineStart = k + 1
            }
            k += 1
        }
        return CSVError(kind, file: fileName, line: lineNumber, column: characters(from: lineStart, to: offset) + 1)
    }

    fileprivate func columnOf(offset: Int, recordStart: Int) -> Int {
        error(.emptyFile, at: offset, recordStart: recordStart).column
    }

    private func characters(from: Int, to: Int) -> Int {
        var count = 0
        for k in from..<max(from, to) where buffer[k] & 0xC0 != 0x80 { count += 1 }
        return count
    }
}

/// One record of a `CSVReader`: byte ranges into the reader's buffer, valid until the next read.
public struct CSVRecord {
    let base: UnsafeMutablePointer<UInt8>
    let bounds: UnsafeMutablePointer<Int>
    /// The number of fields.
    public let count: Int
    /// The physical line the record starts on (1-based).
    public let line: Int
    /// The record's number among the data records (0-based, header not counted).
    public let index: Int
    /// Where the record starts in the UTF-8 stream (the file offset for UTF-8 files).
    public let byteOffset: Int64
    /// The record's length in bytes, line break included.
    public let byteLength: Int
    let offsetInBuffer: Int
    /// The record's length without its line break.
    let contentLength: Int

    /// The record's bytes as written, without the line break: equal values written the same way
    /// give equal bytes, so this can stand for the whole row in a hash.
    @inline(__always) public var rawContent: UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: base + offsetInBuffer, count: contentLength)
    }

    @inline(__always) func start(_ k: Int) -> Int {
        let s = bounds[2 * k]
        return s < 0 ? ~s : s
    }

    /// Whether field `k` holds doubled quotes, so its raw bytes differ from its value.
    @inline(__always) public func isEscaped(_ k: Int) -> Bool { bounds[2 * k] < 0 }

    /// The field's bytes as written in the file, between the quotes if it was quoted.
    ///
    /// Doubled quotes are still doubled (see `isEscaped`); two fields with the same value always
    /// have the same raw bytes, so these can be hashed and compared as they are.
    @inline(__always) public func rawBytes(_ k: Int) -> UnsafeBufferPointer<UInt8> {
        let s = start(k)
        return UnsafeBufferPointer(start: base + s, count: bounds[2 * k + 1] - s)
    }

    /// Whether field `k` is the empty string.
    @inline(__always) public func isEmpty(_ k: Int) -> Bool { bounds[2 * k + 1] == start(k) }

    /// The value of field `k` (quotes unescaped).
    public func string(_ k: Int) -> String {
        let raw = rawBytes(k)
        if !isEscaped(k) { return String(decoding: raw, as: UTF8.self) }
        return String(decoding: unescapedBytes(k), as: UTF8.self)
    }

    /// The value of field `k` as UTF-8 bytes (quotes unescaped).
    public func bytes(_ k: Int) -> [UInt8] {
        isEscaped(k) ? unescapedBytes(k) : Array(rawBytes(k))
    }

    private func unescapedBytes(_ k: Int) -> [UInt8] {
        let raw = rawBytes(k)
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = 0
        while i < raw.count {
            out.append(raw[i])
            i += raw[i] == quote ? 2 : 1
        }
        return out
    }

    /// All fields as strings.
    public var strings: [String] { (0..<count).map(string) }
}

/// What stops the bytes of an input from being text a CSV reader accepts.
enum TextProblem: Equatable, Sendable {
    /// Not UTF-8 (after transcoding, for other encodings).
    case invalid
    /// A zero byte: no export holds one; binary files do.
    case nul
    /// U+FEFF after the start, where it is no byte-order mark but two files glued together.
    case byteOrderMark
}

/// Checks `p[from..<to]` is UTF-8 and, when `textOnly`, holds no NUL byte and no byte-order mark
/// other than at index `streamStart` (the start of the input, or -1 when it is not in the buffer).
/// Returns how far it is valid and what stops it there; an incomplete sequence at the end is left
/// for the next chunk unless `isFinal`.
func validateText(
    _ p: UnsafePointer<UInt8>, from: Int, to: Int, isFinal: Bool, textOnly: Bool = false, streamStart: Int = -1
) -> (validEnd: Int, problem: TextProblem?) {
    var i = from
    let ones: UInt64 = 0x0101_0101_0101_0101
    let highs: UInt64 = 0x8080_8080_8080_8080
    while i < to {
        while i + 8 <= to {
            let word = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
            // A high bit set, or a zero byte (the SWAR "has zero byte" test).
            if (word | (textOnly ? (word &- ones) & ~word : 0)) & highs != 0 { break }
            i += 8
        }
        if i >= to { break }
        let b = p[i]
        if b == 0 && textOnly { return (i, .nul) }
        if b < 0x80 {
            i += 1
            continue
        }
        if b == 0xEF && textOnly && i != streamStart {
            if to - i < 3 && !isFinal { return (i, nil) }
            if to - i >= 3 && p[i + 1] == 0xBB && p[i + 2] == 0xBF { return (i, .byteOrderMark) }
        }
        let length: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch b {
        case 0xC2...0xDF: length = 2
        case 0xE0:
            length = 3
            low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED:
            length = 3
            high = 0x9F
        case 0xF0:
            length = 4
            low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4:
            length = 4
            high = 0x8F
        default: return (i, .invalid)
        }
        // Check what is there, even when the sequence is cut by the end of the chunk.
        let available = min(length, to - i)
        if available >= 2 && (p[i + 1] < low || p[i + 1] > high) { return (i, .invalid) }
        if available >= 3 && p[i + 2] & 0xC0 != 0x80 { return (i, .invalid) }
        if available >= 4 && p[i + 3] & 0xC0 != 0x80 { return (i, .invalid) }
        if available < length { return (i, isFinal ? .invalid : nil) }
        i += length
    }
    return (i, nil)
}
