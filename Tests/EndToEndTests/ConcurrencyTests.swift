import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Runs that meet (issue 10 item 6). A run is held at a fault point with
/// `DROPFEED_FAULT_SIGNAL=STOP` — stopped there with the state lock and whatever it has half
/// done — while another command runs; then it is continued and must finish as a clean night two.
@Suite struct ConcurrencyTests {
    @Test("a second run while one holds the lock exits 75 and changes nothing; the first completes")
    func secondRunExits75() throws {
        let oracle = try CrashOracle.nights()
        try CrashFeed.with(.directory) { feed in
            try feed.nightOne()
            let first = try StoppedRun(feed, at: "after-stage:badges")
            let before = FolderTree(feed.ws.samples)
            let second = try Watchdog.run(feed, ["run", "--json"])
            #expect(second.exitCode == 75, "the second run: exit \(second.exitCode): \(second.stderr.prefix(800))")
            #expect(second.stderr.contains("holds the lock"), "stderr: \(second.stderr.prefix(800))")
            #expect(FolderTree(feed.ws.samples) == before, "the second run changed files")
            // The state commands that write take the lock too.
            for command in [["state", "discard", "badges"], ["state", "reset", "badges"], ["state", "rollback", "badges"]] {
                let r = try Watchdog.run(feed, command)
                #expect(r.exitCode == 75, "\(command.joined(separator: " ")): exit \(r.exitCode): \(r.stderr.prefix(500))")
            }
            #expect(FolderTree(feed.ws.samples) == before, "a state command changed files")
            #expect(try first.finish() == 0, "the first run did not complete")
            try feed.expectConverged(oracle, "the first run, after the second was refused")
        }
    }

    /// `--wait-lock` on a state command that writes: it waits for the run holding the lock
    /// instead of exiting 75, then does its work once the run has committed.
    @Test("state reset --wait-lock waits for the run holding the lock, then resets")
    func stateResetWaitsForTheLock() throws {
        try CrashFeed.with(.directory) { feed in
            try feed.nightOne()
            let bad = try feed.run(["state", "reset", "badges", "--wait-lock", "soon"], now: CrashFeed.nightTwo)
            #expect(bad.exitCode == 64, "--wait-lock soon: exit \(bad.exitCode): \(bad.stderr.prefix(300))")
            let first = try StoppedRun(feed, at: "after-stage:badges")
            let reset = try feed.launch(["state", "reset", "badges", "--wait-lock", "600"], now: CrashFeed.nightTwo)
            defer { if reset.isRunning { kill(reset.processIdentifier, SIGKILL) } }
            // The run is stopped holding the lock, so the reset cannot have finished: were it not
            // waiting, it would have exited 75 by now.
            usleep(500_000)
            #expect(reset.isRunning, "the reset did not wait for the lock (exit \(reset.terminationStatus))")
            #expect(try first.finish() == 0, "the run holding the lock did not complete")
            reset.waitUntilExit()
            #expect(reset.terminationStatus == 0, "the reset exited \(reset.terminationStatus)")
            let export = try feed.run(["state", "export", "badges"], now: CrashFeed.nightTwo)
            #expect(export.stderr.contains("no snapshot"), "after the reset: \(export.stderr.prefix(300))")
        }
    }

    @Test("a lock left by a killed run does not block the next run")
    func lockOfAKilledRun() throws {
        let oracle = try CrashOracle.nights()
        try CrashFeed.with(.directory) { feed in
            try feed.nightOne()
            let r = try feed.run(["run"], now: CrashFeed.nightTwo, fault: "after-put:badges@1")
            try #require(r.exitCode == CrashFeed.killed)
            let lock = feed.stateDir.appendingPathComponent(".lock")
            #expect(FileManager.default.fileExists(atPath: lock.path), "the killed run's lock file is gone")
            let next = try Watchdog.run(feed, ["run"])
            #expect(next.exitCode == 0, "exit \(next.exitCode): \(next.stderr.prefix(800))")
            try feed.expectConverged(oracle, "after a killed run's lock")
        }
    }

