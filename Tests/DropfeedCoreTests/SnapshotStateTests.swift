import Foundation
import Testing

@testable import DropfeedCore

/// Snapshots on disk (`TargetState`): round trip, corruption detection, the delivery journal,
/// commit/rollback/reset, the history bound, permissions, and the state lock.
struct SnapshotStateTests {
    static func mode(_ path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    static func stateError(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch let error as StateError {
            return error.message
        } catch {
            return "not a StateError: \(error)"
        }
    }

    // MARK: - Round trip and corruption

    typealias F = FeedRunnerTests

    /// The rows the mapping makes of `people`, in key order (the snapshot's order).
    static func expectedRows(_ people: F.People) -> [[String]] {
        people.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }.map { F.mapped($0, people[$0]!) }
    }

    static func people(_ n: Int, tag: String = "") -> F.People {
        var out: F.People = [:]
        for i in 0..<n {
            out["\(i)"] = [i % 5 == 0 ? "" : "Zoë \(i)\(tag)", "u\(i)\(tag)@x.org", i % 7 == 0 ? "Dépt, \"Q\"\n" : "d\(i % 4)"]
        }
        return out
    }

    @Test func snapshotRoundTripsThroughARun() throws {
        let w = try F.feed()
        let people = Self.people(257)
        try F.writeSource(w, people)
        let report = try w.execute()
        let snapshot = try #require(try w.state("lms").currentRows())
        #expect(snapshot.rows == Self.expectedRows(people))
        #expect(snapshot.meta.runId == report.runId && snapshot.meta.rows == 257)
        #expect(snapshot.meta.columns == ["user_id", "name", "email", "dept"] && snapshot.meta.key == ["user_id"])
        #expect(snapshot.meta.format == 2)
        #expect(snapshot.meta.files.map(\.name) == ["lms_0001_delta.csv"])
        let generation = "state/lms/generations/\(report.runId)"
        #expect(w.files(in: generation) == ["index.bin", "meta.json", "unmapped.bin"])
        #expect(w.files(in: "state/lms/segments") == ["\(report.runId).seg"])
        #expect(try Self.mode(w.path(generation)) == 0o700)
        #expect(try Self.mode(w.path(generation + "/index.bin")) == 0o600)
        #expect(try Self.mode(w.path(generation + "/meta.json")) == 0o600)
        #expect(try Self.mode(w.path("state/lms/segments/\(report.runId).seg")) == 0o600)
    }

    /// A night with one change writes a segment holding that row only; both generations share
    /// the first segment.
    @Test func aDeltaNightStoresOnlyTheChangedRows() throws {
        let w = try F.feed()
        var people = Self.people(500)
        try F.writeSource(w, people)
        let first = try w.execute()
        people["42"]![0] = "Changed"
        people["501"] = ["New", "n@x.org", "d1"]
        try F.writeSource(w, people)
        let second = try w.execute()
        #expect((second.target("lms")?.adds, second.target("lms")?.updates) == (1, 1))
        let segments = w.path("state/lms/segments/")
        let firstSize = try FileManager.default.attributesOfItem(atPath: segments + "\(first.runId).seg")[.size] as! Int
        let secondSize = try FileManager.default.attributesOfItem(atPath: segments + "\(second.runId).seg")[.size] as! Int
        #expect(secondSize * 50 < firstSize, "second segment \(secondSize) bytes, first \(firstSize)")
        let meta = try w.state("lms").meta(runId: second.runId)
        #expect(meta.segments?.map(\.name) == ["\(first.runId).seg", "\(second.runId).seg"])
        #expect(try w.state("lms").currentRows()?.rows == Self.expectedRows(people))
        // A third night with nothing new sends nothing and keeps the rows.
        let third = try w.execute()
        #expect(third.target("lms")?.status == .unchanged)
        #expect(try w.state("lms").currentRows()?.rows == Self.expectedRows(people))
    }

    @Test func emptySnapshotRoundTrips() throws {
        let w = try F.feed()
        try F.writeSource(w, [:])
        let report = try w.execute(allowShrink: true)
        #expect(report.exitCode == .success, "\(report.text)")
        #expect(try w.state("lms").currentRows()?.rows == [])
    }

    enum Damage: String, CaseIterable, Sendable {
        case firstByte, middleByte, lastByte, truncated, extraByte, empty
    }

