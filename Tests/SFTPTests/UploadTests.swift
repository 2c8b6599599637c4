import Foundation
import SFTP
import Testing

@Suite("Uploads against a real sshd")
struct UploadTests {
    @Test("several files in one session arrive byte-exact, with no .part left")
    func severalFilesOneSession() throws {
        let server = try SSHDServer()
        defer { server.stop() }
        let local = try server.makeDirectory("local")
        let remote = try server.makeDirectory("inbound")
        // Around the 30000-byte packet and the 1,920,000-byte window; 12 MB slides the buffer several times.
        let sizes = [0, 1, 29_999, 30_000, 30_001, 1_920_000, 1_920_001, 12_000_017]
        for size in sizes { try makeLocalFile("\(local)/f\(size).csv", size: size) }

        let results = try server.withSFTP { sftp in
            try sizes.map { size in
                try sftp.upload(localPath: "\(local)/f\(size).csv", remoteDir: remote, name: "f\(size).csv")
            }
        }

        #expect(results.map(\.bytes) == sizes.map(Int64.init))
        #expect(try listing(remote) == sizes.map { "f\($0).csv" }.sorted())
        for size in sizes {
            #expect(contents("\(remote)/f\(size).csv") == contents("\(local)/f\(size).csv"), "size \(size)")
        }
    }

    @Test("a large file goes up over two sessions at once and arrives byte-exact, as do small ones")
    func parallelUploadOverTwoSessions() throws {
        let server = try SSHDServer()
        defer { server.stop() }
        let local = try server.makeDirectory("local")
        let remote = try server.makeDirectory("inbound")
        // Odd sizes around the threshold, so the halves split inside the file and not on a packet.
        let sizes = [Int(SFTPClient.parallelThreshold) - 1, Int(SFTPClient.parallelThreshold) + 30_001, 40_000_003]
        for size in sizes { try makeLocalFile("\(local)/p\(size).csv", size: size, seed: UInt64(size)) }
        let helperSession = try server.connect()
        let helper = try helperSession.openSFTP()
        defer {
            try? helper.close()
            try? helperSession.close()
        }

        let results = try server.withSFTP { sftp in
            try sizes.map { size in
                try sftp.upload(
                    localPath: "\(local)/p\(size).csv", remoteDir: remote, name: "p\(size).csv", helper: helper)
            }
        }

        #expect(results.map(\.bytes) == sizes.map(Int64.init))
        #expect(try listing(remote) == sizes.map { "p\($0).csv" }.sorted())
        for size in sizes {
            #expect(contents("\(remote)/p\(size).csv") == contents("\(local)/p\(size).csv"), "size \(size)")
        }
    }

    @Test("an existing target is kept, and the upload fails clearly, without overwrite")
    func existingTargetWithoutOverwrite() throws {
        let server = try SSHDServer()
        defer { server.stop() }
        let remote = try server.makeDirectory("inbound")
        try Data("old".utf8).write(to: URL(fileURLWithPath: "\(remote)/users.csv"))
        let local = server.directory + "/users.csv"
        try makeLocalFile(local, size: 1000)

        let error = try sftpError {
            try server.withSFTP { _ = try $0.upload(localPath: local, remoteDir: remote, name: "users.csv") }
        }

        #expect(error.kind == .targetExists)
        #expect(!error.isTransient)
        #expect(error.description.contains("\(remote)/users.csv already exists"))
        #expect(error.description.contains("overwrite"))
        #expect(contents("\(remote)/users.csv") == Data("old".utf8))
        #expect(try listing(remote) == ["users.csv"])
    }

    @Test("overwrite replaces an existing target")
    func existingTargetWithOverwrite() throws {
        let server = try SSHDServer()
        defer { server.stop() }
        let remote = try server.makeDirectory("inbound")
        try makeLocalFile("\(remote)/users.csv", size: 70_000, seed: 1)
        let local = server.directory + "/users.csv"
        try makeLocalFile(local, size: 1000)

        let result = try server.withSFTP {
            try $0.upload(localPath: local, remoteDir: remote + "/", name: "users.csv", overwrite: true)
        }

        #expect(result.remotePath == "\(remote)/users.csv")
        #expect(contents("\(remote)/users.csv") == contents(local))
        #expect(try listing(remote) == ["users.csv"])
    }

    @Test("direct mode writes the name in place, truncating with overwrite and refusing without")
    func directMode() throws {
        let server = try SSHDServer()
        defer { server.stop() }
        let remote = try server.makeDirectory("inbound")
        let long = server.directory + "/long.csv"
        let short = server.directory + "/short.csv"
        try makeLocalFile(long, size: 100_000, seed: 1)
        try makeLocalFile(short, size: 10, seed: 2)

        let refused = try server.withSFTP { sftp in
            _ = try sftp.upload(localPath: long, remoteDir: remote, name: "d.csv", mode: .direct)
            #expect(contents("\(remote)/d.csv") == contents(long))
            _ = try sftp.upload(localPath: short, remoteDir: remote, name: "d.csv", mode: .direct, overwrite: true)
            #expect(contents("\(remote)/d.csv") == contents(short))
            return try sftpError {
                _ = try sftp.upload(localPath: long, remoteDir: remote, name: "d.csv", mode: .direct)
            }
        }

        #expect(refused.kind == .targetExists)
        #expect(contents("\(remote)/d.csv") == contents(short))
        #expect(try listing(remote) == ["d.csv"])
    }