    /// `plan` takes no lock and writes nothing in the state directory or a delivery folder,
    /// wherever the run it meets stands — before staging, mid-delivery, mid-commit.
    @Test(
        "plan neither blocks on nor disturbs a run in progress",
        arguments: ["after-spool", "after-stage:badges", "after-put@2", "after-generation:badges", "after-current:awareness"])
    func planDuringARun(point: String) throws {
        let oracle = try CrashOracle.nights()
        try CrashFeed.with(.directory) { feed in
            try feed.nightOne()
            let run = try StoppedRun(feed, at: point)
            let before = FolderTree(feed.ws.samples)
            let plan = try Watchdog.run(feed, ["plan", "--json"])
            #expect(plan.exitCode == 0, "plan while a run is stopped at \(point): exit \(plan.exitCode): \(plan.stderr.prefix(800))")
            // A target whose delivery is under way is planned against the snapshot it leads to:
            // nothing more to send. One not reached yet still has night two's changes.
            let report = try JSONDecoder().decode(FeedReport.self, from: plan.stdoutData)
            let badges = try report.target("badges")
            let moves = badges.adds + badges.updates + badges.deletes
            if point == "after-spool" {
                #expect(moves > 0, "plan at \(point): badges shows no changes")
            } else {
                #expect(moves == 0, "plan at \(point): badges shows \(moves) changes already being delivered")
            }
            #expect(FolderTree(feed.ws.samples) == before, "plan changed files while a run was stopped at \(point)")
            #expect(try run.finish() == 0, "the run stopped at \(point) did not complete")
            try feed.expectConverged(oracle, "a run met by plan at \(point)")
        }
    }
}

/// A night-two run stopped by itself at a fault point (SIGSTOP), until `finish()` continues it.
final class StoppedRun {
    let process: Process

    init(_ feed: CrashFeed, at point: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        process = try feed.launch(
            ["run"], now: CrashFeed.nightTwo, extra: ["DROPFEED_FAULT": point, "DROPFEED_FAULT_SIGNAL": "STOP"])
        // Wait (bounded) until it has stopped itself; it never ends before it reaches the point.
        var state = Self.state(process.processIdentifier)
        for _ in 0..<12_000 where state != "T" && process.isRunning {
            usleep(10_000)
            state = Self.state(process.processIdentifier)
        }
        guard state == "T" else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw ProcessLaunchError(description: "the run never stopped at \(point) (state \(state ?? "gone"))")
        }
    }

    /// The process state letter from /proc/PID/stat (`T` when stopped).
    static func state(_ pid: Int32) -> String? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.range(of: ") ", options: .backwards)
        else { return nil }
        return text[close.upperBound...].split(separator: " ").first.map(String.init)
    }

    /// Continues the run and waits for it; returns its exit code.
    func finish() throws -> Int32 {
        kill(process.processIdentifier, SIGCONT)
        process.waitUntilExit()
        return process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// Runs a night-two command that must not wait for another run: should it hang, it is killed
/// after two minutes so the test fails (exit 137) instead of hanging CI. Not a timing assertion.
enum Watchdog {
    static func run(_ feed: CrashFeed, _ arguments: [String]) throws -> ProcessResult {
        let scratch = try TemporaryDirectory(prefix: "dropfeed-e2e-watchdog")
        defer { scratch.remove() }
        let out = try scratch.write("stdout", Data())
        let err = try scratch.write("stderr", Data())
        let outHandle = try FileHandle(forWritingTo: out)
        let errHandle = try FileHandle(forWritingTo: err)
        defer {
            try? outHandle.close()
            try? errHandle.close()
        }
        let process = try feed.launch(arguments, now: CrashFeed.nightTwo, stdout: outHandle, stderr: errHandle)
        for _ in 0..<12_000 where process.isRunning { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        let code =
            process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        return ProcessResult(exitCode: code, stdoutData: try Data(contentsOf: out), stderrData: try Data(contentsOf: err))
    }
}

/// Every folder and file under a folder, with file bytes: for "nothing changed here".
/// The run history (`state/history.jsonl`, `state/runs/`) is left out: every run, a refused
/// one too, records itself there.
struct FolderTree: Equatable {
    var entries: [String: Data?]

    init(_ root: URL) {
        var entries: [String: Data?] = [:]
        let fm = FileManager.default
        if let walker = fm.enumerator(atPath: root.path) {
            while let relative = walker.nextObject() as? String {
                if relative.hasPrefix("state/history.jsonl") || relative.hasPrefix("state/runs") { continue }
                let path = root.appendingPathComponent(relative).path
                var isDirectory: ObjCBool = false
                _ = fm.fileExists(atPath: path, isDirectory: &isDirectory)
                entries[relative] = isDirectory.boolValue ? nil : (fm.contents(atPath: path) ?? Data())
            }
        }
        self.entries = entries
    }
}
