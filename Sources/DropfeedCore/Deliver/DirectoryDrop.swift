import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Delivers into a local folder: copy to a hidden temporary name in the same folder, fsync,
/// link to the final name, fsync the folder. A file is never visible half-written.
///
/// The temporary name (`.NAME.part-PID-RANDOM`) is unguessable and created with
/// `O_EXCL | O_NOFOLLOW`, so a file or link planted in the folder is never written through;
/// files are 0600 and a folder it creates 0700, whatever the umask. Temporary files that a
/// killed run left — its process gone — are removed when the folder is opened, whatever
/// their name, and before a name is delivered again.
public final class DirectoryDrop: FileDrop {
    public let folder: String
    /// The target this drop delivers for, as fault points name it.
    let faultTarget: String?

    public init(folder: String, target: String? = nil) {
        self.folder = folder
        faultTarget = target
    }

    public var location: String { folder }

    public func open() throws {
        do { try FileSystem.makeDirectory(folder, mode: 0o700) } catch let error as StateError {
            throw FileDropError(error.message)
        }
        guard access(folder, W_OK) == 0 else {
            throw FileDropError("cannot write into \(folder): \(FileSystem.errnoText())")
        }
        removeTemporariesOfEndedRuns()
    }

    public func size(of name: String) throws -> Int64? {
        var st = stat()
        guard lstat(folder + "/" + name, &st) == 0 else { return nil }
        return Int64(st.st_size)
    }

    /// The prefix of the temporary names a delivery of `name` uses.
    static func temporaryPrefix(for name: String) -> String { ".\(name).part-" }

    /// A new temporary name for `name`: the writing process's id, then random digits.
    static func temporaryName(for name: String) -> String {
        temporaryPrefix(for: name) + "\(getpid())-" + FileSystem.randomSuffix()
    }

    /// The process that wrote the temporary file `entry` (`.NAME.part-PID-RANDOM`), if it is one.
    static func writer(ofTemporary entry: String) -> pid_t? {
        guard entry.hasPrefix("."), let part = entry.range(of: ".part-", options: .backwards) else { return nil }
        let fields = entry[part.upperBound...].split(separator: "-", omittingEmptySubsequences: false)
        guard fields.count == 2, fields[1].count == 16, fields[1].allSatisfy(\.isHexDigit), let pid = pid_t(fields[0]),
            pid > 0
        else { return nil }
        return pid
    }

    /// Whether process `pid` still runs (a process of another user counts as running).
    private static func isRunning(_ pid: pid_t) -> Bool { kill(pid, 0) == 0 || errno == EPERM }

    /// Removes the temporary files of deliveries whose process has ended (a run killed while it
    /// wrote a file), never following a link. Another run writing into the same folder keeps its own.
    private func removeTemporariesOfEndedRuns() {
        for entry in FileSystem.list(folder) {
            guard let pid = DirectoryDrop.writer(ofTemporary: entry), !DirectoryDrop.isRunning(pid) else { continue }
            unlink(folder + "/" + entry)
        }
    }

    /// Removes what an interrupted delivery of `name` left (never following a link).
    private func removeStaleTemporaries(for name: String) {
        let prefix = DirectoryDrop.temporaryPrefix(for: name)
        for entry in FileSystem.list(folder) where entry.hasPrefix(prefix) {
            if let pid = DirectoryDrop.writer(ofTemporary: entry), pid != getpid(), DirectoryDrop.isRunning(pid) {
                continue
            }
            unlink(folder + "/" + entry)
        }
    }

    public func put(localPath: String, as name: String) throws {
        let final = folder + "/" + name
        var existing = stat()
        if lstat(final, &existing) == 0 {
            throw FileDropError(
                "\(final) already exists; it is not replaced (put {seq} or {time} in output.file to give every run its own name)"
            )
        }
        removeStaleTemporaries(for: name)
        let temp = folder + "/" + DirectoryDrop.temporaryName(for: name)
        let input = Glibc.open(localPath, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw FileDropError("cannot read \(localPath): \(FileSystem.errnoText())") }
        defer { Glibc.close(input) }
        let output = Glibc.open(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw FileDropError("cannot write into \(folder): \(FileSystem.errnoText())") }
        fchmod(output, 0o600)
        do {
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress!, $0.count) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw FileDropError("cannot read \(localPath): \(FileSystem.errnoText())")
                }
                if n == 0 { break }
                do { try FileSystem.writeAll(output, Array(buffer[0..<n]), path: temp) } catch let error as StateError {
                    throw FileDropError(error.message)
                }
            }
            guard fsync(output) == 0 else { throw FileDropError("cannot sync \(temp): \(FileSystem.errnoText())") }
            guard Glibc.close(output) == 0 else {
                throw FileDropError("cannot close \(temp): \(FileSystem.errnoText())")
            }
            Fault.point("put-written", target: faultTarget)
        } catch {
            Glibc.close(output)
            unlink(temp)
            throw error
        }
        // link + unlink refuses to replace a file that appeared meanwhile, unlike rename.
        guard link(temp, final) == 0 else {
            let text = FileSystem.errnoText()
            unlink(temp)
            throw FileDropError("cannot move \(temp) to \(final): \(text)")
        }
        Fault.point("put-linked", target: faultTarget)
        unlink(temp)
        FileSystem.syncDirectory(folder)
    }

    public func close() throws {}
}
