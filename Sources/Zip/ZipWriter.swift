import CZlib

#if canImport(Glibc)
    import Glibc
#endif

/// Writing a zip archive failed: a write, or zlib (the message says which and why).
public struct ZipError: Error, CustomStringConvertible {
    public var description: String
}

/// The date and time a zip entry records (DOS format: local time, two-second steps).
public struct ZipTimestamp: Sendable {
    public var year, month, day, hour, minute, second: Int

    public init(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
        (self.year, self.month, self.day, self.hour, self.minute, self.second) = (
            year, month, day, hour, minute, second
        )
    }

    var dosTime: UInt16 { UInt16(hour << 11 | minute << 5 | second / 2) }
    var dosDate: UInt16 { UInt16(max(0, year - 1980) << 9 | month << 5 | day) }
}

/// Streams a standard zip archive (PKWARE APPNOTE 6.3): each entry deflated (method 8) with its
/// CRC-32, a local header before it (completed in place once its sizes are known, so no data
/// descriptors), then the central directory and its end record. Names are UTF-8 (flag bit 11).
/// No ZIP64: an archive or entry reaching 4 GiB is refused.
///
///     let zip = ZipWriter(fd: fd, path: path)
///     try zip.beginEntry("users.csv", modified: stamp)
///     try zip.write(bytes)
///     try zip.endEntry()
///     try zip.finish()
public final class ZipWriter {
    private let fd: Int32
    private let path: String
    private var offset: UInt64 = 0
    private var central: [UInt8] = []
    private var entries = 0
    private var current: Entry?
    private var finished = false

