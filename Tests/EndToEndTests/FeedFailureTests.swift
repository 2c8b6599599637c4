import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// What `run` does when something is wrong: safety and source gates, the state lock, a corrupt
/// snapshot, a bad config or mapping, a bad or missing export, a delivery that fails half way.
@Suite struct FeedFailureTests {
    static let day1 = "2026-03-02T02:00:00Z"
    static let day2 = "2026-03-03T02:00:00Z"

    /// Runs day 1 in `ws` (every target delivered) and keeps a copy of that export as `day1.csv`.
    func deliverDayOne(_ ws: inout FeedWorkspace) throws {
        ws.now = Self.day1
        let r = try ws.run(["run"])
        try #require(r.exitCode == 0, "day 1 failed: \(r.stderr)")
        try FileManager.default.copyItem(at: ws.file("hr_export.csv"), to: ws.file("day1.csv"))
    }

    /// The day-1 export without 900 of its 3,000 rows (30%), none of them anyone's manager, so
    /// that the drop makes deletes, not manager-lookup updates: only the delete gates are tested.
    func shrunkExport(_ ws: FeedWorkspace) throws -> URL {
        let source = try CSVFile.read(ws.file("day1.csv"))
        let header = try #require(source.header)
        let manager = try #require(header.firstIndex(of: "manager_id"))
        let managers = Set(source.records.map { $0[manager] })
        let candidates = source.records.map { $0[0] }.filter { !managers.contains($0) }
        let drop = Set(candidates.enumerated().filter { $0.offset % 2 == 0 }.map(\.element).prefix(900))
        try #require(drop.count == 900)
        let url = ws.file("shrunk.csv")
        let dropped = try CSVFile.write(ws.file("day1.csv"), to: url, dropping: drop)
        try #require(dropped == 900)
        return url
    }

    /// A copy of the sample config whose source gate lets a 30% shrink through, so that the
    /// targets' own gates are what is tested.
    func relaxShrinkGate(_ ws: FeedWorkspace) throws {
        try ws.writeConfig("relaxed.json") {
            $0.replacingExactly("maxShrinkPercent: 5,", with: "maxShrinkPercent: 50,")
        }
    }

    // MARK: safety gates

    @Test func deleteGateHoldsTheTargetUntilDeletesAreAllowed() throws {
        try FeedWorkspace.with { ws in
            try deliverDayOne(&ws)
            let shrunk = try shrunkExport(ws)
            try relaxShrinkGate(ws)
            ws.config = "relaxed.json"
            let oracle = try FeedOracle.counts(config: ws.file("relaxed.json"), old: ws.file("day1.csv"), new: shrunk)
                .target("acme-lms").next
            let tripped = try #require(oracle.gates.first { $0.tripped }, "the oracle says no gate trips")
            #expect(tripped.name == "maxDeletes" && tripped.limit == 50 && oracle.deletes > 50)
            #expect(oracle.updates == 0, "the shrunk export was meant to make deletes only")

            try ws.replaceSource(with: shrunk)
            ws.now = Self.day2
            let outbox = ws.delivered("acme-lms")
            let shown = try ws.run(["state", "show", "acme-lms", "--json"])
            let (r, report) = try ws.report(["run"])
            #expect(r.exitCode == 3, "\(r.stderr)")
            #expect(report.exitCode == 3 && !report.ok)
            let acme = try report.target("acme-lms")
            #expect(acme.status == "held")
            #expect(acme.gate == FeedReport.Gate(name: "maxDeletes", limit: 50, actual: Double(oracle.deletes)))
            #expect(acme.deletes == oracle.deletes && acme.adds == oracle.adds && acme.updates == oracle.updates)
            #expect(ws.delivered("acme-lms") == outbox, "a held target delivered")
            #expect(r.stderr.contains("maxDeletes"), "\(r.stderr)")
            let after = try ws.run(["state", "show", "acme-lms", "--json"])
            #expect(after.exitCode == 0 && after.stdout == shown.stdout, "a held target's snapshot moved")

            // The operator approves this run's deletes.
            ws.now = "2026-03-03T08:00:00Z"
            let (released, approved) = try ws.report(["run", "--allow-deletes", "1000"])
            #expect(released.exitCode == 0, "\(released.stderr)")
            let sent = try approved.target("acme-lms")
            #expect(sent.status == "delivered" && sent.gate == nil)
            let read = try FeedChecks.expectFiles(of: sent, in: try newFilesFolder(ws, "acme-lms", since: outbox))
            let delta = try FeedChecks.dataFile("delta", of: sent, in: read)
            #expect(delta.rows.filter { $0["action"] == "D" }.count == oracle.deletes)
            #expect(delta.records.count == oracle.deltaRows)
        }
    }

