internal import CLibSSH2

/// The SFTP subsystem on an authenticated session; owns one `LIBSSH2_SFTP` and keeps its session
/// alive. Paths are remote paths, absolute or relative to the login directory.
public final class SFTPClient {
    /// The session this client runs on.
    public let session: SSHSession
    let handle: OpaquePointer
    private var isOpen = true
    /// Files opened on this client and not yet closed.
    var openFiles = 0

    init(session: SSHSession) throws {
        guard let handle = libssh2_sftp_init(session.handle) else {
            throw session.error(.remote, "cannot start SFTP on \(session.endpoint)", operation: "libssh2_sftp_init")
        }
        self.session = session
        self.handle = handle
        session.openChildren += 1
    }

    /// What `stat` tells about a remote path.
    public struct Attributes: Sendable {
        /// The size in bytes, when the server reports it.
        public var size: Int64?
        /// Whether the path is a directory.
        public var isDirectory: Bool
    }

    /// The attributes of `path` (`libssh2_sftp_stat_ex`, following symlinks), or nil when there
    /// is no such file.
    public func attributes(of path: String) throws -> Attributes? {
        var attributes = LIBSSH2_SFTP_ATTRIBUTES()
        let rc = libssh2_sftp_stat_ex(handle, path, path.byteCount, LIBSSH2_SFTP_STAT, &attributes)
        if rc != 0 {
            let failure = error("cannot stat \(path)", operation: "libssh2_sftp_stat_ex", path: path)
            if failure.sftpStatus == .noSuchFile || failure.sftpStatus == .noSuchPath { return nil }
            throw failure
        }
        return Attributes(attributes)
    }

    /// The size of `path` in bytes (`libssh2_sftp_stat_ex`), or nil when there is no such file.
    public func size(of path: String) throws -> Int64? {
        try attributes(of: path)?.size
    }

    /// Whether `path` exists (`libssh2_sftp_stat_ex`).
    public func exists(_ path: String) throws -> Bool {
        try attributes(of: path) != nil
    }

    /// Creates the directory `path` (`libssh2_sftp_mkdir_ex`); its parent must exist.
    public func makeDirectory(_ path: String, permissions: Int = 0o755) throws {
        if libssh2_sftp_mkdir_ex(handle, path, path.byteCount, permissions) != 0 {
            throw error("cannot create directory \(path)", operation: "libssh2_sftp_mkdir_ex", path: path)
        }
    }

    /// Renames `path` to `newPath` (`libssh2_sftp_rename_ex`).
    ///
    /// SFTP v3, all libssh2 1.10 speaks, has no overwrite flag: the rename fails when `newPath`
    /// exists, with status 4 (OpenSSH) or 11 (ProFTPD).
    public func rename(_ path: String, to newPath: String) throws {
        let rc = libssh2_sftp_rename_ex(handle, path, path.byteCount, newPath, newPath.byteCount, 0)
        if rc != 0 {
            throw error("cannot rename \(path) to \(newPath)", operation: "libssh2_sftp_rename_ex", path: newPath)
        }
    }

    /// Removes the file `path` (`libssh2_sftp_unlink_ex`).
    public func remove(_ path: String) throws {
        if libssh2_sftp_unlink_ex(handle, path, path.byteCount) != 0 {
            throw error("cannot remove \(path)", operation: "libssh2_sftp_unlink_ex", path: path)
        }
    }

    /// What to do when the file to write already exists.
    public enum ExistingFile: Sendable {
        /// Empty it and write from the start (`LIBSSH2_FXF_TRUNC`).
        case truncate
        /// Fail (`LIBSSH2_FXF_EXCL`).
        case fail
        /// Write into it as it is: for a second writer filling another part of the same file.
        case keep
    }

    /// Opens `path` for writing, creating it (`libssh2_sftp_open_ex` with `LIBSSH2_FXF_WRITE |
    /// LIBSSH2_FXF_CREAT` and `TRUNC` or `EXCL`). Close the file before closing this client.
    public func openForWriting(
        _ path: String, ifExists existing: ExistingFile = .truncate, permissions: Int = 0o644
    ) throws -> RemoteFile {
        let flags: Int32
        switch existing {
        case .truncate: flags = LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_TRUNC
        case .fail: flags = LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_EXCL
        case .keep: flags = LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT
        }
        guard
            let file = libssh2_sftp_open_ex(
                handle, path, path.byteCount, UInt(flags), permissions, LIBSSH2_SFTP_OPENFILE)
        else {
            throw error("cannot create \(path)", operation: "libssh2_sftp_open_ex", path: path)
        }
        return RemoteFile(client: self, handle: file, path: path)
    }

    /// Opens `path` for writing, runs `body`, and closes the file. When `body` throws, the close
    /// error is dropped so that the body's error survives.
    public func withFileForWriting<Result>(
        _ path: String, ifExists existing: ExistingFile = .truncate, permissions: Int = 0o644,
        _ body: (RemoteFile) throws -> Result
    ) throws -> Result {
        let file = try openForWriting(path, ifExists: existing, permissions: permissions)
        let result: Result
        do {
            result = try body(file)
        } catch {
            try? file.close()
            throw error
        }
        try file.close()
        return result
    }

    /// Ends the SFTP subsystem (`libssh2_sftp_shutdown`; skipped when the connection is already
    /// broken). Close every `RemoteFile` first.
    public func close() throws {
        guard isOpen else { return }
        precondition(openFiles == 0, "close every RemoteFile before closing its SFTPClient")
        isOpen = false
        session.openChildren -= 1
        if !session.isBroken && libssh2_sftp_shutdown(handle) != 0 {
            throw session.error(.remote, "cannot end SFTP on \(session.endpoint)", operation: "libssh2_sftp_shutdown")
        }
    }

    deinit {
        if isOpen {
            session.openChildren -= 1
            // With a broken connection the session frees the SFTP channel itself.
            if !session.isBroken { _ = libssh2_sftp_shutdown(handle) }
        }
    }

    /// An error for a failed request on `path`, with the server's SFTP status.
    func error(_ what: String, reason: String? = nil, operation: String, path: String) -> SFTPError {
        session.error(.remote, what, reason: reason, operation: operation, remotePath: path, sftp: handle)
    }
}

extension SFTPClient.Attributes {
    init(_ attributes: LIBSSH2_SFTP_ATTRIBUTES) {
        let flags = attributes.flags
        size = flags & UInt(LIBSSH2_SFTP_ATTR_SIZE) != 0 ? Int64(attributes.filesize) : nil
        isDirectory =
            flags & UInt(LIBSSH2_SFTP_ATTR_PERMISSIONS) != 0
            && attributes.permissions & UInt(LIBSSH2_SFTP_S_IFMT) == UInt(LIBSSH2_SFTP_S_IFDIR)
    }
}
