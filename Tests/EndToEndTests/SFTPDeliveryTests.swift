import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// SFTP delivery through the built `dropfeed` binary against a real OpenSSH sshd on loopback
/// (`scripts/sshd-harness.sh`): the sample feed's acme-lms target delivers over SFTP, badges and
/// awareness into local folders. Each test has its own sshd, workspace and inbound folder.
///
/// Serialized: the server-killed test needs the upload to still be running when it strikes, and
/// two cores are shared with the rest of the suite.
@Suite(.serialized) struct SFTPDeliveryTests {
    static let day1 = "2026-03-02T02:00:00Z"
    static let day2 = "2026-03-03T02:00:00Z"

    /// Gives acme-lms a 4,000-character column, so that its file is ~10 MB: long enough to catch
    /// it half uploaded. `allowingUpdates` lifts its update gate (every row changes).
    func padAcmeRows(_ feed: SFTPFeed, allowingUpdates: Bool = false) throws {
        try feed.ws.edit("../mappings/acme-lms.json") {
            let padded = $0.replacingExactly(
                #"{ name: "tenant", value: "NORTHWIND" },"#,
                with: #"{ name: "tenant", value: "NORTHWIND" }, { name: "padding", value: ""#
                    + String(repeating: "p", count: 4000) + #"" },"#)
            return allowingUpdates
                ? padded.replacingExactly("maxUpdatePercent: 20,", with: "maxUpdatePercent: 100,") : padded
        }
    }

    // MARK: 1. the happy path

    @Test func deliversTheSampleFeedThenNothingThenTheDelta() throws {
        try SFTPFeed.with { feed in
            try feed.configure {
                $0.retries = 3
                $0.timeoutSeconds = 30
            }  // as the sample has it
            let config = feed.ws.file(SFTPFeed.configName)
            let oracle = try FeedOracle.counts(config: config)
            try FileManager.default.copyItem(at: feed.ws.file("hr_export.csv"), to: feed.ws.file("day1.csv"))

            // Day 1: every row is an add; the delta arrives under its final name, nothing else.
            feed.ws.now = Self.day1
            let (r1, day1) = try feed.report(["run", "--report", "run1.json"])
            #expect(r1.exitCode == 0, "\(r1.stderr)")
            #expect(day1.ok && day1.exitCode == 0)
            let acme1 = try day1.target("acme-lms")
            #expect(acme1.status == "delivered" && acme1.error == nil, "\(acme1.error ?? "")")
            FeedChecks.expectCounts(acme1, try oracle.target("acme-lms").first, "day 1")
            #expect(acme1.files.count == 1 && acme1.files.first?.kind == "delta")
            #expect(
                !feed.remoteNames().contains { $0.hasSuffix(".part") }, "a .part file was left: \(feed.remoteNames())")
            try FeedChecks.expectFiles(of: acme1, in: feed.remote.url)
            for file in acme1.files {
                #expect(
                    try Shell.sha256(feed.remote.file(file.name)) == file.sha256,
                    "\(file.name): sha256sum differs from the report")
            }
            for name in ["badges", "awareness"] {
                let t = try day1.target(name)
                #expect(t.status == "delivered")
                try FeedChecks.expectFiles(of: t, in: feed.ws.outbox(name))
            }
            let saved = try JSONDecoder().decode(FeedReport.self, from: Data(contentsOf: feed.ws.file("run1.json")))
            #expect(
                saved.runId == day1.runId && saved.targets.map(\.status) == day1.targets.map(\.status),
                "--report differs from --json")
            let shown = try feed.run(["state", "show", "acme-lms", "--json"])
            #expect(
                shown.exitCode == 0 && shown.stdout.contains(acme1.files[0].sha256),
                "the snapshot does not name the delivered file: \(shown.stdout)")

            // Same export again: nothing is sent anywhere.
            let afterDay1 = feed.remoteContents()
            feed.ws.now = "2026-03-02T08:00:00Z"
            let (r2, again) = try feed.report(["run"])
            #expect(r2.exitCode == 0, "\(r2.stderr)")
            for t in again.targets {
                #expect(t.status == "unchanged" && t.files.isEmpty, "\(t.name): \(t.status), \(t.files.map(\.name))")
            }
            #expect(feed.remoteContents() == afterDay1, "the second run changed the server's folder")

            // Day 2: the next export; exactly the delta the oracle expects arrives beside day 1's file.
            try feed.ws.nextDay()
            feed.ws.now = Self.day2
            let keys = try FeedOracle.keys(
                "acme-lms", config: config, old: feed.ws.file("day1.csv"), new: feed.ws.file("hr_export.csv"))
            let (r3, day2) = try feed.report(["run"])
            #expect(r3.exitCode == 0, "\(r3.stderr)")
            let acme2 = try day2.target("acme-lms")
            #expect(acme2.status == "delivered", "\(acme2.error ?? "")")
            FeedChecks.expectCounts(acme2, try oracle.target("acme-lms").next, "day 2")
            let arrived = feed.remoteNames().subtracting(afterDay1.keys)
            #expect(
                arrived == Set(acme2.files.map(\.name)),
                "day 2 put \(arrived) on the server, the report says \(acme2.files.map(\.name))")
            for (name, data) in afterDay1 {
                #expect(feed.remoteContents()[name] == data, "day 2 changed day 1's \(name)")
            }
            let read = try FeedChecks.expectFiles(of: acme2, in: try feed.copyRemote(arrived, into: "day2-arrived"))
            let delta = try FeedChecks.dataFile("delta", of: acme2, in: read)
            #expect(FeedChecks.actionKeys(delta) == FeedChecks.actionKeys(keys))
            #expect(!feed.remoteNames().contains { $0.hasSuffix(".part") })
        }
    }

    // MARK: 2. the server dies in the middle of an upload

    @Test func serverKilledMidUploadKeepsTheSnapshotAndTheNextRunFinishesTheDelivery() throws {
        try SFTPFeed.with { feed in
            try feed.configure {
                $0.timeoutSeconds = 5
                $0.retries = 0
            }
            feed.ws.now = Self.day1
            let r1 = try feed.run(["run"])
            try #require(r1.exitCode == 0, "day 1 failed: \(r1.stderr)")
            let snapshotDay1 = try feed.stateShow("acme-lms")
            let remoteDay1 = feed.remoteContents()

            // Day 2: the next export, and acme-lms gains a 4,000-character column, so that every
            // row is an update and the delta is ~10 MB: long enough to catch it half uploaded.
            try padAcmeRows(feed, allowingUpdates: true)
            try feed.ws.nextDay()
            feed.ws.now = Self.day2

            // As soon as NAME.part appears: stop the server's session processes where they are,
            // look at the partial file, then kill sshd outright.
            let watcher = PartWatcher(remote: feed.remote.url, harness: feed.harness)
            let (r2, failed) = try feed.report(["run"])
            let seen = watcher.stop()
            let output = r2.stderr.prefix(1500)
            let part = try #require(
                seen.part, "no .part file appeared on the server during the upload (exit \(r2.exitCode), \(output))")
            #expect(seen.frozen > 0, "no sshd session process was found to stop")

            #expect(r2.exitCode == 69, "\(r2.stderr)")
            #expect(!failed.ok && failed.exitCode == 69)
            let acme = try failed.target("acme-lms")
            #expect(acme.status == "failed")
            let error = acme.error ?? ""
            #expect(
                error.contains("connection") || error.contains("127.0.0.1 port \(feed.settings.port)"),
                "the error does not name the connection: \(error)")
            #expect(r2.stderr.contains(error.prefix(60)), "stderr does not carry the error")
            for name in ["badges", "awareness"] {
                let t = try failed.target(name)
                #expect(
                    t.status == "delivered", "\(name) was held back by acme-lms's failure: \(t.status) \(t.error ?? "")"
                )
                #expect(feed.ws.delivered(name).isSuperset(of: t.files.map(\.name)))
            }
            // The snapshot did not move; the vendor has no final-named file of this run.
            #expect(try feed.stateShow("acme-lms") == snapshotDay1, "acme-lms's snapshot moved after a failed delivery")
            let file = try #require(acme.files.first, "the failed target's report lists no file")
            #expect(part == file.name + ".part", "the partial file was \(part), not \(file.name).part")
            #expect(
                seen.partBytes < Int64(file.bytes),
                ".part was already complete (\(seen.partBytes) of \(file.bytes) bytes) when the server was stopped")
            #expect(
                !feed.remoteNames().contains(file.name), "\(file.name) exists on the server after the upload was killed"
            )
            for (name, data) in remoteDay1 { #expect(feed.remoteContents()[name] == data, "day 1's \(name) changed") }
            let staged = feed.staged("acme-lms", file.name)
            #expect(try Shell.sha256(staged) == file.sha256, "the staged file is not the one the report names")

            // A new server (same keys, new port): the next run first finishes the delivery.
            try feed.harness.start()
            try feed.configure { $0.port = feed.harness.port }
            feed.ws.now = "2026-03-03T08:00:00Z"
            let (r3, recovered) = try feed.report(["run"])
            #expect(r3.exitCode == 0, "\(r3.stderr)")
            let acme3 = try recovered.target("acme-lms")
            #expect(acme3.recovered == [file.name], "recovered: \(acme3.recovered ?? [])")
            #expect(
                acme3.status == "delivered" && acme3.files.isEmpty,
                "after recovery nothing new was due, and finishing the delivery is reported as delivered: \(acme3.status) \(acme3.files.map(\.name))")
            #expect(
                try Shell.sha256(feed.remote.file(file.name)) == file.sha256,
                "the recovered file differs from the staged one")
            #expect(!feed.remoteNames().contains { $0.hasSuffix(".part") }, "a .part remains: \(feed.remoteNames())")
            let committed = try feed.run(["state", "show", "acme-lms", "--json"])
            #expect(
                committed.exitCode == 0 && committed.stdout.contains(file.sha256)
                    && committed.stdout.contains(failed.runId ?? "?"),
                "the snapshot of the interrupted run was not committed: \(committed.stdout)")
            #expect(!feed.ws.exists("state/acme-lms/pending/journal.json"), "the journal is still pending")

            // A third run sends nothing.
            let before = feed.remoteContents()
            feed.ws.now = "2026-03-03T09:00:00Z"
            let (r4, quiet) = try feed.report(["run"])
            #expect(r4.exitCode == 0, "\(r4.stderr)")
            for t in quiet.targets {
                #expect(
                    t.status == "unchanged" && t.files.isEmpty && (t.recovered ?? []).isEmpty, "\(t.name): \(t.status)")
            }
            #expect(feed.remoteContents() == before)
        }
    }

    @Test func aServerFrozenMidUploadTimesOutAndTheRetryDelivers() throws {
        try SFTPFeed.with { feed in
            try feed.configure {
                $0.timeoutSeconds = 2
                $0.retries = 1
            }
            try padAcmeRows(feed)
            feed.ws.now = Self.day1
            let watcher = PartWatcher(remote: feed.remote.url, harness: feed.harness, kill: false)
            let start = Date()
            let (r, report) = try feed.report(["run"])
            let elapsed = Date().timeIntervalSince(start)
            let seen = watcher.stop()
            let part = try #require(seen.part, "no .part file appeared during the upload (exit \(r.exitCode))")
            #expect(seen.frozen > 0, "no sshd session process was found to stop")

            // The first session hangs in the middle of a write; the timeout ends it, the retry
            // opens a new session and delivers the whole file once.
            #expect(r.exitCode == 0, "\(r.stderr)")
            let acme = try report.target("acme-lms")
            let file = try #require(acme.files.first)
            #expect(acme.status == "delivered" && part == file.name + ".part", "\(acme.status) \(acme.error ?? "")")
            #expect(seen.partBytes < Int64(file.bytes), "the upload had finished before the server froze")
            #expect(r.stderr.contains("retrying"), "no retry was announced: \(r.stderr.prefix(1500))")
            #expect(try Shell.sha256(feed.remote.file(file.name)) == file.sha256)
            #expect(feed.remoteNames() == [file.name], "\(feed.remoteNames())")
            #expect(elapsed < 60, "a run with timeoutSeconds 2 and one retry took \(elapsed) s")
        }
    }

    // MARK: 3. host keys

    @Test func unknownAndMismatchedHostKeysAreRefusedWithTheFingerprint() throws {
        try SFTPFeed.with { feed in
            let fpEd25519 = try feed.harness.fingerprint("ed25519")
            let fpECDSA = try feed.harness.fingerprint("ecdsa")
            feed.ws.now = Self.day1
            let r1 = try feed.run(["run"])
            try #require(r1.exitCode == 0, "day 1 failed: \(r1.stderr)")
            let snapshot = try feed.stateShow("acme-lms")
            let remote = feed.remoteContents()
            try feed.ws.nextDay()
            feed.ws.now = Self.day2

            // Unknown host: known_hosts knows only another machine.
            let other = feed.harness.directory.appendingPathComponent("other_key")
            try feed.harness.makeClientKey(other, authorize: false)
            let otherKey = try String(contentsOf: URL(fileURLWithPath: other.path + ".pub"), encoding: .utf8)
                .split(separator: " ").prefix(2).joined(separator: " ")
            let unknown = feed.ws.file("known_hosts_unknown")
            try Data("[127.0.0.2]:\(feed.harness.port) \(otherKey)\n".utf8).write(to: unknown)
            try feed.configure { $0.knownHosts = unknown.path }
            let (r2, refused) = try feed.report(["run", "--report", "unknown.json"])
            #expect(r2.exitCode == 69, "\(r2.stderr)")
            let e2 = try refused.target("acme-lms").error ?? ""
            #expect(try refused.target("acme-lms").status == "failed")
            #expect(e2.contains(fpEd25519) || e2.contains(fpECDSA), "the error lacks the server's fingerprint: \(e2)")
            #expect(
                r2.stderr.contains(fpEd25519) || r2.stderr.contains(fpECDSA),
                "stderr lacks the fingerprint: \(r2.stderr)")
            #expect(e2.contains("ssh-keyscan") && e2.contains("ssh-keygen"), "no ssh-keyscan / ssh-keygen hint: \(e2)")
            let saved = try String(contentsOf: feed.ws.file("unknown.json"), encoding: .utf8)
            #expect(saved.contains(fpEd25519) || saved.contains(fpECDSA), "the --report file lacks the fingerprint")
            #expect(feed.remoteContents() == remote, "something was delivered to an unverified server")
            #expect(try feed.stateShow("acme-lms") == snapshot, "the snapshot moved")
            #expect(try refused.target("badges").status == "delivered")
            let c2 = try feed.run(["check-connection"])
            #expect(c2.exitCode == 69, "check-connection: \(c2.stdout) \(c2.stderr)")
            #expect(
                (c2.stdout + c2.stderr).contains(fpEd25519) || (c2.stdout + c2.stderr).contains(fpECDSA),
                "check-connection: \(c2.stdout)")

            // Mismatch: known_hosts holds another Ed25519 key for [127.0.0.1]:PORT.
            let wrong = feed.ws.file("known_hosts_wrong")
            try Data("[127.0.0.1]:\(feed.harness.port) \(otherKey)\n".utf8).write(to: wrong)
            try feed.configure { $0.knownHosts = wrong.path }
            let (r3, mismatch) = try feed.report(["run"])
            #expect(r3.exitCode == 69, "\(r3.stderr)")
            let e3 = try mismatch.target("acme-lms").error ?? ""
            #expect(e3.contains(fpEd25519), "the error lacks the server's Ed25519 fingerprint: \(e3)")
            #expect(
                e3.lowercased().contains("attack") && e3.lowercased().contains("rotated"),
                "no attack / rotated-key warning: \(e3)")
            #expect(feed.remoteContents() == remote)
            #expect(try feed.stateShow("acme-lms") == snapshot)
            let c3 = try feed.run(["check-connection"])
            #expect(c3.exitCode == 69)
            #expect((c3.stdout + c3.stderr).contains(fpEd25519), "check-connection: \(c3.stdout)")
            #expect(!(c3.stdout + c3.stderr).contains("OK:"), "check-connection says OK: \(c3.stdout)")

            // The right file: the pending delivery goes out.
            try feed.configure { $0.knownHosts = feed.harness.knownHosts.path }
            let (r4, fixed) = try feed.report(["run"])
            #expect(r4.exitCode == 0, "\(r4.stderr)")
            let recovered = try fixed.target("acme-lms").recovered ?? []
            #expect(recovered.count == 1 && feed.remoteNames().isSuperset(of: recovered), "\(recovered)")
        }
    }

    @Test func checkConnectionPrintsTheVerifiedFingerprintAndHashedKnownHostsWork() throws {
        try SFTPFeed.with { feed in
            func check(_ expectedType: String?) throws -> ProcessResult {
                let r = try feed.run(["check-connection"])
                #expect(r.exitCode == 0, "check-connection: \(r.stdout) \(r.stderr)")
                #expect(r.stdout.contains("OK"), "no OK verdict: \(r.stdout)")
                let match = try #require(
                    r.stdout.firstMatch(of: /server host key: (\S+) (SHA256:\S+)/), "no host key line: \(r.stdout)")
                let algorithm = String(match.output.1)
                let printed = String(match.output.2)
                let type =
                    algorithm == "ssh-ed25519" ? "ed25519" : algorithm.hasPrefix("ecdsa-sha2-") ? "ecdsa" : algorithm
                if let expectedType { #expect(type == expectedType, "negotiated \(algorithm)") }
                #expect(
                    printed == (try feed.harness.fingerprint(type)),
                    "check-connection printed \(algorithm) \(printed); ssh-keygen -lf says otherwise")
                return r
            }
            _ = try check(nil)
            #expect(feed.remoteNames().isEmpty, "check-connection left its probe on the server: \(feed.remoteNames())")

            let ecdsaOnly = feed.ws.file("known_hosts_ecdsa")
            try feed.harness.writeKnownHosts(ecdsaOnly, types: ["ecdsa"])
            try feed.configure { $0.knownHosts = ecdsaOnly.path }
            _ = try check("ecdsa")

            let hashed = feed.ws.file("known_hosts_hashed")
            try feed.harness.writeKnownHosts(hashed, types: ["ed25519", "ecdsa"], hashed: true)
            let text = try String(contentsOf: hashed, encoding: .utf8)
            try #require(
                text.hasPrefix("|1|") && !text.contains("127.0.0.1"), "ssh-keygen -H did not hash the file: \(text)")
            try feed.configure { $0.knownHosts = hashed.path }
            _ = try check(nil)
            feed.ws.now = Self.day1
            let (r, report) = try feed.report(["run"])
            #expect(r.exitCode == 0, "\(r.stderr)")
            let acme = try report.target("acme-lms")
            #expect(acme.status == "delivered")
            #expect(feed.remoteNames() == Set(acme.files.map(\.name)))
        }
    }

    // MARK: 4. authentication

    @Test func passphraseProtectedKeyFromTheEnvironment() throws {
        try SFTPFeed.with { feed in
            let secret = "pp-\(UUID().uuidString)"
            let wrongSecret = "wrong-\(UUID().uuidString)"
            let variable = "DROPFEED_E2E_KEY_PASSPHRASE"
            let key = feed.harness.directory.appendingPathComponent("id_protected")
            try feed.harness.makeClientKey(key, passphrase: secret)
            // A line of key material, which must not leak either.
            let keyBody = try String(contentsOf: key, encoding: .utf8).split(separator: "\n")[1]
            try feed.configure {
                $0.identityFile = key.path
                $0.passphraseEnv = variable
            }
            feed.ws.now = Self.day1
            let watch = ArgumentWatch([secret, wrongSecret, String(keyBody)])
            var results: [ProcessResult] = []

            let (wrong, wrongReport) = try feed.report(
                ["run", "--report", "wrong.json"], environment: [variable: wrongSecret])
            results.append(wrong)
            #expect(wrong.exitCode == 69, "\(wrong.stderr)")
            let e1 = try wrongReport.target("acme-lms").error ?? ""
            #expect(e1.lowercased().contains("passphrase"), "the error does not say passphrase: \(e1)")
            #expect(feed.remoteNames().isEmpty)

            let (unset, unsetReport) = try feed.report(["run", "--report", "unset.json"], unset: [variable])
            results.append(unset)
            #expect(unset.exitCode == 69, "\(unset.stderr)")
            let e2 = try unsetReport.target("acme-lms").error ?? ""
            #expect(e2.contains(variable), "the error does not name \(variable): \(e2)")
            #expect(unset.stderr.contains(variable))

            let (right, rightReport) = try feed.report(
                ["run", "--report", "right.json"], environment: [variable: secret])
            results.append(right)
            results.append(try feed.run(["check-connection"], environment: [variable: secret]))
            let seen = watch.stop()
            #expect(right.exitCode == 0, "\(right.stderr)")
            let acme = try rightReport.target("acme-lms")
            #expect(
                acme.recovered?.count == 1 && feed.remoteNames() == Set(acme.recovered ?? []), "\(feed.remoteNames())")
            #expect(results.last?.exitCode == 0, "check-connection: \(results.last?.stdout ?? "")")

            SecretCheck.expectAbsent([secret, wrongSecret, String(keyBody)], in: results, "passphrase")
            SecretCheck.expectAbsent([secret, wrongSecret], under: [feed.ws.root.url, feed.remote.url])
            #expect(seen.hits.isEmpty, "a passphrase is in a process's arguments: \(seen.hits)")
            #expect(seen.scans > 0)
        }
    }

    @Test(
        .enabled(
            if: getuid() == 0,
            "password login needs root: the harness's sshd accepts local users' passwords only when run as root"))
    func passwordFromTheEnvironment() throws {
        try SFTPFeed.with { feed in
            let user = "dfe2e\(Int.random(in: 100_000...999_999))"
            let secret = "pw-\(UUID().uuidString)"
            let wrongSecret = "bad-\(UUID().uuidString)"
            let variable = "DROPFEED_E2E_SFTP_PASSWORD"
            try Shell.run(["useradd", "-M", "-d", feed.remote.url.path, "-s", "/bin/sh", user])
            defer { _ = try? Shell.run(["userdel", user]) }
            try Shell.run(["chpasswd"], stdin: Data("\(user):\(secret)\n".utf8))  // on stdin, never in arguments
            try Shell.run(["chown", user, feed.remote.url.path])
            try feed.configure {
                $0.user = user
                $0.identityFile = nil
                $0.passwordEnv = variable
            }
            feed.ws.now = Self.day1
            let watch = ArgumentWatch([secret, wrongSecret])
            var results: [ProcessResult] = []

            let (wrong, wrongReport) = try feed.report(
                ["run", "--report", "wrong.json"], environment: [variable: wrongSecret])
            results.append(wrong)
            #expect(wrong.exitCode == 69, "\(wrong.stderr)")
            let e1 = try wrongReport.target("acme-lms").error ?? ""
            #expect(e1.lowercased().contains("password"), "the error does not say password: \(e1)")
            #expect(feed.remoteNames().isEmpty)

            let (unset, unsetReport) = try feed.report(["run"], unset: [variable])
            results.append(unset)
            #expect(unset.exitCode == 69)
            #expect((try unsetReport.target("acme-lms").error ?? "").contains(variable))

            let (right, rightReport) = try feed.report(
                ["run", "--report", "right.json"], environment: [variable: secret])
            results.append(right)
            results.append(try feed.run(["check-connection"], environment: [variable: secret]))
            let seen = watch.stop()
            #expect(right.exitCode == 0, "\(right.stderr)\nsshd log:\n\(feed.harness.logTail())")
            let acme = try rightReport.target("acme-lms")
            let names = acme.recovered ?? []
            #expect(names.count == 1 && feed.remoteNames() == Set(names), "\(feed.remoteNames())")
            if let name = names.first {
                let owner =
                    try FileManager.default.attributesOfItem(atPath: feed.remote.file(name).path)[.ownerAccountName]
                    as? String
                #expect(owner == user, "the file was written by \(owner ?? "?"), not by the password user")
            }
            #expect(results.last?.exitCode == 0, "check-connection: \(results.last?.stdout ?? "")")

            SecretCheck.expectAbsent([secret, wrongSecret], in: results, "password")
            SecretCheck.expectAbsent([secret, wrongSecret], under: [feed.ws.root.url, feed.remote.url])
            #expect(seen.hits.isEmpty, "a password is in a process's arguments: \(seen.hits)")
        }
    }

    /// The secret checks above can fail: a secret in a command line and in a file is found.
    @Test func theSecretChecksFindASecret() throws {
        let secret = "canary-\(UUID().uuidString)"
        let watch = ArgumentWatch([secret])
        try Shell.run(["python3", "-c", "import time; time.sleep(0.3)", secret])
        #expect(!watch.stop().hits.isEmpty, "the argument watch missed a secret in a command line")
        try TemporaryDirectory.with { dir in
            try Data("x \(secret) y".utf8).write(to: dir.appendingPathComponent("report.json"))
            #expect(SecretCheck.files(under: dir, containing: secret).count == 1)
        }
    }

    @Test func rsaKeyIsRefusedWithTheReason() throws {
        try SFTPFeed.with { feed in
            let key = feed.harness.directory.appendingPathComponent("id_rsa")
            try feed.harness.makeClientKey(key, type: "rsa")
            try feed.configure { $0.identityFile = key.path }
            let (r, report) = try feed.report(["run"])
            #expect(r.exitCode == 69, "\(r.stderr)")
            let error = try report.target("acme-lms").error ?? ""
            #expect(error.contains("SHA-1") && error.contains("Ed25519"), "no SHA-1 / Ed25519 explanation: \(error)")
            #expect(!error.lowercased().hasSuffix("authentication failed"))
            #expect(feed.remoteNames().isEmpty)
            let c = try feed.run(["check-connection"])
            #expect(c.exitCode == 69 && c.stdout.contains("SHA-1"), "check-connection: \(c.stdout)")
        }
    }

    // MARK: 5. remote problems

    @Test func missingRemoteDirectoryFailsTheTargetOnly() throws {
        try SFTPFeed.with { feed in
            let missing = feed.remote.file("no-such-dir").path
            try feed.configure { $0.remoteDir = missing }
            let before = try feed.stateShow("acme-lms")
            let (r, report) = try feed.report(["run"])
            #expect(r.exitCode == 69, "\(r.stderr)")
            let acme = try report.target("acme-lms")
            #expect(acme.status == "failed")
            let error = acme.error ?? ""
            #expect(
                error.contains(missing) && error.lowercased().contains("directory"),
                "the error does not point at the directory: \(error)")
            #expect(feed.remoteNames().isEmpty, "something was created: \(feed.remoteNames())")
            #expect(try feed.stateShow("acme-lms") == before)
            #expect(
                try report.target("badges").status == "delivered" && report.target("awareness").status == "delivered")
            let c = try feed.run(["check-connection"])
            #expect(c.exitCode == 69 && c.stdout.contains(missing), "check-connection: \(c.stdout)")
        }
    }

    @Test func anExistingRemoteFileIsReplacedOnlyWithOverwrite() throws {
        try SFTPFeed.with { feed in
            feed.ws.now = Self.day1
            let (p, plan) = try feed.report(["plan"])
            try #require(p.exitCode == 0, "\(p.stderr)")
            let name = try #require(try plan.target("acme-lms").files.first?.name)
            let junk = Data("an older file of the same name\r\n".utf8)
            try junk.write(to: feed.remote.file(name))

            let (r1, refused) = try feed.report(["run"])
            #expect(r1.exitCode == 69, "\(r1.stderr)")
            let acme1 = try refused.target("acme-lms")
            #expect(acme1.files.map(\.name) == [name])
            #expect((acme1.error ?? "").contains("exists"), "\(acme1.error ?? "")")
            #expect(try Data(contentsOf: feed.remote.file(name)) == junk, "the existing file was touched")
            #expect(feed.remoteNames() == [name], "leftovers: \(feed.remoteNames())")

            try feed.configure { $0.overwrite = true }
            let (r2, replaced) = try feed.report(["run"])
            #expect(r2.exitCode == 0, "\(r2.stderr)")
            #expect(try replaced.target("acme-lms").recovered == [name])
            #expect(
                try Shell.sha256(feed.remote.file(name)) == acme1.files[0].sha256,
                "the file was not replaced by the staged one")
            #expect(feed.remoteNames() == [name], "leftovers: \(feed.remoteNames())")
        }
    }

    @Test func directUploadWritesInPlace() throws {
        try SFTPFeed.with { feed in
            feed.ws.now = Self.day1
            let (p, plan) = try feed.report(["plan"])
            try #require(p.exitCode == 0, "\(p.stderr)")
            let name = try #require(try plan.target("acme-lms").files.first?.name)
            // A directory where the temporary NAME.part would go: rename mode cannot work here.
            try FileManager.default.createDirectory(
                at: feed.remote.file(name + ".part"), withIntermediateDirectories: false)

            let (r1, blocked) = try feed.report(["run"])
            #expect(r1.exitCode == 69, "rename mode went around NAME.part: \(r1.stderr)")
            #expect(!feed.remoteNames().contains(name))

            try feed.configure { $0.upload = "direct" }
            let (r2, direct) = try feed.report(["run"])
            #expect(r2.exitCode == 0, "\(r2.stderr)")
            #expect(try direct.target("acme-lms").recovered == [name])
            let sent = try #require(try blocked.target("acme-lms").files.first)
            #expect(try Shell.sha256(feed.remote.file(name)) == sent.sha256)
            #expect(feed.remoteNames() == [name, name + ".part"], "\(feed.remoteNames())")
            #expect(try FileManager.default.contentsOfDirectory(atPath: feed.remote.file(name + ".part").path).isEmpty)
        }
    }

    @Test func aServerThatNeverAnswersTimesOut() throws {
        try SFTPFeed.with { feed in
            let listener = try SilentListener()
            defer { listener.stop() }
            try feed.configure {
                $0.port = listener.port
                $0.timeoutSeconds = 2
                $0.retries = 0
            }
            var start = Date()
            let (r, report) = try feed.report(["run"])
            let elapsed = Date().timeIntervalSince(start)
            #expect(r.exitCode == 69, "\(r.stderr)")
            let error = try report.target("acme-lms").error ?? ""
            #expect(
                error.contains("2s") || error.contains("2 s") || error.lowercased().contains("time"),
                "the error does not mention the timeout: \(error)")
            #expect(elapsed < 30, "run took \(elapsed) s against a silent server with timeoutSeconds 2")
            #expect(try report.target("badges").status == "delivered")

            start = Date()
            let c = try feed.run(["check-connection"])
            let checkElapsed = Date().timeIntervalSince(start)
            #expect(c.exitCode == 69, "\(c.stdout) \(c.stderr)")
            #expect(checkElapsed < 30, "check-connection took \(checkElapsed) s")
        }
    }
}

