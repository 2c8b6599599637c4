import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A throw-away GnuPG home for one target's files: a private folder (0700) of its own — never the
/// user's keyring — holding only the recipient's public key (and the signing key), imported from
/// the configured files. `close()` stops its agent and removes the folder.
///
/// gpg runs with `--homedir` this folder, `--batch --no-tty`, a minimal environment (`PATH`,
/// `LC_ALL=C`: no passphrase variable, no `GNUPGHOME`), and `--trust-model always`, which is safe
/// here because the only public keys this keyring holds are the ones the mapping names. A
/// passphrase goes through a pipe read with `--passphrase-fd 3`, never argv or the environment.
public final class PGPHome {
    let spec: EncryptionSpec
    let folder: String
    private let gpg: String
    private let passphrase: String?
    private let environment: [String]
    private var recipients: [String] = []
    private var signer: String?
    private var closed = false

    /// Makes the home and imports the keys; `passphrase` is the signing key's (from the
    /// environment variable the mapping names). Throws `EncryptionError` when gpg is missing or
    /// a key file cannot be imported.
    public init(spec: EncryptionSpec, passphrase: String?, path: String? = ProcessInfo.processInfo.environment["PATH"])
        throws
    {
        guard let gpg = ChildProcess.find("gpg", path: path) else {
            throw EncryptionError("output.encrypt needs gpg, which is not installed (Debian: apt-get install gnupg)")
        }
        self.gpg = gpg
        self.spec = spec
        self.passphrase = passphrase
        environment = ["PATH=" + (path ?? "/usr/bin:/bin"), "LC_ALL=C"]
        folder = try FileSystem.makeTemporaryFolder(prefix: "dropfeed-gpg-")
        do {
            try run(["--import", spec.recipientKey], what: "import the recipient key \(spec.recipientKey)")
            recipients = try fingerprints(secret: false)
            guard !recipients.isEmpty else {
                throw EncryptionError("\(spec.recipientKey) holds no OpenPGP public key")
            }
            if let signWith = spec.signWith {
                try run(
                    ["--pinentry-mode", "loopback", "--passphrase-fd", "3", "--import", signWith],
                    what: "import the signing key \(signWith)", passphrase: true)
                signer = try fingerprints(secret: true).first
                guard signer != nil else { throw EncryptionError("\(signWith) holds no OpenPGP secret key") }
                // the signing key's own public part is not a recipient
                recipients = try fingerprints(secret: false).filter { $0 != signer }
                guard !recipients.isEmpty else {
                    throw EncryptionError("\(spec.recipientKey) holds no public key other than the signing key")
                }
            }
        } catch {
            close()
            throw error
        }
    }

    deinit { close() }

    /// Stops the home's gpg-agent (when one was started) and removes the folder.
    public func close() {
        guard !closed else { return }
        closed = true
        if let gpgconf = ChildProcess.find("gpgconf", path: environment[0].dropFirst(5).description),
            let child = try? ChildProcess.spawn(
                gpgconf, ["--homedir", folder, "--kill", "all"], environment: environment,
                descriptors: devNullDescriptors())
        {
            _ = child.wait()
        }
        try? FileSystem.remove(folder)
    }

    /// Starts encrypting into `output` (an open, empty file): write the plain bytes to the
    /// returned stream, then `finish()` it.
    func encrypt(into output: Int32, name: String) throws -> PGPStream {
        var arguments = common + ["--trust-model", "always", "--yes", "--output", "-"]
        for recipient in recipients { arguments += ["--recipient", recipient] }
        if spec.armor { arguments.append("--armor") }
        if let signer {
            arguments += ["--pinentry-mode", "loopback", "--passphrase-fd", "3", "--local-user", signer, "--sign"]
        }
        arguments.append("--encrypt")
        let input = try Pipe2()
        let errors = try FileSystem.createNew(folder + "/stderr-\(FileSystem.randomSuffix())", readable: true)
        var descriptors: [Int32: Int32] = [0: input.read, 1: output, 2: errors]
        let secret = signer != nil ? try passphrasePipe() : nil
        if let secret { descriptors[3] = secret }
        defer { if let secret { Glibc.close(secret) } }
        let child: ChildProcess
        do {
            child = try ChildProcess.spawn(gpg, arguments, environment: environment, descriptors: descriptors)
        } catch {
            Glibc.close(input.read)
            Glibc.close(input.write)
            Glibc.close(errors)
            throw error
        }
        Glibc.close(input.read)
        return PGPStream(child: child, input: input.write, errors: errors, name: name)
    }

    private var common: [String] { ["--homedir", folder, "--batch", "--no-tty", "--quiet", "--no-options"] }

    /// Runs gpg to completion; throws with its messages when it fails.
    private func run(_ arguments: [String], what: String, passphrase wantsPassphrase: Bool = false) throws {
        let errors = try FileSystem.createNew(folder + "/stderr-\(FileSystem.randomSuffix())", readable: true)
        defer { Glibc.close(errors) }
        var descriptors = devNullDescriptors()
        descriptors[2] = errors
        let secret = wantsPassphrase ? try passphrasePipe() : nil
        if let secret { descriptors[3] = secret }
        defer {
            if let secret { Glibc.close(secret) }
            for (fd, source) in descriptors where fd != 2 && fd != 3 { Glibc.close(source) }
        }
        let child = try ChildProcess.spawn(gpg, common + arguments, environment: environment, descriptors: descriptors)
        let status = child.wait()
        guard status == 0 else {
            throw EncryptionError("gpg could not \(what) (exit \(status)): \(Self.messages(errors))")
        }
    }

