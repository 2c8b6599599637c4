#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Why a file could not be opened as a regular file: the reason, lowercase, for a message.
struct RegularFileError: Error {
    var reason: String
}

/// Opens `path` for reading, refusing anything but a regular file before a byte is read: a FIFO
/// would block the run forever (it is opened with `O_NONBLOCK`, so even opening it cannot wait for
/// a writer), and a device or socket has no end. Returns the descriptor, in blocking mode, and the
/// file's size.
func openRegularFile(_ path: String) throws(RegularFileError) -> (fd: Int32, size: Int) {
    let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
    guard fd >= 0 else { throw RegularFileError(reason: String(cString: strerror(errno)).lowercased()) }
    var st = stat()
    guard fstat(fd, &st) == 0 else {
        let reason = String(cString: strerror(errno)).lowercased()
        close(fd)
        throw RegularFileError(reason: reason)
    }
    if let reason = notRegularFileReason(st.st_mode) {
        close(fd)
        throw RegularFileError(reason: reason)
    }
    _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
    return (fd, Int(st.st_size))
}

/// Why a file that is not a regular file cannot be read as one (`nil` for a regular file).
func notRegularFileReason(_ mode: mode_t) -> String? {
    switch mode & S_IFMT {
    case S_IFREG: return nil
    case S_IFDIR: return "is a directory"
    case S_IFIFO: return "is a FIFO (named pipe), not a regular file"
    case S_IFCHR: return "is a character device, not a regular file"
    case S_IFBLK: return "is a block device, not a regular file"
    case S_IFSOCK: return "is a socket, not a regular file"
    default: return "is not a regular file"
    }
}
