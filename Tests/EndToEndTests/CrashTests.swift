import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Crash safety (issue 10 item 1): night two is killed with SIGKILL at every fault point that
/// writes (`DROPFEED_FAULT`), for a directory target and an SFTP target; the run after it must
/// converge on exactly what a clean night two delivers and leaves in the state, and a third run
/// must send nothing (`CrashFeed.expectConverged`).
@Suite struct CrashTests {
    /// Night two of `dropfeed.local.json` sends five files: acme-lms one, badges three (data,
    /// `.sha256`, `.done`), awareness one — so `@1`…`@5` reach every put.
    static let directoryPoints: [String] = {
        var points = ["after-leftovers", "after-spool"]
        for target in CrashFeed.targets {
            points += ["after-segment", "after-files", "after-snapshot", "after-stage"].map { "\($0):\(target)" }
        }
        for n in 1...5 {
            points += ["before-put", "put-written", "put-linked", "after-put", "after-journal"].map { "\($0)@\(n)" }
        }
        for target in CrashFeed.targets {
            points += ["after-segment-move", "after-generation", "after-current", "after-pending-removed", "after-prune"]
                .map { "\($0):\(target)" }
        }
        return points + ["after-source-record", "after-history"]
    }()

    /// acme-lms goes over SFTP (one delta file); the others still deliver locally.
    static let sftpPoints: [String] =
        [
            "after-segment", "after-files", "after-snapshot", "after-stage", "before-put", "after-put", "after-journal",
            "after-segment-move", "after-generation", "after-current", "after-pending-removed", "after-prune",
        ].map { "\($0):acme-lms" } + ["before-put@2", "after-source-record", "after-history"]