/// Polls the inbound folder for a `.part` file; the moment one appears, SIGSTOPs the server's
/// session processes (the upload stops where it is), notes the partial size, and (unless told
/// otherwise) kills sshd.
final class PartWatcher: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false
    private var part: String?
    private var partBytes: Int64 = -1
    private var frozen = 0
    private let finished = DispatchSemaphore(value: 0)

    /// `kill: false` leaves the server frozen: it holds the connection and never answers again.
    init(remote: URL, harness: SSHDHarness, kill: Bool = true, deadline: TimeInterval = 120) {
        let until = Date().addingTimeInterval(deadline)
        Thread.detachNewThread { [self] in
            defer { finished.signal() }
            while !lock.withLock({ done }) && Date() < until {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: remote.path)) ?? []
                if let found = names.first(where: { $0.hasSuffix(".part") }) {
                    let stopped = harness.freezeSessionsNow()
                    usleep(300_000)  // let the last write the server made land
                    let size =
                        (try? FileManager.default.attributesOfItem(atPath: remote.appendingPathComponent(found).path)[
                            .size] as? NSNumber)?.int64Value ?? -1
                    lock.withLock {
                        part = found
                        partBytes = size
                        frozen = stopped
                    }
                    if kill { harness.kill() }
                    return
                }
                usleep(1_000)
            }
        }
    }

    /// Stops polling; returns the `.part` file seen (if any), its size when the server was stopped,
    /// and how many session processes were stopped.
    func stop() -> (part: String?, partBytes: Int64, frozen: Int) {
        lock.withLock { done = true }
        finished.wait()
        return lock.withLock { (part, partBytes, frozen) }
    }
}
