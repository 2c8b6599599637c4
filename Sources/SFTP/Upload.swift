import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// How `SFTPClient.upload` puts a file in place.
public enum UploadMode: Sendable {
    /// Write `NAME.part`, check it, then rename it to `NAME`: a partial `NAME` never appears.
    case rename
    /// Write `NAME` in place, for servers that forbid rename; removed again if the upload fails.
    case direct
}

/// A file delivered by `SFTPClient.upload`.
public struct UploadResult: Sendable {
    /// The file's final remote path.
    public var remotePath: String
    /// Its size in bytes, as sent and as the server reported it.
    public var bytes: Int64
}

extension SFTPClient {
    /// Delivers the local file `localPath` as `remoteDir/name`, never leaving a partial file
    /// under that name.
    ///
    /// `.rename` writes `name.part` (created or truncated), checks every write, compares the
    /// size the server reports (`fstat`) with the bytes sent and the local size, checks the close,
    /// then renames it to `name`. SFTP v3 cannot rename over a file: when `name` exists,
    /// `overwrite` removes it first (a short window without the file), otherwise the upload fails
    /// with kind `.targetExists`. On any failure the `.part` file is removed when the connection
    /// still allows it; otherwise the error says it may remain.
    ///
    /// `.direct` writes `name` itself: truncating an existing file when `overwrite` is set, else
    /// refusing (`LIBSSH2_FXF_EXCL`); on failure the partial `name` is removed.
    ///
    /// With a `helper` (an authenticated client on a second session to the same server) a file of
    /// at least `parallelThreshold` bytes is sent in two halves at once, one per session: libssh2
    /// 1.10 encrypts on the calling thread, so two sessions use two cores.
    public func upload(
        localPath: String, remoteDir: String, name: String, mode: UploadMode = .rename, overwrite: Bool = false,
        helper: SFTPClient? = nil
    ) throws -> UploadResult {
        let finalPath = remoteDir.isEmpty ? name : remoteDir.hasSuffix("/") ? remoteDir + name : remoteDir + "/" + name
        let localSize = try Self.localSize(localPath)
        let writePath = mode == .rename ? finalPath + ".part" : finalPath
        let existing: ExistingFile = mode == .rename || overwrite ? .truncate : .fail
        var created = false
        do {
            let bytes = try withFileForWriting(writePath, ifExists: existing) { file in
                created = true
                let sent: Int64
                if let helper, localSize >= Self.parallelThreshold {
                    sent = try Self.writeInParallel(
                        file, helper: helper, path: writePath, localPath: localPath, size: localSize)
                } else {
                    sent = try file.write(contentsOf: localPath)
                }
                try verify(file, sent: sent, localSize: localSize, localPath: localPath)
                return sent
            }
            if mode == .rename { try moveIntoPlace(writePath, finalPath, overwrite: overwrite) }
            return UploadResult(remotePath: finalPath, bytes: bytes)
        } catch var error as SFTPError {
            if !created {
                throw try explainOpenFailure(error, writePath, remoteDir: remoteDir, exclusive: existing == .fail)
            }
            if !removeLeftover(writePath) {
                error.summary += "; the partial file \(writePath) may remain on the server"
            }
            throw error
        }
    }

    /// Adds what an operator needs to a failed open: the missing directory, or the existing file.
    private func explainOpenFailure(
        _ error: SFTPError, _ path: String, remoteDir: String, exclusive: Bool
    ) throws -> SFTPError {
        var error = error
        if error.sftpStatus == .noSuchFile || error.sftpStatus == .noSuchPath {
            error.summary += "; does the remote directory \(remoteDir.isEmpty ? "." : remoteDir) exist?"
        } else if exclusive, try isExistingFile(error, path) {
            error = targetExists(path, error)
        }
        return error
    }

