import Foundation
import Testing

/// `make install PREFIX=…`: the binary, the man page (complete and warning-free), the bash
/// completion completing target names from the config, the systemd units; and `help` for
/// every command, with an example.
@Suite struct InstallTests {
    static let root = DropfeedProcess.packageRoot

    /// Installs into a fresh prefix (the binary the tests run, so nothing is built again).
    func installed() throws -> TemporaryDirectory {
        let prefix = try TemporaryDirectory(prefix: "dropfeed-install")
        let r = try DropfeedProcess.runProgram(
            URL(fileURLWithPath: "/usr/bin/make"),
            ["-s", "install", "PREFIX=\(prefix.url.path)", "BIN=\(try DropfeedProcess.binary().path)"], cwd: Self.root)
        try #require(r.exitCode == 0, "make install: \(r.stdout) \(r.stderr)")
        return prefix
    }

    func commands() throws -> [String] {
        let help = try DropfeedProcess.run(["--help"]).stdout
        let lines = help.split(separator: "\n", omittingEmptySubsequences: false).drop { !$0.hasPrefix("commands:") }
            .dropFirst().prefix { !$0.isEmpty }
        return lines.compactMap { $0.split(separator: " ").first.map(String.init) }.filter { $0 != "help" }
    }

    @Test func makeInstallGivesABinaryAManPageAndCompletion() throws {
        let prefix = try installed()
        defer { prefix.remove() }
        let version = try DropfeedProcess.runProgram(prefix.file("bin/dropfeed"), ["--version"])
        #expect(version.exitCode == 0 && version.stdout.hasPrefix("dropfeed "))
        let page = prefix.file("share/man/man1/dropfeed.1")
        let man = try DropfeedProcess.runProgram(
            URL(fileURLWithPath: "/usr/bin/man"), ["-l", page.path],
            environment: ["PATH": "/usr/bin:/bin", "MANWIDTH": "80", "LANG": "C.UTF-8"])
        #expect(man.exitCode == 0 && man.stderr.isEmpty, "man -l: \(man.stderr)")
        #expect(man.stdout.contains("EXIT STATUS") && man.stdout.contains("ENVIRONMENT"))
        let groff = try DropfeedProcess.runProgram(
            URL(fileURLWithPath: "/usr/bin/groff"), ["-ww", "-z", "-man", page.path])
        #expect(groff.exitCode == 0 && groff.stderr.isEmpty, "groff -ww: \(groff.stderr)")
        for path in ["share/bash-completion/completions/dropfeed", "share/zsh/site-functions/_dropfeed"] {
            #expect(FileManager.default.fileExists(atPath: prefix.file(path).path), "\(path) not installed")
        }
        // zsh (make deps installs it) reads the completion function.
        let zsh = try DropfeedProcess.runProgram(
            URL(fileURLWithPath: "/usr/bin/zsh"), ["-n", prefix.file("share/zsh/site-functions/_dropfeed").path])
        #expect(zsh.exitCode == 0 && zsh.stderr.isEmpty, "zsh -n: \(zsh.stderr)")
    }

