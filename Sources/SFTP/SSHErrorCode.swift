internal import CLibSSH2

/// A libssh2 error code (`LIBSSH2_ERROR_*`, always negative).
public struct SSHErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// `LIBSSH2_ERROR_BANNER_RECV`: the server closed the connection before its banner.
    public static var bannerReceive: Self { Self(rawValue: LIBSSH2_ERROR_BANNER_RECV) }
    /// `LIBSSH2_ERROR_KEX_FAILURE`: no algorithm in common with the server.
    public static var keyExchangeMethod: Self { Self(rawValue: LIBSSH2_ERROR_KEX_FAILURE) }
    /// `LIBSSH2_ERROR_SOCKET_SEND`.
    public static var socketSend: Self { Self(rawValue: LIBSSH2_ERROR_SOCKET_SEND) }
    /// `LIBSSH2_ERROR_KEY_EXCHANGE_FAILURE`: "Unable to exchange encryption keys".
    public static var keyExchange: Self { Self(rawValue: LIBSSH2_ERROR_KEY_EXCHANGE_FAILURE) }
    /// `LIBSSH2_ERROR_TIMEOUT`: a blocking call outlived the session timeout.
    public static var timeout: Self { Self(rawValue: LIBSSH2_ERROR_TIMEOUT) }
    /// `LIBSSH2_ERROR_SOCKET_DISCONNECT`.
    public static var socketDisconnect: Self { Self(rawValue: LIBSSH2_ERROR_SOCKET_DISCONNECT) }
    /// `LIBSSH2_ERROR_PASSWORD_EXPIRED`.
    public static var passwordExpired: Self { Self(rawValue: LIBSSH2_ERROR_PASSWORD_EXPIRED) }
    /// `LIBSSH2_ERROR_FILE`: a key file that cannot be read or decrypted.
    public static var file: Self { Self(rawValue: LIBSSH2_ERROR_FILE) }
    /// `LIBSSH2_ERROR_AUTHENTICATION_FAILED`.
    public static var authenticationFailed: Self { Self(rawValue: LIBSSH2_ERROR_AUTHENTICATION_FAILED) }
    /// `LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED`: "Username/PublicKey combination invalid".
    public static var publicKeyUnverified: Self { Self(rawValue: LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED) }
    /// `LIBSSH2_ERROR_CHANNEL_FAILURE`.
    public static var channelFailure: Self { Self(rawValue: LIBSSH2_ERROR_CHANNEL_FAILURE) }
    /// `LIBSSH2_ERROR_CHANNEL_CLOSED`.
    public static var channelClosed: Self { Self(rawValue: LIBSSH2_ERROR_CHANNEL_CLOSED) }
    /// `LIBSSH2_ERROR_CHANNEL_EOF_SENT`.
    public static var channelEOFSent: Self { Self(rawValue: LIBSSH2_ERROR_CHANNEL_EOF_SENT) }
    /// `LIBSSH2_ERROR_SOCKET_TIMEOUT`.
    public static var socketTimeout: Self { Self(rawValue: LIBSSH2_ERROR_SOCKET_TIMEOUT) }
    /// `LIBSSH2_ERROR_SFTP_PROTOCOL`: the server answered with an SFTP status other than OK.
    public static var sftpProtocol: Self { Self(rawValue: LIBSSH2_ERROR_SFTP_PROTOCOL) }
    /// `LIBSSH2_ERROR_SOCKET_RECV`.
    public static var socketReceive: Self { Self(rawValue: LIBSSH2_ERROR_SOCKET_RECV) }
    /// `LIBSSH2_ERROR_BAD_SOCKET`.
    public static var badSocket: Self { Self(rawValue: LIBSSH2_ERROR_BAD_SOCKET) }

    /// Codes that mean the connection is gone or stalled: the session is unusable, and a new
    /// connection may well succeed.
    static let connectionLevel: Set<SSHErrorCode> = [
        .bannerReceive, .socketSend, .timeout, .socketDisconnect, .channelFailure, .channelClosed,
        .channelEOFSent, .socketTimeout, .socketReceive, .badSocket,
    ]

    public var description: String { "libssh2 error \(rawValue)" }
}
