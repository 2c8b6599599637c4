import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Another run holds the state directory's lock (exit 75).
public struct LockedError: CodedError {
    public var path: String
    public var exitCode: ExitCode { .temporaryFailure }
    public var description: String { "another dropfeed run holds the lock on \(path); try again when it has finished" }
}

/// An exclusive `flock` on the state directory, held for the whole run.
public final class StateLock {
    private let fd: Int32

    /// Takes the lock at once or throws `LockedError`; never waits.
    public init(stateDir: String) throws {
        try FileSystem.makeDirectory(stateDir)
        let path = stateDir + "/.lock"
        fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            if errno == ELOOP {
                throw StateError("\(path) is a symbolic link; dropfeed does not follow links inside its own folders")
            }
            throw StateError("cannot open \(path): \(FileSystem.errnoText())")
        }
        fchmod(fd, 0o600)
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let busy = errno == EWOULDBLOCK
            close(fd)
            if busy { throw LockedError(path: stateDir) }
            throw StateError("cannot lock \(path): \(FileSystem.errnoText())")
        }
        let pid = Array("\(getpid())\n".utf8)
        ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