    /// The fingerprints of the keyring's primary keys (public or secret).
    private func fingerprints(secret: Bool) throws -> [String] {
        let out = try FileSystem.createNew(folder + "/list-\(FileSystem.randomSuffix())", readable: true)
        defer { Glibc.close(out) }
        let errors = try FileSystem.createNew(folder + "/stderr-\(FileSystem.randomSuffix())", readable: true)
        defer { Glibc.close(errors) }
        let null = open("/dev/null", O_RDONLY | O_CLOEXEC)
        defer { Glibc.close(null) }
        let child = try ChildProcess.spawn(
            gpg, common + ["--with-colons", "--fixed-list-mode", secret ? "--list-secret-keys" : "--list-keys"],
            environment: environment, descriptors: [0: null, 1: out, 2: errors])
        guard child.wait() == 0 else { return [] }
        let text = String(decoding: Self.contents(out), as: UTF8.self)
        var result: [String] = []
        var primary = false
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            guard let kind = fields.first else { continue }
            if kind == "pub" || kind == "sec" {
                primary = true
            } else if kind == "fpr", primary, fields.count > 9 {
                result.append(String(fields[9]))
                primary = false
            } else if kind == "sub" || kind == "ssb" {
                primary = false
            }
        }
        return result
    }

    /// A pipe's read end holding the passphrase and a newline, its write end already closed.
    private func passphrasePipe() throws -> Int32 {
        guard let passphrase else {
            throw EncryptionError(
                "output.encrypt.signWith: the signing key needs a passphrase: set passphraseEnv and that variable")
        }
        let pipe = try Pipe2()
        let bytes = Array((passphrase + "\n").utf8)
        // a passphrase is far smaller than a pipe's buffer: this never blocks
        let written = bytes.withUnsafeBytes { Glibc.write(pipe.write, $0.baseAddress, $0.count) }
        Glibc.close(pipe.write)
        guard written == bytes.count else {
            Glibc.close(pipe.read)
            throw EncryptionError("cannot hand gpg the passphrase: \(FileSystem.errnoText())")
        }
        return pipe.read
    }

    private func devNullDescriptors() -> [Int32: Int32] {
        [0: open("/dev/null", O_RDONLY | O_CLOEXEC), 1: open("/dev/null", O_WRONLY | O_CLOEXEC)]
    }

    /// What gpg said on stderr, on one line, at most 600 bytes.
    static func messages(_ fd: Int32) -> String {
        let text = String(decoding: contents(fd).prefix(600), as: UTF8.self)
        return text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .joined(separator: "; ")
    }

    /// Everything in the file open at `fd`, from its start.
    static func contents(_ fd: Int32) -> [UInt8] {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        var offset: off_t = 0
        while true {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, offset) }
            if n <= 0 { break }
            out += buffer[0..<n]
            offset += off_t(n)
        }
        return out
    }
}

/// One file being encrypted: the plain bytes go to gpg's standard input.
final class PGPStream {
    private let child: ChildProcess
    private var input: Int32
    private let errors: Int32
    private let name: String

    init(child: ChildProcess, input: Int32, errors: Int32, name: String) {
        self.child = child
        self.input = input
        self.errors = errors
        self.name = name
    }

    deinit {
        if input >= 0 {
            Glibc.close(input)
            _ = child.wait()
        }
        Glibc.close(errors)
    }

    /// Hands gpg more plain bytes.
    func write(_ bytes: [UInt8]) throws {
        var done = 0
        try bytes.withUnsafeBytes { raw in
            while done < raw.count {
                let n = Glibc.write(input, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    // gpg stopped reading (it failed): its own message says why
                    let error = FileSystem.errnoText()
                    Glibc.close(input)
                    input = -1
                    let status = child.wait()
                    throw EncryptionError(
                        "gpg stopped while encrypting \(name) (\(error), exit \(status)): \(PGPHome.messages(errors))")
                }
                done += n
            }
        }
    }

    /// Ends the input and waits for gpg; throws with its messages when it failed.
    func finish() throws {
        Glibc.close(input)
        input = -1
        let status = child.wait()
        guard status == 0 else {
            throw EncryptionError("gpg could not encrypt \(name) (exit \(status)): \(PGPHome.messages(errors))")
        }
    }
}

extension PGPHome {
    /// The home for a target's files, the passphrase read from the variable `spec` names.
    static func forTarget(_ spec: EncryptionSpec) throws -> PGPHome {
        var passphrase: String?
        if let name = spec.passphraseEnv {
            guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
                throw EncryptionError("output.encrypt.passphraseEnv: the environment variable \(name) is not set")
            }
            passphrase = value
        }
        return try PGPHome(spec: spec, passphrase: passphrase)
    }
}