    @Test func deletePercentGateReportsItsFigure() throws {
        try FeedWorkspace.with { ws in
            try deliverDayOne(&ws)
            let shrunk = try shrunkExport(ws)
            try relaxShrinkGate(ws)
            ws.config = "relaxed.json"
            // Only the percentage can trip now.
            try ws.edit("../mappings/acme-lms.json") {
                $0.replacingExactly("safety: { maxDeletes: 50,", with: "safety: { maxDeletes: 100000,")
            }
            let oracle = try FeedOracle.counts(config: ws.file("relaxed.json"), old: ws.file("day1.csv"), new: shrunk)
                .target("acme-lms").next
            let tripped = try #require(oracle.gates.first { $0.tripped })
            #expect(tripped.name == "maxDeletePercent")

            try ws.replaceSource(with: shrunk)
            ws.now = Self.day2
            let outbox = ws.delivered("acme-lms")
            let (r, report) = try ws.report(["run", "--target", "acme-lms"])
            #expect(r.exitCode == 3, "\(r.stderr)")
            let acme = try report.target("acme-lms")
            #expect(acme.status == "held")
            let gate = try #require(acme.gate)
            #expect(gate.name == "maxDeletePercent" && gate.limit == 5)
            #expect(
                abs(gate.actual - tripped.actual) < 0.01, "actual \(gate.actual)%, the oracle says \(tripped.actual)%")
            #expect(ws.delivered("acme-lms") == outbox)
        }
    }

    @Test func sourceShrinkGateTripsBeforeAnyTargetGate() throws {
        try FeedWorkspace.with { ws in
            try deliverDayOne(&ws)
            let shrunk = try shrunkExport(ws)
            try ws.replaceSource(with: shrunk)
            ws.now = Self.day2
            let state = ws.snapshotState()
            let outbox = ws.contents(of: "outbox")
            for command in ["plan", "run"] {
                let (r, report) = try ws.report([command])
                #expect(r.exitCode == 65, "\(command): \(r.stderr)")
                #expect(report.exitCode == 65)
                let error = report.error ?? ""
                #expect(
                    error.contains("maxShrinkPercent") && error.contains("3000") && error.contains("2100"), "\(error)")
                for t in report.targets {
                    #expect(
                        t.status != "delivered" && t.status != "held" && t.files.isEmpty,
                        "\(command) \(t.name): \(t.status)")
                }
            }
            #expect(ws.contents(of: "outbox") == outbox, "a failed source gate delivered")
            #expect(
                ws.snapshotState() == state,
                "a failed source gate changed the state")
        }
    }

    @Test func minRowsGateStopsATruncatedFirstExport() throws {
        try FeedWorkspace.with { ws in
            let source = try CSVFile.read(ws.file("hr_export.csv"))
            let cut = try CSVFile.write(
                ws.file("hr_export.csv"), to: ws.file("short.csv"),
                dropping: Set(source.records.dropFirst(500).map { $0[0] }))
            try #require(cut == 2500)
            try ws.replaceSource(with: ws.file("short.csv"))
            let (r, report) = try ws.report(["run"])
            #expect(r.exitCode == 65, "\(r.stderr)")
            #expect(report.error?.contains("minRows") == true, "\(report.error ?? "")")
            #expect(!ws.exists("outbox"))
            for name in FeedWorkspace.targets { #expect(!ws.exists("state/\(name)/current")) }
        }
    }

    @Test func holdDeletesSendsAddsAndUpdatesAndKeepsTheDeletesPending() throws {
        try FeedWorkspace.with { ws in
            try deliverDayOne(&ws)
            let dayOneBadges = try FeedChecks.expectFiles(of: try dayOneTarget(ws, "badges"), in: ws.outbox("badges"))
            let firstFull = try #require(dayOneBadges.values.first)
            let dayOneKeys = Set(firstFull.records.map(SampleDialects.badgeKey))
            let dayOneByKey = Dictionary(
                firstFull.records.map { (SampleDialects.badgeKey($0), $0) }, uniquingKeysWith: { a, _ in a })

            // The next day's export, also without 30 leavers (T: only badges sends them) at a site
            // and managing no one: badges sees 40 deletes (limit 25); acme-lms and awareness, nothing more.
            let next = try CSVFile.read(ws.file("hr_export_next.csv"))
            let header = try #require(next.header)
            let status = try #require(header.firstIndex(of: "employment_status"))
            let location = try #require(header.firstIndex(of: "location"))
            let manager = try #require(header.firstIndex(of: "manager_id"))
            let managers = Set(next.records.map { $0[manager] })
            let leavers = next.records.filter {
                $0[status] == "T" && $0[location] != "Remote" && !managers.contains($0[0])
            }.map { $0[0] }
            let drop = Set(leavers.sorted().prefix(30))
            try CSVFile.write(ws.file("hr_export_next.csv"), to: ws.file("purged.csv"), dropping: drop)
            let oracleCounts = try FeedOracle.counts(
                config: ws.file(ws.config), old: ws.file("day1.csv"), new: ws.file("purged.csv"))
            let oracle = try oracleCounts.target("badges").next
            let keys = try FeedOracle.keys(
                "badges", config: ws.file(ws.config), old: ws.file("day1.csv"), new: ws.file("purged.csv"))
            try #require(oracle.deletes > 25 && oracle.adds > 0 && oracle.updates > 0)
            for other in ["acme-lms", "awareness"] { try #require(!(try oracleCounts.target(other).next.held)) }

            try ws.replaceSource(with: ws.file("purged.csv"))
            ws.now = Self.day2
            let before = ws.delivered("badges")
            let (r, report) = try ws.report(["run"])
            #expect(r.exitCode == 3, "\(r.stderr)")
            let badges = try report.target("badges")
            #expect(badges.gate == FeedReport.Gate(name: "maxDeletes", limit: 25, actual: Double(oracle.deletes)))
            #expect(badges.status == "delivered", "adds and updates go out: \(badges.status)")
            #expect(badges.adds == oracle.adds && badges.updates == oracle.updates && badges.deletes == oracle.deletes)
            for other in ["acme-lms", "awareness"] {
                let t = try report.target(other)
                #expect(t.status == "delivered" && t.gate == nil, "\(other): \(t.status)")
            }
            let read = try FeedChecks.expectFiles(of: badges, in: try newFilesFolder(ws, "badges", since: before))
            let full = try FeedChecks.dataFile("full", of: badges, in: read)
            // The held rows are still in the full file, with the values last delivered.
            #expect(Set(full.records.map(SampleDialects.badgeKey)) == dayOneKeys.union(keys.adds))
            for record in full.records where keys.deletes.contains(SampleDialects.badgeKey(record)) {
                #expect(
                    record == dayOneByKey[SampleDialects.badgeKey(record)],
                    "held row \(SampleDialects.badgeKey(record)) changed")
            }

            // Next run, same export: the deletes are found again, and held again.
            ws.now = "2026-03-03T08:00:00Z"
            let (again, second) = try ws.report(["run"])
            #expect(again.exitCode == 3, "\(again.stderr)")
            let held = try second.target("badges")
            #expect(held.deletes == oracle.deletes && held.adds == 0 && held.updates == 0)
            #expect(held.gate?.name == "maxDeletes")

            // Approved: the cardholders go.
            ws.now = "2026-03-03T09:00:00Z"
            let beforeRelease = ws.delivered("badges")
            let (released, third) = try ws.report(["run", "--allow-deletes", "\(oracle.deletes)"])
            #expect(released.exitCode == 0, "\(released.stderr)")
            let sent = try third.target("badges")
            #expect(sent.status == "delivered" && sent.gate == nil && sent.deletes == oracle.deletes)
            let last = try FeedChecks.dataFile(
                "full", of: sent,
                in: try FeedChecks.expectFiles(of: sent, in: try newFilesFolder(ws, "badges", since: beforeRelease)))
            #expect(
                Set(last.records.map(SampleDialects.badgeKey)) == dayOneKeys.union(keys.adds).subtracting(keys.deletes))
            #expect(last.records.count == oracle.rows)
        }
    }

    /// The day-1 report of TARGET, rebuilt from `state show --json` (the files it sent).
    func dayOneTarget(_ ws: FeedWorkspace, _ name: String) throws -> FeedReport.Target {
        struct Shown: Decodable { var files: [FeedReport.File] }
        let r = try ws.run(["state", "show", name, "--json"])
        try #require(r.exitCode == 0, "\(r.stderr)")
        var files = try JSONDecoder().decode(Shown.self, from: r.stdoutData).files
        for k in files.indices {
            files[k].kind =
                files[k].name.hasSuffix(".sha256") ? "checksum" : files[k].name.hasSuffix(".done") ? "trigger" : "full"
        }
        return FeedReport.Target(
            name: name, status: "delivered", rows: 0, adds: 0, updates: 0, deletes: 0, unchanged: 0,
            rejected: 0, files: files, gate: nil, error: nil, recovered: nil)
    }

    /// A temporary copy of the files in `outbox/TARGET` that were not there before (removed with the workspace).
    func newFilesFolder(_ ws: FeedWorkspace, _ target: String, since before: Set<String>) throws -> URL {
        let folder = ws.root.file("new-\(target)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for name in ws.delivered(target).subtracting(before) {
            try FileManager.default.copyItem(
                at: ws.outbox(target).appendingPathComponent(name), to: folder.appendingPathComponent(name))
        }
        return folder
    }

    // MARK: the state lock

    /// Holds an exclusive `flock` on a file, as a running dropfeed holds `state/.lock`.
    final class HeldLock: @unchecked Sendable {
        private let mutex = NSLock()
        private var fd: Int32

        init(_ url: URL) throws {
            fd = open(url.path, O_RDWR | O_CREAT, 0o600)
            try #require(fd >= 0, "cannot open \(url.path)")
            try #require(flock(fd, LOCK_EX | LOCK_NB) == 0, "cannot lock \(url.path)")
        }

        func release() {
            mutex.lock()
            defer { mutex.unlock() }
            if fd >= 0 {
                flock(fd, LOCK_UN)
                close(fd)
                fd = -1
            }
        }

        deinit { release() }
    }

    @Test func aRunWhileTheLockIsHeldExits75AtOnce() throws {
        try FeedWorkspace.with { ws in
            try deliverDayOne(&ws)
            try ws.nextDay()
            ws.now = Self.day2
            let state = ws.snapshotState()
            let outbox = ws.contents(of: "outbox")
            let lock = try HeldLock(ws.file("state/.lock"))
            // A dropfeed that waited for the lock would get it after 20 s (and exit 0): the test fails, it does not hang.
            DispatchQueue.global().asyncAfter(deadline: .now() + 20) { lock.release() }
            let start = Date()
            let (r, report) = try ws.report(["run"])
            let reset = try ws.run(["state", "reset", "badges"])
            let elapsed = Date().timeIntervalSince(start)
            lock.release()

            #expect(r.exitCode == 75, "\(r.stderr)")
            #expect(report.exitCode == 75)
            #expect(report.error?.contains("lock") == true, "\(report.error ?? "")")
            #expect(reset.exitCode == 75, "state reset while a run holds the lock: \(reset.stderr)")
            #expect(elapsed < 15, "waited \(elapsed) s for the lock")
            #expect(ws.contents(of: "outbox") == outbox)
            #expect(ws.snapshotState() == state)

            let (free, after) = try ws.report(["run"])
            #expect(free.exitCode == 0, "\(free.stderr)")
            #expect(after.targets.allSatisfy { $0.status == "delivered" })
        }
    }

    // MARK: a damaged snapshot

    @Test func aCorruptOrTruncatedSnapshotFailsItsTargetAndIsNeverTakenForEmpty() throws {
        try FeedWorkspace.with { ws in
            try deliverDayOne(&ws)
            func snapshot(_ target: String) throws -> URL {
                let current = try String(contentsOf: ws.file("state/\(target)/current"), encoding: .utf8)
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                let url = ws.file("state/\(target)/generations/\(current)/index.bin")
                try #require(FileManager.default.fileExists(atPath: url.path), "no snapshot at \(url.path)")
                return url
            }
            // acme-lms: one byte flipped in the middle; awareness: cut in half.
            var bytes = try Data(contentsOf: try snapshot("acme-lms"))
            bytes[bytes.count / 2] ^= 0xFF
            try bytes.write(to: try snapshot("acme-lms"))
            let whole = try Data(contentsOf: try snapshot("awareness"))
            try whole.prefix(whole.count / 2).write(to: try snapshot("awareness"))

            try ws.nextDay()
            ws.now = Self.day2
            let acmeBefore = ws.delivered("acme-lms")
            let awarenessBefore = ws.delivered("awareness")
            for command in ["plan", "run"] {
                let (r, report) = try ws.report([command])
                #expect(r.exitCode == 73, "\(command): \(r.stderr)")
                for name in ["acme-lms", "awareness"] {
                    let t = try report.target(name)
                    #expect(t.status == "failed", "\(command) \(name): \(t.status)")
                    #expect(t.error?.contains("corrupt") == true, "\(command) \(name): \(t.error ?? "")")
                    #expect(
                        t.files.isEmpty && t.adds == 0,
                        "\(command) \(name): planned \(t.adds) adds from a damaged snapshot")
                }
                #expect(r.stderr.contains("corrupt"))
            }
            #expect(ws.delivered("acme-lms") == acmeBefore, "a target with a corrupt snapshot delivered")
            #expect(ws.delivered("awareness") == awarenessBefore, "a target with a truncated snapshot delivered")
            // The healthy target is not held back.
            let badges = ws.delivered("badges")
            #expect(badges.count == 6, "badges has \(badges.sorted())")
        }
    }

    // MARK: configuration (78)

    @Test func validateListsEveryProblemAndRunRefuses() throws {
        try FeedWorkspace.with { ws in
            try ws.writeConfig("bad.json") { text in
                text.replacingExactly("delimiter: \",\",", with: "delimeter: \",\",")
                    .replacingExactly("{ directory: \"outbox/awareness\" }", with: "{ folder: \"outbox/awareness\" }")
            }
            try ws.edit("../mappings/acme-lms.json") { text in
                text.replacingExactly(
                    "{ name: \"email\", from: \"email\", transform: [\"trim\", \"lower\"] },",
                    with: "{ name: \"email\", from: \"email\", trasform: [\"trim\", \"lower\"] },"
                )
                .replacingExactly("mode: \"delta\",", with: "mode: \"weekly\",")
            }
            try ws.edit("../mappings/badge-system.json") {
                $0.replacingExactly("maxDeletes: 25,", with: "maxDeletes: \"many\",")
            }
            ws.config = "bad.json"

            let v = try ws.run(["validate"])
            #expect(v.exitCode == 78, "\(v.stderr)")
            let said = v.stdout + v.stderr
            for (file, path) in [
                ("bad.json", "source.delimeter"), ("bad.json", "targets[2].deliver"),
                ("acme-lms.json", "columns[2].trasform"), ("acme-lms.json", "output.mode"),
                ("badge-system.json", "safety.maxDeletes"),
            ] {
                #expect(said.contains(where: file, path), "validate did not report \(file): \(path)\n\(said)")
            }
            for command in ["plan", "run"] {
                let r = try ws.run([command])
                #expect(r.exitCode == 78, "\(command): \(r.stderr)")
                #expect(r.stderr.contains("delimeter"), "\(command): \(r.stderr)")
            }
            #expect(!ws.exists("state") && !ws.exists("outbox"))
        }
    }

    /// `validate` lists the mapping's unknown source columns too, when other problems are present.
    @Test func validateListsSourceColumnProblemsBesideOtherProblems() throws {
        try FeedWorkspace.with { ws in
            try ws.edit("../mappings/acme-lms.json") { text in
                text.replacingExactly(
                    "{ name: \"email\", from: \"email\", transform: [\"trim\", \"lower\"] },",
                    with: "{ name: \"email\", from: \"email\", trasform: [\"trim\", \"lower\"] },")
            }
            try ws.edit("../mappings/badge-system.json") {
                $0.replacingExactly("{ column: \"location\", notIn", with: "{ column: \"locaton\", notIn")
            }
            let v = try ws.run(["validate"])
            #expect(v.exitCode == 78)
            let said = v.stdout + v.stderr
            #expect(said.contains(where: "acme-lms.json", "columns[2].trasform"), "\(said)")
            #expect(
                said.contains(where: "badge-system.json", "where[0].column"),
                "the unknown source column `locaton` is not listed:\n\(said)")
        }
    }

    /// The contract: `run --json` prints one JSON object, also when the config is invalid.
    @Test func runJSONReportsABadConfig() throws {
        try FeedWorkspace.with { ws in
            try ws.writeConfig("bad.json") { $0.replacingExactly("delimiter: \",\",", with: "delimeter: \",\",") }
            ws.config = "bad.json"
            let (r, report) = try ws.report(["run"])
            #expect(r.exitCode == 78)
            #expect(report.exitCode == 78 && !report.ok)
            #expect(report.error?.contains("delimeter") == true)
        }
    }

    @Test func aMappingNamingAColumnTheSourceLacks() throws {
        try FeedWorkspace.with { ws in
            try ws.edit("../mappings/badge-system.json") {
                $0.replacingExactly(
                    "{ name: \"cost_center\", from: \"cost_center\"",
                    with: "{ name: \"cost_center\", from: \"cost_centre\"")
            }
            let v = try ws.run(["validate"])
            #expect(v.exitCode == 78)
            #expect((v.stdout + v.stderr).contains(where: "badge-system.json", "columns[10].from"), "\(v.stdout)")
            #expect((v.stdout + v.stderr).contains("cost_centre"))
            for command in ["plan", "run"] {
                let (r, report) = try ws.report([command])
                #expect(r.exitCode == 65, "\(command): \(r.stderr)")
                #expect(report.error?.contains("cost_centre") == true, "\(report.error ?? "")")
                #expect(report.targets.allSatisfy { $0.status != "delivered" && $0.files.isEmpty })
            }
            #expect(!ws.exists("outbox"), "the export changed shape, yet something was delivered")
        }
    }

    // MARK: the source (65, 66)

    @Test func aMalformedSourceNamesFileLineAndColumn() throws {
        try FeedWorkspace.with { ws in
            // Three good records, then one whose second field opens a quote that never closes.
            let text = try String(contentsOf: ws.file("hr_export.csv"), encoding: .utf8)
            let lines = text.components(separatedBy: "\r\n")
            let bad =
                lines.prefix(4).joined(separator: "\r\n") + "\r\n"
                + "E99999,\"Ann,Lee,,ann.lee@northwind.example,Sales,Rep,Boston,A,Employee,01/02/2020,,,,,US,\r\n"
                + "E99998,Bob,Lee,,bob.lee@northwind.example,Sales,Rep,Boston,A,Employee,01/02/2020,,,,,US,\r\n"
            try Data(bad.utf8).write(to: ws.file("hr_export.csv"))
            for command in ["plan", "run"] {
                let (r, report) = try ws.report([command])
                #expect(r.exitCode == 65, "\(command): \(r.stderr)")
                #expect(report.error?.contains("hr_export.csv:5:8") == true, "\(report.error ?? "")")
                #expect(r.stderr.contains("hr_export.csv:5:8"), "\(r.stderr)")
                #expect(r.stderr.lowercased().contains("unterminated"), "\(r.stderr)")
            }
            #expect(!ws.exists("outbox"))
        }
    }

    @Test func aMissingSourceIs66() throws {
        try FeedWorkspace.with { ws in
            try FileManager.default.removeItem(at: ws.file("hr_export.csv"))
            for command in ["plan", "run"] {
                let (r, report) = try ws.report([command])
                #expect(r.exitCode == 66, "\(command): \(r.stderr)")
                #expect(report.error?.contains("hr_export.csv") == true, "\(report.error ?? "")")
            }
            let v = try ws.run(["validate"])
            #expect(v.exitCode == 78)
            #expect((v.stdout + v.stderr).contains("source.path"), "\(v.stdout)")
            #expect(!ws.exists("outbox"))
        }
    }

    // MARK: a delivery that fails

    @Test func aFailedDeliveryIsFinishedByTheNextRun() throws {
        let oracle = try FeedOracle.sampleCounts()
        let keys = try FeedOracle.sampleKeys("badges")
        try FeedWorkspace.with { ws in
            try deliverDayOne(&ws)
            let dayOneKeys = Set(
                try #require(
                    try FeedChecks.expectFiles(of: try dayOneTarget(ws, "badges"), in: ws.outbox("badges")).values.first
                )
                .records.map(SampleDialects.badgeKey))
            try ws.nextDay()
            ws.now = Self.day2
            // The vendor's folder cannot be created: a regular file sits where it should be.
            try FileManager.default.moveItem(at: ws.outbox("badges"), to: ws.file("outbox/badges-aside"))
            try Data("not a folder\n".utf8).write(to: ws.outbox("badges"))
            let shown = try ws.run(["state", "show", "badges", "--json"])

            let (r, failed) = try ws.report(["run"])
            #expect(r.exitCode == 69, "\(r.stderr)")
            let badges = try failed.target("badges")
            #expect(badges.status == "failed")
            #expect(badges.error != nil)
            #expect(!badges.files.isEmpty, "the report names the files that were to go")
            for other in ["acme-lms", "awareness"] {
                #expect((try failed.target(other)).status == "delivered", "\(other) was held back by badges")
            }
            let after = try ws.run(["state", "show", "badges", "--json"])
            #expect(after.stdout == shown.stdout, "the snapshot of a failed target moved")

            // The folder is back: the next run finishes the pending delivery, then commits.
            try FileManager.default.removeItem(at: ws.outbox("badges"))
            try FileManager.default.moveItem(at: ws.file("outbox/badges-aside"), to: ws.outbox("badges"))
            let beforeRecovery = ws.delivered("badges")
            ws.now = "2026-03-03T08:00:00Z"
            let (again, recovered) = try ws.report(["run"])
            #expect(again.exitCode == 0, "\(again.stderr)")
            let finished = try recovered.target("badges")
            #expect(
                Set(finished.recovered ?? []) == Set(badges.files.map(\.name)), "recovered: \(finished.recovered ?? [])"
            )
            #expect(ws.delivered("badges") == beforeRecovery.union(badges.files.map(\.name)))
            // Same names, same bytes as the failed run announced.
            let read = try FeedChecks.expectFiles(
                of: badges, in: try newFilesFolder(ws, "badges", since: beforeRecovery))
            let full = try FeedChecks.dataFile("full", of: badges, in: read)
            #expect(
                Set(full.records.map(SampleDialects.badgeKey)) == dayOneKeys.subtracting(keys.deletes).union(keys.adds),
                "the vendor does not end with every change")
            #expect(full.records.count == (try oracle.target("badges").next.rows))
            #expect(
                finished.adds == 0 && finished.updates == 0 && finished.deletes == 0,
                "the changes were computed against the old snapshot")

            struct Shown: Decodable {
                var runId: String
                var rows: Int
            }
            let committed = try JSONDecoder().decode(
                Shown.self, from: try ws.run(["state", "show", "badges", "--json"]).stdoutData)
            let previous = try JSONDecoder().decode(Shown.self, from: shown.stdoutData)
            let expectedRows = try oracle.target("badges").next.rows
            #expect(committed.runId != previous.runId && committed.rows == expectedRows)

            // And nothing is delivered twice.
            ws.now = "2026-03-03T09:00:00Z"
            let delivered = ws.contents(of: "outbox")
            let (third, quiet) = try ws.report(["run"])
            #expect(third.exitCode == 0)
            #expect(quiet.targets.allSatisfy { $0.status == "unchanged" })
            #expect(ws.contents(of: "outbox") == delivered)
        }
    }
}

extension String {
    /// Whether a line says `FILE…: PATH` (a problem at that JSON path of that file).
    func contains(where file: String, _ path: String) -> Bool {
        split(separator: "\n").contains { line in
            guard let at = line.range(of: file) else { return false }
            return line[at.upperBound...].contains(": \(path)")
        }
    }
}
