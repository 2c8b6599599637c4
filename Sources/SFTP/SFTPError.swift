/// A failure of the SSH connection or of an SFTP request, with what an operator needs to act on it.
///
/// Everything is captured at the failure site: libssh2's code and message are copied at once (the
/// session overwrites them on its next call), and the SFTP status is read only after
/// `LIBSSH2_ERROR_SFTP_PROTOCOL`, the one case where it means anything. No password, passphrase
/// or key material is ever part of an error.
public struct SFTPError: Error, CustomStringConvertible, Sendable {
    /// The broad class of failure.
    public enum Kind: Hashable, Sendable {
        /// Name resolution, TCP, a timeout, or the connection dropped: worth a retry.
        case connection
        /// The host name does not resolve.
        case hostLookup
        /// The SSH handshake failed, typically for want of a common algorithm.
        case handshake
        /// The server's host key is not in known_hosts.
        case hostKeyUnknown
        /// known_hosts holds a different key for this host.
        case hostKeyMismatch
        /// The server refused the credentials.
        case authentication
        /// The private key file cannot be used: missing, unreadable, wrong passphrase, bad format.
        case privateKey
        /// The key type cannot work with this libssh2 (RSA: SHA-1 signatures only).
        case unsupportedKey
        /// An SFTP request failed; `sftpStatus` says why when the server sent a status.
        case remote
        /// The target name already exists and overwriting was not allowed.
        case targetExists
        /// The server holds a different number of bytes than were sent.
        case sizeMismatch
        /// The local file could not be read.
        case localFile
    }

    /// The broad class of failure.
    public var kind: Kind
    /// The call that failed: a libssh2 function such as `libssh2_sftp_open_ex`, or a system call.
    public var operation: String
    /// libssh2's error code, when libssh2 reported the failure.
    public var code: SSHErrorCode?
    /// libssh2's (or the system's) own message, copied when the error happened.
    public var message: String?
    /// The server's SFTP status; set only after `LIBSSH2_ERROR_SFTP_PROTOCOL`.
    public var sftpStatus: SFTPStatus?
    /// The remote path the request was about.
    public var remotePath: String?
    /// The server's host key, when the failure concerns it.
    public var serverHostKey: HostKey?
    /// What went wrong and what to do, in the operator's words.
    public var summary: String

    /// Whether the failure is connection-level (transient): the session is unusable, and a new
    /// connection may succeed. Host-key, authentication and file errors are not.
    public var isTransient: Bool { kind == .connection }

    public init(
        _ kind: Kind, _ summary: String, operation: String, code: SSHErrorCode? = nil,
        message: String? = nil, sftpStatus: SFTPStatus? = nil, remotePath: String? = nil,
        serverHostKey: HostKey? = nil
    ) {
        self.kind = kind
        self.summary = summary
        self.operation = operation
        self.code = code
        self.message = message
        self.sftpStatus = sftpStatus
        self.remotePath = remotePath
        self.serverHostKey = serverHostKey
    }

    /// The summary, then the technical detail in parentheses:
    /// `cannot open /inbound/a.csv.part: no such file or directory (libssh2_sftp_open_ex: SFTP status 2)`.
    public var description: String {
        var detail = [operation]
        if let sftpStatus {
            detail.append(sftpStatus.description)
        } else if let code {
            detail.append("\(code)" + (message.map { " \"\($0)\"" } ?? ""))
        } else if let message, !summary.lowercased().contains(message.lowercased()) {
            detail.append(message)
        }
        return "\(summary) (\(detail.joined(separator: ": ")))"
    }
}
