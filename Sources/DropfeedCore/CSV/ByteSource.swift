#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An input file that could not be opened or read (exit 66).
public struct InputFileError: CodedError, Sendable {
    public var exitCode: ExitCode { .noInput }
    public var path: String
    public var reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "cannot read \(path): \(reason)" }

    static func errno(_ path: String) -> InputFileError {
        InputFileError(path: path, reason: String(cString: strerror(Glibc.errno)).lowercased())
    }
}

/// The least room a reader offers a `ByteSource`: one UTF-8 character, so a transcoder can always
/// write what its next input unit decodes to.
let minimumReadSpace = 4

/// Produces the UTF-8 bytes of an input, a chunk at a time.
protocol ByteSource: AnyObject {
    /// Fills up to `capacity` bytes at `buffer` (`capacity >= minimumReadSpace`); returns how many,
    /// 0 only at the end.
    func read(into buffer: UnsafeMutablePointer<UInt8>, capacity: Int) throws -> Int
}

/// A file read with `read(2)`: the bytes as they are on disk.
final class FileByteSource: ByteSource {
    let path: String
    private let fd: Int32

    /// Opens `path`, which must be a regular file (see `openRegularFile`).
    init(path: String) throws {
        self.path = path
        do {
            fd = try openRegularFile(path).fd
        } catch {
            throw InputFileError(path: path, reason: error.reason)
        }
    }

    /// Where the next read starts, and how many more bytes it may deliver.
    private var offset: Int64 = 0
    private var remaining = Int64.max

    /// Opens `path` to read only `length` bytes from `offset` (a stretch of a file read on another thread).
    convenience init(path: String, offset: Int64, length: Int64) throws {
        try self.init(path: path)
        self.offset = offset
        remaining = length
    }

    deinit { close(fd) }

    func read(into buffer: UnsafeMutablePointer<UInt8>, capacity: Int) throws -> Int {
        let wanted = Int(min(Int64(capacity), remaining))
        guard wanted > 0 else { return 0 }
        while true {
            let n = pread(fd, buffer, wanted, off_t(offset))
            if n >= 0 {
                offset += Int64(n)
                remaining -= Int64(n)
                return n
            }
            if Glibc.errno == EINTR { continue }
            throw InputFileError.errno(path)
        }
    }

    /// Reads `count` bytes at `offset` into `buffer`, for re-reading records found by an earlier pass.
    func read(at offset: Int64, count: Int, into buffer: UnsafeMutableRawPointer) throws {
        var done = 0
        while done < count {
            let n = pread(fd, buffer + done, count - done, off_t(offset) + off_t(done))
            if n < 0, Glibc.errno == EINTR { continue }
            if n < 0 { throw InputFileError.errno(path) }
            if n == 0 { throw InputFileError(path: path, reason: "file shrank while being read") }
            done += n
        }
    }

    /// Reads `count` bytes at `offset`, for re-reading one record found by an earlier pass.
    func bytes(at offset: Int64, count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        try out.withUnsafeMutableBytes { raw in
            while done < count {
                let n = pread(fd, raw.baseAddress! + done, count - done, off_t(offset) + off_t(done))
                if n < 0, Glibc.errno == EINTR { continue }
                if n < 0 { throw InputFileError.errno(path) }
                if n == 0 { throw InputFileError(path: path, reason: "file shrank while being read") }
                done += n
            }
        }
        return out
    }
}

/// Bytes already in memory.
final class MemoryByteSource: ByteSource {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func read(into buffer: UnsafeMutablePointer<UInt8>, capacity: Int) throws -> Int {
        let n = min(capacity, bytes.count - offset)
        bytes.withUnsafeBufferPointer { src in
            (buffer).update(from: src.baseAddress! + offset, count: n)
        }
        offset += n
        return n
    }
}

/// Converts a single-byte encoding (windows-1252, ISO-8859-1) to UTF-8 on the fly.
final class SingleByteTranscoder: ByteSource {
    private let inner: ByteSource
    private let table: [UInt32]
    private var raw = [UInt8](repeating: 0, count: 1 << 16)

    init(_ inner: ByteSource, encoding: TextEncoding) {
        self.inner = inner
        self.table = encoding == .windows1252 ? windows1252Table : (0..<256).map { UInt32($0) }
    }

    func read(into buffer: UnsafeMutablePointer<UInt8>, capacity: Int) throws -> Int {
        let want = min(raw.count, max(1, capacity / 3))
        let n = try raw.withUnsafeMutableBufferPointer { try inner.read(into: $0.baseAddress!, capacity: want) }
        var out = 0
        for k in 0..<n {
            let b = raw[k]
            if b < 0x80 {
                buffer[out] = b
                out += 1
            } else {
                out += encodeUTF8(table[Int(b)], into: buffer + out)
            }
        }
        return out
    }
}

