import Foundation
import Testing

/// Progress on a terminal only (under a pseudo-terminal made by `script -qc`), and JSON log
/// lines that parse and carry no export value and no secret.
@Suite struct ProgressAndLogTests {
    static let refresh = "\r\u{1B}[K"

    @Test func progressAppearsOnATerminalAndNotInAPipe() throws {
        try MiniFeed.with { feed in
            let script = URL(fileURLWithPath: "/usr/bin/script")
            try #require(FileManager.default.isExecutableFile(atPath: script.path), "util-linux `script` is needed")
            let binary = try DropfeedProcess.binary().path
            // Under a pseudo-terminal: stderr is a tty.
            let tty = try DropfeedProcess.runProgram(
                script, ["-qec", "'\(binary)' run", "/dev/null"], cwd: feed.root.url,
                environment: ProcessInfo.processInfo.environment.merging(["DROPFEED_NOW": feed.now, "TERM": "xterm"]) {
                    $1
                })
            #expect(tty.exitCode == 0, "\(tty.stdout)")
            #expect(tty.stdout.contains(Self.refresh) && tty.stdout.contains("read source…"), "\(tty.stdout)")
            #expect(tty.stdout.contains("lms: delivered"), "the summary follows the progress")
            // A pipe (as cron gives): no progress at all.
            try feed.writeExport(people: 0..<21)
            let piped = try feed.run(["run"])
            #expect(piped.exitCode == 0)
            #expect(!piped.stderr.contains("\u{1B}") && !piped.stderr.contains("…"), "\(piped.stderr)")
            #expect(piped.stderr.contains("lms: delivered"))
            // --progress forces it; --quiet wins over it.
            try feed.writeExport(people: 0..<22)
            let forced = try feed.run(["run", "--progress"])
            #expect(forced.stderr.contains(Self.refresh) && forced.stderr.contains("deliver lms…"), "\(forced.stderr)")
            #expect(forced.stdout.isEmpty, "progress never goes to stdout")
            try feed.writeExport(people: 0..<23)
            let quiet = try feed.run(["run", "--progress", "--quiet"])
            #expect(quiet.stderr.isEmpty)
        }
    }

    @Test func jsonLogLinesParseAndCarryNoRowValueAndNoSecret() throws {
        let secret = "s3cr3t-Pa55word-\(UInt32.random(in: 0...UInt32.max))"
        var feed = try MiniFeed(
            extraTargets: """

                    { name: "vendor", mapping: "mapping.json", deliver: { sftp: { host: "127.0.0.1", port: 1, user: "u",
                      remoteDir: "in", passwordEnv: "MINI_SFTP_PASSWORD", knownHosts: "known_hosts", retries: 0 } } },
                """)
        defer { feed.remove() }
        try feed.root.write("known_hosts", "")
        feed.environment["MINI_SFTP_PASSWORD"] = secret
        let envFile = feed.path("hook.env")
        let r = try feed.run([
            "run", "--log-format", "json", "--json", "--on-failure", "/bin/sh -c 'env > \(envFile)'", "-v",
        ])
        #expect(r.exitCode == 69, "the SFTP target fails: \(r.stderr)")
        // stdout keeps its contract: the report.
        let report = try JSONSerialization.jsonObject(with: r.stdoutData) as? [String: Any]
        #expect(report?["exitCode"] as? Int == 69)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count >= 4, "\(r.stderr)")
        var events: [String] = []
        var delivered = false
        for line in lines {
            let object = try #require(
                try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not JSON: \(line)")
            for key in ["time", "level", "event", "runId"] { #expect(object[key] != nil, "no \(key): \(line)") }
            events.append(object["event"] as? String ?? "")
            if object["event"] as? String == "target" && object["target"] as? String == "lms" {
                delivered = object["status"] as? String == "delivered" && object["adds"] as? Int == 20
            }
        }
        #expect(events.contains("phase") && events.contains("target") && events.last == "finished", "\(events)")
        #expect(delivered, "no target event for lms with its counts: \(r.stderr)")
        for value in try feed.exportValues() {
            #expect(!r.stderr.contains(value), "the log holds the export value \(value)")
        }
        #expect(!r.stderr.contains(secret))
        // The hook ran without the secret in its environment.
        let env = try String(contentsOfFile: envFile, encoding: .utf8)
        #expect(env.contains("DROPFEED_STATUS=failure") && !env.contains(secret) && !env.contains("MINI_SFTP_PASSWORD"))
    }

    /// Over SFTP, each upload shows its file, bytes and size (rate and ETA follow once it has run half a second).
    @Test func progressShowsEachUploadOverSFTP() throws {
        try SFTPFeed.with { feed in
            let r = try feed.run(["run", "--progress", "--target", "acme-lms"])
            #expect(r.exitCode == 0, "\(r.stderr)")
            let sent = try #require(feed.remoteNames().first { $0.hasSuffix(".csv") })
            #expect(r.stderr.contains("deliver acme-lms…") && r.stderr.contains("— \(sent) "), "\(r.stderr)")
            #expect(r.stderr.contains(" MB"), "\(r.stderr)")
        }
    }
}
