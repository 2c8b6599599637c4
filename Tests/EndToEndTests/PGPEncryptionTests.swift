import Foundation
import Testing

/// `output.encrypt`: files delivered OpenPGP-encrypted (and signed) through the system gpg in a
/// throw-away home; the checksums, the report and a saved plan are of the encrypted bytes; no
/// key material or passphrase reaches gpg's argv or environment, the output, or `~/.gnupg`.
@Suite(.serialized) struct PGPEncryptionTests {
    /// A workspace with a vendor key pair and a signing key pair made by the test's own gpg home.
    final class Workspace {
        let dir: TemporaryDirectory
        let keys: URL
        let passphrase = "pass-\(UUID().uuidString)"
        /// What a process's argv or environment must never hold: the passphrase and lines of the key files.
        var secrets: [String] = []

        init() throws {
            dir = try TemporaryDirectory(prefix: "dropfeed-pgp")
            keys = dir.file("test-keys")
            try FileManager.default.createDirectory(
                at: keys, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try gpg([
                "--passphrase", "", "--quick-gen-key", "Vendor <vendor@example.com>", "future-default", "default",
                "never",
            ])
            try gpg([
                "--passphrase", passphrase, "--quick-gen-key", "Northwind <feeds@northwind.example>", "future-default",
                "default", "never",
            ])
            try dir.write("vendor.asc", try gpg(["--armor", "--export", "vendor@example.com"]).stdoutData)
            try dir.write(
                "signer.asc",
                try gpg(["--passphrase", passphrase, "--armor", "--export-secret-keys", "feeds@northwind.example"])
                    .stdoutData)
            secrets = [passphrase]
            for name in ["vendor.asc", "signer.asc"] {
                let text = try String(contentsOf: dir.file(name), encoding: .utf8)
                secrets += text.split(separator: "\n").map(String.init).filter {
                    $0.count >= 40 && !$0.hasPrefix("-----")
                }
            }
            #expect(secrets.count > 4)
            try dir.write("export.csv", "id,name,email\n2,Bob,bob@example.com\n1,\"Ann, \"\"A\"\"\",ann@example.com\n")
        }

        deinit {
            _ = try? DropfeedProcess.runProgram(
                URL(fileURLWithPath: "/usr/bin/gpgconf"), ["--homedir", keys.path, "--kill", "all"])
            dir.remove()
        }

        /// Runs the test's own gpg (its own home, loopback pinentry).
        @discardableResult
        func gpg(_ arguments: [String], stdin: Data? = nil) throws -> ProcessResult {
            let r = try DropfeedProcess.runProgram(
                URL(fileURLWithPath: "/usr/bin/gpg"),
                ["--homedir", keys.path, "--batch", "--no-tty", "--pinentry-mode", "loopback"] + arguments, stdin: stdin
            )
            #expect(r.exitCode == 0, "gpg \(arguments.prefix(2)): \(r.stderr)")
            return r
        }

        /// A config with one target whose mapping has `encrypt` (nil: none) and a sha256 sidecar.
        func writeConfig(_ name: String, encrypt: String?) throws {
            try dir.write(
                "\(name).mapping.json",
                """
                { version: 1, key: "id",
                  columns: [{ name: "id", from: "id" }, { name: "name", from: "name" }, { name: "email", from: "email" }],
                  output: { file: "vendor_{date}_{seq}.csv", mode: "full", checksum: "sha256"\(encrypt.map { ", encrypt: \($0)" } ?? "") } }
                """)
            try dir.write(
                "\(name).json",
                """
                { version: 1, source: { path: "export.csv", key: "id", minRows: 0 }, stateDir: "state-\(name)",
                  targets: [{ name: "vendor", mapping: "\(name).mapping.json", deliver: { directory: "out-\(name)" } }] }
                """)
        }

        func environment(path: String? = nil) -> [String: String] {
            var env = ProcessInfo.processInfo.environment
            env["DROPFEED_NOW"] = "2026-03-02T02:00:00Z"
            env["FEED_SIGNING_PASSPHRASE"] = passphrase
            env["HOME"] = dir.file("home").path
            if let path { env["PATH"] = path }
            return env
        }

        func run(_ arguments: [String], path: String? = nil) throws -> ProcessResult {
            try DropfeedProcess.run(arguments, cwd: dir.url, environment: environment(path: path))
        }
    }

