import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Small POSIX helpers for durable, private files.
enum FileSystem {
    static func errnoText() -> String { String(cString: strerror(errno)).lowercased() }

    /// Creates `path` and its parents with `mode` (existing folders are left as they are).
    ///
    /// With `root`, the folders below `root` are dropfeed's own: each must be a real folder,
    /// never a symbolic link (a link planted there would make dropfeed write elsewhere). `root`
    /// itself and the folders above it are the operator's and may be links.
    static func makeDirectory(_ path: String, mode: mode_t = 0o700, root: String? = nil) throws {
        if let root, path.count > root.count + 1, path.hasPrefix(root + "/") {
            try makeDirectory(root, mode: mode)
            var current = root
            for part in path.dropFirst(root.count + 1).split(separator: "/") {
                current += "/" + part
                var st = stat()
                if lstat(current, &st) == 0 {
                    try requireFolder(current, st)
                    continue
                }
                guard errno == ENOENT else { throw StateError("cannot inspect \(current): \(errnoText())") }
                if mkdir(current, mode) != 0 && errno != EEXIST {
                    throw StateError("cannot create folder \(current): \(errnoText())")
                }
                chmod(current, mode)
            }
            return
        }
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

    /// Throws unless `st` (from `lstat`) is a real folder.
    private static func requireFolder(_ path: String, _ st: stat) throws {
        switch st.st_mode & S_IFMT {
        case S_IFDIR: return
        case S_IFLNK:
            throw StateError(
                "\(path) is a symbolic link; dropfeed does not follow links inside its own folders (remove it)")
        default: throw StateError("\(path) exists and is not a folder")
        }
    }

    /// A new private folder (0700) in the system's temporary directory, with an unguessable
    /// name (`mkdtemp`), for files no other local user may plant or read.
    ///
    /// The name carries this process's id (`PREFIXPID-XXXXXX`), and the folders of the same prefix
    /// that a killed process left — its id no longer running, untouched for `staleTemporaryAge`,
    /// ours, real folders rather than links — are removed first: a killed `plan` or encryption
    /// leaves no identity data behind for good.
    static func makeTemporaryFolder(prefix: String, in parent: String = NSTemporaryDirectory()) throws -> String {
        removeStaleTemporaryFolders(prefix: prefix, in: parent)
        var template = Array((parent + "/" + prefix + "\(getpid())-XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw StateError("cannot create a temporary folder in \(parent): \(errnoText())")
        }
        return String(cString: made)
    }

    /// How long a dead process's temporary folder must have been left alone before it is removed.
    static let staleTemporaryAge: time_t = 600

    private static func removeStaleTemporaryFolders(prefix: String, in parent: String) {
        let cutoff = time(nil) - staleTemporaryAge
        for name in list(parent) where name.hasPrefix(prefix) {
            let rest = name.dropFirst(prefix.count)
            guard let dash = rest.firstIndex(of: "-"), let pid = pid_t(rest[..<dash]), pid > 0, pid != getpid() else {
                continue
            }
            let path = parent + "/" + name
            var st = stat()
            guard lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFDIR, st.st_uid == getuid(),
                st.st_mtim.tv_sec < cutoff, kill(pid, 0) != 0, errno == ESRCH
            else { continue }
            try? remove(path)
        }
    }

    /// Sixteen random hex digits, for temporary names another local user cannot guess.
    static func randomSuffix() -> String {
        var generator = SystemRandomNumberGenerator()
        let s = String(generator.next() as UInt64, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }

    /// Creates a new file for writing: never an existing file, never through a symbolic link,
    /// with exactly `mode` whatever the umask.
    static func createNew(_ path: String, mode: mode_t = 0o600, readable: Bool = false) throws -> Int32 {
        let fd = open(path, (readable ? O_RDWR : O_WRONLY) | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else {
            let reason = errno == EEXIST ? "it already exists (a leftover or a planted file; remove it)" : errnoText()
            throw StateError("cannot create \(path): \(reason)")
        }
        fchmod(fd, mode)
        return fd
    }

    /// Writes `bytes` to `path` atomically: a temporary file in the same folder, fsync, rename,
    /// fsync of the folder.
    static func writeAtomically(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o600) throws {
        try writeAtomically(path, mode: mode) { fd, temp in try writeAll(fd, bytes, path: temp) }
    }

    /// The prefix of the temporary names `writeAtomically` uses for `name`.
    static func temporaryPrefix(for name: String) -> String { "." + name + ".tmp-" }

    /// Writes what `body` writes to the descriptor it is given, atomically (as above). The
    /// temporary file has a random name and is created with `O_EXCL | O_NOFOLLOW`, so a file or
    /// link planted in the folder is never written through.
    static func writeAtomically(_ path: String, mode: mode_t = 0o600, _ body: (Int32, String) throws -> Void) throws {
        let folder = (path as NSString).deletingLastPathComponent
        let temp =
            (folder.isEmpty ? "" : folder + "/") + temporaryPrefix(for: (path as NSString).lastPathComponent)
            + randomSuffix()
        let fd = try createNew(temp, mode: mode)
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
        syncDirectory(folder.isEmpty ? "." : folder)
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

    /// The bytes of the file at `path`, or nil when there is none. A symbolic link is refused.
    static func read(_ path: String) throws -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            if errno == ELOOP {
                throw StateError("\(path) is a symbolic link; dropfeed does not follow links inside its own folders")
            }
            throw StateError("cannot read \(path): \(errnoText())")
        }
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw StateError("cannot read \(path): \(errnoText())")
            }
            if n == 0 { return out }
            out.append(contentsOf: buffer[0..<n])
        }
    }

    /// Removes `path` and, for a folder, everything in it. Symbolic links are removed, never
    /// followed: nothing outside `path` is touched.
    static func remove(_ path: String) throws {
        var st = stat()
        guard lstat(path, &st) == 0 else {
            if errno == ENOENT { return }
            throw StateError("cannot remove \(path): \(errnoText())")
        }
        if st.st_mode & S_IFMT == S_IFDIR {
            let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { throw StateError("cannot remove \(path): \(errnoText())") }
            defer { close(fd) }
            try removeContents(fd, path: path)
            guard rmdir(path) == 0 || errno == ENOENT else {
                throw StateError("cannot remove \(path): \(errnoText())")
            }
        } else {
            guard unlink(path) == 0 || errno == ENOENT else {
                throw StateError("cannot remove \(path): \(errnoText())")
            }
        }
    }

    /// Empties the folder open as `fd`, relative to it (`unlinkat`), never through a link.
    private static func removeContents(_ fd: Int32, path: String) throws {
        let listing = dup(fd)
        guard listing >= 0, let dir = fdopendir(listing) else {
            throw StateError("cannot list \(path): \(errnoText())")
        }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        closedir(dir)
        for name in names {
            var st = stat()
            guard fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
            if st.st_mode & S_IFMT == S_IFDIR {
                let child = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard child >= 0 else { throw StateError("cannot remove \(path)/\(name): \(errnoText())") }
                defer { close(child) }
                try removeContents(child, path: path + "/" + name)
                guard unlinkat(fd, name, AT_REMOVEDIR) == 0 || errno == ENOENT else {
                    throw StateError("cannot remove \(path)/\(name): \(errnoText())")
                }
            } else {
                guard unlinkat(fd, name, 0) == 0 || errno == ENOENT else {
                    throw StateError("cannot remove \(path)/\(name): \(errnoText())")
                }
            }
        }
    }

    static func move(_ from: String, _ to: String) throws {
        guard rename(from, to) == 0 else { throw StateError("cannot rename \(from) to \(to): \(errnoText())") }
        syncDirectory((to as NSString).deletingLastPathComponent)
    }

    /// Copies the file at `from` to a new file `to` (0600, never through a link), synced.
    static func copy(_ from: String, to: String) throws {
        let input = open(from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard input >= 0 else { throw StateError("cannot read \(from): \(errnoText())") }
        defer { close(input) }
        let output = try createNew(to)
        defer { close(output) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(input, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw StateError("cannot read \(from): \(errnoText())")
            }
            if n == 0 { break }
            try buffer.withUnsafeBytes { try writeAll(output, UnsafeRawBufferPointer(rebasing: $0[0..<n]), path: to) }
        }
        guard fsync(output) == 0 else { throw StateError("cannot sync \(to): \(errnoText())") }
    }

    static func list(_ path: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
    }
}
