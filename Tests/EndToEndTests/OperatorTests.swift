import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// What a new operator tripped over: report files that cannot be written, `--quiet` and
/// `--verbose`, validate's warnings and `--json`, the hints, `init`, and the lock's message.
@Suite struct OperatorTests {
    @Test func anUnwritableReportExits73AndSaysTheDeliverySucceeded() throws {
        try MiniFeed.with { feed in
            let r = try feed.run(["run", "--report", "reports/x.json"])
            #expect(r.exitCode == 73, "\(r.stderr)")
            #expect(r.stderr.contains("cannot write the report to reports/x.json"))
            #expect(r.stderr.contains("the delivery itself succeeded"))
            #expect(r.stderr.contains("\nexit 73\n"), "the summary ends with the exit code the process gives")
            let sent = try FileManager.default.contentsOfDirectory(atPath: feed.path("outbox"))
            #expect(sent.count == 1, "the delivery happened: \(sent)")
            // The same for a metrics file.
            try feed.writeExport(people: 0..<21)
            let m = try feed.run(["run", "--metrics", feed.path("no/such/dir/dropfeed.prom")])
            #expect(m.exitCode == 73)
            #expect(m.stderr.contains("cannot write the metrics") && m.stderr.contains("the delivery itself succeeded"))
        }
    }

    @Test func quietPrintsNothingOnSuccessAndOnlyErrorsOnFailure() throws {
        try MiniFeed.with { feed in
            let quiet = try feed.run(["run", "--quiet"])
            #expect(quiet.exitCode == 0)
            #expect(quiet.stderr.isEmpty, "cron mail stays clean: \(quiet.stderr)")
            #expect(quiet.stdout.isEmpty)
            // A held run is worth a mail: -q prints the gate.
            try feed.writeExport(people: 0..<10)
            let held = try feed.run(["run", "-q"])
            #expect(held.exitCode == 3)
            #expect(held.stderr.contains("lms: held — gate maxDeletes"), "\(held.stderr)")
            #expect(!held.stderr.contains("source export.csv"), "no summary with -q: \(held.stderr)")
            let verbose = try feed.run(["run", "-v", "--allow-deletes", "10"])
            #expect(verbose.exitCode == 0, "\(verbose.stderr)")
            #expect(verbose.stderr.contains("read source: "), "per-phase timings: \(verbose.stderr)")
            #expect(verbose.stderr.contains(", 10 rows)"), "rows read: \(verbose.stderr)")
            #expect(verbose.stderr.contains("deliver lms: "))
            #expect(verbose.stderr.contains("lms: delivered"))
        }
    }