    static func damage(_ file: String, _ damage: Damage) throws {
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
        switch damage {
        case .firstByte: bytes[0] ^= 0x01
        case .middleByte: bytes[bytes.count / 2] ^= 0x80
        case .lastByte: bytes[bytes.count - 1] &+= 1
        case .truncated: bytes.removeLast()
        case .extraByte: bytes.append(0)
        case .empty: bytes = []
        }
        try Data(bytes).write(to: URL(fileURLWithPath: file))
    }

    @Test(arguments: Damage.allCases)
    func aDamagedIndexIsReportedAsCorrupt(_ damage: Damage) throws {
        let w = try F.feed()
        try F.writeSource(w, Self.people(40))
        let report = try w.execute()
        try Self.damage(w.path("state/lms/generations/\(report.runId)/index.bin"), damage)
        let message = Self.stateError { _ = try w.state("lms").currentRows() }
        #expect(message?.contains("is corrupt") == true, "\(message ?? "no error")")
        #expect(message?.contains("dropfeed state rollback lms") == true, "\(message ?? "no error")")
    }

    /// A damaged segment is found when its rows are read, never read as other rows.
    @Test(arguments: Damage.allCases)
    func aDamagedSegmentIsReportedAsCorrupt(_ damage: Damage) throws {
        let w = try F.feed()
        try F.writeSource(w, Self.people(40))
        let report = try w.execute()
        try Self.damage(w.path("state/lms/segments/\(report.runId).seg"), damage)
        let message = Self.stateError { _ = try w.state("lms").currentRows() }
        #expect(message?.contains("corrupt") == true, "\(message ?? "no error")")
        #expect(message?.contains("lms") == true)
    }

    @Test func garbageOrMissingMetadataIsAnError() throws {
        let w = try F.feed()
        try F.writeSource(w, Self.people(3))
        let report = try w.execute()
        let generation = "state/lms/generations/\(report.runId)"
        let good = try w.read(generation + "/meta.json")
        try w.write(generation + "/meta.json", "{ not json")
        #expect(Self.stateError { _ = try w.state("lms").currentRows() }?.contains("meta.json is corrupt") == true)
        try w.write(generation + "/meta.json", "{\"runId\": \"r1\"}")
        #expect(Self.stateError { _ = try w.state("lms").currentRows() }?.contains("meta.json is corrupt") == true)
        // A format from a later release is named as such, not called corrupt.
        try w.write(generation + "/meta.json", good.replacingOccurrences(of: "\"format\" : 2", with: "\"format\" : 3"))
        let newer = Self.stateError { _ = try w.state("lms").currentRows() }
        #expect(newer?.contains("has format 3") == true && newer?.contains("newer dropfeed") == true, "\(newer ?? "")")
        try FileManager.default.removeItem(atPath: w.path(generation + "/meta.json"))
        #expect(Self.stateError { _ = try w.state("lms").currentRows() }?.contains("has no meta.json") == true)
        try w.write(generation + "/meta.json", good)
        try FileManager.default.removeItem(atPath: w.path(generation + "/index.bin"))
        #expect(Self.stateError { _ = try w.state("lms").currentRows() }?.contains("is missing") == true)
    }

    /// A corrupt snapshot in force fails the target (exit 73) instead of turning every row into an add.
    @Test func aCorruptCurrentSnapshotFailsTheRun() throws {
        let w = try F.feed()
        try F.writeSource(w, F.people(3))
        let first = try w.execute()
        try Self.damage(w.path("state/lms/generations/\(first.runId)/index.bin"), .middleByte)
        let report = try w.execute()
        let lms = try #require(report.target("lms"))
        #expect(lms.status == .failed)
        #expect(lms.exitCode == .cannotCreate)
        #expect(lms.error?.contains("corrupt") == true)
        #expect(lms.adds == 0)
        #expect(w.files(in: "outbox/lms").count == 1)
    }

    // MARK: - Journal, commit, rollback, reset

