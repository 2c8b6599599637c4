import Foundation

/// A throw-away OpenSSH sshd on 127.0.0.1 for one test, run by `scripts/sshd-harness.sh`.
///
/// Everything lives in a fresh temporary directory that `stop()` removes: host keys, the client
/// key, known_hosts, the config and log. The server logs in the current user (root or not) with
/// `identityPath`; more keys can be authorized with `makeKey`. Stop it with `defer { server.stop() }`.
final class SSHDServer {
    let host = "127.0.0.1"
    let port: Int
    /// The login user: whoever runs the tests.
    let user: String
    /// The temporary directory; upload targets can be made under it with `makeDirectory`.
    let directory: String
    /// The harness's own directory (keys, config, log).
    let harnessDirectory: String

    var knownHostsPath: String { harnessDirectory + "/known_hosts" }
    var identityPath: String { harnessDirectory + "/id_ed25519" }
    var authorizedKeysPath: String { harnessDirectory + "/authorized_keys" }
    var logPath: String { harnessDirectory + "/sshd.log" }
    func hostPublicKeyPath(_ type: String) -> String { harnessDirectory + "/host_\(type).pub" }

    /// The harness script, found from this file's place in the repository.
    static let script = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts/sshd-harness.sh").path

    init() throws {
        directory = try makeTemporaryDirectory()
        harnessDirectory = directory + "/sshd"
        do {
            let output = try run(["bash", Self.script, "start", harnessDirectory])
            guard let port = Int(output.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw HarnessError("sshd-harness printed no port: \(output)")
            }
            self.port = port
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
        user = try run(["id", "-un"]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Stops sshd and its session processes and removes the temporary directory.
    func stop() {
        _ = try? run(["bash", Self.script, "stop", harnessDirectory])
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Kills sshd and every session process at once, as a crash would. Callable from any thread.
    static func kill(harnessDirectory: String) {
        _ = try? run(["bash", script, "kill", harnessDirectory])
    }

    /// Stops (SIGSTOP) the session processes: the server holds the connection and never answers.
    static func freeze(harnessDirectory: String) {
        _ = try? run(["bash", script, "freeze", harnessDirectory])
    }

    /// Creates a directory under the temporary directory and returns its path.
    func makeDirectory(_ name: String) throws -> String {
        let path = directory + "/" + name
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Generates a client key with ssh-keygen and, when `authorize` is set, lists it in
    /// authorized_keys. `format` is ssh-keygen's `-m` (`PEM`), nil for the OpenSSH format.
    func makeKey(
        _ name: String, type: String = "ed25519", passphrase: String = "", format: String? = nil, authorize: Bool = true
    ) throws -> String {
        let path = directory + "/" + name
        var arguments = ["ssh-keygen", "-q", "-t", type, "-N", passphrase, "-C", name, "-f", path]
        if let format { arguments += ["-m", format] }
        try run(arguments)
        if authorize {
            let line = try String(contentsOfFile: path + ".pub", encoding: .utf8)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: authorizedKeysPath))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(line.utf8))
            try handle.close()
        }
        return path
    }

    /// `SHA256:…` of one of the server's host keys, as `ssh-keygen -lf` prints it.
    func fingerprint(_ type: String) throws -> String {
        try run(["ssh-keygen", "-lf", hostPublicKeyPath(type)]).split(separator: " ")[1].description
    }

    /// Writes a known_hosts file holding the server's keys of the given types and returns its path;
    /// `hashed` runs `ssh-keygen -H` over it.
    func knownHosts(_ types: [String], hashed: Bool = false) throws -> String {
        let path = directory + "/known_hosts_" + types.joined(separator: "_") + (hashed ? "_hashed" : "")
        let lines = try types.map { type in
            let key = try String(contentsOfFile: hostPublicKeyPath(type), encoding: .utf8)
                .split(separator: " ").prefix(2).joined(separator: " ")
            return "[\(host)]:\(port) \(key)\n"
        }
        try lines.joined().write(toFile: path, atomically: true, encoding: .utf8)
        if hashed { try run(["ssh-keygen", "-q", "-H", "-f", path]) }
        return path
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A new directory under the system's temporary directory.
func makeTemporaryDirectory() throws -> String {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("dropfeed-sftp-\(UUID().uuidString.prefix(8))").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
    return path
}

/// Runs a command found on PATH and returns its standard output; throws when it fails.
@discardableResult
func run(_ arguments: [String], input: String? = nil) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    let stdin = Pipe()
    process.standardInput = stdin
    try process.run()
    if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
    try stdin.fileHandleForWriting.close()
    let stdout = output.fileHandleForReading.readDataToEndOfFile()
    let stderr = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw HarnessError(
            "\(arguments.joined(separator: " ")) exited \(process.terminationStatus): "
                + String(decoding: stderr, as: UTF8.self))
    }
    return String(decoding: stdout, as: UTF8.self)
}
