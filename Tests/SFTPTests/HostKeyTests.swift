import Foundation
import SFTP
import Testing

@Suite("Host-key verification")
struct HostKeyTests {
    /// known_hosts variants that must all verify, including the key-type trap: libssh2 prefers
    /// ECDSA, so a file listing only the Ed25519 key fails unless the preference is pinned.
    @Test(
        "known_hosts files that verify",
        arguments: [
            (["ed25519", "ecdsa"], false), (["ed25519", "ecdsa"], true),
            (["ed25519"], false), (["ed25519"], true),
            (["ecdsa"], false), (["ecdsa"], true),
        ])
    func verifies(types: [String], hashed: Bool) throws {
        let server = try SSHDServer()
        defer { server.stop() }
        let knownHosts = try server.knownHosts(types, hashed: hashed)
        if hashed { #expect(try String(contentsOfFile: knownHosts, encoding: .utf8).hasPrefix("|1|")) }

        let session = try server.connect(knownHosts: knownHosts)
        defer { try? session.close() }

        let expected = types[0] == "ed25519" ? "ssh-ed25519" : "ecdsa-sha2-nistp256"
        #expect(session.hostKey.algorithm == expected)
        #expect(session.hostKey.fingerprint == (try server.fingerprint(types[0])))
    }

    @Test("an unknown host fails with the server's fingerprint and how to add it")
    func unknownHost() throws {
        let server = try SSHDServer()
        defer { server.stop() }
        let knownHosts = server.directory + "/known_hosts_other"
        try "[\(server.host)]:\(server.port + 1) \(try hostKeyLine(server, "ed25519"))\n"
            .write(toFile: knownHosts, atomically: true, encoding: .utf8)

        let error = try sftpError { _ = try server.connect(knownHosts: knownHosts) }

        let fingerprint = try server.fingerprint("ed25519")
        #expect(error.kind == .hostKeyUnknown)
        #expect(!error.isTransient)
        #expect(error.serverHostKey == HostKey(algorithm: "ssh-ed25519", fingerprint: fingerprint))
        #expect(error.description.contains("ssh-ed25519 \(fingerprint)"))
        #expect(error.description.contains("ssh-keyscan -p \(server.port) \(server.host) >> \(knownHosts)"))
        #expect(error.description.contains("ssh-keygen -lf \(knownHosts)"))
        #expect(!fingerprint.hasSuffix("="))
    }

    @Test("a missing known_hosts file reads as empty, and says so")
    func missingKnownHosts() throws {
        let server = try SSHDServer()
        defer { server.stop() }

        let error = try sftpError { _ = try server.connect(knownHosts: server.directory + "/absent") }

        #expect(error.kind == .hostKeyUnknown)
        #expect(error.description.contains("(the file does not exist)"))
    }

    @Test("a different key for the host is refused as a possible attack", arguments: [false, true])
    func mismatch(hashed: Bool) throws {
        let server = try SSHDServer()
        defer { server.stop() }
        let impostor = try server.makeKey("impostor", authorize: false)
        let knownHosts = server.directory + "/known_hosts_mismatch"
        let key = try String(contentsOfFile: impostor + ".pub", encoding: .utf8).split(separator: " ").prefix(2)
        try "[\(server.host)]:\(server.port) \(key.joined(separator: " "))\n"
            .write(toFile: knownHosts, atomically: true, encoding: .utf8)
        if hashed { try run(["ssh-keygen", "-q", "-H", "-f", knownHosts]) }

        let error = try sftpError { _ = try server.connect(knownHosts: knownHosts) }

        #expect(error.kind == .hostKeyMismatch)
        #expect(error.description.contains("HOST KEY MISMATCH"))
        #expect(error.description.contains(try server.fingerprint("ed25519")))
        #expect(error.description.contains("attack"))
        #expect(error.description.contains("rotated"))
    }

    @Test("a host listed only with a key type the server no longer has is a mismatch, not unknown")
    func keyTypeChanged() throws {
        let server = try SSHDServer()
        defer { server.stop() }
        let p384 = server.directory + "/p384"
        try run(["ssh-keygen", "-q", "-t", "ecdsa", "-b", "384", "-N", "", "-f", p384])
        let knownHosts = server.directory + "/known_hosts_p384"
        let line = try String(contentsOfFile: p384 + ".pub", encoding: .utf8).split(separator: " ").prefix(2)
        try "[\(server.host)]:\(server.port) \(line.joined(separator: " "))\n"
            .write(toFile: knownHosts, atomically: true, encoding: .utf8)

        let error = try sftpError { _ = try server.connect(knownHosts: knownHosts) }

        #expect(error.kind == .hostKeyMismatch)
        #expect(error.description.contains("ecdsa-sha2-nistp384"))
    }

    @Test("a key marked @revoked is refused even when also listed")
    func revoked() throws {
        let server = try SSHDServer()
        defer { server.stop() }
        let knownHosts = try server.knownHosts(["ed25519"])
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: knownHosts))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("@revoked * \(try hostKeyLine(server, "ed25519"))\n".utf8))
        try handle.close()

        let error = try sftpError { _ = try server.connect(knownHosts: knownHosts) }

        #expect(error.kind == .hostKeyMismatch)
        #expect(error.description.contains("@revoked"))
    }

    private func hostKeyLine(_ server: SSHDServer, _ type: String) throws -> String {
        try String(contentsOfFile: server.hostPublicKeyPath(type), encoding: .utf8)
            .split(separator: " ").prefix(2).joined(separator: " ")
    }
}