    @Test func aFailedPutLeavesAPendingDeliveryThatTheNextRunCommits() throws {
        let w = try F.feed()
        let people = Self.people(9)
        try F.writeSource(w, people)
        let drops = MemoryDropProvider()
        drops.drop(named: "lms").fail(.put)
        let failed = try w.execute(drops: drops)
        #expect(failed.target("lms")?.status == .failed)
        #expect(failed.target("lms")?.exitCode == .unavailable)
        let state = w.state("lms")
        let journal = try #require(try state.pendingJournal())
        #expect(journal.files.map(\.name) == ["lms_0001_delta.csv"])
        #expect(journal.files.first?.delivered == false)
        #expect(FileManager.default.fileExists(atPath: state.pendingFilesFolder + "/lms_0001_delta.csv"))
        #expect(try state.currentRunId() == nil)
        #expect(drops.drop(named: "lms").files.isEmpty)

        let finished = try w.execute(drops: drops)
        #expect(finished.exitCode == .success, "\(finished.text)")
        #expect(finished.target("lms")?.recovered == ["lms_0001_delta.csv"])
        #expect(try state.currentRunId() == journal.runId)
        #expect(try state.pendingJournal() == nil)
        #expect(!FileManager.default.fileExists(atPath: state.pendingFolder))
        #expect(state.generations() == [journal.runId])
        #expect(try state.currentRows()?.rows == Self.expectedRows(people))
        #expect(drops.drop(named: "lms").files.keys.sorted() == ["lms_0001_delta.csv"])
        // Permissions: folders 0700, files 0600.
        #expect(try Self.mode(state.folder) == 0o700)
        #expect(try Self.mode(state.generationsFolder) == 0o700)
        #expect(try Self.mode(state.segmentsFolder) == 0o700)
        #expect(try Self.mode(state.currentFile) == 0o600)
    }

    /// A close that fails after every file arrived still leaves the delivery pending (the
    /// server may not have kept the last file); the next run checks and commits.
    @Test func aFailedCloseKeepsTheDeliveryPending() throws {
        let w = try F.feed()
        try F.writeSource(w, Self.people(4))
        let drops = MemoryDropProvider()
        drops.drop(named: "lms").fail(.close)
        let failed = try w.execute(drops: drops)
        #expect(failed.target("lms")?.status == .failed)
        #expect(try w.state("lms").pendingJournal()?.remaining.isEmpty == true)
        let next = try w.execute(drops: drops)
        #expect(next.exitCode == .success, "\(next.text)")
        #expect(try w.state("lms").pendingJournal() == nil)
        #expect(drops.drop(named: "lms").calls.filter { $0.hasPrefix("put") }.count == 1)
    }

    @Test func aFailedOpenSendsNothingAndMovesNothing() throws {
        let w = try F.feed()
        try F.writeSource(w, Self.people(4))
        let drops = MemoryDropProvider()
        drops.drop(named: "lms").fail(.open)
        let failed = try w.execute(drops: drops)
        #expect(failed.exitCode == .unavailable)
        #expect(try w.state("lms").currentRunId() == nil)
        #expect(drops.drop(named: "lms").calls == ["open"])
    }

    /// Runs `count` nights, each with one more person.
    static func runNights(_ w: FeedWorkspace, count: Int, changeAll: Bool = false) throws -> [String] {
        var ids: [String] = []
        for i in 1...count {
            try F.writeSource(w, people(i, tag: changeAll ? "n\(i)" : ""))
            let report = try w.execute()
            #expect(report.exitCode == .success, "\(report.text)")
            ids.append(report.runId)
        }
        return ids
    }

