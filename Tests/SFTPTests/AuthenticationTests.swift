import Foundation
import SFTP
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Authentication")
struct AuthenticationTests {
    static let passphrase = "correct horse 🐎 battery"

    @Test(
        "private keys that log in",
        arguments: [
            ("ed25519", nil, false), ("ecdsa", nil, false), ("ecdsa", "PEM", false), ("ed25519", nil, true),
            ("ecdsa", "PEM", true),
        ] as [(String, String?, Bool)])
    func keyLogsIn(type: String, format: String?, encrypted: Bool) throws {
        let server = try SSHDServer()
        defer { server.stop() }
        let key = try server.makeKey("id", type: type, passphrase: encrypted ? Self.passphrase : "", format: format)

        let names = try server.withSFTP(
            credentials: .privateKey(path: key, passphrase: encrypted ? Self.passphrase : nil)
        ) {
            try $0.exists(server.directory)
        }
        #expect(names)
    }

    @Test("a wrong passphrase is told apart from a refused key")
    func wrongPassphrase() throws {
        let server = try SSHDServer()
        defer { server.stop() }
        let key = try server.makeKey("id", passphrase: Self.passphrase)

        let error = try sftpError { _ = try server.connect(credentials: .privateKey(path: key, passphrase: "wrong")) }

        #expect(error.kind == .privateKey)
        #expect(error.description.contains("cannot use identity file \(key): wrong passphrase"))
    }

    @Test("a passphrase-protected key without a passphrase says so")
    func missingPassphrase() throws {
        let server = try SSHDServer()
        defer { server.stop() }
        let key = try server.makeKey("id", passphrase: Self.passphrase)

        let error = try sftpError { _ = try server.connect(credentials: .privateKey(path: key)) }

        #expect(error.kind == .privateKey)
        #expect(error.description.contains("protected by a passphrase, and none was given"))
    }

    @Test("a key the server does not list is refused")
    func refusedKey() throws {
        let server = try SSHDServer()
        defer { server.stop() }
        let key = try server.makeKey("stranger", authorize: false)

        let error = try sftpError { _ = try server.connect(credentials: .privateKey(path: key)) }

        #expect(error.kind == .authentication)
        #expect(error.description.contains("refused the ssh-ed25519 key \(key) for \(server.user)"))
        #expect(error.description.contains("authorized_keys"))
    }

    @Test("an RSA key is refused with the SHA-1 explanation", arguments: [nil, "PEM"] as [String?])
    func rsaKey(format: String?) throws {
        let server = try SSHDServer()
        defer { server.stop() }
        let key = try server.makeKey("id_rsa", type: "rsa", format: format)

        let error = try sftpError { _ = try server.connect(credentials: .privateKey(path: key)) }

        #expect(error.kind == .unsupportedKey)
        #expect(error.description.contains("RSA key"))
        #expect(error.description.contains("SHA-1 (ssh-rsa)"))
        #expect(error.description.contains("OpenSSH 8.8"))
        #expect(error.description.contains("ssh-keygen -t ed25519"))
    }

    @Test("a missing or unusable key file is named")
    func unusableKeyFiles() throws {
        let server = try SSHDServer()
        defer { server.stop() }
        let missing = server.directory + "/absent"
        let garbage = server.directory + "/garbage"
        try "not a key\n".write(toFile: garbage, atomically: true, encoding: .utf8)

        let absent = try sftpError { _ = try server.connect(credentials: .privateKey(path: missing)) }
        let publicKey = try sftpError {
            _ = try server.connect(credentials: .privateKey(path: server.identityPath + ".pub"))
        }
        let unreadable = try sftpError { _ = try server.connect(credentials: .privateKey(path: garbage)) }

        #expect(absent.kind == .privateKey)
        #expect(absent.description.contains("cannot read identity file \(missing): it does not exist"))
        #expect(publicKey.kind == .privateKey)
        #expect(publicKey.description.contains("is a public key"))
        #expect(unreadable.kind == .privateKey)
        #expect(unreadable.description.contains("not a private key libssh2 can read"))
    }