    /// Watches every process while dropfeed runs: the `gpg` on PATH is a script that announces
    /// itself and waits until this watcher has read its argv and environment from /proc, then
    /// becomes the real gpg; meanwhile every /proc/*/cmdline is read over and over.
    final class Watcher: @unchecked Sendable {
        let folder: URL
        private let lock = NSLock()
        private var stop = false
        private var done = false
        private(set) var gpgCommandLines: [String] = []
        private(set) var gpgEnvironments: [String] = []
        private(set) var everyCommandLine = Set<String>()

        init(folder: URL) throws {
            self.folder = folder
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let script = folder.appendingPathComponent("gpg")
            try Data(
                """
                #!/bin/sh
                echo $$ >> '\(folder.path)/spawned'
                while [ ! -e '\(folder.path)/go.'$$ ]; do sleep 0.01; done
                exec /usr/bin/gpg "$@"

                """.utf8
            ).write(to: script)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
        }

        func start() {
            Thread.detachNewThread { self.loop() }
        }

        func finish() {
            lock.lock()
            stop = true
            lock.unlock()
            while true {
                lock.lock()
                let finished = done
                lock.unlock()
                if finished { return }
                usleep(1000)
            }
        }

        private static func read(_ path: String) -> String? {
            guard let data = FileManager.default.contents(atPath: path) else { return nil }
            return String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\0", with: " ")
        }

        private func loop() {
            var released = Set<String>()
            while true {
                lock.lock()
                let stopping = stop
                lock.unlock()
                for pid in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
                where pid.allSatisfy(\.isNumber) {
                    if let line = Self.read("/proc/\(pid)/cmdline"), !line.isEmpty {
                        lock.lock()
                        everyCommandLine.insert(line)
                        lock.unlock()
                    }
                }
                let spawned = Self.read(folder.appendingPathComponent("spawned").path) ?? ""
                for pid in spawned.split(whereSeparator: \.isWhitespace).map(String.init) where !released.contains(pid)
                {
                    let line = Self.read("/proc/\(pid)/cmdline") ?? ""
                    let env = Self.read("/proc/\(pid)/environ") ?? ""
                    lock.lock()
                    gpgCommandLines.append(line)
                    gpgEnvironments.append(env)
                    lock.unlock()
                    released.insert(pid)
                    FileManager.default.createFile(
                        atPath: folder.appendingPathComponent("go.\(pid)").path, contents: nil)
                }
                if stopping { break }
                usleep(2000)
            }
            lock.lock()
            done = true
            lock.unlock()
        }
    }

    static func sha256(_ url: URL) throws -> String {
        let r = try DropfeedProcess.runProgram(URL(fileURLWithPath: "/usr/bin/sha256sum"), [url.path])
        return String(r.stdout.prefix(64))
    }