    private func verify(_ file: RemoteFile, sent: Int64, localSize: Int64, localPath: String) throws {
        guard sent == localSize else {
            throw SFTPError(
                .sizeMismatch,
                "local file \(localPath) changed during the upload (\(localSize) bytes before, \(sent) read)",
                operation: "read", remotePath: file.path)
        }
        let remoteSize = try file.size()
        guard remoteSize == sent else {
            throw SFTPError(
                .sizeMismatch, "\(file.path) holds \(remoteSize) bytes on the server, but \(sent) were sent",
                operation: "libssh2_sftp_fstat_ex", remotePath: file.path)
        }
    }

    /// Files this large go up over two sessions when a helper session is given.
    public static let parallelThreshold: Int64 = 16 << 20

    /// Sends the first half of the local file through `file` on this thread and the second half
    /// through a second handle on `helper`'s session on another thread; both must succeed.
    private static func writeInParallel(
        _ file: RemoteFile, helper: SFTPClient, path: String, localPath: String,
        size: Int64
    ) throws -> Int64 {
        // Split on a packet boundary so both halves go out as whole 30000-byte packets.
        let half = (size / 2) / 30_000 * 30_000
        let second = try helper.openForWriting(path, ifExists: .keep)
        let work = ParallelWrite(first: file, second: second, localPath: localPath, half: half, size: size)
        DispatchQueue.concurrentPerform(iterations: 2) { work.run($0) }
        do {
            try second.close()
        } catch {
            if work.errors[0] == nil && work.errors[1] == nil { throw error }
        }
        if let error = work.errors[0] ?? work.errors[1] { throw error }
        return work.sent[0] + work.sent[1]
    }

    /// Renames the finished `.part` file; when the target exists, replaces it only if allowed.
    private func moveIntoPlace(_ partPath: String, _ finalPath: String, overwrite: Bool) throws {
        do {
            try rename(partPath, to: finalPath)
        } catch let error as SFTPError {
            guard try isExistingFile(error, finalPath) else { throw error }
            guard overwrite else { throw targetExists(finalPath, error) }
            try remove(finalPath)
            try rename(partPath, to: finalPath)
        }
    }

    /// Whether `error` is the "already exists" answer (status 4 from OpenSSH, 11 from ProFTPD),
    /// confirmed by a `stat` of `path`.
    private func isExistingFile(_ error: SFTPError, _ path: String) throws -> Bool {
        guard error.sftpStatus == .failure || error.sftpStatus == .fileAlreadyExists else { return false }
        return try exists(path)
    }

    private func targetExists(_ path: String, _ cause: SFTPError) -> SFTPError {
        SFTPError(
            .targetExists,
            "\(path) already exists on the server and overwriting is off (set overwrite: true to replace it)",
            operation: cause.operation, code: cause.code, message: cause.message, sftpStatus: cause.sftpStatus,
            remotePath: path)
    }

    /// Tries to remove a partial upload; false when it may remain.
    private func removeLeftover(_ path: String) -> Bool {
        guard !session.isBroken else { return false }
        return (try? remove(path)) != nil
    }

    private static func localSize(_ path: String) throws -> Int64 {
        var info = stat()
        guard stat(path, &info) == 0 else {
            let failure = SystemError(errno)
            throw SFTPError(
                .localFile, "cannot read local file \(path): \(failure.message.lowercased())", operation: "stat",
                message: failure.message)
        }
        return Int64(info.st_size)
    }
}

/// The two halves of a parallel upload, each written by its own thread on its own session
/// (libssh2 sessions may be used from any thread, one at a time).
private final class ParallelWrite: @unchecked Sendable {
    let files: [RemoteFile]
    let localPath: String
    let ranges: [(Int64, Int64)]
    var sent: [Int64] = [0, 0]
    var errors: [Error?] = [nil, nil]
    private let lock = NSLock()

    init(first: RemoteFile, second: RemoteFile, localPath: String, half: Int64, size: Int64) {
        files = [first, second]
        self.localPath = localPath
        ranges = [(0, half), (half, size - half)]
    }

    func run(_ k: Int) {
        do {
            let n = try files[k].write(contentsOf: localPath, from: ranges[k].0, count: ranges[k].1)
            lock.withLock { sent[k] = n }
        } catch {
            lock.withLock { errors[k] = error }
        }
    }
}