    @Test func validateWarnsAboutWhatFailsLaterAndSpeaksJSON() throws {
        try MiniFeed.with { feed in
            let keys = feed.root.file("keys")
            try FileManager.default.createDirectory(at: keys, withIntermediateDirectories: true)
            for (name, extra) in [
                ("rsa", ["-t", "rsa", "-b", "2048", "-N", ""]), ("locked", ["-t", "ed25519", "-N", "pw"]),
            ] {
                let r = try DropfeedProcess.runProgram(
                    URL(fileURLWithPath: "/usr/bin/ssh-keygen"),
                    extra + ["-q", "-f", keys.appendingPathComponent(name).path])
                try #require(r.exitCode == 0, "ssh-keygen: \(r.stderr)")
            }
            try feed.root.write(
                "fixed.json",
                """
                { version: 1, key: "user_id", columns: [{ name: "user_id", from: "id" }], output: { file: "users.csv", mode: "full" } }
                """)
            let sftp = { (name: String, key: String) in
                """
                { name: "\(name)", mapping: "fixed.json", deliver: { sftp: { host: "127.0.0.1", port: 1, user: "u", remoteDir: "in",
                  identityFile: "\(key)", knownHosts: "keys/known_hosts" } } },
                """
            }
            let config = try String(contentsOf: feed.root.file("dropfeed.json"), encoding: .utf8)
                .replacingExactly(
                    "targets: [",
                    with: "targets: [\n" + sftp("missing", "keys/nope") + sftp("rsa", "keys/rsa")
                        + sftp("locked", "keys/locked"))
            try feed.root.write("dropfeed.json", config)
            let text = try feed.run(["validate"])
            #expect(text.exitCode == 0, "warnings do not fail validate: \(text.stdout) \(text.stderr)")
            #expect(text.stdout.contains("4 targets") && text.stdout.contains("warning"))
            let r = try feed.run(["validate", "--json"])
            #expect(r.exitCode == 0)
            struct Found: Decodable {
                struct Item: Decodable {
                    var file: String
                    var path: String
                    var message: String
                }
                var ok: Bool
                var targets: [String]
                var problems: [Item]
                var warnings: [Item]
            }
            let found = try JSONDecoder().decode(Found.self, from: r.stdoutData)
            #expect(found.ok && found.problems.isEmpty && found.targets == ["missing", "rsa", "locked", "lms"])
            let warnings = found.warnings.map { "\($0.path): \($0.message)" }
            #expect(
                warnings.contains {
                    $0.hasPrefix("targets[0].deliver.sftp.identityFile") && $0.contains("does not exist")
                })
            #expect(
                warnings.contains { $0.hasPrefix("targets[0].deliver.sftp.knownHosts") && $0.contains("ssh-keyscan") })
            #expect(warnings.contains { $0.hasPrefix("targets[1].deliver.sftp.identityFile") && $0.contains("RSA") })
            #expect(warnings.contains { $0.hasPrefix("targets[2].deliver.sftp.passphraseEnv") })
            #expect(
                found.warnings.contains {
                    $0.file == "fixed.json" && $0.path == "output.file" && $0.message.contains("overwrite: true")
                }, "\(warnings)")
            #expect(!warnings.contains { $0.contains("lms_") }, "a name with {seq} repeats nothing")
            // A broken config: ok false, exit 78, the problem listed.
            try feed.root.write("dropfeed.json", config.replacingExactly("stateDir", with: "stateDri"))
            let broken = try feed.run(["validate", "--json"])
            #expect(broken.exitCode == 78)
            let bad = try JSONDecoder().decode(Found.self, from: broken.stdoutData)
            #expect(!bad.ok && bad.problems.contains { $0.path == "stateDri" })

            // check-connection --json: one object per SFTP target, with its steps.
            try feed.root.write("dropfeed.json", config)
            let check = try feed.run(["check-connection", "--json", "--target", "rsa"])
            #expect(check.exitCode == 69)
            struct Checked: Decodable {
                var name: String
                var ok: Bool
                var steps: [String]
            }
            let checked = try JSONDecoder().decode([Checked].self, from: check.stdoutData)
            #expect(checked.count == 1 && checked[0].name == "rsa" && !checked[0].ok)
            #expect(checked[0].steps.last?.hasPrefix("FAIL") == true, "\(checked)")
        }
    }

    @Test func aMissingConfigNamesConfigAndInit() throws {
        try TemporaryDirectory.with { dir in
            let r = try DropfeedProcess.run(["run"], cwd: dir)
            #expect(r.exitCode == 78)
            #expect(r.stderr.contains("no dropfeed.json in"), "\(r.stderr)")
            #expect(r.stderr.contains("--config FILE") && r.stderr.contains("dropfeed init"))
            let v = try DropfeedProcess.run(["validate", "--config", "feeds/x.json"], cwd: dir)
            #expect(v.exitCode == 78 && v.stderr.contains("no config file feeds/x.json"))
        }
    }

    @Test func rollbackWithNothingToRollBackExits64AsTheREADMESays() throws {
        try MiniFeed.with { feed in
            #expect(try feed.run(["run", "-q"]).exitCode == 0)
            let r = try feed.run(["state", "rollback", "lms"])
            #expect(r.exitCode == 64, "\(r.stderr)")
            #expect(r.stderr.contains("no earlier snapshot"))
            let readme = try String(
                contentsOf: DropfeedProcess.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
            #expect(readme.contains("| 64 |") && readme.contains("`state rollback` with no earlier snapshot"))
        }
    }

    @Test func hintsNameTheOptionThatHelps() throws {
        try MiniFeed.with { feed in
            // diff of a windows-1252 file: the message names --encoding.
            try feed.root.write("old.csv", Data("id,name\n1,Ren\u{E9}\n".utf8))
            try feed.root.write("new.csv", Data([UInt8]("id,name\n1,Ren".utf8) + [0xE9, 0x0A]))
            let d = try feed.run(["diff", "old.csv", "new.csv", "--key", "id"])
            #expect(d.exitCode == 65)
            #expect(d.stderr.contains("--encoding"), "\(d.stderr)")
            // A UTF-8 export with a byte order mark read as windows-1252.
            try feed.root.write(
                "export.csv", Data([0xEF, 0xBB, 0xBF] + [UInt8]("id,email,name\nP1,a@b.example,A\n".utf8)))
            let config = try String(contentsOf: feed.root.file("dropfeed.json"), encoding: .utf8)
            try feed.root.write(
                "dropfeed.json",
                config.replacingExactly(#"key: "id" }"#, with: #"key: "id", encoding: "windows-1252" }"#))
            let v = try feed.run(["validate"])
            #expect(v.stderr.contains("byte order mark") && v.stderr.contains(#"encoding: "utf-8""#), "\(v.stderr)")
        }
    }

    @Test func initWritesAConfigThatValidates() throws {
        try TemporaryDirectory.with { dir in
            // A semicolon export with a byte order mark.
            try FileManager.default.createDirectory(
                at: dir.appendingPathComponent("hr"), withIntermediateDirectories: true)
            try Data([0xEF, 0xBB, 0xBF] + [UInt8]("Personnel_ID;Mail;Nom\nA1;a@x.example;Zoë\n".utf8)).write(
                to: dir.appendingPathComponent("hr/export.csv"))
            let r = try DropfeedProcess.run(["init", "--source", "hr/export.csv"], cwd: dir)
            #expect(r.exitCode == 0, "\(r.stderr)")
            let config = try String(contentsOf: dir.appendingPathComponent("dropfeed.json"), encoding: .utf8)
            #expect(config.contains(#"delimiter: ";""#) && config.contains(#"key: "Personnel_ID""#))
            let mapping = try String(contentsOf: dir.appendingPathComponent("mappings/vendor.json"), encoding: .utf8)
            for column in ["Personnel_ID", "Mail", "Nom"] { #expect(mapping.contains(#"from: "\#(column)""#)) }
            let v = try DropfeedProcess.run(["validate"], cwd: dir)
            #expect(v.exitCode == 0, "\(v.stdout) \(v.stderr)")
            #expect(!v.stderr.contains("warning"), "\(v.stderr)")
            let plan = try DropfeedProcess.run(["plan"], cwd: dir)
            #expect(plan.exitCode == 0 && plan.stderr.contains("+1 added"), "\(plan.stderr)")
            // It never replaces a file.
            let again = try DropfeedProcess.run(["init", "--source", "hr/export.csv"], cwd: dir)
            #expect(again.exitCode == 73 && again.stderr.contains("--force"))
        }
    }

    @Test func theLockNamesItsHolderAndWaitLockWaits() throws {
        try MiniFeed.with { feed in
            #expect(try feed.run(["run", "-q"]).exitCode == 0)
            let path = feed.path("state/.lock")
            let fd = open(path, O_RDWR)
            try #require(fd >= 0)
            defer { close(fd) }
            try #require(flock(fd, LOCK_EX | LOCK_NB) == 0)
            ftruncate(fd, 0)
            let holder = Array("424242 2026-04-01T01:59:00Z\n".utf8)
            _ = holder.withUnsafeBytes { pwrite(fd, $0.baseAddress!, $0.count, 0) }
            let r = try feed.run(["run", "--wait-lock", "0.3"])
            #expect(r.exitCode == 75)
            #expect(r.stderr.contains("pid 424242, started 2026-04-01T01:59:00Z"), "\(r.stderr)")
            #expect(r.stderr.contains("--wait-lock"))
            // Released while the run waits: it goes ahead.
            let release = Thread {
                usleep(700_000)
                flock(fd, LOCK_UN)
            }
            release.start()
            let waited = try feed.run(["run", "--wait-lock", "60"])
            #expect(waited.exitCode == 0, "\(waited.stderr)")
        }
    }
}
