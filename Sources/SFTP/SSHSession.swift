internal import CLibSSH2
import Foundation

/// An SSH connection whose host key has been verified; owns one `LIBSSH2_SESSION` and its socket.
///
/// Blocking mode with a session timeout (`libssh2_session_set_timeout`) bounds every call,
/// the handshake included. Use it from one thread at a time. Call `close()` when done; `deinit`
/// only frees what was never closed, without talking to the server.
public final class SSHSession {
    /// The host name or address, as given.
    public let host: String
    /// The TCP port.
    public let port: Int
    /// The server's host key, verified against known_hosts; `check-connection` prints it.
    public let hostKey: HostKey
    /// The session timeout, in seconds, applied to every blocking call.
    public let timeoutSeconds: Int

    let handle: OpaquePointer
    private let socket: TCPSocket
    private var isOpen = true
    /// Set once a call failed at the connection level: nothing more is sent on this session.
    private(set) var isBroken = false
    /// SFTP clients opened on this session and not yet closed.
    var openChildren = 0

    /// Connects to `host:port`, does the SSH handshake and verifies the server's host key.
    ///
    /// Calls `getaddrinfo` and a non-blocking `connect` (bounded by `timeoutSeconds`),
    /// `libssh2_session_init_ex`, `libssh2_session_method_pref` (host-key algorithms: those
    /// known_hosts lists for this host first), `libssh2_session_handshake`,
    /// `libssh2_session_hostkey`, `libssh2_hostkey_hash` and `libssh2_knownhost_checkp`.
    /// - Throws: `SFTPError` of kind `.connection`, `.hostLookup`, `.handshake`,
    ///   `.hostKeyUnknown` or `.hostKeyMismatch`; the last two carry the server's key.
    public init(host: String, port: Int = 22, hostKeyPolicy: HostKeyPolicy, timeoutSeconds: Int = 30) throws {
        _ = LibSSH2.initialized
        guard let session = libssh2_session_init_ex(nil, nil, nil, nil) else {
            throw SFTPError(.connection, "cannot create an SSH session", operation: "libssh2_session_init_ex")
        }
        libssh2_session_set_blocking(session, 1)
        libssh2_session_set_timeout(session, timeoutSeconds * 1000)
        var socket: TCPSocket?
        do {
            let knownHosts = try KnownHosts(session: session, path: hostKeyPolicy.knownHostsPath)
            let listed = knownHosts.algorithms(host: host, port: port)
            let preference = listed + HostKeyAlgorithm.all.filter { !listed.contains($0) }
            // Fails only when libssh2 knows none of the names, and it knows all of these.
            _ = libssh2_session_method_pref(
                session, LIBSSH2_METHOD_HOSTKEY, preference.map(\.name).joined(separator: ","))
            let connected = try TCPSocket(host: host, port: port, timeout: timeoutSeconds)
            socket = connected
            let rc = libssh2_session_handshake(session, connected.descriptor)
            if rc != 0 {
                throw Self.handshakeError(session, host: host, port: port, timeout: timeoutSeconds, listed: listed)
            }
            hostKey = try Self.verifyHostKey(session, knownHosts, host: host, port: port, listed: listed)
        } catch {
            libssh2_session_free(session)
            socket?.close()
            throw error
        }
        handle = session
        self.socket = socket!
        self.host = host
        self.port = port
        self.timeoutSeconds = timeoutSeconds
    }

    /// Starts the SFTP subsystem (`libssh2_sftp_init`); authenticate first.
    public func openSFTP() throws -> SFTPClient {
        precondition(isOpen, "openSFTP() on a closed SSHSession")
        return try SFTPClient(session: self)
    }

    /// Ends the session: `libssh2_session_disconnect_ex` (skipped when the connection is already
    /// broken), `libssh2_session_free`, then closes the socket. Close SFTP clients first.
    /// - Throws: `SFTPError` when the disconnect message could not be sent; the session is
    ///   freed either way.
    public func close() throws {
        guard isOpen else { return }
        precondition(openChildren == 0, "close every SFTPClient before closing its SSHSession")
        isOpen = false
        let rc = isBroken ? 0 : libssh2_session_disconnect_ex(handle, SSH_DISCONNECT_BY_APPLICATION, "bye", "")
        let failure =
            rc == 0
            ? nil : error(.connection, "cannot disconnect from \(endpoint)", operation: "libssh2_session_disconnect_ex")
        libssh2_session_free(handle)
        socket.close()
        if let failure { throw failure }
    }

    deinit {
        if isOpen {
            libssh2_session_free(handle)
            socket.close()
        }
    }

    /// `host port N`, for messages.
    var endpoint: String { "\(host) port \(port)" }

    /// An error built from the session's last error (`libssh2_session_last_error`, copied at once)
    /// and, after `LIBSSH2_ERROR_SFTP_PROTOCOL`, the SFTP status (`libssh2_sftp_last_error`).
    ///
    /// A connection-level code turns the error into `.connection` and marks the session broken.
    /// The summary is `what` followed by `reason`, or by an explanation of the code or status.
    func error(
        _ kind: SFTPError.Kind, _ what: String, reason: String? = nil, operation: String,
        remotePath: String? = nil, sftp: OpaquePointer? = nil
    ) -> SFTPError {
        let (code, message) = Self.lastError(handle)
        let status = code == .sftpProtocol ? sftp.map { SFTPStatus(rawValue: libssh2_sftp_last_error($0)) } : nil
        let lost = SSHErrorCode.connectionLevel.contains(code) || status == .noConnection || status == .connectionLost
        if lost { isBroken = true }
        let explanation: String =
            if let reason { reason } else if code == .timeout {
                "the server did not answer within \(timeoutSeconds)s"
            } else if lost {
                "the connection to \(endpoint) was lost"
            } else if let status { status.explanation } else { message.lowercased() }
        return SFTPError(
            lost ? .connection : kind, "\(what): \(explanation)", operation: operation, code: code,
            message: message, sftpStatus: status, remotePath: remotePath)
    }