    @Test(
        "password login, with a throw-away local user",
        .enabled(
            if: getuid() == 0, "creating a local user with a password needs root; key logins are tested as any user"))
    func password() throws {
        let server = try SSHDServer()
        defer { server.stop() }
        let user = try TemporaryUser()
        defer { user.remove() }
        let inbound = try server.makeDirectory("inbound")
        try FileManager.default.setAttributes([.ownerAccountName: user.name], ofItemAtPath: inbound)
        let local = server.directory + "/users.csv"
        try makeLocalFile(local, size: 1234)

        let result = try server.withSFTP(credentials: .password(user.password), user: user.name) {
            try $0.upload(localPath: local, remoteDir: inbound, name: "users.csv")
        }
        let refused = try sftpError { _ = try server.connect(credentials: .password("not it"), user: user.name) }

        #expect(result.bytes == 1234)
        #expect(contents("\(inbound)/users.csv") == contents(local))
        #expect(refused.kind == .authentication)
        #expect(refused.description.contains("the server rejected the password"))
    }

    @Test("ssh-agent login")
    func agent() throws {
        let server = try SSHDServer()
        defer { server.stop() }
        let socket = server.directory + "/agent.sock"
        let agent = Process()
        agent.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        agent.arguments = ["ssh-agent", "-D", "-a", socket]
        agent.standardOutput = FileHandle.nullDevice
        agent.standardError = FileHandle.nullDevice
        try agent.run()
        defer {
            kill(agent.processIdentifier, SIGKILL)
            agent.waitUntilExit()
        }
        for _ in 0..<100 where !FileManager.default.fileExists(atPath: socket) { usleep(20_000) }
        try run(["env", "SSH_AUTH_SOCK=\(socket)", "ssh-add", "-q", server.identityPath])

        let exists = try server.withSFTP(credentials: .agent(socketPath: socket)) { try $0.exists(server.directory) }
        let noAgent = try sftpError {
            _ = try server.connect(credentials: .agent(socketPath: server.directory + "/no-agent.sock"))
        }

        #expect(exists)
        #expect(noAgent.kind == .authentication)
        #expect(noAgent.description.contains("cannot reach ssh-agent"))
    }

    @Test("passwords and passphrases never appear in errors or descriptions")
    func secretsStayHidden() throws {
        let server = try SSHDServer()
        defer { server.stop() }
        let password = "hunter2-\(UUID().uuidString)"
        let key = try server.makeKey("id", passphrase: Self.passphrase)
        let credentials: [SSHCredentials] = [
            .password(password), .privateKey(path: key, passphrase: password),
            .privateKey(path: key, passphrase: Self.passphrase + "x"),
        ]

        var texts: [String] = []
        for credential in credentials {
            texts.append(String(describing: credential))
            texts.append(String(reflecting: credential))
            var dumped = ""
            dump(credential, to: &dumped)
            texts.append(dumped)
            if let error = try? sftpError({ _ = try server.connect(credentials: credential) }) {
                texts.append(error.description)
                texts.append(String(reflecting: error))
            }
        }

        #expect(texts.count == 15)
        for text in texts {
            #expect(!text.contains(password), "\(text)")
            #expect(!text.contains("horse"), "\(text)")
        }
    }
}

/// A local user with a random password, for password logins; creating it needs root.
struct TemporaryUser {
    let name = "dfsftp\(Int.random(in: 100_000...999_999))"
    let password = "pw-\(UUID().uuidString)"

    init() throws {
        try run(["/usr/sbin/useradd", "--no-create-home", "--shell", "/bin/sh", name])
        do {
            try run(["/usr/sbin/chpasswd"], input: "\(name):\(password)\n")
        } catch {
            remove()
            throw error
        }
    }

    func remove() {
        _ = try? run(["/usr/sbin/userdel", name])
    }
}
