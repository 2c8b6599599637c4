internal import CLibSSH2

extension SSHSession {
    /// Logs in as `user`.
    ///
    /// Asks for the server's methods (`libssh2_userauth_list`), then calls
    /// `libssh2_userauth_publickey_fromfile_ex`, `libssh2_userauth_password_ex` or the
    /// `libssh2_agent_*` functions. An RSA key is tried, but when the server refuses it the error
    /// explains why: libssh2 1.10 signs only with SHA-1 (`ssh-rsa`), which OpenSSH ≥ 8.8 refuses.
    /// - Throws: `SFTPError` of kind `.authentication` (refused), `.privateKey` (missing or
    ///   unreadable file, wrong or missing passphrase, unknown format) or `.unsupportedKey` (RSA).
    public func authenticate(user: String, with credentials: SSHCredentials) throws {
        guard let methods = try authenticationMethods(user: user) else { return }
        switch credentials {
        case .privateKey(let path, let passphrase):
            let key = try PrivateKeyFile(path: path)
            try require("publickey", in: methods, user: user)
            try authenticate(user: user, key: key, passphrase: passphrase)
        case .password(let password):
            try require("password", in: methods, user: user)
            let rc = libssh2_userauth_password_ex(
                handle, user, user.byteCount, password, password.byteCount, nil)
            if rc != 0 {
                let expired = SSHErrorCode(rawValue: rc) == .passwordExpired
                throw error(
                    .authentication, "password login as \(user) on \(endpoint) failed",
                    reason: expired
                        ? "the password has expired; change it on the server" : "the server rejected the password",
                    operation: "libssh2_userauth_password_ex")
            }
        case .agent(let socketPath):
            try require("publickey", in: methods, user: user)
            try authenticateWithAgent(user: user, socketPath: socketPath)
        }
    }

    /// The comma-separated methods the server offers (`libssh2_userauth_list`), or nil when the
    /// "none" method already logged us in.
    private func authenticationMethods(user: String) throws -> [String]? {
        guard let list = libssh2_userauth_list(handle, user, user.byteCount) else {
            if libssh2_userauth_authenticated(handle) == 1 { return nil }
            throw error(
                .authentication, "cannot start authentication as \(user) on \(endpoint)",
                operation: "libssh2_userauth_list")
        }
        return String(cString: list).split(separator: ",").map(String.init)
    }

    private func require(_ method: String, in methods: [String], user: String) throws {
        guard !methods.contains(method) else { return }
        let offered = methods.joined(separator: ", ")
        var summary = "\(endpoint) does not accept \(method) authentication for \(user) (it offers: \(offered))"
        if methods == ["keyboard-interactive"] || (method == "password" && methods.contains("keyboard-interactive")) {
            summary += "; keyboard-interactive is not supported, use a key"
        }
        throw SFTPError(.authentication, summary, operation: "libssh2_userauth_list")
    }

    private func authenticate(user: String, key: PrivateKeyFile, passphrase: String?) throws {
        let path = key.path
        if key.isEncrypted && passphrase == nil {
            throw SFTPError(
                .privateKey, "identity file \(path) is protected by a passphrase, and none was given (set the target's passphraseEnv to the name of the environment variable that holds it)",
                operation: "libssh2_userauth_publickey_fromfile_ex")
        }
        let rc = libssh2_userauth_publickey_fromfile_ex(handle, user, user.byteCount, nil, path, passphrase)
        guard rc != 0 else { return }
        let operation = "libssh2_userauth_publickey_fromfile_ex"
        let code = SSHErrorCode(rawValue: rc)
        if code == .file {
            let reason =
                key.isEncrypted
                ? "wrong passphrase"
                : "not a private key libssh2 can read (Ed25519 or ECDSA, OpenSSH or PEM format)"
            throw error(.privateKey, "cannot use identity file \(path)", reason: reason, operation: operation)
        }
        guard code == .publicKeyUnverified || code == .authenticationFailed else {
            throw error(.authentication, "key login as \(user) on \(endpoint) failed", operation: operation)
        }
        if key.isRSA {
            throw error(
                .unsupportedKey, "\(endpoint) refused the RSA key \(path) for \(user)",
                reason: Self.rsaExplanation, operation: operation)
        }
        let kind = key.algorithm.map { "\($0) key" } ?? "key"
        throw error(
            .authentication, "\(endpoint) refused the \(kind) \(path) for \(user)",
            reason: "is its public key in the server's authorized_keys for this user?", operation: operation)
    }

    private func authenticateWithAgent(user: String, socketPath: String?) throws {
        let agent = try SSHAgent(session: self, socketPath: socketPath)
        var skippedRSA = 0
        var tried = 0
        for identity in try agent.identities() {
            if identity.algorithm == "ssh-rsa" {
                skippedRSA += 1
                continue
            }
            tried += 1
            guard let code = agent.authenticate(user: user, identity: identity) else { return }
            if SSHErrorCode.connectionLevel.contains(code) {
                throw error(
                    .authentication, "ssh-agent login as \(user) on \(endpoint) failed",
                    operation: "libssh2_agent_userauth")
            }
        }
        var reason = "none of the \(tried) usable keys in ssh-agent was accepted"
        if skippedRSA > 0 { reason += "; \(skippedRSA) RSA keys were skipped (\(Self.rsaExplanation))" }
        throw error(
            .authentication, "ssh-agent login as \(user) on \(endpoint) failed", reason: reason,
            operation: "libssh2_agent_userauth")
    }

    static let rsaExplanation =
        "libssh2 1.10 signs RSA only with SHA-1 (ssh-rsa), which OpenSSH 8.8 and later refuse by default; "
        + "create an Ed25519 key (`ssh-keygen -t ed25519`) and install its .pub on the server"
}
