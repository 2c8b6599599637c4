import Foundation
import SFTP
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Connection failures")
struct FailureTests {
    @Test("a listener that accepts TCP and never speaks fails within the timeout")
    func silentListener() throws {
        let listener = try SilentListener()
        defer { listener.close() }
        let knownHosts = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: knownHosts) }
        let timeout = 2

        var error: SFTPError?
        let elapsed = try measure {
            error = try sftpError {
                _ = try SSHSession(
                    host: "127.0.0.1", port: listener.port, hostKeyPolicy: .knownHosts(knownHosts + "/known_hosts"),
                    timeoutSeconds: timeout)
            }
        }

        #expect(error?.kind == .connection)
        #expect(error?.isTransient == true)
        #expect(error?.code == .timeout)
        #expect(error?.description.contains("no SSH handshake with 127.0.0.1 port \(listener.port) within 2s") == true)
        #expect(elapsed < Double(3 * timeout), "must not hang beyond the timeout")
    }

    @Test(
        "IPv6: an address literal, and [::1]:port in known_hosts",
        .enabled(if: SilentListener.hasIPv6Loopback || runningInCI, "this machine has no IPv6 loopback (never skipped in CI)"))
    func ipv6() throws {
        let server = try SSHDServer()
        defer { server.stop() }
        let knownHosts = try server.knownHosts(["ed25519"])
        let entry = try String(contentsOfFile: knownHosts, encoding: .utf8)
        try entry.replacingOccurrences(of: "[127.0.0.1]", with: "[::1]").write(
            toFile: knownHosts, atomically: true, encoding: .utf8)

        let session = try SSHSession(
            host: "::1", port: server.port, hostKeyPolicy: .knownHosts(knownHosts), timeoutSeconds: 10)
        defer { try? session.close() }
        try session.authenticate(user: server.user, with: .privateKey(path: server.identityPath))

        #expect(session.hostKey.algorithm == "ssh-ed25519")
    }

    @Test("a closed port is a transient connection error")
    func refused() throws {
        let listener = try SilentListener()
        let port = listener.port
        listener.close()

        let error = try sftpError {
            _ = try SSHSession(
                host: "127.0.0.1", port: port, hostKeyPolicy: .knownHosts("/dev/null"), timeoutSeconds: 5)
        }

        #expect(error.kind == .connection)
        #expect(error.isTransient)
        #expect(error.description.contains("cannot connect to 127.0.0.1 port \(port): connection refused"))
    }

    @Test("a server killed in the middle of an upload: an error, and no file under the final name")
    func serverKilledMidUpload() throws {
        let server = try SSHDServer()
        defer { server.stop() }
        let (local, remote) = try largeUpload(server)
        let harness = server.harnessDirectory
        let watcher = FileWatcher(path: remote + "/big.csv.part", atLeast: 4 << 20) {
            SSHDServer.kill(harnessDirectory: harness)
        }
        let session = try server.connect()
        let sftp = try session.openSFTP()

        let error = try sftpError { _ = try sftp.upload(localPath: local, remoteDir: remote, name: "big.csv") }
        #expect(watcher.wait(), "the server was killed during the upload")
        try sftp.close()
        try session.close()

        #expect(error.kind == .connection)
        #expect(error.isTransient)
        #expect(error.description.contains("the partial file \(remote)/big.csv.part may remain on the server"))
        #expect(!FileManager.default.fileExists(atPath: remote + "/big.csv"))
    }

    @Test("a server that stops answering mid-upload times out, and closing does not hang")
    func serverFrozenMidUpload() throws {
        let server = try SSHDServer()
        defer { server.stop() }
        let (local, remote) = try largeUpload(server)
        let harness = server.harnessDirectory
        let watcher = FileWatcher(path: remote + "/big.csv.part", atLeast: 4 << 20) {
            SSHDServer.freeze(harnessDirectory: harness)
        }
        let timeout = 2
        let session = try server.connect(timeout: timeout)
        let sftp = try session.openSFTP()

        var error: SFTPError?
        let elapsed = try measure {
            error = try sftpError { _ = try sftp.upload(localPath: local, remoteDir: remote, name: "big.csv") }
            try sftp.close()
            try session.close()
        }

        #expect(watcher.wait(), "the server froze during the upload")
        #expect(error?.code == .timeout)
        #expect(error?.isTransient == true)
        #expect(error?.description.contains("the server did not answer within 2s") == true)
        #expect(elapsed < Double(3 * timeout) + 5, "must not hang beyond the timeout")
        #expect(!FileManager.default.fileExists(atPath: remote + "/big.csv"))
    }

    /// A 512 MB local file (sparse, so cheap) and an empty remote directory.
    private func largeUpload(_ server: SSHDServer) throws -> (local: String, remote: String) {
        let local = server.directory + "/big.csv"
        try makeSparseFile(local, size: 512 << 20)
        return (local, try server.makeDirectory("inbound"))
    }
}

/// A TCP listener on 127.0.0.1 that never accepts: the kernel completes the handshake, and then
/// nothing is ever said.
final class SilentListener {
    let port: Int
    private var descriptor: Int32

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && listen(descriptor, 8) == 0
                    && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard bound else {
            Glibc.close(descriptor)
            throw HarnessError("cannot listen on 127.0.0.1: \(String(cString: strerror(errno)))")
        }
        self.descriptor = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() {
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
    }

    deinit { close() }

    /// Whether a socket can be bound to ::1.
    static let hasIPv6Loopback: Bool = {
        let descriptor = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { Glibc.close(descriptor) }
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_addr = in6addr_loopback
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) == 0
            }
        }
    }()
}

/// Runs an action on its own thread once a file has grown to a given size: the way to strike a
/// server in the middle of an upload.
final class FileWatcher: @unchecked Sendable {
    private let finished = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var fired = false

    init(path: String, atLeast size: Int, action: @escaping @Sendable () -> Void) {
        Thread { [self] in
            defer { finished.signal() }
            for _ in 0..<10_000 {
                var info = stat()
                if stat(path, &info) == 0 && Int(info.st_size) >= size {
                    action()
                    lock.withLock { fired = true }
                    return
                }
                usleep(2_000)
            }
        }.start()
    }

    /// Waits for the watch to end; true when the action ran.
    func wait() -> Bool {
        finished.wait()
        return lock.withLock { fired }
    }
}
