import Foundation
import Testing

/// The secrets of an SFTP target (a key passphrase, a password) reach nothing a run leaves behind:
/// not stdout or stderr in any output mode (`-v`, `--log-format json`), not the JSON report, the
/// metrics file, the history, the state directory, the delivery folders or the remote folder, and
/// not the arguments of any process while the commands run — across every command that reads the
/// config, on success and on failure.
@Suite(.serialized) struct SecretLeakTests {
    @Test func noSecretInAnythingARunLeavesOrInAnyProcessArguments() throws {
        try SFTPFeed.with { feed in
            let passphrase = "pp-\(UUID().uuidString)"
            let wrong = "wrong-\(UUID().uuidString)"
            let password = "pw-\(UUID().uuidString)"
            let variable = "DROPFEED_LEAK_PASSPHRASE"
            let passwordVariable = "DROPFEED_LEAK_PASSWORD"
            let key = feed.harness.directory.appendingPathComponent("id_leak")
            try feed.harness.makeClientKey(key, passphrase: passphrase)
            let keyLine = String(try String(contentsOf: key, encoding: .utf8).split(separator: "\n")[1])
            try feed.configure {
                $0.identityFile = key.path
                $0.passphraseEnv = variable
            }
            let secrets = [passphrase, wrong, password, keyLine]
            // The password variable is set too, though this target logs in with its key: a secret in
            // the environment must not leak whether or not the config uses it.
            let good = [variable: passphrase, passwordVariable: password]
            let watch = ArgumentWatch(secrets)
            var results: [ProcessResult] = []
            feed.ws.now = "2026-03-02T02:00:00Z"
            results.append(try feed.run(["validate"], environment: good))
            results.append(try feed.run(["check-connection"], environment: good))
            results.append(try feed.run(["plan", "--json", "-v"], environment: good))
            let failed = try feed.run(
                ["run", "-v", "--log-format", "json", "--report", "failed.json", "--metrics", "failed.prom"],
                environment: [variable: wrong, passwordVariable: password])
            results.append(failed)
            #expect(failed.exitCode == 69, "\(failed.stderr)")
            let delivered = try feed.run(
                ["run", "-v", "--report", "run.json", "--metrics", "run.prom", "--on-success", "true"], environment: good)
            results.append(delivered)
            #expect(delivered.exitCode == 0, "\(delivered.stderr)")
            feed.ws.now = "2026-03-03T02:00:00Z"
            try feed.ws.nextDay()
            results.append(try feed.run(["run", "--json", "--log-format", "json"], environment: good))
            for command in [["history"], ["history", "--json"], ["state", "list"], ["state", "show", "acme-lms", "--json"]] {
                results.append(try feed.run(command, environment: good))
            }
            let seen = watch.stop()
            #expect(!feed.remoteNames().isEmpty, "nothing was delivered: the check would prove little")
            #expect(FileManager.default.fileExists(atPath: feed.ws.file("state/history.jsonl").path))
            #expect(FileManager.default.fileExists(atPath: feed.ws.file("run.prom").path))

            SecretCheck.expectAbsent(secrets, in: results, "leak")
            SecretCheck.expectAbsent(secrets, under: [feed.ws.root.url, feed.remote.url])
            #expect(seen.hits.isEmpty, "a secret is in a process's arguments: \(seen.hits)")
            #expect(seen.scans > 0)
        }
    }
}