    @Test("a missing remote directory is named in the error, and nothing is left behind")
    func missingRemoteDirectory() throws {
        let server = try SSHDServer()
        defer { server.stop() }
        let local = server.directory + "/users.csv"
        try makeLocalFile(local, size: 10)
        let missing = server.directory + "/no-such-dir"

        let error = try sftpError {
            try server.withSFTP { _ = try $0.upload(localPath: local, remoteDir: missing, name: "users.csv") }
        }

        #expect(error.kind == .remote)
        #expect(error.sftpStatus == .noSuchFile)
        #expect(error.remotePath == "\(missing)/users.csv.part")
        #expect(error.description.contains("no such file or directory"))
        #expect(error.description.contains("does the remote directory \(missing) exist?"))
        #expect(!FileManager.default.fileExists(atPath: missing))
    }

    @Test(
        "a full disk on the server: the error says so, and the .part is removed",
        .enabled(if: canMountTmpfs || runningInCI, "mounting a tiny tmpfs needs root with CAP_SYS_ADMIN (never skipped in CI)"))
    func serverOutOfSpace() throws {
        let server = try SSHDServer()
        defer { server.stop() }
        let remote = try server.makeDirectory("small")
        try run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", remote])
        defer { _ = try? run(["umount", remote]) }
        let local = server.directory + "/big.csv"
        try makeLocalFile(local, size: 3_000_000)

        let error = try sftpError {
            try server.withSFTP { _ = try $0.upload(localPath: local, remoteDir: remote, name: "big.csv") }
        }

        #expect(error.kind == .remote)
        #expect(!error.isTransient)
        #expect(error.sftpStatus == .failure)
        #expect(
            error.description.contains(
                "cannot write \(remote)/big.csv.part: the server reported a failure; "
                    + "it may be out of space or over quota"
            ))
        #expect(try listing(remote) == [])
    }

    @Test("a missing local file fails before anything is written")
    func missingLocalFile() throws {
        let server = try SSHDServer()
        defer { server.stop() }
        let remote = try server.makeDirectory("inbound")

        let error = try sftpError {
            try server.withSFTP {
                _ = try $0.upload(localPath: server.directory + "/nope.csv", remoteDir: remote, name: "a.csv")
            }
        }

        #expect(error.kind == .localFile)
        #expect(try listing(remote) == [])
    }

    @Test("the file operations: stat, size, mkdir, write, fstat, rename, remove")
    func fileOperations() throws {
        let server = try SSHDServer()
        defer { server.stop() }
        let base = server.directory

        try server.withSFTP { sftp in
            #expect(try sftp.attributes(of: base)?.isDirectory == true)
            #expect(try sftp.size(of: "\(base)/nothing") == nil)
            try sftp.makeDirectory("\(base)/new")
            #expect(try sftp.exists("\(base)/new"))

            let size = try sftp.withFileForWriting("\(base)/new/a.txt") { file in
                try file.write(Array("hello, ".utf8))
                try file.write(Array("world".utf8))
                #expect(file.bytesWritten == 12)
                return try file.size()
            }
            #expect(size == 12)
            #expect(try sftp.size(of: "\(base)/new/a.txt") == 12)

            let exclusive = try sftpError { _ = try sftp.openForWriting("\(base)/new/a.txt", ifExists: .fail) }
            #expect(exclusive.sftpStatus == .failure)

            try sftp.rename("\(base)/new/a.txt", to: "\(base)/new/b.txt")
            #expect(contents("\(base)/new/b.txt") == Data("hello, world".utf8))
            try sftp.remove("\(base)/new/b.txt")
            #expect(try !sftp.exists("\(base)/new/b.txt"))

            let removal = try sftpError { try sftp.remove("\(base)/new/b.txt") }
            #expect(removal.sftpStatus == .noSuchFile)
            #expect(removal.remotePath == "\(base)/new/b.txt")
            #expect(removal.description.hasPrefix("cannot remove \(base)/new/b.txt: no such file or directory"))
        }
    }
}

/// Whether this process may mount a tmpfs (root, and not in a container that forbids it).
let canMountTmpfs: Bool = {
    guard let directory = try? makeTemporaryDirectory() else { return false }
    defer { try? FileManager.default.removeItem(atPath: directory) }
    guard (try? run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", directory])) != nil else { return false }
    return (try? run(["umount", directory])) != nil
}()