    @Test func anEncryptedSignedDropDecryptsToThePlainFileAndNoSecretLeaks() throws {
        let ws = try Workspace()
        try ws.writeConfig("plain", encrypt: nil)
        try ws.writeConfig(
            "pgp",
            encrypt:
                #"{ recipientKey: "vendor.asc", armor: false, signWith: "signer.asc", passphraseEnv: "FEED_SIGNING_PASSPHRASE" }"#
        )
        let plain = try ws.run(["run", "--config", "plain.json"])
        #expect(plain.exitCode == 0, "\(plain.stderr)")

        let watcher = try Watcher(folder: ws.dir.file("watch"))
        watcher.start()
        let r = try ws.run(["run", "--config", "pgp.json", "--json"], path: watcher.folder.path + ":/usr/bin:/bin")
        watcher.finish()
        #expect(r.exitCode == 0, "\(r.stderr)")

        // The delivered file: .pgp appended, binary OpenPGP, decrypting to exactly the plain file, signed by us.
        let delivered = ws.dir.file("out-pgp/vendor_20260302_0001.csv.pgp")
        let data = try Data(contentsOf: delivered)
        #expect(data.first.map { $0 & 0x80 != 0 } == true, "not binary OpenPGP")
        let plainBytes = try Data(contentsOf: ws.dir.file("out-plain/vendor_20260302_0001.csv"))
        let decrypted = try ws.gpg(["--status-fd", "2", "--decrypt"], stdin: data)
        #expect(decrypted.stdoutData == plainBytes)
        #expect(decrypted.stderr.contains("[GNUPG:] GOODSIG"), "\(decrypted.stderr)")
        #expect(!plainBytes.isEmpty && data != plainBytes)

        // Checksums, sizes and the report are of the encrypted bytes.
        let sha = try Self.sha256(delivered)
        let sidecar = try String(
            contentsOf: ws.dir.file("out-pgp/vendor_20260302_0001.csv.pgp.sha256"), encoding: .utf8)
        #expect(sidecar == "\(sha)  vendor_20260302_0001.csv.pgp\n")
        let report = try #require(try JSONSerialization.jsonObject(with: r.stdoutData) as? [String: Any])
        let target = try #require((report["targets"] as? [[String: Any]])?.first)
        let file = try #require((target["files"] as? [[String: Any]])?.first)
        #expect(file["name"] as? String == "vendor_20260302_0001.csv.pgp")
        #expect(file["sha256"] as? String == sha)
        #expect(file["bytes"] as? Int == data.count)

        // gpg ran through the wrapper, in a home of its own, with the passphrase on descriptor 3.
        let lines = watcher.gpgCommandLines
        #expect(lines.count >= 4, "\(lines)")
        let encrypt = try #require(lines.first { $0.contains("--encrypt") }, "\(lines)")
        #expect(encrypt.contains("--trust-model always"))
        #expect(encrypt.contains("--passphrase-fd 3"))
        #expect(encrypt.contains("--sign"))
        let homes = Set(
            lines.compactMap { line -> String? in
                let words = line.split(separator: " ").map(String.init)
                return words.firstIndex(of: "--homedir").map { words[$0 + 1] }
            })
        #expect(homes.count == 1, "\(homes)")
        let home = try #require(homes.first)
        #expect(home.contains("dropfeed-gpg-"))
        #expect(!FileManager.default.fileExists(atPath: home), "the gpg home \(home) was left behind")
        #expect(lines.allSatisfy { $0.contains("--homedir \(home)") })

        // No secret in any argv seen, in gpg's environment, or in what dropfeed printed.
        let seen = watcher.everyCommandLine.filter { $0.contains("gpg") }
        #expect(!seen.isEmpty)
        for secret in ws.secrets {
            for line in watcher.everyCommandLine.union(lines) {
                #expect(!line.contains(secret), "argv holds a secret: \(line)")
            }
            for env in watcher.gpgEnvironments { #expect(!env.contains(secret), "gpg's environment holds a secret") }
            #expect(!r.stdout.contains(secret) && !r.stderr.contains(secret))
        }
        for env in watcher.gpgEnvironments {
            #expect(!env.contains("FEED_SIGNING_PASSPHRASE"))
            #expect(!env.contains("GNUPGHOME"))
        }
        // The user's keyring is never touched (not even created).
        #expect(!FileManager.default.fileExists(atPath: ws.dir.file("home/.gnupg").path))
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: ws.dir.file("state-pgp").path).allSatisfy {
                !$0.contains("gnupg")
            })
    }

