import Foundation
import SFTP

extension SSHDServer {
    /// Connects, verifies the host key against `knownHosts` (the harness's file by default) and
    /// logs in with `credentials` (the harness's key by default).
    func connect(
        credentials: SSHCredentials? = nil, user: String? = nil, knownHosts: String? = nil, timeout: Int = 10
    ) throws -> SSHSession {
        let session = try SSHSession(
            host: host, port: port, hostKeyPolicy: .knownHosts(knownHosts ?? knownHostsPath), timeoutSeconds: timeout)
        do {
            try session.authenticate(user: user ?? self.user, with: credentials ?? .privateKey(path: identityPath))
        } catch {
            try? session.close()
            throw error
        }
        return session
    }

    /// Runs `body` with an SFTP client on a fresh session, then closes both (checked).
    func withSFTP<Result>(
        credentials: SSHCredentials? = nil, user: String? = nil, timeout: Int = 10,
        _ body: (SFTPClient) throws -> Result
    ) throws -> Result {
        let session = try connect(credentials: credentials, user: user, timeout: timeout)
        let sftp = try session.openSFTP()
        let result = try body(sftp)
        try sftp.close()
        try session.close()
        return result
    }
}

/// Writes `size` pseudo-random bytes (seeded, so runs are reproducible) to a new file.
func makeLocalFile(_ path: String, size: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) throws {
    var state = seed ^ UInt64(size)
    var bytes = [UInt8](repeating: 0, count: size)
    bytes.withUnsafeMutableBytes { buffer in
        var index = 0
        while index < buffer.count {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            withUnsafeBytes(of: state) { word in
                for byte in word where index < buffer.count {
                    buffer[index] = byte
                    index += 1
                }
            }
        }
    }
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
        throw HarnessError("cannot create \(path)")
    }
}

/// A sparse local file of `size` zero bytes, cheap to make however large.
func makeSparseFile(_ path: String, size: Int) throws {
    guard FileManager.default.createFile(atPath: path, contents: nil) else {
        throw HarnessError("cannot create \(path)")
    }
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    try handle.truncate(atOffset: UInt64(size))
    try handle.close()
}

/// The names in a directory, sorted.
func listing(_ directory: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
}

func contents(_ path: String) -> Data? {
    FileManager.default.contents(atPath: path)
}

/// Seconds elapsed while running `body`.
func measure(_ body: () throws -> Void) rethrows -> Double {
    let start = Date()
    try body()
    return Date().timeIntervalSince(start)
}

/// The `SFTPError` `body` throws; fails the test through `HarnessError` when it throws nothing.
func sftpError(_ body: () throws -> Void) throws -> SFTPError {
    do {
        try body()
    } catch let error as SFTPError {
        return error
    }
    throw HarnessError("expected an SFTPError, but nothing was thrown")
}

/// Whether the tests run in CI (`.ci/run` sets `CI=true`): there, tests that a developer's machine
/// may lack the means for run anyway, and fail loudly instead of skipping.
let runningInCI = ProcessInfo.processInfo.environment["CI"].map { !$0.isEmpty && $0 != "false" } ?? false
