import DropfeedCore
import Foundation
import SFTP

/// Delivers a target's files to an SFTP server: one verified, authenticated session for all of
/// them; each file uploaded to `NAME.part`, checked by size and renamed (or written in place with
/// `upload: "direct"`). Connection-level failures are retried with backoff on a new session;
/// a file already in place under its final name is never sent again.
final class SFTPDrop: FileDrop {
    let settings: SFTPSettings
    private let environment: [String: String]
    private var session: SSHSession?
    private var client: SFTPClient?
    /// A second session, opened for the first large file: libssh2 1.10 encrypts on the calling
    /// thread, so a large file goes up in two halves at once (see `SFTPClient.upload`).
    private var helperSession: SSHSession?
    private var helper: SFTPClient?

    init(settings: SFTPSettings, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.settings = settings
        self.environment = environment
    }

    var location: String { DeliverConfig.sftp(settings).description }

    func open() throws {
        try retrying("connect") { try connect() }
    }

    func size(of name: String) throws -> Int64? {
        try retrying("stat \(name)") {
            let client = try connected()
            return try client.size(of: remotePath(name))
        }
    }

    func put(localPath: String, as name: String) throws {
        let size = (try? FileManager.default.attributesOfItem(atPath: localPath)[.size] as? NSNumber)?.int64Value
        var attempt = 0
        RunEvents.current?.fileStarted(name, size: size ?? 0)
        defer { RunEvents.current?.fileFinished(name) }
        try retrying("upload \(name)") {
            attempt += 1
            let client = try connected()
            // After a dropped connection, the rename may have happened before the error reached us.
            if attempt > 1, let size, try client.size(of: remotePath(name)) == size { return }
            let helper = (size ?? 0) >= SFTPClient.parallelThreshold ? helperClient() : nil
            _ = try client.upload(
                localPath: localPath, remoteDir: settings.remoteDir, name: name,
                mode: settings.upload == .direct ? .direct : .rename, overwrite: settings.overwrite,
                helper: helper)
        }
    }

    func close() throws {
        defer {
            client = nil
            session = nil
        }
        try? helper?.close()
        try? helperSession?.close()
        helper = nil
        helperSession = nil
        do {
            try client?.close()
            try session?.close()
        } catch let error as SFTPError {
            throw FileDropError("\(location): \(error)", isTransient: error.isTransient)
        }
    }

    // MARK: -

    /// The credentials named by the settings; secrets come only from the environment.
    static func credentials(_ settings: SFTPSettings, _ environment: [String: String]) throws -> SSHCredentials {
        if let key = settings.identityFile {
            var passphrase: String?
            if let name = settings.passphraseEnv {
                guard let value = environment[name] else {
                    throw FileDropError("the environment variable \(name) (passphraseEnv) is not set")
                }
                passphrase = value
            }
            return .privateKey(path: key, passphrase: passphrase)
        }
        if let name = settings.passwordEnv {
            guard let value = environment[name] else {
                throw FileDropError("the environment variable \(name) (passwordEnv) is not set")
            }
            return .password(value)
        }
        return .agent()
    }

    /// Opens a session: connect, verify the host key, authenticate, start SFTP.
    static func openSession(_ settings: SFTPSettings, _ environment: [String: String]) throws -> (
        SSHSession, SFTPClient
    ) {
        let credentials = try credentials(settings, environment)
        let session = try SSHSession(
            host: settings.host, port: settings.port,
            hostKeyPolicy: .knownHosts(settings.knownHosts), timeoutSeconds: settings.timeoutSeconds)
        do {
            try session.authenticate(user: settings.user, with: credentials)
            return (session, try session.openSFTP())
        } catch {
            try? session.close()
            throw error
        }
    }

    private func connect() throws {
        let (session, client) = try SFTPDrop.openSession(settings, environment)
        self.session = session
        self.client = client
    }

    /// The helper session's client, opened on first use; nil (one session is enough) when it
    /// cannot be opened.
    private func helperClient() -> SFTPClient? {
        if let helper { return helper }
        do {
            let (session, client) = try SFTPDrop.openSession(settings, environment)
            helperSession = session
            helper = client
            return client
        } catch {
            Output.warning(
                "dropfeed: \(location): a second session for large files could not be opened (\(error)); using one")
            return nil
        }
    }

    private func connected() throws -> SFTPClient {
        if let client { return client }
        try connect()
        return client!
    }

    private func remotePath(_ name: String) -> String {
        let dir = settings.remoteDir
        return dir.isEmpty || dir == "." ? name : dir.hasSuffix("/") ? dir + name : dir + "/" + name
    }

    /// Runs `body`; on a connection-level failure drops the session, waits (1 s, 2 s, 4 s … at
    /// most 30 s) and tries again, `retries` times.
    private func retrying<T>(_ what: String, _ body: () throws -> T) throws -> T {
        var delay: UInt32 = 1
        var attempt = 0
        while true {
            do {
                return try body()
            } catch let error as SFTPError {
                attempt += 1
                guard error.isTransient, attempt <= settings.retries else {
                    let tries = attempt > 1 ? " (after \(attempt) attempts)" : ""
                    throw FileDropError("\(location): \(error)\(tries)", isTransient: error.isTransient)
                }
                Output.warning("dropfeed: \(location): \(what) failed (\(error.summary)); retrying in \(delay) s")
                client = nil
                session = nil
                helper = nil
                helperSession = nil
                sleep(delay)
                delay = min(delay * 2, 30)
            }
        }
    }
}
