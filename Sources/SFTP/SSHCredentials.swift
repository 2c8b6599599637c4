/// How to log in. Printing a value never shows a password or passphrase.
public enum SSHCredentials: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// An Ed25519 or ECDSA private key file, OpenSSH or PEM format, optionally passphrase-protected.
    case privateKey(path: String, passphrase: String? = nil)
    /// A password (the server must allow `password` authentication).
    case password(String)
    /// The keys held by ssh-agent, at `socketPath` or else at `$SSH_AUTH_SOCK`.
    case agent(socketPath: String? = nil)

    public var description: String {
        switch self {
        case .privateKey(let path, let passphrase):
            "private key \(path)" + (passphrase == nil ? "" : " (with passphrase)")
        case .password: "password"
        case .agent(let socketPath): "ssh-agent" + (socketPath.map { " at \($0)" } ?? "")
        }
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror { Mirror(self, children: [:]) }
}