    @Test func anArmoredSavedPlanDeliversExactlyItsEncryptedBytes() throws {
        let ws = try Workspace()
        try ws.writeConfig("asc", encrypt: #"{ recipientKey: "vendor.asc", armor: true }"#)
        let saved = try ws.run(["plan", "--config", "asc.json", "--save", "p"])
        #expect(saved.exitCode == 0, "\(saved.stderr)")
        let staged = ws.dir.file("p/vendor/files/vendor_20260302_0001.csv.asc")
        let stagedBytes = try Data(contentsOf: staged)
        #expect(String(decoding: stagedBytes, as: UTF8.self).hasPrefix("-----BEGIN PGP MESSAGE-----"))
        let r = try ws.run(["run", "--config", "asc.json", "--plan", "p"])
        #expect(r.exitCode == 0, "\(r.stderr)")
        let delivered = try Data(contentsOf: ws.dir.file("out-asc/vendor_20260302_0001.csv.asc"))
        #expect(delivered == stagedBytes)
        let decrypted = try ws.gpg(["--decrypt"], stdin: delivered)
        #expect(
            decrypted.stdout == "id,name,email\r\n1,\"Ann, \"\"A\"\"\",ann@example.com\r\n2,Bob,bob@example.com\r\n")
        #expect(
            try String(contentsOf: ws.dir.file("out-asc/vendor_20260302_0001.csv.asc.sha256"), encoding: .utf8)
                .hasPrefix(try Self.sha256(ws.dir.file("out-asc/vendor_20260302_0001.csv.asc"))))
    }

    @Test func aOneRosterBundleIsZippedThenEncrypted() throws {
        let ws = try Workspace()
        let root = DropfeedProcess.packageRoot
        var mapping = try String(
            contentsOf: root.appendingPathComponent("mappings/oneroster-users.json"), encoding: .utf8)
        #expect(mapping.contains("format: \"oneroster\","))
        mapping = mapping.replacingOccurrences(
            of: "format: \"oneroster\",", with: "format: \"oneroster\", encrypt: { recipientKey: \"vendor.asc\" },")
        try ws.dir.write("roster.mapping.json", mapping)
        try Data(contentsOf: root.appendingPathComponent("samples/hr_export.csv")).write(to: ws.dir.file("hr.csv"))
        try ws.dir.write(
            "roster.json",
            """
            { version: 1, source: { path: "hr.csv", key: "employee_id" }, stateDir: "state-roster",
              targets: [{ name: "roster", mapping: "roster.mapping.json", deliver: { directory: "out-roster" } }] }
            """)
        let r = try ws.run(["run", "--config", "roster.json"])
        #expect(r.exitCode == 0, "\(r.stderr)")
        let delivered = ws.dir.file("out-roster/oneroster_20260302_0001.zip.pgp")
        let zip = try ws.gpg(["--decrypt"], stdin: try Data(contentsOf: delivered)).stdoutData
        try zip.write(to: ws.dir.file("roster.zip"))
        let check = try DropfeedProcess.runProgram(
            URL(fileURLWithPath: "/usr/bin/python3"),
            [
                "-c",
                "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; "
                    + "print(sorted(z.namelist()), z.read('users.csv').count(b'\\r\\n'))",
                ws.dir.file("roster.zip").path,
            ])
        #expect(check.stdout == "['manifest.csv', 'orgs.csv', 'users.csv'] 361\n", "\(check.stdout)\(check.stderr)")
        // no plain zip was left beside the encrypted one
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: ws.dir.file("out-roster").path) == [
                "oneroster_20260302_0001.zip.pgp"
            ])
    }

    @Test func badKeysAndAMissingPassphraseStopTheTargetWithAClearMessage() throws {
        let ws = try Workspace()
        try ws.dir.write(
            "garbage.asc", "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot a key\n-----END PGP PUBLIC KEY BLOCK-----\n")
        try ws.writeConfig("bad", encrypt: #"{ recipientKey: "garbage.asc" }"#)
        let bad = try ws.run(["run", "--config", "bad.json"])
        #expect(bad.exitCode == 78, "\(bad.stderr)")
        #expect(bad.stderr.contains("gpg could not import the recipient key"), "\(bad.stderr)")
        #expect((try? FileManager.default.contentsOfDirectory(atPath: ws.dir.file("out-bad").path))?.isEmpty ?? true)

        try ws.writeConfig("missing", encrypt: #"{ recipientKey: "nowhere.asc", passphraseEnv: "X" }"#)
        let missing = try ws.run(["validate", "--config", "missing.json"])
        #expect(missing.exitCode == 78)
        let text = missing.stdout + missing.stderr
        #expect(text.contains("output.encrypt.recipientKey: cannot read the key file"), "\(text)")
        #expect(text.contains("output.encrypt.passphraseEnv: only with signWith"), "\(text)")

        try ws.writeConfig(
            "nopass",
            encrypt: #"{ recipientKey: "vendor.asc", signWith: "signer.asc", passphraseEnv: "UNSET_PASSPHRASE_VAR" }"#)
        let nopass = try ws.run(["run", "--config", "nopass.json"])
        #expect(nopass.exitCode == 78, "\(nopass.stderr)")
        #expect(nopass.stderr.contains("the environment variable UNSET_PASSPHRASE_VAR is not set"), "\(nopass.stderr)")

        try ws.writeConfig(
            "wrongpass", encrypt: #"{ recipientKey: "vendor.asc", signWith: "signer.asc", passphraseEnv: "HOME" }"#)
        let wrong = try ws.run(["run", "--config", "wrongpass.json"])
        #expect(wrong.exitCode == 78, "\(wrong.stderr)")
        #expect(!wrong.stderr.contains(ws.passphrase))
        #expect(
            (try? FileManager.default.contentsOfDirectory(atPath: ws.dir.file("out-wrongpass").path))?.isEmpty ?? true)
    }
}
