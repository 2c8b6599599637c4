import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The `deliver.sftp` block of a config, as README's configuration reference spells it.
struct SFTPDeliverySettings {
    var host = "127.0.0.1"
    var port: Int
    var user: String
    var remoteDir: String
    var identityFile: String?
    var passphraseEnv: String?
    var passwordEnv: String?
    var knownHosts: String
    var upload: String? = "rename"
    var overwrite: Bool? = false
    var timeoutSeconds = 10
    var retries = 0

    /// The block, one key a line, ready to stand where the sample config's `sftp: { … },` stands.
    var json5: String {
        func quoted(_ s: String) -> String {
            "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        var lines = [
            "host: \(quoted(host))", "port: \(port)", "user: \(quoted(user))", "remoteDir: \(quoted(remoteDir))",
        ]
        if let identityFile { lines.append("identityFile: \(quoted(identityFile))") }
        if let passphraseEnv { lines.append("passphraseEnv: \(quoted(passphraseEnv))") }
        if let passwordEnv { lines.append("passwordEnv: \(quoted(passwordEnv))") }
        lines.append("knownHosts: \(quoted(knownHosts))")
        if let upload { lines.append("upload: \(quoted(upload))") }
        if let overwrite { lines.append("overwrite: \(overwrite)") }
        lines += ["timeoutSeconds: \(timeoutSeconds)", "retries: \(retries)"]
        return (["        sftp: {"] + lines.map { "          \($0)," } + ["        },"]).joined(separator: "\n")
    }
}

/// The sample feed (`samples/dropfeed.json`: acme-lms over SFTP, badges and awareness into local
/// folders) in a temporary workspace, pointed at a throw-away sshd whose inbound folder is a
/// temporary directory, as `scripts/demo.sh` does it.
///
///     try SFTPFeed.with { feed in
///         let (r, report) = try feed.report(["run"])
///         #expect(feed.remoteNames() == Set(try report.target("acme-lms").files.map(\.name)))
///     }
final class SFTPFeed {
    var ws: FeedWorkspace
    let harness: SSHDHarness
    /// The SFTP server's inbound folder (`remoteDir`).
    let remote: TemporaryDirectory
    var settings: SFTPDeliverySettings

    static let configName = "dropfeed.json"

    private init(ws: FeedWorkspace, harness: SSHDHarness, remote: TemporaryDirectory) throws {
        self.ws = ws
        self.harness = harness
        self.remote = remote
        settings = SFTPDeliverySettings(
            port: harness.port, user: harness.user, remoteDir: remote.url.path,
            identityFile: harness.identity.path, knownHosts: harness.knownHosts.path)
        self.ws.config = Self.configName
        try writeConfig()
    }

    /// Starts an sshd, makes a workspace and an inbound folder, runs `body`, and stops and removes
    /// all of them whatever happened.
    static func with<T>(_ body: (SFTPFeed) throws -> T) throws -> T {
        let harness = try SSHDHarness()
        defer { harness.remove() }
        let remote = try TemporaryDirectory(prefix: "dropfeed-e2e-inbound")
        defer { remote.remove() }
        return try FeedWorkspace.with { ws in
            try body(try SFTPFeed(ws: ws, harness: harness, remote: remote))
        }
    }

    /// Changes the SFTP settings and rewrites the config.
    func configure(_ change: (inout SFTPDeliverySettings) -> Void) throws {
        change(&settings)
        try writeConfig()
    }

    /// Rewrites `samples/dropfeed.json` with the current settings in its `sftp` block.
    func writeConfig() throws {
        let url = ws.file(Self.configName)
        var lines = try String(contentsOf: url, encoding: .utf8).components(separatedBy: "\n")
        let start = try #require(lines.firstIndex { $0.contains("sftp: {") }, "no `sftp: {` in \(Self.configName)")
        let end = try #require(
            lines[start...].firstIndex { $0.trimmingCharacters(in: .whitespaces) == "}," },
            "the sftp block of \(Self.configName) does not end with `},`")
        lines.replaceSubrange(start...end, with: settings.json5.components(separatedBy: "\n"))
        try Data(lines.joined(separator: "\n").utf8).write(to: url)
    }

    /// Runs `dropfeed COMMAND --config dropfeed.json ARGS…` in `samples/` with `DROPFEED_NOW`,
    /// with `environment` added to the inherited one and `unset` removed from it.
    func run(_ arguments: [String], environment: [String: String] = [:], unset: [String] = []) throws -> ProcessResult {
        var env = ProcessInfo.processInfo.environment
        env["DROPFEED_NOW"] = ws.now
        for name in unset { env.removeValue(forKey: name) }
        env.merge(environment) { _, new in new }
        let all = [arguments[0], "--config", ws.config] + arguments.dropFirst()
        return try DropfeedProcess.run(all, cwd: ws.samples, environment: env)
    }

    /// `run` with `--json`, and the report decoded from stdout.
    func report(
        _ arguments: [String], environment: [String: String] = [:], unset: [String] = [],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> (ProcessResult, FeedReport) {
        let r = try run(arguments + ["--json"], environment: environment, unset: unset)
        do {
            return (r, try JSONDecoder().decode(FeedReport.self, from: r.stdoutData))
        } catch {
            let message: String =
                "`dropfeed \(arguments.joined(separator: " ")) --json` printed no report "
                + "(exit \(r.exitCode)): \(error)\n"
                + "stdout: \(r.stdout.prefix(2000))\nstderr: \(r.stderr.prefix(2000))\nsshd log:\n\(harness.logTail())"
            Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
            throw error
        }
    }

    /// `state show TARGET --json`, whatever it prints (also when there is no snapshot).
    func stateShow(_ target: String) throws -> String {
        let r = try run(["state", "show", target, "--json"])
        return "exit \(r.exitCode)\n\(r.stdout)"
    }

    /// The names in the inbound folder.
    func remoteNames() -> Set<String> {
        Set((try? FileManager.default.contentsOfDirectory(atPath: remote.url.path)) ?? [])
    }

    /// The inbound folder's regular files with their contents.
    func remoteContents() -> [String: Data] {
        var out: [String: Data] = [:]
        for name in remoteNames() {
            let url = remote.file(name)
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue {
                out[name] = (try? Data(contentsOf: url)) ?? Data()
            }
        }
        return out
    }

    /// The file `name` the last failed run staged for `target` (state/TARGET/pending/files/NAME).
    func staged(_ target: String, _ name: String) -> URL {
        ws.file("state/\(target)/pending/files/\(name)")
    }

    /// Copies `names` from the inbound folder into a fresh folder under the workspace, for
    /// `FeedChecks.expectFiles`, which wants a folder holding exactly one run's files.
    func copyRemote(_ names: Set<String>, into folder: String) throws -> URL {
        let dir = ws.root.file(folder)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for name in names {
            try FileManager.default.copyItem(at: remote.file(name), to: dir.appendingPathComponent(name))
        }
        return dir
    }
}

