import Foundation
import Testing

@testable import DropfeedCore

/// Snapshots on disk (`TargetState`): round trip, corruption detection, the delivery journal,
/// commit/rollback/reset, the history bound, permissions, and the state lock.
struct SnapshotStateTests {
    static let columns = ["site", "user_id", "name", "email"]

    static func rows(_ n: Int, tag: String = "") -> RowSet {
        var set = RowSet(columns: columns, keyPositions: [0, 1])
        for i in 0..<n {
            set.append(["s\(i % 3)", "u\(i)", i % 5 == 0 ? "" : "Zoë \(i)\(tag)", "u\(i)@x.org"], line: i + 2)
        }
        set.index.sort()
        return set
    }

    static func meta(_ runId: String, rows: Int, seq: Int = 1) -> SnapshotMeta {
        SnapshotMeta(
            target: "t", runId: runId, time: "2026-11-29T02:00:00Z", columns: columns, key: ["site", "user_id"],
            rows: rows, seq: seq,
            files: [
                FileRecord(name: "t_\(seq).csv", kind: "delta", rows: rows, bytes: 10, sha256: "ab", delivered: nil)
            ],
            arenaBytes: 0, entryCount: 0, keyBytes: 0, checksum: "")
    }

    /// Run ids that sort in the order they are made, as real ones do.
    static func runId(_ n: Int) -> String { "202611\(n < 10 ? "0" : "")\(n)T020000Z-00\(n < 10 ? "0" : "")\(n)" }

    /// The rows of a set keyed by their user id, as byte arrays.
    static func contents(_ set: RowSet) -> [String: [[UInt8]]] {
        var out: [String: [[UInt8]]] = [:]
        for entry in set.index.entries {
            let row = set.row(entry)
            out[row[1]] = row.map { Array($0.utf8) }
        }
        return out
    }

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

