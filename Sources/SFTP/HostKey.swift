internal import CLibSSH2

/// How the server's host key is verified. There is deliberately no way to skip verification.
public struct HostKeyPolicy: Sendable {
    /// The OpenSSH known_hosts file the host key must be listed in.
    public var knownHostsPath: String

    /// Verifies against an OpenSSH known_hosts file: plain or hashed (`|1|…`) host names,
    /// `[host]:port` entries for ports other than 22.
    public static func knownHosts(_ path: String) -> HostKeyPolicy {
        HostKeyPolicy(knownHostsPath: path)
    }
}

/// A server's host key, as `ssh` describes it.
public struct HostKey: Hashable, Sendable, CustomStringConvertible {
    /// The key's algorithm name, such as `ssh-ed25519` or `ecdsa-sha2-nistp256`.
    public var algorithm: String
    /// The SHA-256 fingerprint as OpenSSH prints it: `SHA256:` and unpadded base64.
    public var fingerprint: String

    public init(algorithm: String, fingerprint: String) {
        self.algorithm = algorithm
        self.fingerprint = fingerprint
    }

    public var description: String { "\(algorithm) \(fingerprint)" }
}

/// A host-key algorithm libssh2 1.10 can verify, with its names in the three places they appear.
struct HostKeyAlgorithm: Hashable {
    /// The SSH name, used in `libssh2_session_method_pref(LIBSSH2_METHOD_HOSTKEY)`.
    var name: String
    /// `LIBSSH2_HOSTKEY_TYPE_*`, as `libssh2_session_hostkey` reports it.
    var hostKeyType: Int32
    /// `LIBSSH2_KNOWNHOST_KEY_*`, as `libssh2_knownhost_checkp` wants it.
    var knownHostBits: Int32

    /// OpenSSH's preference order (`KEX_DEFAULT_PK_ALG`), minus what libssh2 1.10 lacks.
    /// `ssh-rsa` (SHA-1) comes last: OpenSSH ≥ 8.8 servers no longer offer it.
    static let all: [HostKeyAlgorithm] = [
        HostKeyAlgorithm(
            name: "ssh-ed25519", hostKeyType: LIBSSH2_HOSTKEY_TYPE_ED25519,
            knownHostBits: LIBSSH2_KNOWNHOST_KEY_ED25519),
        HostKeyAlgorithm(
            name: "ecdsa-sha2-nistp256", hostKeyType: LIBSSH2_HOSTKEY_TYPE_ECDSA_256,
            knownHostBits: LIBSSH2_KNOWNHOST_KEY_ECDSA_256),
        HostKeyAlgorithm(
            name: "ecdsa-sha2-nistp384", hostKeyType: LIBSSH2_HOSTKEY_TYPE_ECDSA_384,
            knownHostBits: LIBSSH2_KNOWNHOST_KEY_ECDSA_384),
        HostKeyAlgorithm(
            name: "ecdsa-sha2-nistp521", hostKeyType: LIBSSH2_HOSTKEY_TYPE_ECDSA_521,
            knownHostBits: LIBSSH2_KNOWNHOST_KEY_ECDSA_521),
        HostKeyAlgorithm(
            name: "ssh-rsa", hostKeyType: LIBSSH2_HOSTKEY_TYPE_RSA,
            knownHostBits: LIBSSH2_KNOWNHOST_KEY_SSHRSA),
    ]

    static func forHostKeyType(_ type: Int32) -> HostKeyAlgorithm? {
        all.first { $0.hostKeyType == type }
    }
}