/// Looks for a secret everywhere it must not be: output, files, process arguments.
enum SecretCheck {
    /// Every regular file under `root` whose bytes contain `secret`.
    static func files(under root: URL, containing secret: String) -> [String] {
        let needle = Data(secret.utf8)
        var hits: [String] = []
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey])
        else { return hits }
        for case let url as URL in walker {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true,
                let data = try? Data(contentsOf: url)
            else { continue }
            if data.range(of: needle) != nil { hits.append(url.path) }
        }
        return hits
    }

    /// Records an issue for each output of `results` holding one of `secrets`.
    static func expectAbsent(
        _ secrets: [String], in results: [ProcessResult], _ what: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        for secret in secrets {
            for (k, r) in results.enumerated() {
                #expect(
                    !r.stdout.contains(secret), "\(what): a secret is on stdout of command \(k + 1)",
                    sourceLocation: sourceLocation)
                #expect(
                    !r.stderr.contains(secret), "\(what): a secret is on stderr of command \(k + 1)",
                    sourceLocation: sourceLocation)
            }
        }
    }

    /// Records an issue for each file under each of `roots` holding one of `secrets`.
    static func expectAbsent(_ secrets: [String], under roots: [URL], sourceLocation: SourceLocation = #_sourceLocation)
    {
        for secret in secrets {
            for root in roots {
                let hits = files(under: root, containing: secret)
                #expect(hits.isEmpty, "a secret is written in \(hits)", sourceLocation: sourceLocation)
            }
        }
    }
}

/// Watches the command lines of every process (/proc/*/cmdline) on a background thread for a
/// secret, while the commands under test run.
final class ArgumentWatch: @unchecked Sendable {
    private let needles: [Data]
    private let lock = NSLock()
    private var stopped = false
    private var hits: [String] = []
    private var scans = 0
    private let finished = DispatchSemaphore(value: 0)

    init(_ secrets: [String]) {
        needles = secrets.map { Data($0.utf8) }
        Thread.detachNewThread { [self] in
            while !lock.withLock({ stopped }) {
                scan()
                usleep(2_000)
            }
            finished.signal()
        }
    }

    private func scan() {
        let me = getpid()
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), pid != me,
                let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline")
            else { continue }
            if needles.contains(where: { data.range(of: $0) != nil }) {
                let line = String(decoding: data.map { $0 == 0 ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
                lock.withLock { hits.append("pid \(pid): \(line.prefix(200))") }
            }
        }
        lock.withLock { scans += 1 }
    }

    /// Stops watching; returns the command lines that held a secret and how many scans ran.
    func stop() -> (hits: [String], scans: Int) {
        lock.withLock { stopped = true }
        finished.wait()
        return lock.withLock { (hits, scans) }
    }
}

/// A TCP listener on 127.0.0.1 that accepts connections and never says a word: a server that
/// hangs before the SSH banner. Stop it with `stop()`.
final class SilentListener {
    private let process = Process()
    let port: Int

    private static let script = """
        import socket, sys
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        s.settimeout(120)          # never outlive a forgotten test by much
        print(s.getsockname()[1], flush=True)
        held = []
        try:
            while True:
                c, _ = s.accept()
                held.append(c)     # keep it open, say nothing
        except socket.timeout:
            sys.exit(0)
        """

    init() throws {
        process.executableURL = try FeedOracle.python()
        process.arguments = ["-c", Self.script]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        var data = Data()
        while !data.contains(UInt8(ascii: "\n")) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            data.append(chunk)
        }
        guard let port = Int(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        else {
            process.terminate()
            process.waitUntilExit()
            throw ProcessLaunchError(description: "the silent listener printed no port")
        }
        self.port = port
    }

    /// SIGKILL: a SIGTERM can sit blocked in the signal mask the child inherits from the test runner.
    func stop() {
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}