/// Converts UTF-16 (byte-order mark required: it decides the byte order) to UTF-8 on the fly.
///
/// A lone surrogate becomes the byte 0xFF, which the reader's UTF-8 check then reports
/// with its line and column.
final class UTF16Transcoder: ByteSource {
    private let inner: ByteSource
    private var raw = [UInt8](repeating: 0, count: 1 << 16)
    private var carry: [UInt8] = []
    private var bigEndian: Bool?
    private var pendingHigh: UInt32?
    private var finished = false
    let path: String

    init(_ inner: ByteSource, path: String) {
        self.inner = inner
        self.path = path
    }

    func read(into buffer: UnsafeMutablePointer<UInt8>, capacity: Int) throws -> Int {
        var out = 0
        while out == 0 && !finished {
            let want = min(raw.count - 2, max(2, (capacity / 3) & ~1))
            var n = carry.count
            for (k, b) in carry.enumerated() { raw[k] = b }
            carry.removeAll()
            let got = try raw.withUnsafeMutableBufferPointer {
                try inner.read(into: $0.baseAddress! + n, capacity: want - n)
            }
            n += got
            if got == 0 {
                finished = true
                if n % 2 == 1 || pendingHigh != nil {
                    buffer[out] = 0xFF
                    out += 1
                }
                break
            }
            var k = 0
            if bigEndian == nil {
                if n < 2 {
                    carry = Array(raw[0..<n])
                    continue
                }
                if raw[0] == 0xFF && raw[1] == 0xFE {
                    bigEndian = false
                    k = 2
                } else if raw[0] == 0xFE && raw[1] == 0xFF {
                    bigEndian = true
                    k = 2
                } else {
                    throw InputFileError(path: path, reason: "utf-16 source without a byte-order mark")
                }
            }
            let be = bigEndian!
            while k + 1 < n {
                let unit = be ? UInt32(raw[k]) << 8 | UInt32(raw[k + 1]) : UInt32(raw[k + 1]) << 8 | UInt32(raw[k])
                k += 2
                if let high = pendingHigh {
                    pendingHigh = nil
                    if unit >= 0xDC00 && unit <= 0xDFFF {
                        out += encodeUTF8(0x10000 + ((high - 0xD800) << 10) + (unit - 0xDC00), into: buffer + out)
                        continue
                    }
                    buffer[out] = 0xFF
                    out += 1
                }
                if unit >= 0xD800 && unit <= 0xDBFF {
                    pendingHigh = unit
                } else if unit >= 0xDC00 && unit <= 0xDFFF {
                    buffer[out] = 0xFF
                    out += 1
                } else {
                    out += encodeUTF8(unit, into: buffer + out)
                }
            }
            if k < n { carry = [raw[k]] }
        }
        return out
    }
}

/// Opens `path` as a stream of UTF-8 bytes in the given encoding.
func makeByteSource(path: String, encoding: TextEncoding) throws -> ByteSource {
    let file = try FileByteSource(path: path)
    switch encoding {
    case .utf8: return file
    case .windows1252, .iso88591: return SingleByteTranscoder(file, encoding: encoding)
    case .utf16: return UTF16Transcoder(file, path: path)
    }
}

/// Writes the UTF-8 form of `scalar` at `p`; returns the byte count (1–4).
@inline(__always)
func encodeUTF8(_ scalar: UInt32, into p: UnsafeMutablePointer<UInt8>) -> Int {
    switch scalar {
    case 0..<0x80:
        p[0] = UInt8(scalar)
        return 1
    case 0x80..<0x800:
        p[0] = UInt8(0xC0 | (scalar >> 6))
        p[1] = UInt8(0x80 | (scalar & 0x3F))
        return 2
    case 0x800..<0x10000:
        p[0] = UInt8(0xE0 | (scalar >> 12))
        p[1] = UInt8(0x80 | ((scalar >> 6) & 0x3F))
        p[2] = UInt8(0x80 | (scalar & 0x3F))
        return 3
    default:
        p[0] = UInt8(0xF0 | (scalar >> 18))
        p[1] = UInt8(0x80 | ((scalar >> 12) & 0x3F))
        p[2] = UInt8(0x80 | ((scalar >> 6) & 0x3F))
        p[3] = UInt8(0x80 | (scalar & 0x3F))
        return 4
    }
}

/// Windows-1252 to Unicode; the five unassigned bytes map to the C1 controls of the same number,
/// as the WHATWG encoding standard does.
let windows1252Table: [UInt32] = {
    var t = (0..<256).map { UInt32($0) }
    let high: [UInt32] = [
        0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8D,
        0x017D, 0x8F,
        0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D,
        0x017E, 0x0178,
    ]
    for (k, v) in high.enumerated() { t[0x80 + k] = v }
    return t
}()