    @Test("the fault matrix has at least 50 kill points and names only declared points")
    func matrixCoversEnough() throws {
        #expect(Self.directoryPoints.count + Self.sftpPoints.count >= 50)
        let r = try DropfeedProcess.run(["--version"], environment: ["DROPFEED_FAULT": "list"])
        #expect(r.exitCode == 0)
        let declared = Set(r.stdout.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) })
        for point in Self.directoryPoints + Self.sftpPoints {
            let name = String(point.prefix { $0 != ":" && $0 != "@" })
            #expect(declared.contains(name), "\(name) is not in DROPFEED_FAULT=list")
        }
    }

    @Test("killed at a fault point, directory targets: the next run converges", arguments: directoryPoints)
    func directoryTargets(fault: String) throws {
        try Self.crashAndRecover(.directory, fault: fault)
    }

    @Test("killed at a fault point, an SFTP target: the next run converges", arguments: sftpPoints)
    func sftpTarget(fault: String) throws {
        try Self.crashAndRecover(.sftp, fault: fault)
    }

    static func crashAndRecover(_ kind: CrashFeed.Kind, fault: String, sourceLocation: SourceLocation = #_sourceLocation)
        throws
    {
        let oracle = try CrashOracle.nights()
        try CrashFeed.with(kind) { feed in
            try feed.nightOne()
            let what = "\(kind) \(fault)"
            let crashed = try feed.run(["run"], now: CrashFeed.nightTwo, fault: fault)
            try #require(
                crashed.exitCode == CrashFeed.killed,
                "\(what): the run was not killed there (exit \(crashed.exitCode)): \(crashed.stderr.prefix(800))",
                sourceLocation: sourceLocation)
            try feed.expectCrashLeftSomethingConsistent(oracle, what, sourceLocation: sourceLocation)
            let next = try feed.run(["run"], now: CrashFeed.nightTwo)
            #expect(
                next.exitCode == 0, "\(what): the run after the crash: exit \(next.exitCode): \(next.stderr.prefix(1500))",
                sourceLocation: sourceLocation)
            try feed.expectConverged(oracle, what, sourceLocation: sourceLocation)
        }
    }

    /// The run that finishes a crashed delivery is itself killed; the one after it converges.
    @Test(
        "killed again while finishing the crashed delivery: the run after converges",
        arguments: [
            (CrashFeed.Kind.directory, "after-put:badges@1", "after-journal:badges@1"),
            (.directory, "after-stage:awareness", "put-written:awareness"),
            (.directory, "after-current:badges", "after-pending-removed:badges"),
            (.sftp, "after-put:acme-lms", "after-journal:acme-lms"),
            (.sftp, "after-stage:acme-lms", "after-put:acme-lms"),
        ])
    func crashWhileRecovering(kind: CrashFeed.Kind, first: String, second: String) throws {
        let oracle = try CrashOracle.nights()
        try CrashFeed.with(kind) { feed in
            try feed.nightOne()
            let what = "\(kind) \(first) then \(second)"
            for fault in [first, second] {
                let r = try feed.run(["run"], now: CrashFeed.nightTwo, fault: fault)
                try #require(r.exitCode == CrashFeed.killed, "\(what): not killed at \(fault) (exit \(r.exitCode)): \(r.stderr.prefix(800))")
                try feed.expectCrashLeftSomethingConsistent(oracle, "\(what), after \(fault)")
            }
            let next = try feed.run(["run"], now: CrashFeed.nightTwo)
            #expect(next.exitCode == 0, "\(what): exit \(next.exitCode): \(next.stderr.prefix(1500))")
            try feed.expectConverged(oracle, what)
        }
    }

    /// A saved plan (`plan --save`, then `run --plan`) killed while it is applied: the next
    /// plain run finishes its pending delivery and converges.
    @Test(
        "a saved plan killed while it is applied: the next run converges",
        arguments: ["after-leftovers", "after-stage:badges", "after-put@2", "after-current:acme-lms"])
    func savedPlanKilled(fault: String) throws {
        let oracle = try CrashOracle.nights()
        try CrashFeed.with(.directory) { feed in
            try feed.nightOne()
            let plan = feed.ws.root.file("night-two.plan").path
            let saved = try feed.run(["plan", "--save", plan], now: CrashFeed.nightTwo)
            try #require(saved.exitCode == 0, "plan --save: \(saved.stderr.prefix(800))")
            let crashed = try feed.run(["run", "--plan", plan], now: CrashFeed.nightTwo, fault: fault)
            try #require(crashed.exitCode == CrashFeed.killed, "run --plan not killed at \(fault) (exit \(crashed.exitCode)): \(crashed.stderr.prefix(800))")
            try feed.expectCrashLeftSomethingConsistent(oracle, "run --plan \(fault)")
            let next = try feed.run(["run"], now: CrashFeed.nightTwo)
            #expect(next.exitCode == 0, "run --plan \(fault), then run: exit \(next.exitCode): \(next.stderr.prefix(1500))")
            try feed.expectConverged(oracle, "run --plan \(fault)")
        }
    }

    /// The run after a crash happens later (a new {time}): the pending delivery keeps the
    /// names its journal recorded, so the vendor still gets each file once, under one name.
    @Test("finished an hour later: the pending delivery keeps its names", arguments: CrashFeed.Kind.allCases)
    func recoveredLater(kind: CrashFeed.Kind) throws {
        let oracle = try CrashOracle.nights()
        let later = "2026-03-03T03:00:00Z"
        try CrashFeed.with(kind) { feed in
            try feed.nightOne()
            let r = try feed.run(["run"], now: CrashFeed.nightTwo, fault: "before-put:awareness")
            try #require(r.exitCode == CrashFeed.killed, "not killed (exit \(r.exitCode))")
            let next = try feed.run(["run"], now: later)
            #expect(next.exitCode == 0, "exit \(next.exitCode): \(next.stderr.prefix(1500))")
            try feed.expectConverged(oracle, "\(kind) recovered at 03:00", now: later)
        }
    }

    /// Six nights, so the sixth commit prunes the oldest of the five snapshots kept; killed
    /// while that snapshot is being removed. It was renamed away first, so what is left is a
    /// hidden folder the next run removes — never a snapshot without its metadata, which would
    /// stop segments from ever being pruned again.
    @Test("killed while an old snapshot is pruned: the next run removes the rest and converges")
    func killedWhilePruning() throws {
        let nights = (1...6).map { "2026-03-0\($0)T02:00:00Z" }
        let run = ["run", "--allow-deletes", "1000", "--allow-updates", "1000"]
        func deliverNights(_ feed: CrashFeed, faultAtLast fault: String?) throws -> ProcessResult {
            try FileManager.default.copyItem(at: feed.ws.file("hr_export.csv"), to: feed.ws.file("hr_day_a.csv"))
            var last: ProcessResult?
            for (k, now) in nights.enumerated() {
                try feed.ws.replaceSource(with: feed.ws.file(k % 2 == 0 ? "hr_day_a.csv" : "hr_export_next.csv"))
                let isLast = k == nights.count - 1
                let r = try feed.run(run, now: now, fault: isLast ? fault : nil)
                if !isLast { try #require(r.exitCode == 0, "night \(k + 1): \(r.stderr.prefix(1000))") }
                last = r
            }
            return last!
        }
        let reference = try CrashFeed.with(.directory) { feed in
            let r = try deliverNights(feed, faultAtLast: nil)
            try #require(r.exitCode == 0, "clean night six: \(r.stderr.prefix(1000))")
            return CrashOracle.Nights(
                oldExports: [:], newExports: try feed.exports(now: nights[5]), newDelivered: feed.delivered())
        }
        try CrashFeed.with(.directory) { feed in
            let crashed = try deliverNights(feed, faultAtLast: "during-prune:acme-lms")
            try #require(crashed.exitCode == CrashFeed.killed, "not killed while pruning (exit \(crashed.exitCode))")
            let generations = feed.stateDir.appendingPathComponent("acme-lms/generations")
            let left = try FileManager.default.contentsOfDirectory(atPath: generations.path)
            #expect(left.filter { $0.hasPrefix(".trash-") }.count == 1, "generations after the kill: \(left.sorted())")
            let next = try feed.run(run, now: nights[5])
            #expect(next.exitCode == 0, "exit \(next.exitCode): \(next.stderr.prefix(1000))")
            let kept = try FileManager.default.contentsOfDirectory(atPath: generations.path)
            #expect(kept.count == 5 && !kept.contains { $0.hasPrefix(".") }, "generations kept: \(kept.sorted())")
            try feed.expectConverged(reference, "killed while pruning", now: nights[5])
        }
    }

    // MARK: The defects of issue 10 item 8

    /// A `pending/` without its journal (a crash while it was removed after a commit) used to
    /// stick the target for good: exit 73 "already has a pending delivery" every night with
    /// changes, while `state list` showed none.
    @Test("a pending folder without its journal is removed, and the night's changes are delivered")
    func pendingWithoutJournal() throws {
        let oracle = try CrashOracle.nights()
        try CrashFeed.with(.directory) { feed in
            try feed.nightOne()
            for target in CrashFeed.targets {
                try FileManager.default.createDirectory(
                    at: feed.stateDir.appendingPathComponent("\(target)/pending/files"), withIntermediateDirectories: true)
            }
            let list = try feed.run(["state", "list"], now: CrashFeed.nightTwo)
            #expect(!list.stdout.contains("pending"), "state list: \(list.stdout)")
            let r = try feed.run(["run"], now: CrashFeed.nightTwo)
            #expect(r.exitCode == 0, "exit \(r.exitCode): \(r.stderr.prefix(1500))")
            try feed.expectConverged(oracle, "journal-less pending/")
        }
    }

    /// A run killed while it wrote a file into a delivery folder left `.NAME.part-…` there
    /// forever when the file had already got its final name (the next run counts it as
    /// arrived and never puts it again).
    @Test("a temporary file a killed run left in a delivery folder is removed by the next run")
    func temporaryFileOfAKilledRun() throws {
        try CrashFeed.with(.directory) { feed in
            try feed.nightOne()
            let r = try feed.run(["run"], now: CrashFeed.nightTwo, fault: "put-linked:badges@2")
            try #require(r.exitCode == CrashFeed.killed)
            let outbox = feed.deliveryFolder("badges")
            let left = (try FileManager.default.contentsOfDirectory(atPath: outbox.path)).filter { $0.hasPrefix(".") }
            #expect(left.count == 1 && left[0].hasPrefix(".badges_20260303_0002.csv.sha256.part-"), "left: \(left)")
            // A temporary file of a run still going (this test process) stays.
            let alive = ".other.csv.part-\(getpid())-0123456789abcdef"
            try Data("x".utf8).write(to: outbox.appendingPathComponent(alive))
            let next = try feed.run(["run"], now: CrashFeed.nightTwo)
            #expect(next.exitCode == 0, "exit \(next.exitCode): \(next.stderr.prefix(1500))")
            let now = (try FileManager.default.contentsOfDirectory(atPath: outbox.path)).filter { $0.hasPrefix(".") }
            #expect(now == [alive], "hidden files after the next run: \(now)")
        }
    }

    // MARK: Timed kills during a larger run

    /// A 201,000-row export (the sample copied 67 times under new ids), killed after a delay
    /// of a fixed fraction of the length of a clean run. Whatever the kill hit, the next
    /// run converges. No timing is asserted: a kill that comes after the end is a clean run.
    @Test("SIGKILL at timed points during a 201,000-row night converges", arguments: CrashFeed.Kind.allCases)
    func timedKills(kind: CrashFeed.Kind) throws {
        // The large night moves more rows than the sample's delete and update gates let through.
        let nightTwo = ["run", "--allow-deletes", "100000", "--allow-updates", "100000"]
        try CrashFeed.with(kind) { feed in
            try LargeExport.write(into: feed.ws, copies: LargeExport.copies)
            // The oracle: night one, then a clean night two on a copy of night one's state and folders.
            let first = try feed.run(["run"], now: CrashFeed.nightOneTime)
            try #require(first.exitCode == 0, "night one: \(first.stderr.prefix(1500))")
            try feed.ws.replaceSource(with: feed.ws.file(LargeExport.nextName))
            let nightOne = try SavedFolders(of: feed)
            let old = try feed.exports()
            let start = Date()
            let clean = try feed.run(nightTwo, now: CrashFeed.nightTwo)
            try #require(clean.exitCode == 0, "clean night two: \(clean.stderr.prefix(1500))")
            let length = Date().timeIntervalSince(start)
            let oracle = CrashOracle.Nights(oldExports: old, newExports: try feed.exports(), newDelivered: feed.delivered())

            // Fixed moments, as fractions of the clean run, so every CI run kills at the same ones.
            let fractions = kind == .directory ? [0.08, 0.31, 0.55, 0.83] : [0.19, 0.44, 0.71, 0.95]
            for (round, fraction) in zip(1..., fractions) {
                try nightOne.restore(into: feed)
                let delay = fraction * length
                let process = try feed.launch(nightTwo, now: CrashFeed.nightTwo)
                usleep(UInt32(delay * 1_000_000))
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                let what = "\(kind) round \(round), killed after \(String(format: "%.2f", delay)) s"
                try feed.expectCrashLeftSomethingConsistent(oracle, what)
                let next = try feed.run(nightTwo, now: CrashFeed.nightTwo)
                #expect(next.exitCode == 0, "\(what): exit \(next.exitCode): \(next.stderr.prefix(1500))")
                try feed.expectConverged(oracle, what)
            }
        }
    }
}