    @Test func theManPageNamesEveryCommandOptionExitCodeAndVariable() throws {
        let page = try String(contentsOf: Self.root.appendingPathComponent("contrib/man/dropfeed.1"), encoding: .utf8)
            .replacingOccurrences(of: "\\-", with: "-")
        for command in try commands() { #expect(page.contains(command), "the man page lacks the command \(command)") }
        for command in try commands() {
            let help = try DropfeedProcess.run(["help", command]).stdout
            let options = Set(help.matches(of: /--[a-z][a-z-]+/).map { String($0.output) })
            for option in options { #expect(page.contains(option), "the man page lacks \(option) of \(command)") }
        }
        for code in [0, 1, 3, 64, 65, 66, 69, 73, 75, 78] {
            #expect(page.contains(".B \(code)\n"), "exit code \(code)")
        }
        for name in ["DROPFEED_NOW", "DROPFEED_TRACE", "SSH_AUTH_SOCK", "NO_COLOR", "history.jsonl", "runs/"] {
            #expect(page.contains(name), "the man page lacks \(name)")
        }
    }

    @Test func helpForEveryCommandHasAnExample() throws {
        for command in try commands() {
            let r = try DropfeedProcess.run(["help", command])
            #expect(r.exitCode == 0)
            #expect(
                r.stdout.contains("example") && r.stdout.contains("dropfeed \(command)"), "help \(command): \(r.stdout)"
            )
        }
    }

    @Test func bashCompletesCommandsOptionsAndTargetNamesFromTheConfig() throws {
        let prefix = try installed()
        defer { prefix.remove() }
        let feed = try MiniFeed(
            extraTargets: #"{ name: "badges", mapping: "mapping.json", deliver: { directory: "o2" } },"#)
        defer { feed.remove() }
        // The config named on the line, in another folder.
        try FileManager.default.createDirectory(at: feed.root.file("etc"), withIntermediateDirectories: true)
        let config = try String(contentsOf: feed.root.file("dropfeed.json"), encoding: .utf8)
        try feed.root.write(
            "etc/feed.json",
            config.replacingOccurrences(of: "\"mapping.json\"", with: "\"../mapping.json\"")
                .replacingExactly("\"export.csv\"", with: "\"../export.csv\""))
        let script = prefix.file("share/bash-completion/completions/dropfeed").path
        func complete(_ words: [String]) throws -> [String] {
            let quoted = words.map { "'\($0)'" }.joined(separator: " ")
            let r = try DropfeedProcess.runProgram(
                URL(fileURLWithPath: "/bin/bash"),
                [
                    "-c",
                    "source '\(script)'; COMP_WORDS=(\(quoted)); COMP_CWORD=\(words.count - 1); _dropfeed; printf '%s\\n' \"${COMPREPLY[@]}\"",
                ], cwd: feed.root.url, environment: ["PATH": prefix.file("bin").path + ":/usr/bin:/bin"])
            #expect(r.exitCode == 0, "bash: \(r.stderr)")
            return r.stdout.split(separator: "\n").map(String.init).sorted()
        }
        #expect(try complete(["dropfeed", "hi"]) == ["history"])
        #expect(try complete(["dropfeed", "run", "--on-f"]) == ["--on-failure"])
        #expect(try complete(["dropfeed", "run", "--config", "etc/feed.json", "--target", ""]) == ["badges", "lms"])
        #expect(try complete(["dropfeed", "plan", "--config", "etc/feed.json", "--target", "ba"]) == ["badges"])
        // Without --config: ./dropfeed.json.
        #expect(try complete(["dropfeed", "state", "show", "l"]) == ["lms"])
    }

    @Test func systemdAcceptsTheUnits() throws {
        let analyze = URL(fileURLWithPath: "/usr/bin/systemd-analyze")
        guard FileManager.default.isExecutableFile(atPath: analyze.path) else { return }
        let prefix = try installed()
        defer { prefix.remove() }
        let units = try TemporaryDirectory(prefix: "dropfeed-units")
        defer { units.remove() }
        let doc = prefix.file("share/doc/dropfeed/systemd")
        let service = try String(contentsOf: doc.appendingPathComponent("dropfeed.service"), encoding: .utf8)
        for line in [
            "EnvironmentFile=", "ProtectSystem=strict", "ReadWritePaths=", "NoNewPrivileges=yes", "PrivateTmp=yes",
        ] {
            #expect(service.contains(line), "the service lacks \(line)")
        }
        try units.write(
            "dropfeed.service",
            service.replacingOccurrences(of: "/usr/local/bin/dropfeed", with: prefix.file("bin/dropfeed").path))
        try units.write(
            "dropfeed.timer", try String(contentsOf: doc.appendingPathComponent("dropfeed.timer"), encoding: .utf8))
        let r = try DropfeedProcess.runProgram(
            analyze, ["verify", "--man=no", units.file("dropfeed.service").path, units.file("dropfeed.timer").path])
        #expect(r.exitCode == 0 && r.stderr.isEmpty, "systemd-analyze verify: \(r.stdout) \(r.stderr)")
        let cron = try String(contentsOf: prefix.file("share/doc/dropfeed/cron/dropfeed"), encoding: .utf8)
        #expect(cron.contains("dropfeed run") && cron.contains("--quiet"))
    }
}
