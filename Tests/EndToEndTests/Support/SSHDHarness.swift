import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A throw-away OpenSSH sshd on 127.0.0.1, run by `scripts/sshd-harness.sh` in a directory of its
/// own (host keys, the client key, `known_hosts`, `authorized_keys`, config, log).
///
/// `start()` again on the same directory keeps the keys and picks a new port (known_hosts is
/// rewritten for it). Always stop it: `defer { harness.stop() }`; `remove()` also deletes the directory.
///
///     let harness = try SSHDHarness()
///     defer { harness.remove() }
///     let port = harness.port
final class SSHDHarness: @unchecked Sendable {
    /// The harness's directory.
    let directory: URL
    /// The port of the running sshd (changes with each `start()`).
    private(set) var port = 0
    /// The login user: whoever runs the tests.
    let user: String
    let host = "127.0.0.1"

    var knownHosts: URL { directory.appendingPathComponent("known_hosts") }
    var identity: URL { directory.appendingPathComponent("id_ed25519") }
    var authorizedKeys: URL { directory.appendingPathComponent("authorized_keys") }
    var log: URL { directory.appendingPathComponent("sshd.log") }
    /// `host_ed25519.pub` or `host_ecdsa.pub`.
    func hostPublicKey(_ type: String) -> URL { directory.appendingPathComponent("host_\(type).pub") }

    static let script = DropfeedProcess.packageRoot.appendingPathComponent("scripts/sshd-harness.sh")

    /// Creates a fresh directory under the system temporary directory and starts sshd in it.
    init() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("dropfeed-e2e-sshd-\(UUID().uuidString.prefix(8))", isDirectory: true)
        user = try Shell.output(["id", "-un"]).trimmingCharacters(in: .whitespacesAndNewlines)
        do {
            try start()
        } catch {
            remove()
            throw error
        }
    }

    /// Starts sshd (again) from the directory; returns the new port.
    @discardableResult
    func start() throws -> Int {
        let out = try Shell.output(["bash", Self.script.path, "start", directory.path])
        guard let port = Int(out.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw ProcessLaunchError(description: "sshd-harness printed no port: \(out)")
        }
        self.port = port
        return port
    }

    /// Stops sshd and its session processes (the directory stays).
    func stop() {
        _ = try? Shell.run(["bash", Self.script.path, "stop", directory.path])
    }

    /// SIGKILLs sshd and every session process at once: a crash.
    func kill() {
        _ = try? Shell.run(["bash", Self.script.path, "kill", directory.path])
    }

    /// Stops the server and deletes its directory.
    func remove() {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }

    /// SIGSTOPs every process below the listening sshd (the sessions) straight from here, without
    /// the latency of a shell: an upload in progress stops where it is. Returns how many were stopped.
    @discardableResult
    func freezeSessionsNow() -> Int {
        guard let text = try? String(contentsOf: directory.appendingPathComponent("sshd.pid"), encoding: .utf8),
            let root = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
        else { return 0 }
        let pids = Self.descendants(of: root)
        for pid in pids { Glibc.kill(pid, SIGSTOP) }
        return pids.count
    }

    /// The pids of every descendant of `root`, from /proc.
    static func descendants(of root: Int32) -> [Int32] {
        var children: [Int32: [Int32]] = [:]
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            guard let pid = Int32(entry),
                let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let close = stat.range(of: ") ", options: .backwards)
            else { continue }
            let fields = stat[close.upperBound...].split(separator: " ")
            guard fields.count > 1, let ppid = Int32(fields[1]) else { continue }
            children[ppid, default: []].append(pid)
        }
        var out: [Int32] = []
        var queue = [root]
        while let next = queue.popLast() {
            for child in children[next] ?? [] {
                out.append(child)
                queue.append(child)
            }
        }
        return out
    }

    /// `SHA256:…` of a host key, as `ssh-keygen -lf` prints it.
    func fingerprint(_ type: String) throws -> String {
        try Self.fingerprint(of: hostPublicKey(type))
    }

    static func fingerprint(of publicKey: URL) throws -> String {
        let line = try Shell.output(["ssh-keygen", "-lf", publicKey.path])
        let fields = line.split(separator: " ")
        try #require(fields.count >= 2 && fields[1].hasPrefix("SHA256:"), "ssh-keygen -lf printed \(line)")
        return String(fields[1])
    }

    /// The `type base64` part of a host public key.
    func hostKeyLine(_ type: String) throws -> String {
        try String(contentsOf: hostPublicKey(type), encoding: .utf8).split(separator: " ").prefix(2).joined(
            separator: " ")
    }

    /// Writes a known_hosts file at `url` with the server's keys of `types` for `[127.0.0.1]:PORT`;
    /// `hashed` runs `ssh-keygen -H` over it.
    func writeKnownHosts(_ url: URL, types: [String], hashed: Bool = false) throws {
        let lines = try types.map { "[\(host)]:\(port) \(try hostKeyLine($0))\n" }.joined()
        try Data(lines.utf8).write(to: url)
        if hashed {
            try Shell.run(["ssh-keygen", "-q", "-H", "-f", url.path])
            try? FileManager.default.removeItem(atPath: url.path + ".old")
        }
    }

    /// Generates a client key pair at `url` (ssh-keygen) and, when `authorize` is set, appends its
    /// public half to the server's authorized_keys.
    func makeClientKey(_ url: URL, type: String = "ed25519", passphrase: String = "", authorize: Bool = true) throws {
        var arguments = [
            "ssh-keygen", "-q", "-t", type, "-N", passphrase, "-C", "dropfeed-e2e-\(type)", "-f", url.path,
        ]
        if type == "rsa" { arguments += ["-b", "2048"] }
        try Shell.run(arguments)
        if authorize {
            let line = try Data(contentsOf: URL(fileURLWithPath: url.path + ".pub"))
            let handle = try FileHandle(forWritingTo: authorizedKeys)
            try handle.seekToEnd()
            try handle.write(contentsOf: line)
            try handle.close()
        }
    }

    /// The last lines of sshd's log, for failure messages.
    func logTail(_ lines: Int = 20) -> String {
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }
}

/// Runs programs found on PATH for the tests' own set-up (never `dropfeed` itself).
enum Shell {
    /// Runs ARGS[0] from PATH; throws when it cannot start or exits non-zero.
    @discardableResult
    static func run(_ arguments: [String], stdin: Data? = nil, cwd: URL? = nil) throws -> ProcessResult {
        guard
            let program = DropfeedProcess.which(arguments[0])
                ?? ["/usr/sbin/", "/sbin/"]
                .map({ URL(fileURLWithPath: $0 + arguments[0]) })
                .first(where: { FileManager.default.isExecutableFile(atPath: $0.path) })
        else {
            throw ProcessLaunchError(description: "\(arguments[0]) is not installed")
        }
        let r = try DropfeedProcess.runProgram(program, Array(arguments.dropFirst()), cwd: cwd, stdin: stdin)
        guard r.exitCode == 0 else {
            throw ProcessLaunchError(
                description: "`\(arguments.joined(separator: " "))` exited \(r.exitCode): \(r.stderr)")
        }
        return r
    }

    static func output(_ arguments: [String]) throws -> String { try run(arguments).stdout }

    /// The SHA-256 of a file, as `sha256sum` computes it (independent of the code under test).
    static func sha256(_ url: URL) throws -> String {
        String(try output(["sha256sum", url.path]).prefix(64))
    }
}
