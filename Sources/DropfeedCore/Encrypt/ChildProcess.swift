import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A program started with `posix_spawn`: its arguments and environment exactly as given (no
/// shell, nothing inherited unless passed), and chosen pipes or files as its descriptors.
struct ChildProcess {
    let pid: pid_t
    let program: String

    /// Held while a pipe is made and while a child is started (see `Pipe2`).
    static let lock = NSLock()

    /// Starts `program` with `arguments`; `descriptors` maps a child descriptor (0, 1, 2, 3 …)
    /// to one of ours. Every other descriptor of ours opened close-on-exec stays out of it.
    static func spawn(
        _ program: String, _ arguments: [String], environment: [String], descriptors: [Int32: Int32]
    ) throws -> ChildProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // Sources are moved above every target first, so that dup2 onto a target never
        // overwrites a source still to be copied (and always clears close-on-exec).
        var moved: [Int32] = []
        defer { for fd in moved { close(fd) } }
        for (target, source) in descriptors.sorted(by: { $0.key < $1.key }) {
            let high = fcntl(source, F_DUPFD_CLOEXEC, 64)
            guard high >= 0 else { throw EncryptionError("cannot start \(program): \(FileSystem.errnoText())") }
            moved.append(high)
            posix_spawn_file_actions_adddup2(&actions, high, target)
        }
        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
        var pid: pid_t = 0
        lock.lock()
        defer { lock.unlock() }
        let status = posix_spawn(&pid, program, &actions, nil, argv, envp)
        guard status == 0 else {
            throw EncryptionError("cannot start \(program): \(String(cString: strerror(status)))")
        }
        return ChildProcess(pid: pid, program: program)
    }

    /// Waits for the child; returns its exit status (128 + N when killed by signal N).
    func wait() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return -1 }
        }
        if status & 0x7F == 0 { return (status >> 8) & 0xFF }
        return 128 + (status & 0x7F)
    }

    /// The first program called `name` in the `PATH` directories, or nil.
    static func find(_ name: String, path: String?) -> String? {
        for dir in (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") where !dir.isEmpty {
            let candidate = dir + "/" + name
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}

/// A pipe whose two ends are close-on-exec (a child gets an end only through `descriptors`).
struct Pipe2 {
    let read: Int32
    let write: Int32

    init() throws {
        var fds: [Int32] = [0, 0]
        // Made and marked close-on-exec under the lock every spawn takes, so that no child
        // started meanwhile on another thread inherits an end (an inherited write end would
        // keep a gpg waiting for the end of its input forever).
        ChildProcess.lock.lock()
        defer { ChildProcess.lock.unlock() }
        guard pipe(&fds) == 0 else { throw EncryptionError("cannot make a pipe: \(FileSystem.errnoText())") }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        read = fds[0]
        write = fds[1]
    }
}
