import DropfeedCore
import Foundation
import SFTP

/// `dropfeed check-connection`: for each SFTP target, everything a delivery needs, tried for real.
enum CheckConnectionCommand {
    static let help = """
        usage: dropfeed check-connection [--config FILE] [--target NAME]... [--json]

        For each SFTP target: resolves and connects, prints the server's host-key type and SHA256
        fingerprint, verifies it against the configured known_hosts, authenticates, checks that
        remoteDir exists and is writable (with a probe file it removes again) and whether rename
        works there, then prints a verdict. Changes nothing on the server but the probe file.
        Local-folder targets are not checked. Exit 0 when every target passed, 69 otherwise.
        With --json, prints [{"name", "destination", "ok", "steps": [...]}] on stdout instead.

        example:
          dropfeed check-connection --target acme-lms
        """

    static func run(_ args: [String]) throws -> ExitCode {
        let a = try Arguments(
            args, command: "check-connection", valued: ["--config", "--target"], switches: ["--json"])
        guard a.positionals.isEmpty else {
            throw UsageError("unexpected argument `\(a.positionals[0])`", command: "check-connection")
        }
        let config = try ConfigFile.load(a.value("--config"))
        let names = config.targets.map(\.name)
        for name in a.all("--target") where !names.contains(name) { throw UnknownTargetError(name: name, known: names) }
        let selected = config.targets.filter { a.all("--target").isEmpty || a.all("--target").contains($0.name) }
        var worst = ExitCode.success
        var checked = 0
        var results: [JSON] = []
        let json = a.has("--json")
        for target in selected {
            guard case .sftp(let settings) = target.deliver else { continue }
            checked += 1
            if !json { Output.stdout("\(target.name): \(target.deliver.description)\n") }
            var steps: [String] = []
            let ok = check(settings) { text in
                if json { steps.append(text) } else { Output.stdout("  \(text)\n") }
            }
            if !ok { worst = .unavailable }
            results.append(
                .object([
                    ("name", .string(target.name)), ("destination", .string(target.deliver.description)),
                    ("ok", .bool(ok)), ("steps", .array(steps.map(JSON.string))),
                ]))
        }
        if json { Output.stdout(JSON.array(results).rendered(indent: 2) + "\n") }
        if checked == 0 { Output.note("no SFTP target to check") }
        return worst
    }

    /// Runs the checks for one target, printing one line per step; returns whether all passed.
    static func check(_ settings: SFTPSettings, step: (String) -> Void) -> Bool {
        let session: SSHSession
        do {
            session = try SSHSession(
                host: settings.host, port: settings.port,
                hostKeyPolicy: .knownHosts(settings.knownHosts), timeoutSeconds: settings.timeoutSeconds)
        } catch let error as SFTPError {
            if let key = error.serverHostKey { step("server host key: \(key.algorithm) \(key.fingerprint)") }
            step("FAIL: \(error)")
            return false
        } catch {
            step("FAIL: \(error)")
            return false
        }
        defer { try? session.close() }
        step("connected; server host key: \(session.hostKey.algorithm) \(session.hostKey.fingerprint)")
        step("host key verified against \(settings.knownHosts)")
        let client: SFTPClient
        do {
            try session.authenticate(
                user: settings.user, with: try SFTPDrop.credentials(settings, ProcessInfo.processInfo.environment))
            step("authenticated as \(settings.user)")
            client = try session.openSFTP()
        } catch {
            step("FAIL: \(error)")
            return false
        }
        defer { try? client.close() }
        let dir = settings.remoteDir
        do {
            guard let attributes = try client.attributes(of: dir) else {
                step("FAIL: the remote directory \(dir) does not exist")
                return false
            }
            guard attributes.isDirectory else {
                step("FAIL: \(dir) is not a directory")
                return false
            }
            step("remote directory \(dir) exists")
        } catch {
            step("FAIL: cannot inspect \(dir): \(error)")
            return false
        }
        let probe = ".dropfeed-probe-\(getpid())"
        let local = NSTemporaryDirectory() + probe
        FileManager.default.createFile(atPath: local, contents: Data("dropfeed check-connection probe\n".utf8))
        defer { try? FileManager.default.removeItem(atPath: local) }
        let prefix = dir.isEmpty || dir == "." ? "" : (dir.hasSuffix("/") ? dir : dir + "/")
        do {
            _ = try client.upload(localPath: local, remoteDir: dir, name: probe, mode: .direct, overwrite: true)
            step("remote directory is writable")
        } catch {
            step("FAIL: cannot write into \(dir): \(error)")
            return false
        }
        var renames = true
        do {
            try client.rename(prefix + probe, to: prefix + probe + ".renamed")
            try client.remove(prefix + probe + ".renamed")
            step("rename works (upload: \"rename\" is safe here)")
        } catch {
            renames = false
            try? client.remove(prefix + probe)
            step("rename does NOT work: \(error)")
        }
        if !renames && settings.upload == .rename {
            step("FAIL: this server forbids rename; set upload: \"direct\" for this target")
            return false
        }
        step("OK: ready to deliver")
        return true
    }
}
