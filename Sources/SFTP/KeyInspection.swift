/// What a private key file says about itself without being decrypted, for `dropfeed validate`.
public struct PrivateKeySummary: Sendable {
    /// `ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`, `ssh-dss`, `ecdsa`, or nil when unknown.
    public var algorithm: String?
    public var isEncrypted: Bool
    /// An RSA key: libssh2 1.10 signs it only with SHA-1, which OpenSSH 8.8 and later refuse.
    public var isRSA: Bool { algorithm == "ssh-rsa" }
    /// Why RSA keys fail against current servers, in a sentence.
    public static let rsaExplanation = SSHSession.rsaExplanation

    /// Reads the key file's header.
    /// - Throws: `SFTPError` of kind `.privateKey` when the file is missing, unreadable, a public
    ///   key, a PuTTY key or uses a cipher libssh2 1.10 lacks.
    public init(path: String) throws {
        let key = try PrivateKeyFile(path: path)
        algorithm = key.algorithm
        isEncrypted = key.isEncrypted
    }
}