    static func lastError(_ session: OpaquePointer) -> (SSHErrorCode, String) {
        var text: UnsafeMutablePointer<CChar>?
        var length: Int32 = 0
        let rc = libssh2_session_last_error(session, &text, &length, 0)
        return (SSHErrorCode(rawValue: rc), text.map { String(cString: $0) } ?? "")
    }

    private static func handshakeError(
        _ session: OpaquePointer, host: String, port: Int, timeout: Int, listed: [HostKeyAlgorithm]
    ) -> SFTPError {
        let (code, message) = lastError(session)
        let summary: String
        let kind: SFTPError.Kind
        if code == .keyExchangeMethod || code == .keyExchange {
            kind = .handshake
            if !listed.isEmpty && listed.allSatisfy({ $0.name == "ssh-rsa" }) {
                summary =
                    "no common host-key algorithm with \(host) port \(port): known_hosts lists only an ssh-rsa key "
                    + "for it, which libssh2 1.10 can check only with SHA-1 signatures that OpenSSH 8.8 and later "
                    + "no longer offer; add the server's Ed25519 or ECDSA key "
                    + "(ssh-keyscan -t ed25519,ecdsa -p \(port) \(host))"
            } else {
                summary =
                    "no algorithms in common with \(host) port \(port): libssh2 1.10 has aes*-ctr, hmac-sha2-256/512 "
                    + "and curve25519/ecdh key exchange, but no AES-GCM, chacha20-poly1305 or *-etm MACs; "
                    + "ask the vendor whether the server allows these"
            }
        } else if code == .timeout {
            kind = .connection
            summary =
                "no SSH handshake with \(host) port \(port) within \(timeout)s (is an SSH server listening there?)"
        } else if SSHErrorCode.connectionLevel.contains(code) {
            kind = .connection
            summary = "\(host) port \(port) closed the connection during the SSH handshake"
        } else {
            kind = .handshake
            summary = "SSH handshake with \(host) port \(port) failed: \(message.lowercased())"
        }
        return SFTPError(kind, summary, operation: "libssh2_session_handshake", code: code, message: message)
    }

    private static func verifyHostKey(
        _ session: OpaquePointer, _ knownHosts: KnownHosts, host: String, port: Int, listed: [HostKeyAlgorithm]
    ) throws -> HostKey {
        var length = 0
        var type: Int32 = 0
        guard let blob = libssh2_session_hostkey(session, &length, &type),
            let hash = libssh2_hostkey_hash(session, LIBSSH2_HOSTKEY_HASH_SHA256)
        else {
            throw SFTPError(.handshake, "the server sent no host key", operation: "libssh2_session_hostkey")
        }
        let key = [UInt8](UnsafeRawBufferPointer(start: blob, count: length))
        let fingerprint =
            "SHA256:" + Data(bytes: hash, count: 32).base64EncodedString().replacingOccurrences(of: "=", with: "")
        guard let algorithm = HostKeyAlgorithm.forHostKeyType(type) else {
            throw SFTPError(
                .handshake, "\(host) port \(port) offers only a host key type Dropfeed does not accept (\(type))",
                operation: "libssh2_session_hostkey")
        }
        let serverKey = HostKey(algorithm: algorithm.name, fingerprint: fingerprint)
        let file = knownHosts.path
        let entry = port == 22 ? host : "[\(host)]:\(port)"
        switch knownHosts.check(host: host, port: port, key: key, algorithm: algorithm) {
        case .match:
            return serverKey
        case .revoked:
            throw SFTPError(
                .hostKeyMismatch,
                "the host key of \(host) port \(port) (\(serverKey)) is marked @revoked in \(file); "
                    + "refusing to connect",
                operation: "libssh2_knownhost_checkp", serverHostKey: serverKey)
        case .notFound where listed.isEmpty:
            let missing = knownHosts.fileExists ? "" : " (the file does not exist)"
            throw SFTPError(
                .hostKeyUnknown,
                "the host key of \(host) port \(port) is not in known_hosts \(file)\(missing); the server offers "
                    + "\(serverKey). If the vendor confirms this fingerprint, add the key with "
                    + "`ssh-keyscan -p \(port) \(host) >> \(file)` and check it with `ssh-keygen -lf \(file)`",
                operation: "libssh2_knownhost_checkp", serverHostKey: serverKey)
        case .mismatch, .notFound:
            let stored = listed.map(\.name).joined(separator: ", ")
            throw SFTPError(
                .hostKeyMismatch,
                "HOST KEY MISMATCH for \(host) port \(port): the server offers \(serverKey), but \(file) holds a "
                    + "different \(stored) key for it. This may be an attack (someone intercepting the connection) "
                    + "or the vendor rotated its key: confirm the new fingerprint with the vendor before replacing "
                    + "the entry (`ssh-keygen -R '\(entry)' -f \(file)`)",
                operation: "libssh2_knownhost_checkp", serverHostKey: serverKey)
        }
    }
}