    private struct Entry {
        var name: [UInt8]
        var headerOffset: UInt64
        var stamp: ZipTimestamp
        var crc: UInt32 = 0
        var plainSize: UInt64 = 0
        var compressedSize: UInt64 = 0
    }
    /// zlib's stream state for the open entry, at a fixed address (zlib checks it did not move).
    private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)

    /// Writes to `fd` (an empty file, written from its start); `path` names it in errors.
    public init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit {
        if current != nil { deflateEnd(stream) }
        stream.deallocate()
    }

    /// Starts an entry called `name`.
    public func beginEntry(_ name: String, modified stamp: ZipTimestamp) throws {
        precondition(current == nil && !finished, "beginEntry while an entry is open")
        let entry = Entry(name: Array(name.utf8), headerOffset: offset, stamp: stamp)
        stream.initialize(to: z_stream())
        let status = deflateInit2_(
            stream, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else { throw ZipError(description: "zlib cannot start deflating (\(status))") }
        var header: [UInt8] = []
        header.le32(0x0403_4b50)
        header.le16(20)  // version needed: 2.0 (deflate)
        header.le16(0x0800)  // UTF-8 name
        header.le16(8)  // deflate
        header.le16(stamp.dosTime)
        header.le16(stamp.dosDate)
        header.le32(0)  // CRC-32, sizes: filled in by endEntry
        header.le32(0)
        header.le32(0)
        header.le16(UInt16(entry.name.count))
        header.le16(0)
        header += entry.name
        current = entry
        try append(header)
    }

    /// Adds bytes to the open entry.
    public func write(_ bytes: [UInt8]) throws {
        guard !bytes.isEmpty else { return }
        precondition(current != nil, "write without an open entry")
        current!.crc = bytes.withUnsafeBufferPointer {
            UInt32(crc32(uLong(current!.crc), $0.baseAddress, uInt($0.count)))
        }
        current!.plainSize += UInt64(bytes.count)
        try deflate(bytes, flush: Z_NO_FLUSH)
    }

    /// Ends the open entry and completes its local header.
    public func endEntry() throws {
        precondition(current != nil, "endEntry without an open entry")
        try deflate([], flush: Z_FINISH)
        let entry = current!
        deflateEnd(stream)
        current = nil
        guard entry.plainSize < 0xFFFF_FFFF, entry.compressedSize < 0xFFFF_FFFF, offset < 0xFFFF_FFFF else {
            throw ZipError(description: "\(path): a zip entry reached 4 GiB (ZIP64 is not written)")
        }
        var sizes: [UInt8] = []
        sizes.le32(entry.crc)
        sizes.le32(UInt32(entry.compressedSize))
        sizes.le32(UInt32(entry.plainSize))
        try writeAt(sizes, offset: entry.headerOffset + 14)

        central.le32(0x0201_4b50)
        central.le16(3 << 8 | 20)  // made by: Unix, 2.0
        central.le16(20)
        central.le16(0x0800)
        central.le16(8)
        central.le16(entry.stamp.dosTime)
        central.le16(entry.stamp.dosDate)
        central += sizes
        central.le16(UInt16(entry.name.count))
        central.le16(0)  // extra
        central.le16(0)  // comment
        central.le16(0)  // disk
        central.le16(0)  // internal attributes
        central.le32(0o100644 << 16)  // external: a regular file, rw-r--r--
        central.le32(UInt32(entry.headerOffset))
        central += entry.name
        entries += 1
    }

    /// Writes the central directory and its end record; returns the archive's size.
    @discardableResult
    public func finish() throws -> UInt64 {
        precondition(current == nil && !finished, "finish with an entry open")
        finished = true
        let start = offset
        guard start + UInt64(central.count) < 0xFFFF_FFFF, entries < 0xFFFF else {
            throw ZipError(description: "\(path): the archive reached 4 GiB or 65,535 entries (ZIP64 is not written)")
        }
        var end: [UInt8] = []
        end.le32(0x0605_4b50)
        end.le16(0)
        end.le16(0)
        end.le16(UInt16(entries))
        end.le16(UInt16(entries))
        end.le32(UInt32(central.count))
        end.le32(UInt32(start))
        end.le16(0)
        try append(central + end)
        return offset
    }

    private func deflate(_ input: [UInt8], flush: Int32) throws {
        var out = [UInt8](repeating: 0, count: 1 << 16)
        try input.withUnsafeBufferPointer { source in
            stream.pointee.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
            stream.pointee.avail_in = uInt(source.count)
            while true {
                let (status, produced) = out.withUnsafeMutableBufferPointer { buffer -> (Int32, Int) in
                    stream.pointee.next_out = buffer.baseAddress
                    stream.pointee.avail_out = uInt(buffer.count)
                    let status = CZlib.deflate(stream, flush)
                    return (status, buffer.count - Int(stream.pointee.avail_out))
                }
                guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
                    throw ZipError(description: "zlib failed to deflate (\(status))")
                }
                if produced > 0 {
                    current!.compressedSize += UInt64(produced)
                    try append(Array(out[0..<produced]))
                }
                if flush == Z_FINISH ? status == Z_STREAM_END : (stream.pointee.avail_in == 0 && produced < out.count) {
                    break
                }
            }
            stream.pointee.next_in = nil
        }
    }

    private func append(_ bytes: [UInt8]) throws {
        try writeAt(bytes, offset: offset)
        offset += UInt64(bytes.count)
    }

    private func writeAt(_ bytes: [UInt8], offset: UInt64) throws {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes {
                pwrite(fd, $0.baseAddress! + done, $0.count - done, off_t(offset) + off_t(done))
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw ZipError(description: "cannot write \(path): \(String(cString: strerror(errno)).lowercased())")
            }
            done += n
        }
    }
}

extension Array where Element == UInt8 {
    fileprivate mutating func le16(_ v: UInt16) {
        append(UInt8(v & 0xFF))
        append(UInt8(v >> 8))
    }

    fileprivate mutating func le32(_ v: UInt32) {
        for shift in stride(from: 0, to: 32, by: 8) { append(UInt8((v >> UInt32(shift)) & 0xFF)) }
    }
}
