internal import CLibSSH2

/// A connection to ssh-agent for one login (`libssh2_agent_*`); owns the `LIBSSH2_AGENT`.
final class SSHAgent {
    /// A key the agent holds; valid while the agent lives.
    struct Identity {
        fileprivate let pointer: UnsafeMutablePointer<libssh2_agent_publickey>
        /// The key's algorithm, read from its public blob (`ssh-ed25519`, `ssh-rsa`, …).
        let algorithm: String
    }

    private let session: SSHSession
    private let handle: OpaquePointer

    /// Connects to the agent (`libssh2_agent_init`, `libssh2_agent_set_identity_path`,
    /// `libssh2_agent_connect`) and fetches its keys (`libssh2_agent_list_identities`).
    init(session: SSHSession, socketPath: String?) throws {
        guard let handle = libssh2_agent_init(session.handle) else {
            throw session.error(.authentication, "cannot use ssh-agent", operation: "libssh2_agent_init")
        }
        self.session = session
        self.handle = handle
        if let socketPath { libssh2_agent_set_identity_path(handle, socketPath) }
        if libssh2_agent_connect(handle) != 0 {
            throw session.error(
                .authentication, "cannot reach ssh-agent",
                reason: "is it running, and is SSH_AUTH_SOCK set?", operation: "libssh2_agent_connect")
        }
        if libssh2_agent_list_identities(handle) != 0 {
            throw session.error(
                .authentication, "cannot list the keys in ssh-agent", operation: "libssh2_agent_list_identities")
        }
    }

    deinit {
        _ = libssh2_agent_disconnect(handle)
        libssh2_agent_free(handle)
    }

    /// The agent's keys (`libssh2_agent_get_identity`).
    func identities() throws -> [Identity] {
        var result: [Identity] = []
        var previous: UnsafeMutablePointer<libssh2_agent_publickey>?
        while true {
            var next: UnsafeMutablePointer<libssh2_agent_publickey>?
            let rc = libssh2_agent_get_identity(handle, &next, previous)
            if rc == 1 { return result }
            guard rc == 0, let next else {
                throw session.error(
                    .authentication, "cannot read the keys in ssh-agent", operation: "libssh2_agent_get_identity")
            }
            let blob = [UInt8](UnsafeBufferPointer(start: next.pointee.blob, count: next.pointee.blob_len))
            var reader = WireReader(blob)
            let algorithm = reader.string().map { String(decoding: $0, as: UTF8.self) } ?? ""
            result.append(Identity(pointer: next, algorithm: algorithm))
            previous = next
        }
    }

    /// Tries one key (`libssh2_agent_userauth`); nil on success, else libssh2's code.
    func authenticate(user: String, identity: Identity) -> SSHErrorCode? {
        let rc = libssh2_agent_userauth(handle, user, identity.pointer)
        return rc == 0 ? nil : SSHErrorCode(rawValue: rc)
    }
}
