internal import CLibSSH2

#if canImport(Glibc)
    import Glibc
#endif

/// Process-wide libssh2 state.
enum LibSSH2 {
    /// `libssh2_init(0)`, run once before the first session (a `static let` is initialised once,
    /// thread-safely). `libssh2_exit` is never called: the process exit releases it.
    static let initialized: Int32 = libssh2_init(0)
}

extension String {
    /// The length libssh2's `_ex` functions expect: UTF-8 bytes, not characters.
    var byteCount: UInt32 { UInt32(utf8.count) }
}

/// Reads a small local file (a key, known_hosts) whole, up to `limit` bytes; throws the `errno`.
func readSmallFile(_ path: String, limit: Int = 1 << 20) throws(SystemError) -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw SystemError(errno) }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while bytes.count < limit {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n == 0 { break }
        if n < 0 {
            if errno == EINTR { continue }
            throw SystemError(errno)
        }
        bytes += chunk[..<n]
    }
    return bytes
}

/// An `errno` value and its `strerror` text.
struct SystemError: Error {
    var code: Int32
    init(_ code: Int32) { self.code = code }
    var message: String { String(cString: strerror(code)) }
}
