internal import CLibSSH2

#if canImport(Glibc)
    import Glibc
#endif

/// A remote file open for writing; owns one `LIBSSH2_SFTP_HANDLE` and keeps its client alive.
///
/// Always `close()` it and check the result: the server reports some write failures only there.
/// After a failed write, close the file and start again; libssh2 has dropped the queued writes.
public final class RemoteFile {
    /// The remote path, as opened.
    public let path: String
    /// Bytes the server has acknowledged so far.
    public private(set) var bytesWritten: Int64 = 0

    private let client: SFTPClient
    private var handle: OpaquePointer?

    /// The most data handed to libssh2 and not yet acknowledged: 64 SFTP write packets of 30000
    /// bytes (libssh2's `MAX_SFTP_OUTGOING_SIZE`), about one SSH channel window.
    static let window = 30_000 * 64
    /// The window is topped up once this much of it is acknowledged, so that it never runs low
    /// and new data still goes out as whole 30000-byte packets.
    static let refillStep = 30_000 * 8

    init(client: SFTPClient, handle: OpaquePointer, path: String) {
        self.client = client
        self.handle = handle
        self.path = path
        client.openFiles += 1
    }

    /// Writes all of `bytes` (`libssh2_sftp_write`, pipelined) and returns once the server has
    /// acknowledged every byte.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: CChar.self) else { return }
        var acknowledged = 0
        while acknowledged < bytes.count {
            acknowledged += try writeChunk(base + acknowledged, count: bytes.count - acknowledged)
        }
    }

    /// Writes all of `bytes`; see `write(_:)`.
    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Streams the local file at `localPath` to this file through a sliding window of
    /// 1,920,000 bytes (`libssh2_sftp_write`) and returns the number of bytes sent.
    ///
    /// libssh2's contract: a call returns how many bytes the server acknowledged, while the rest
    /// may already be on the wire; the next call must start at the first unacknowledged byte with
    /// those bytes unchanged (moving them is fine). The window is topped up in steps of 8 packets,
    /// so 56 to 64 packets are always in flight; the buffer holds two windows, so the compacting
    /// `memmove` copies each byte at most once.
    public func write(contentsOf localPath: String) throws -> Int64 {
        try write(contentsOf: localPath, from: 0, count: Int64.max)
    }

    /// Streams `count` bytes of the local file starting at `offset` (or up to its end) to the
    /// same offset of this file (`libssh2_sftp_seek64`, then as `write(contentsOf:)`); returns the
    /// number of bytes sent. Two such writers on two sessions fill one file in parallel.
    public func write(contentsOf localPath: String, from offset: Int64, count: Int64) throws -> Int64 {
        let fd = open(localPath, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Self.localError(localPath, operation: "open") }
        defer { Glibc.close(fd) }
        if offset > 0 { libssh2_sftp_seek64(openHandle, UInt64(offset)) }
        var position = offset
        var remaining = count
        let (window, step) = (Self.window, Self.refillStep)
        let capacity = 2 * window
        let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: capacity)
        defer { buffer.deallocate() }

        var start = 0  // the first unacknowledged byte
        var end = 0  // the end of the data handed to libssh2
        var endOfFile = false
        var total: Int64 = 0
        while true {
            if !endOfFile && end - start <= window - step {
                if capacity - end < step {
                    memmove(buffer, buffer + start, end - start)
                    end -= start
                    start = 0
                }
                let limit = min(capacity, start + window)
                while end < limit {
                    let n = pread(fd, buffer + end, Int(min(Int64(limit - end), remaining)), off_t(position))
                    if n < 0 && errno == EINTR { continue }
                    guard n >= 0 else { throw Self.localError(localPath, operation: "read") }
                    if n == 0 {
                        endOfFile = true
                        break
                    }
                    end += n
                    position += Int64(n)
                    remaining -= Int64(n)
                    if remaining == 0 {
                        endOfFile = true
                        break
                    }
                }
            }
            assert(0 <= start && start <= end && end <= capacity && end - start <= window)
            if start == end { return total }
            let acknowledged = try writeChunk(buffer + start, count: end - start)
            start += acknowledged
            total += Int64(acknowledged)
            TransferMeter.add(acknowledged)
        }
    }

    /// The file's size on the server, from the open handle (`libssh2_sftp_fstat_ex`).
    public func size() throws -> Int64 {
        var attributes = LIBSSH2_SFTP_ATTRIBUTES()
        if libssh2_sftp_fstat_ex(openHandle, &attributes, 0) != 0 {
            throw client.error("cannot stat \(path)", operation: "libssh2_sftp_fstat_ex", path: path)
        }
        guard let size = SFTPClient.Attributes(attributes).size else {
            throw SFTPError(
                .sizeMismatch, "the server does not report the size of \(path)", operation: "libssh2_sftp_fstat_ex",
                remotePath: path)
        }
        return size
    }

    /// Closes the handle (`libssh2_sftp_close_handle`) and reports the server's status: a failed
    /// write may surface only here. The handle is gone afterwards, whatever the result.
    /// - Throws: `SFTPError`; of kind `.connection` when the connection was already lost, as the
    ///   file's state on the server is then unknown.
    public func close() throws {
        guard let handle else { return }
        self.handle = nil
        client.openFiles -= 1
        if client.session.isBroken {
            throw SFTPError(
                .connection, "cannot close \(path): the connection to \(client.session.endpoint) was lost",
                operation: "libssh2_sftp_close_handle", remotePath: path)
        }
        if libssh2_sftp_close_handle(handle) != 0 {
            throw client.error(
                "cannot close \(path)", reason: writeFailureReason, operation: "libssh2_sftp_close_handle", path: path)
        }
    }

    deinit {
        if let handle {
            client.openFiles -= 1
            if !client.session.isBroken { _ = libssh2_sftp_close_handle(handle) }
        }
    }

    private var openHandle: OpaquePointer {
        guard let handle else { preconditionFailure("\(path) is closed") }
        return handle
    }

    /// One `libssh2_sftp_write` call; returns the bytes acknowledged (0 means "call again").
    private func writeChunk(_ data: UnsafePointer<CChar>, count: Int) throws -> Int {
        let rc = libssh2_sftp_write(openHandle, data, count)
        guard rc >= 0 else {
            throw client.error(
                "cannot write \(path)", reason: writeFailureReason, operation: "libssh2_sftp_write", path: path)
        }
        bytesWritten += Int64(rc)
        return rc
    }

    /// The reason given for a failed write or close, or nil to explain the status as usual.
    /// SFTP v3 has no "disk full" status: OpenSSH answers ENOSPC and EDQUOT with a bare
    /// FX_FAILURE, so say what it most likely means.
    private var writeFailureReason: String? {
        let (code, _) = SSHSession.lastError(client.session.handle)
        guard code == .sftpProtocol, SFTPStatus(rawValue: libssh2_sftp_last_error(client.handle)) == .failure else {
            return nil
        }
        return "the server reported a failure; it may be out of space or over quota"
    }

    private static func localError(_ path: String, operation: String) -> SFTPError {
        let failure = SystemError(errno)
        return SFTPError(
            .localFile, "cannot read local file \(path): \(failure.message.lowercased())", operation: operation,
            message: failure.message)
    }
}