    @Test func historyIsBoundedAndUnusedSegmentsGo() throws {
        let w = try F.feed()
        let ids = try Self.runNights(w, count: TargetState.history + 3, changeAll: true)
        let state = w.state("lms")
        #expect(state.generations() == Array(ids.suffix(TargetState.history)))
        #expect(try state.currentRunId() == ids.last)
        // Every segment left is used by a kept generation, and every used one is there.
        var used = Set<String>()
        for id in state.generations() { for s in try state.meta(runId: id).segments ?? [] { used.insert(s.name) } }
        #expect(Set(w.files(in: "state/lms/segments")) == used)
        // Every row changed every night: the dropped generations' segments went with them.
        for id in ids.prefix(ids.count - TargetState.history) { #expect(!used.contains("\(id).seg")) }
    }

    @Test func rollbackWalksBackAndResetForgets() throws {
        let w = try F.feed()
        let ids = try Self.runNights(w, count: 3)
        let state = w.state("lms")
        #expect(try state.rollback() == ids[1])
        #expect(try state.currentRunId() == ids[1])
        #expect(try state.currentRows()?.rows.count == 2)
        #expect(state.generations() == [ids[0], ids[1]])
        #expect(try state.rollback() == ids[0])
        #expect(Self.errorText { _ = try state.rollback() }?.contains("no earlier snapshot") == true)
        #expect(try state.currentRunId() == ids[0])
        #expect(try state.currentRows()?.rows == Self.expectedRows(Self.people(1)))

        try state.reset()
        #expect(try state.currentRunId() == nil)
        #expect(try state.currentRows() == nil)
        #expect(state.generations() == [ids[0]])
        // After a reset, rollback brings the newest snapshot back.
        #expect(try state.rollback() == ids[0])
        #expect(try state.currentRows()?.rows.count == 1)
    }

    @Test func resetAndRollbackDropAPendingDelivery() throws {
        let w = try F.feed()
        _ = try Self.runNights(w, count: 2)
        let drops = MemoryDropProvider()
        try F.writeSource(w, Self.people(3))
        drops.drop(named: "lms").fail(.put)
        _ = try w.execute(drops: drops)
        let state = w.state("lms")
        #expect(try state.pendingJournal() != nil)
        _ = try state.rollback()
        #expect(try state.pendingJournal() == nil)
        drops.drop(named: "lms").fail(.put)
        _ = try w.execute(drops: drops)
        #expect(try state.pendingJournal() != nil)
        try state.reset()
        #expect(try state.pendingJournal() == nil)
        let error = Self.errorText { _ = try TargetState(stateDir: w.path("state"), target: "empty").rollback() }
        #expect(error?.contains("has no earlier snapshot to roll back to") == true, "\(error ?? "")")
    }

    static func errorText(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// After `state rollback` the next delta re-sends what the rolled-back run sent; after
    /// `state reset` the next run sends every row as an add. Neither reuses a file name.
    @Test func resetAndRollbackThroughRuns() throws {
        let w = try FeedRunnerTests.feed()
        var people = FeedRunnerTests.people(3)
        try FeedRunnerTests.writeSource(w, people)
        _ = try w.execute()
        people["2"]![0] = "Renamed"
        try FeedRunnerTests.writeSource(w, people)
        #expect(try w.execute().target("lms")?.updates == 1)
        let state = w.state("lms")
        _ = try state.rollback()
        #expect(state.highestSeq() == 2)
        let resent = try w.execute()
        #expect(resent.target("lms")?.status == .delivered)
        #expect(resent.target("lms")?.updates == 1)
        #expect(resent.target("lms")?.files.map(\.name) == ["lms_0003_delta.csv"])
        #expect(try w.readCSV("outbox/lms/lms_0003_delta.csv") == w.readCSV("outbox/lms/lms_0002_delta.csv"))
        try state.reset()
        #expect(state.highestSeq() == 3)
        let full = try w.execute()
        #expect(full.target("lms")?.status == .delivered)
        #expect((full.target("lms")?.adds, full.target("lms")?.updates) == (3, 0))
        #expect(full.target("lms")?.files.map(\.name) == ["lms_0004_delta.csv"])
        #expect(try w.readCSV("outbox/lms/lms_0004_delta.csv").map(\.[0]) == ["action", "A", "A", "A"])
    }

    @Test func runLeavesPrivateStateFiles() throws {
        let w = try FeedRunnerTests.feed()
        try FeedRunnerTests.writeSource(w, FeedRunnerTests.people(2))
        let report = try w.execute()
        #expect(try Self.mode(w.path("state")) == 0o700)
        #expect(try Self.mode(w.path("state/lms")) == 0o700)
        #expect(try Self.mode(w.path("state/.lock")) == 0o600)
        #expect(try Self.mode(w.path("state/source.json")) == 0o600)
        let generation = "state/lms/generations/\(report.runId)"
        #expect(try Self.mode(w.path(generation)) == 0o700)
        #expect(try Self.mode(w.path(generation + "/index.bin")) == 0o600)
        #expect(try Self.mode(w.path(generation + "/meta.json")) == 0o600)
        #expect(try Self.mode(w.path("state/lms/current")) == 0o600)
        // Nothing is left behind in the state directory but the snapshot and its history.
        #expect(w.files(in: "state/lms") == ["current", "generations", "segments"])
    }

    // MARK: - The lock

    @Test func aSecondLockOnTheSameDirectoryFails() throws {
        let w = try FeedWorkspace()
        var first: StateLock? = try StateLock(stateDir: w.path("state"))
        #expect(throws: LockedError.self) { _ = try StateLock(stateDir: w.path("state")) }
        do { _ = try StateLock(stateDir: w.path("state")) } catch let error as LockedError {
            #expect(error.exitCode == .temporaryFailure)
            #expect(error.description.contains("another dropfeed run holds the lock"))
        }
        // Another state directory is independent.
        let other = try StateLock(stateDir: w.path("other"))
        withExtendedLifetime(other) {}
        withExtendedLifetime(first) {}
        first = nil
        // Released: the lock can be taken again.
        let again = try StateLock(stateDir: w.path("state"))
        withExtendedLifetime(again) {}
        #expect(try Self.mode(w.path("state")) == 0o700)
        #expect(try Self.mode(w.path("state/.lock")) == 0o600)
    }
}
