import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Another run holds the state directory's lock (exit 75).
public struct LockedError: CodedError {
    public var path: String
    /// What the holder wrote into the lock file: `PID STARTED-AT`, when it could be read.
    public var holder: (pid: String, since: String)?
    /// How long this run waited for it (`--wait-lock SECONDS`).
    public var waited: Double = 0
    public var exitCode: ExitCode { .temporaryFailure }
    public var description: String {
        var text = "another dropfeed run holds the lock on \(path)"
        if let holder { text += " (pid \(holder.pid), started \(holder.since))" }
        if waited > 0 { text += "; waited \(Int(waited.rounded())) s for it" }
        return text + "; try again when it has finished, or wait for it with --wait-lock SECONDS"
    }
}

/// An exclusive `flock` on the state directory, held for the whole run.
public final class StateLock {
    private let fd: Int32

    /// Takes the lock, waiting at most `waitSeconds` for a run that holds it (checking every
    /// tenth of a second), or throws `LockedError` naming the holder.
    public init(stateDir: String, waitSeconds: Double = 0) throws {
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
        let deadline = Date().addingTimeInterval(waitSeconds)
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let busy = errno == EWOULDBLOCK
            if busy && Date() < deadline {
                usleep(100_000)
                continue
            }
            let holder = busy ? Self.holder(fd) : nil
            close(fd)
            if busy { throw LockedError(path: stateDir, holder: holder, waited: waitSeconds) }
            throw StateError("cannot lock \(path): \(FileSystem.errnoText())")
        }
        let since = ISO8601DateFormatter().string(from: Date())
        let pid = Array("\(getpid()) \(since)\n".utf8)
        ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
    }

    /// The holder's `PID STARTED-AT` line (an older release wrote the pid only).
    private static func holder(_ fd: Int32) -> (pid: String, since: String)? {
        var buffer = [UInt8](repeating: 0, count: 128)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, $0.count, 0) }
        guard n > 0 else { return nil }
        let words = String(decoding: buffer[0..<n], as: UTF8.self).split(whereSeparator: \.isWhitespace)
        guard let pid = words.first, pid.allSatisfy(\.isNumber) else { return nil }
        return (String(pid), words.count > 1 ? String(words[1]) : "at an unknown time")
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