/// The state directory and delivery folders of a feed at one moment, to be put back.
struct SavedFolders {
    private let saved: URL
    private let folders: [(live: URL, copy: URL)]

    init(of feed: CrashFeed) throws {
        saved = feed.ws.root.file("saved-\(UUID().uuidString.prefix(8))")
        let fm = FileManager.default
        try fm.createDirectory(at: saved, withIntermediateDirectories: true)
        var folders = [(feed.stateDir, saved.appendingPathComponent("state"))]
        for (k, target) in CrashFeed.targets.enumerated() {
            folders.append((feed.deliveryFolder(target), saved.appendingPathComponent("delivery-\(k)")))
        }
        for (live, copy) in folders { try fm.copyItem(at: live, to: copy) }
        self.folders = folders
    }

    /// Makes every folder what it was (the folders themselves stay: an sshd serves one of them).
    func restore(into feed: CrashFeed) throws {
        let fm = FileManager.default
        for (live, copy) in folders {
            for name in try fm.contentsOfDirectory(atPath: live.path) {
                try fm.removeItem(at: live.appendingPathComponent(name))
            }
            for name in try fm.contentsOfDirectory(atPath: copy.path) {
                try fm.copyItem(at: copy.appendingPathComponent(name), to: live.appendingPathComponent(name))
            }
        }
    }
}

