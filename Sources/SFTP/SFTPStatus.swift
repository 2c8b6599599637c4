internal import CLibSSH2

/// An SFTP status code sent by the server (`LIBSSH2_FX_*`), as `libssh2_sftp_last_error` reports it.
public struct SFTPStatus: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt
    public init(rawValue: UInt) { self.rawValue = rawValue }

    /// `LIBSSH2_FX_NO_SUCH_FILE` (2).
    public static var noSuchFile: Self { Self(rawValue: LIBSSH2_FX_NO_SUCH_FILE) }
    /// `LIBSSH2_FX_PERMISSION_DENIED` (3).
    public static var permissionDenied: Self { Self(rawValue: LIBSSH2_FX_PERMISSION_DENIED) }
    /// `LIBSSH2_FX_FAILURE` (4): OpenSSH's answer to many things, among them "target exists"
    /// on rename and a full disk on write.
    public static var failure: Self { Self(rawValue: LIBSSH2_FX_FAILURE) }
    /// `LIBSSH2_FX_NO_CONNECTION` (6).
    public static var noConnection: Self { Self(rawValue: LIBSSH2_FX_NO_CONNECTION) }
    /// `LIBSSH2_FX_CONNECTION_LOST` (7).
    public static var connectionLost: Self { Self(rawValue: LIBSSH2_FX_CONNECTION_LOST) }
    /// `LIBSSH2_FX_OP_UNSUPPORTED` (8).
    public static var operationUnsupported: Self { Self(rawValue: LIBSSH2_FX_OP_UNSUPPORTED) }
    /// `LIBSSH2_FX_NO_SUCH_PATH` (10).
    public static var noSuchPath: Self { Self(rawValue: LIBSSH2_FX_NO_SUCH_PATH) }
    /// `LIBSSH2_FX_FILE_ALREADY_EXISTS` (11): ProFTPD's answer to a rename onto an existing file.
    public static var fileAlreadyExists: Self { Self(rawValue: LIBSSH2_FX_FILE_ALREADY_EXISTS) }
    /// `LIBSSH2_FX_WRITE_PROTECT` (12).
    public static var writeProtect: Self { Self(rawValue: LIBSSH2_FX_WRITE_PROTECT) }
    /// `LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM` (14).
    public static var noSpaceOnFilesystem: Self { Self(rawValue: LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM) }
    /// `LIBSSH2_FX_QUOTA_EXCEEDED` (15).
    public static var quotaExceeded: Self { Self(rawValue: LIBSSH2_FX_QUOTA_EXCEEDED) }
    /// `LIBSSH2_FX_NOT_A_DIRECTORY` (19).
    public static var notADirectory: Self { Self(rawValue: LIBSSH2_FX_NOT_A_DIRECTORY) }
    /// `LIBSSH2_FX_INVALID_FILENAME` (20).
    public static var invalidFilename: Self { Self(rawValue: LIBSSH2_FX_INVALID_FILENAME) }

    /// What the status means, in words an operator can act on.
    public var explanation: String {
        switch self {
        case .noSuchFile, .noSuchPath: "no such file or directory"
        case .permissionDenied: "permission denied"
        case .failure: "the server reported a failure"
        case .noConnection, .connectionLost: "the connection to the server was lost"
        case .operationUnsupported: "the server does not support this operation"
        case .fileAlreadyExists: "the file already exists"
        case .writeProtect: "the server's file system is read-only"
        case .noSpaceOnFilesystem: "no space left on the server"
        case .quotaExceeded: "the account's quota on the server is exceeded"
        case .notADirectory: "a path component is not a directory"
        case .invalidFilename: "the server rejects this file name"
        default: "the server returned SFTP status \(rawValue)"
        }
    }

    public var description: String { "SFTP status \(rawValue)" }
}
