import Foundation

/// The state directory, and the one owner of every write to it: the lock, staging, the
/// delivery journal, commits with pruning, seq marks, `source.json`, resets and rollbacks.
///
/// Everything else reads the state (through `TargetState`) and hands its writes to this type,
/// so the rules — atomic writes, 0600/0700, no link followed, a fault point after each step —
/// live in one place.
public final class StateStore: @unchecked Sendable {
    public let stateDir: String

    /// How long `lock()` waits for a run that holds the lock (`--wait-lock SECONDS`).
    public let lockWaitSeconds: Double

    public init(stateDir: String, lockWaitSeconds: Double = 0) {
        self.stateDir = stateDir
        self.lockWaitSeconds = lockWaitSeconds
    }

    public func target(_ name: String) -> TargetState { TargetState(stateDir: stateDir, target: name) }

    /// Takes the state lock (exit 75 when another run holds it).
    public func lock() throws -> StateLock { try StateLock(stateDir: stateDir, waitSeconds: lockWaitSeconds) }

    /// Removes what interrupted runs left (staging folders, temporary files, a journal-less
    /// `pending/`). Call with the lock held.
    func removeLeftovers(targets: [String]) throws {
        for name in targets { try target(name).removeLeftovers() }
        // Temporary files of atomic writes, and the export's working copy of a run killed
        // between creating and unlinking it.
        for name in FileSystem.list(stateDir)
        where name.hasPrefix(".") && (name.contains(".tmp-") || name.hasPrefix(".spool-")) {
            try FileSystem.remove(stateDir + "/" + name)
        }
        try removeStaleReportTemporaries()
        Fault.point("after-leftovers")
    }

    /// How old a temporary file in `runs/` must be before a run removes it as a killed run's.
    static let staleReportAge: time_t = 3600

    /// Temporary files a killed run left in `runs/` (its report is written after the lock is
    /// released, so only those older than `staleReportAge`: a run writing its report now is left
    /// alone). Never through a link: `runs` must be a folder and each file a regular file.
    private func removeStaleReportTemporaries() throws {
        let runs = stateDir + "/runs"
        var folder = stat()
        guard lstat(runs, &folder) == 0, folder.st_mode & S_IFMT == S_IFDIR else { return }
        let cutoff = time(nil) - StateStore.staleReportAge
        for name in FileSystem.list(runs) where name.hasPrefix(".") && name.contains(".tmp-") {
            var file = stat()
            let path = runs + "/" + name
            if lstat(path, &file) == 0, file.st_mode & S_IFMT == S_IFREG, file.st_mtim.tv_sec < cutoff {
                try FileSystem.remove(path)
            }
        }
    }

    // MARK: source.json

    /// The last run's export, for `maxShrinkPercent`.
    struct SourceRecord: Codable {
        var rows: Int
        var sha256: String
        var runId: String
        var time: String
    }

    var sourceRecordPath: String { stateDir + "/source.json" }

    func sourceRecord() -> SourceRecord? {
        guard let bytes = (try? FileSystem.read(sourceRecordPath)) ?? nil else { return nil }
        return try? JSONDecoder().decode(SourceRecord.self, from: Data(bytes))
    }

    func saveSourceRecord(_ record: SourceRecord) throws {
        try FileSystem.makeDirectory(stateDir)
        try FileSystem.writeAtomically(sourceRecordPath, try encodeJSON(record))
        Fault.point("after-source-record")
    }

    // MARK: Staging and delivery

    /// A new staging folder for `target`'s delivery of run `runId`, with `files/` and `snapshot/`.
    func makeStaging(target name: String, runId: String) throws -> String {
        let folder = target(name).stagingFolder(runId: runId)
        try FileSystem.remove(folder)
        try FileSystem.makeDirectory(folder + "/files", root: stateDir)
        try FileSystem.makeDirectory(folder + "/snapshot", root: stateDir)
        return folder
    }

    /// Drops a staging folder that will not be delivered (a held or failed target).
    func discardStaging(_ folder: String) {
        try? FileSystem.remove(folder)
    }

    /// Makes a staged delivery pending (journal written, then one rename).
    func stage(target name: String, journal: Journal, staging: String) throws {
        try target(name).stage(journal: journal, staging: staging)
        Fault.point("after-stage", target: name)
    }

    /// Records that a journal's file arrived.
    func recordArrival(target name: String, journal: Journal) throws {
        try target(name).saveJournal(journal)
        Fault.point("after-journal", target: name)
    }

    /// Commits a target's pending snapshot (see `TargetState.commitPending`).
    func commit(target name: String, runId: String) throws {
        try target(name).commitPending(runId: runId)
    }

    /// Drops a target's pending delivery; the snapshot stays where it was.
    public func discardPending(target name: String) throws -> Journal? {
        try target(name).discardPending()
    }

    /// Forgets a target's snapshot (`state reset`).
    public func reset(target name: String) throws { try target(name).reset() }

    /// Restores a target's previous snapshot (`state rollback`); returns its run id.
    public func rollback(target name: String) throws -> String { try target(name).rollback() }
}