    @Test func snapshotRoundTrips() throws {
        let w = try FeedWorkspace()
        let folder = w.path("snap")
        let original = Self.rows(257)
        try TargetState.writeSnapshot(original, meta: Self.meta("r1", rows: 257), to: folder)
        let (loaded, meta) = try TargetState(stateDir: w.path("state"), target: "t").loadSnapshot(folder)
        #expect(
            meta.runId == "r1" && meta.rows == 257 && meta.columns == Self.columns && meta.key == ["site", "user_id"])
        #expect(meta.files.map(\.name) == ["t_1.csv"])
        #expect(meta.entryCount == 257 && !meta.checksum.isEmpty)
        #expect(loaded.columns == Self.columns)
        #expect(loaded.keyPositions == [0, 1])
        #expect(Self.contents(loaded) == Self.contents(original))
        #expect(loaded.arena == original.arena && loaded.index.keyBytes == original.index.keyBytes)
        let match = KeyIndex.match(old: loaded.index, new: original.index)
        #expect(match.unchanged == 257 && match.changed.isEmpty && match.onlyOld.isEmpty && match.onlyNew.isEmpty)
        #expect(try Self.mode(folder) == 0o700)
        #expect(try Self.mode(folder + "/snapshot.bin") == 0o600)
        #expect(try Self.mode(folder + "/meta.json") == 0o600)
    }

    @Test func emptySnapshotRoundTrips() throws {
        let w = try FeedWorkspace()
        try TargetState.writeSnapshot(Self.rows(0), meta: Self.meta("r0", rows: 0), to: w.path("snap"))
        let (loaded, _) = try TargetState(stateDir: w.path("state"), target: "t").loadSnapshot(w.path("snap"))
        #expect(loaded.count == 0)
    }

    enum Damage: String, CaseIterable, Sendable {
        case firstByte, middleByte, lastByte, truncated, extraByte, empty
    }

    @Test(arguments: Damage.allCases)
    func damagedSnapshotIsReportedAsCorrupt(_ damage: Damage) throws {
        let w = try FeedWorkspace()
        let folder = w.path("snap")
        try TargetState.writeSnapshot(Self.rows(40), meta: Self.meta("r1", rows: 40), to: folder)
        let file = folder + "/snapshot.bin"
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
        let message = Self.stateError {
            _ = try TargetState(stateDir: w.path("state"), target: "t").loadSnapshot(folder)
        }
        #expect(message?.contains("snapshot of target `t` is corrupt") == true, "\(message ?? "no error")")
        #expect(message?.contains("dropfeed state rollback t") == true)
    }

    @Test func garbageOrMissingMetadataIsAnError() throws {
        let w = try FeedWorkspace()
        let folder = w.path("snap")
        let state = TargetState(stateDir: w.path("state"), target: "t")
        try TargetState.writeSnapshot(Self.rows(3), meta: Self.meta("r1", rows: 3), to: folder)
        try w.write("snap/meta.json", "{ not json")
        #expect(Self.stateError { _ = try state.loadSnapshot(folder) }?.contains("meta.json is corrupt") == true)
        try w.write("snap/meta.json", "{\"runId\": \"r1\"}")
        #expect(Self.stateError { _ = try state.loadSnapshot(folder) }?.contains("meta.json is corrupt") == true)
        try FileManager.default.removeItem(atPath: folder + "/meta.json")
        #expect(Self.stateError { _ = try state.loadSnapshot(folder) }?.contains("has no meta.json") == true)

        try TargetState.writeSnapshot(Self.rows(3), meta: Self.meta("r1", rows: 3), to: folder)
        try FileManager.default.removeItem(atPath: folder + "/snapshot.bin")
        #expect(Self.stateError { _ = try state.loadSnapshot(folder) }?.contains("snapshot.bin is missing") == true)
    }

    /// A corrupt snapshot in force fails the target (exit 73) instead of turning every row into an add.
    @Test func aCorruptCurrentSnapshotFailsTheRun() throws {
        let w = try FeedRunnerTests.feed()
        try FeedRunnerTests.writeSource(w, FeedRunnerTests.people(3))
        let first = try w.execute()
        let bin = w.path("state/lms/generations/\(first.runId)/snapshot.bin")
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: bin)))
        bytes[5] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: bin))
        let report = try w.execute()
        let lms = try #require(report.target("lms"))
        #expect(lms.status == .failed)
        #expect(lms.exitCode == .cannotCreate)
        #expect(lms.error?.contains("corrupt") == true)
        #expect(lms.adds == 0)
        #expect(w.files(in: "outbox/lms").count == 1)
    }

    // MARK: - Journal, commit, rollback, reset

    /// Stages a delivery of `rows` with one data file, as a run does.
    static func stage(_ state: TargetState, _ w: FeedWorkspace, runId: String, rows: RowSet, seq: Int = 1) throws
        -> Journal
    {
        let staging = w.path("staging-\(runId)")
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        try w.write("staging-\(runId)/t_\(seq).csv", "user_id\nu1\n")
        let journal = Journal(
            runId: runId, target: "t", time: "2026-11-29T02:00:00Z",
            files: [FileRecord(name: "t_\(seq).csv", kind: "delta", rows: 1, bytes: 11, sha256: "x", delivered: false)])
        try state.stage(
            journal: journal, filesFolder: staging, snapshot: rows, meta: Self.meta(runId, rows: rows.count, seq: seq))
        #expect(!FileManager.default.fileExists(atPath: staging))
        return journal
    }

    @Test func stageThenCommit() throws {
        let w = try FeedWorkspace()
        let state = TargetState(stateDir: w.path("state"), target: "t")
        #expect(try state.pendingJournal() == nil)
        #expect(try state.pendingSnapshot() == nil)
        #expect(try state.loadCurrent() == nil)

        let rows = Self.rows(9)
        var journal = try Self.stage(state, w, runId: Self.runId(1), rows: rows)
        #expect(try state.pendingJournal()?.files.map(\.name) == ["t_1.csv"])
        #expect(try state.pendingJournal()?.files.first?.delivered == false)
        #expect(FileManager.default.fileExists(atPath: state.pendingFilesFolder + "/t_1.csv"))
        #expect(try state.pendingSnapshot().map { Self.contents($0.0) } == Self.contents(rows))
        #expect(try state.currentRunId() == nil)

        // A second delivery cannot be staged over a pending one.
        let again = Self.stateError { _ = try Self.stage(state, w, runId: Self.runId(2), rows: rows) }
        #expect(again?.contains("already has a pending delivery") == true)

        journal.files[0].delivered = true
        try state.saveJournal(journal)
        #expect(try state.pendingJournal()?.files.first?.delivered == true)

        try state.commitPending(runId: journal.runId)
        #expect(try state.currentRunId() == Self.runId(1))
        #expect(try state.pendingJournal() == nil)
        #expect(!FileManager.default.fileExists(atPath: state.pendingFolder))
        #expect(state.generations() == [Self.runId(1)])
        let current = try #require(try state.loadCurrent())
        #expect(Self.contents(current.0) == Self.contents(rows))
        #expect(try state.meta(runId: Self.runId(1)).rows == 9)

        // Permissions: folders 0700, files 0600.
        #expect(try Self.mode(state.folder) == 0o700)
        #expect(try Self.mode(state.generationsFolder) == 0o700)
        #expect(try Self.mode(state.generationsFolder + "/" + Self.runId(1)) == 0o700)
        #expect(try Self.mode(state.currentFile) == 0o600)
        #expect(try Self.mode(state.generationsFolder + "/" + Self.runId(1) + "/snapshot.bin") == 0o600)
    }

    @Test func commitWithoutAStagedSnapshotFails() throws {
        let w = try FeedWorkspace()
        let state = TargetState(stateDir: w.path("state"), target: "t")
        #expect(
            Self.stateError { try state.commitPending(runId: "nope") }?.contains("has no snapshot to commit") == true)
    }

    /// Commits `count` generations r1…rN, each with `i` rows.
    static func commitGenerations(_ state: TargetState, _ w: FeedWorkspace, count: Int) throws {
        for i in 1...count {
            let journal = try stage(state, w, runId: runId(i), rows: rows(i), seq: i)
            try state.commitPending(runId: journal.runId)
        }
    }

    @Test func historyIsBounded() throws {
        let w = try FeedWorkspace()
        let state = TargetState(stateDir: w.path("state"), target: "t")
        try Self.commitGenerations(state, w, count: TargetState.history + 3)
        #expect(state.generations() == (4...(TargetState.history + 3)).map(Self.runId))
        #expect(try state.currentRunId() == Self.runId(TargetState.history + 3))
    }

    @Test func rollbackWalksBackAndResetForgets() throws {
        let w = try FeedWorkspace()
        let state = TargetState(stateDir: w.path("state"), target: "t")
        try Self.commitGenerations(state, w, count: 3)
        #expect(try state.rollback() == Self.runId(2))
        #expect(try state.currentRunId() == Self.runId(2))
        #expect(try state.loadCurrent()?.0.count == 2)
        #expect(state.generations() == [Self.runId(1), Self.runId(2)])
        #expect(try state.rollback() == Self.runId(1))
        #expect(Self.stateError { _ = try state.rollback() }?.contains("no earlier snapshot") == true)
        #expect(try state.currentRunId() == Self.runId(1))

        try state.reset()
        #expect(try state.currentRunId() == nil)
        #expect(try state.loadCurrent() == nil)
        #expect(state.generations() == [Self.runId(1)])
        // After a reset, rollback brings the newest snapshot back.
        #expect(try state.rollback() == Self.runId(1))
        #expect(try state.loadCurrent()?.0.count == 1)
    }

    @Test func resetAndRollbackDropAPendingDelivery() throws {
        let w = try FeedWorkspace()
        let state = TargetState(stateDir: w.path("state"), target: "t")
        try Self.commitGenerations(state, w, count: 2)
        _ = try Self.stage(state, w, runId: Self.runId(3), rows: Self.rows(3), seq: 3)
        _ = try state.rollback()
        #expect(try state.pendingJournal() == nil)
        _ = try Self.stage(state, w, runId: Self.runId(4), rows: Self.rows(4), seq: 4)
        try state.reset()
        #expect(try state.pendingJournal() == nil)
        #expect(
            Self.stateError { _ = try TargetState(stateDir: w.path("state"), target: "empty").rollback() }?
                .contains("has no snapshot to roll back to") == true)
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
        #expect(try Self.mode(w.path(generation + "/snapshot.bin")) == 0o600)
        #expect(try Self.mode(w.path(generation + "/meta.json")) == 0o600)
        #expect(try Self.mode(w.path("state/lms/current")) == 0o600)
        // Nothing is left behind in the state directory but the snapshot and its history.
        #expect(w.files(in: "state/lms") == ["current", "generations"])
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
