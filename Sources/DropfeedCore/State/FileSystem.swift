import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The state directory cannot be written, or holds something unreadable (exit 73).
public struct StateError: CodedError {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var exitCode: ExitCode { .cannotCreate }
    public var description: String { message }
}

/// Another run holds the state directory's lock (exit 75).
public struct LockedError: CodedError {
    public var path: String
    public var exitCode: ExitCode { .temporaryFailure }
    public var description: String { "another dropfeed run holds the lock on \(path); try again when it has finished" }
}

/// Small POSIX helpers for durable, private files.
enum FileSystem {
    static func errnoText() -> String { String(cString: strerror(errno)).lowercased() }

    /// Creates `path` and its parents with `mode` (existing folders are left as they are).
    static func makeDirectory(_ path: String, mode: mode_t = 0o700) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            if !isDir.boolValue { throw StateError("\(path) exists and is not a folder") }
            return
        }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty && parent != path { try makeDirectory(parent, mode: mode) }
        if mkdir(path, mode) != 0 && errno != EEXIST {
            throw StateError("cannot create folder \(path): \(errnoText())")
        }
        chmod(path, mode)
    }

    /// Writes `bytes` to `path` atomically: a temporary file in the same folder, fsync, rename,
    /// fsync of the folder.
    static func writeAtomically(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o600) throws {
        try writeAtomically(path, mode: mode) { fd, temp in try writeAll(fd, bytes, path: temp) }
    }

    /// Writes what `body` writes to the descriptor it is given, atomically (as above).
    static func writeAtomically(_ path: String, mode: mode_t = 0o600, _ body: (Int32, String) throws -> Void) throws {
        let folder = (path as NSString).deletingLastPathComponent
        let temp = folder + "/." + (path as NSString).lastPathComponent + ".tmp-\(getpid())"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw StateError("cannot write \(temp): \(errnoText())") }
        do {
            try body(fd, temp)
            guard fsync(fd) == 0 else { throw StateError("cannot sync \(temp): \(errnoText())") }
            close(fd)
        } catch {
            close(fd)
            unlink(temp)
            throw error
        }
        guard rename(temp, path) == 0 else {
            let text = errnoText()
            unlink(temp)
            throw StateError("cannot rename \(temp) to \(path): \(text)")
        }
        syncDirectory(folder)
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws {
        try bytes.withUnsafeBytes { try writeAll(fd, $0, path: path) }
    }

    static func writeAll(_ fd: Int32, _ raw: UnsafeRawBufferPointer, path: String) throws {
        var done = 0
        while done < raw.count {
            let n = write(fd, raw.baseAddress! + done, raw.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw StateError("cannot write \(path): \(errnoText())")
            }
            done += n
        }
    }

    /// Reads exactly `buffer.count` bytes at `offset` (`pread`); a short file is an error.
    static func readAll(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int, path: String) throws {
        var done = 0
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw StateError("cannot read \(path): \(errnoText())")
            }
            if n == 0 { throw StateError("\(path) is shorter than its metadata says: the state is damaged") }
            done += n
        }
    }

    static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
    }

    static func read(_ path: String) throws -> [UInt8]? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StateError("cannot read \(path)")
        }
        return [UInt8](data)
    }

    static func remove(_ path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { return }
        do { try FileManager.default.removeItem(atPath: path) } catch {
            throw StateError("cannot remove \(path): \(error.localizedDescription)")
        }
    }

    static func move(_ from: String, _ to: String) throws {
        guard rename(from, to) == 0 else { throw StateError("cannot rename \(from) to \(to): \(errnoText())") }
        syncDirectory((to as NSString).deletingLastPathComponent)
    }

    static func list(_ path: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
    }
}

/// An exclusive `flock` on the state directory, held for the whole run.
public final class StateLock {
    private let fd: Int32

    /// Takes the lock at once or throws `LockedError`; never waits.
    public init(stateDir: String) throws {
        try FileSystem.makeDirectory(stateDir)
        let path = stateDir + "/.lock"
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StateError("cannot open \(path): \(FileSystem.errnoText())") }
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