/// A larger export: the two sample nights, each copied `copies` times under new employee ids,
/// emails and manager ids (so keys stay unique and lookups stay within a copy).
enum LargeExport {
    static let nextName = "hr_large_next.csv"
    /// 67 copies (201,000 rows) with the binary `make test` and CI give (`DROPFEED_BIN`, the
    /// release build); 10 (30,000 rows) with the debug build a bare `swift test` finds, which is
    /// many times slower. `DROPFEED_CRASH_COPIES` sets another number.
    static let copies: Int = {
        let environment = ProcessInfo.processInfo.environment
        if let n = environment["DROPFEED_CRASH_COPIES"].flatMap({ Int($0) }) { return n }
        return (environment["DROPFEED_BIN"] ?? "").isEmpty ? 10 : 67
    }()

    static func write(into ws: FeedWorkspace, copies: Int = 67) throws {
        let script = """
            import csv, sys
            src, dst, copies = sys.argv[1], sys.argv[2], int(sys.argv[3])
            rows = list(csv.reader(open(src, newline="", encoding="utf-8")))
            header, body = rows[0], rows[1:]
            i_id, i_mail, i_mgr = header.index("employee_id"), header.index("email"), header.index("manager_id")
            with open(dst, "w", newline="", encoding="utf-8") as out:
                w = csv.writer(out, lineterminator="\\r\\n")
                w.writerow(header)
                for k in range(copies):
                    for r in body:
                        r = list(r)
                        if r[i_id]: r[i_id] = f"{r[i_id]}K{k:03d}"
                        if r[i_mgr]: r[i_mgr] = f"{r[i_mgr]}K{k:03d}"
                        if "@" in r[i_mail]:
                            local, _, domain = r[i_mail].partition("@")
                            r[i_mail] = f"{local}.k{k:03d}@{domain}"
                        w.writerow(r)
            """
        let python = try FeedOracle.python()
        for (src, dst) in [("hr_export_next.csv", nextName), ("hr_export.csv", "hr_export.csv")] {
            let r = try DropfeedProcess.runProgram(
                python, ["-c", script, ws.file(src).path, ws.file(dst).path, String(copies)])
            try #require(r.exitCode == 0, "making \(dst): \(r.stderr)")
        }
        // minRows is 1000 in the sample; the large nights keep their ratio of changes.
    }
}
