// Uploads one file with Dropfeed's SFTP module, for bench/sftp_bench.sh.
//
//   dropfeed-sftp-bench HOST PORT USER IDENTITY_FILE KNOWN_HOSTS LOCAL_FILE REMOTE_DIR
//
// Connects, verifies the host key, logs in with the key, uploads LOCAL_FILE into REMOTE_DIR under
// its own name (NAME.part, then rename, replacing an existing file), and prints
// `BYTES SECONDS MB/s`, timed from connect to disconnect.
import Foundation
import SFTP

let arguments = CommandLine.arguments
guard arguments.count == 8, let port = Int(arguments[2]) else {
    FileHandle.standardError.write(
        Data("usage: dropfeed-sftp-bench HOST PORT USER IDENTITY_FILE KNOWN_HOSTS LOCAL_FILE REMOTE_DIR\n".utf8))
    exit(64)
}
let (host, user, identity, knownHosts, localFile, remoteDir) =
    (arguments[1], arguments[3], arguments[4], arguments[5], arguments[6], arguments[7])

do {
    let start = Date()
    let session = try SSHSession(host: host, port: port, hostKeyPolicy: .knownHosts(knownHosts))
    try session.authenticate(user: user, with: .privateKey(path: identity))
    let sftp = try session.openSFTP()
    // A second session, as `dropfeed run` opens for a large file: each encrypts on its own core.
    let helperSession = try SSHSession(host: host, port: port, hostKeyPolicy: .knownHosts(knownHosts))
    try helperSession.authenticate(user: user, with: .privateKey(path: identity))
    let helper = try helperSession.openSFTP()
    let result = try sftp.upload(
        localPath: localFile, remoteDir: remoteDir, name: URL(fileURLWithPath: localFile).lastPathComponent,
        overwrite: true, helper: helper)
    try helper.close()
    try helperSession.close()
    try sftp.close()
    try session.close()
    let seconds = Date().timeIntervalSince(start)
    print(result.bytes, String(format: "%.3f", seconds), String(format: "%.1f", Double(result.bytes) / seconds / 1e6))
} catch {
    FileHandle.standardError.write(Data("dropfeed-sftp-bench: \(error)\n".utf8))
    exit(1)
}
