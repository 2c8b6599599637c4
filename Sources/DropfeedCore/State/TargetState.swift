import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A delivery that started but has not finished: its files, what arrived, the snapshot it leads to.
public struct Journal: Codable, Sendable {
    public var runId: String
    public var target: String
    public var time: String
    public var files: [FileRecord]

    /// The files that have not arrived yet.
    public var remaining: [FileRecord] { files.filter { $0.delivered != true } }
}

/// One target's folder in the state directory.
///
/// ```
/// <target>/current                      the run id of the snapshot in force
/// <target>/generations/<run id>/        meta.json + index.bin, the last few kept for rollback
/// <target>/segments/<run id>.seg        the rows the snapshots point into, shared between them
/// <target>/pending/                     journal.json, files/, snapshot/ — a delivery in progress
/// <target>/seq                          the highest {seq} a reset or rollback let go of
/// ```
/// Every write is atomic (temporary name, fsync, rename); folders are 0700, files 0600; no link
/// inside is followed. Reads are public; the writes are made through `StateStore`.
public struct TargetState: Sendable {
    public let name: String
    public let folder: String
    /// The state directory: the operator's folder, above which links are the operator's business.
    public let stateDir: String
    /// How many earlier snapshots are kept for `rollback`.
    public static let history = 5

    public init(stateDir: String, target: String) {
        name = target
        self.stateDir = stateDir
        folder = stateDir + "/" + target
    }

    var generationsFolder: String { folder + "/generations" }
    var segmentsFolder: String { folder + "/segments" }
    var pendingFolder: String { folder + "/pending" }
    var pendingFilesFolder: String { pendingFolder + "/files" }
    var currentFile: String { folder + "/current" }
    /// The highest `{seq}` of a snapshot that `reset` or `rollback` let go of.
    var seqMarkFile: String { folder + "/seq" }

    // MARK: Reading

    /// The run id of the snapshot in force, if any.
    public func currentRunId() throws -> String? {
        guard let bytes = try FileSystem.read(currentFile) else { return nil }
        let id = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return id.isEmpty ? nil : id
    }

    /// The run ids of the kept snapshots, oldest first.
    public func generations() -> [String] {
        FileSystem.list(generationsFolder).filter { !$0.hasPrefix(".") }
    }

    public func meta(runId: String) throws -> SnapshotMeta {
        try Snapshot.readMeta(generationsFolder + "/" + runId)
    }

    /// The snapshot in force (the rows last delivered).
    func loadCurrent(spoolFolder: String) throws -> Snapshot? {
        guard let id = try currentRunId() else { return nil }
        return try loadSnapshot(generationsFolder + "/" + id, spoolFolder: spoolFolder)
    }

    /// The rows of the snapshot in force, in key order, all in memory (for `state show` and
    /// tests; the pipeline streams them instead).
    func currentRows() throws -> (meta: SnapshotMeta, rows: [[String]])? {
        let scratch = try FileSystem.makeTemporaryFolder(prefix: "dropfeed-rows-")
        defer { try? FileSystem.remove(scratch) }
        guard let snapshot = try loadCurrent(spoolFolder: scratch) else { return nil }
        let index = snapshot.index
        let order = (0..<index.count).sorted { a, b in
            index.withKey(a) { x in index.withKey(b) { y in RowIndex.keyLess(x, y, parts: index.keyParts) } }
        }
        let reader = snapshot.rowReader()
        return (snapshot.meta, try order.map { try snapshot.values($0, reader) })
    }

    func loadSnapshot(_ folder: String, spoolFolder: String) throws -> Snapshot {
        try Snapshot.load(folder: folder, segmentsFolder: segmentsFolder, target: name, spoolFolder: spoolFolder)
    }

    /// The delivery in progress, if any.
    public func pendingJournal() throws -> Journal? {
        guard let bytes = try FileSystem.read(pendingFolder + "/journal.json") else { return nil }
        do { return try JSONDecoder().decode(Journal.self, from: Data(bytes)) } catch {
            throw StateError("delivery journal \(pendingFolder)/journal.json is corrupt: \(error.localizedDescription)")
        }
    }

    /// The snapshot a pending delivery leads to.
    func pendingSnapshot(spoolFolder: String) throws -> Snapshot? {
        let folder = pendingFolder + "/snapshot"
        guard (try FileSystem.read(folder + "/meta.json")) != nil else { return nil }
        return try loadSnapshot(folder, spoolFolder: spoolFolder)
    }

    /// The snapshot a pending delivery leads to, also once its commit has moved it into
    /// `generations/` (a commit in progress, or cut short) — nil when nothing is pending.
    func pendingOrCommittingSnapshot(spoolFolder: String) throws -> Snapshot? {
        if let staged = try pendingSnapshot(spoolFolder: spoolFolder) { return staged }
        guard let journal = try pendingJournal(), generations().contains(journal.runId) else { return nil }
        return try loadSnapshot(generationsFolder + "/" + journal.runId, spoolFolder: spoolFolder)
    }

    /// The metadata of the pending delivery's snapshot, if any.
    func pendingMeta() -> SnapshotMeta? { try? Snapshot.readMeta(pendingFolder + "/snapshot") }

    /// The highest `{seq}` this target has used: its kept snapshots, a pending delivery, and what
    /// `reset` and `rollback` let go of. A run numbers its files after it, so that a run after a
    /// rollback or a reset never reuses the name of a file already delivered.
    public func highestSeq() -> Int {
        var highest =
            ((try? FileSystem.read(seqMarkFile)) ?? nil)
            .flatMap { Int(String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
        for id in generations() {
            if let meta = try? meta(runId: id) { highest = max(highest, meta.seq) }
        }
        if let meta = pendingMeta() { highest = max(highest, meta.seq) }
        return highest
    }

    // MARK: Writing (through StateStore)

    /// The folder a run stages this target's delivery in: `files/` and `snapshot/`.
    func stagingFolder(runId: String) -> String { folder + "/.staging-" + runId }

    /// Makes a delivery staged in `staging` (its `files/` and `snapshot/` complete) pending: the
    /// journal is written into it, then the folder becomes `pending/` in one rename, so a crash
    /// leaves either all of it or none.
    func stage(journal: Journal, staging: String) throws {
        if FileManager.default.fileExists(atPath: pendingFolder) {
            throw StateError("target `\(name)` already has a pending delivery in \(pendingFolder)")
        }
        try FileSystem.makeDirectory(staging + "/files", root: stateDir)
        try FileSystem.writeAtomically(staging + "/journal.json", try encodeJSON(journal))
        try FileSystem.move(staging, pendingFolder)
    }

    /// Records that a journal's file arrived.
    func saveJournal(_ journal: Journal) throws {
        try FileSystem.writeAtomically(pendingFolder + "/journal.json", try encodeJSON(journal))
    }

    /// Makes the pending snapshot the one in force and forgets the journal; keeps the last
    /// `history` snapshots and the segments they use. Each step can be repeated: a commit cut
    /// short is finished by the next run.
    func commitPending(runId: String) throws {
        try FileSystem.makeDirectory(generationsFolder, root: stateDir)
        try FileSystem.makeDirectory(segmentsFolder, root: stateDir)
        let staged = pendingFolder + "/snapshot"
        let generation = generationsFolder + "/" + runId
        var st = stat()
        if lstat(staged, &st) == 0 {
            // The new segment joins the shared ones, then the index and meta become the generation.
            for segment in FileSystem.list(staged) where segment.hasSuffix(".seg") {
                try FileSystem.move(staged + "/" + segment, segmentsFolder + "/" + segment)
                Fault.point("after-segment-move", target: name)
            }
            try FileSystem.remove(generation)
            try FileSystem.move(staged, generation)
            Fault.point("after-generation", target: name)
        }
        guard lstat(generation, &st) == 0 else {
            throw StateError("pending delivery of `\(name)` has no snapshot to commit")
        }
        try FileSystem.writeAtomically(currentFile, Array((runId + "\n").utf8))
        Fault.point("after-current", target: name)
        try discardPendingFolder()
        Fault.point("after-pending-removed", target: name)
        try prune(keeping: runId)
        Fault.point("after-prune", target: name)
    }

    /// Keeps the newest `history` generations (and `current`), then removes the segments no
    /// kept generation uses.
    private func prune(keeping current: String) throws {
        let kept = generations()
        if kept.count > TargetState.history {
            for old in kept.prefix(kept.count - TargetState.history) where old != current {
                // Renamed away first: a crash while it is being removed leaves a hidden folder
                // (cleaned by `removeLeftovers`), never a generation without its metadata.
                let trash = generationsFolder + "/.trash-" + FileSystem.randomSuffix()
                try FileSystem.move(generationsFolder + "/" + old, trash)
                Fault.point("during-prune", target: name)
                try FileSystem.remove(trash)
            }
        }
        try removeUnusedSegments()
    }

    /// Removes segment files that no kept generation and no pending delivery lists.
    func removeUnusedSegments() throws {
        var used = Set<String>()
        for id in generations() {
            guard let meta = try? meta(runId: id) else {
                // An unreadable generation: keep everything rather than guess.
                return
            }
            for s in meta.segments ?? [] { used.insert(s.name) }
        }
        for s in pendingMeta()?.segments ?? [] { used.insert(s.name) }
        for name in FileSystem.list(segmentsFolder) where name.hasSuffix(".seg") && !used.contains(name) {
            try FileSystem.remove(segmentsFolder + "/" + name)
        }
    }

    /// Removes the pending folder in one step: it is renamed away first, so a crash while it is
    /// being removed leaves a `.trash-*` folder (cleaned by `removeLeftovers`), never a `pending/`
    /// without its journal.
    func discardPendingFolder() throws {
        var st = stat()
        guard lstat(pendingFolder, &st) == 0 else { return }
        let trash = folder + "/.trash-" + FileSystem.randomSuffix()
        try FileSystem.move(pendingFolder, trash)
        try FileSystem.remove(trash)
    }

    /// Drops a pending delivery that cannot complete: the snapshot stays where it was and the
    /// next run computes its changes again. Returns the journal dropped.
    func discardPending() throws -> Journal? {
        let journal = try? pendingJournal()
        try keepSeqMark()
        try discardPendingFolder()
        try removeUnusedSegments()
        return journal
    }

    /// What interrupted runs can leave in the target's folder: staging and half-built pending
    /// folders, folders being removed, temporary files of atomic writes, and a `pending/` whose
    /// journal is gone (its removal after a commit was cut short). Call with the state lock held.
    /// Returns the names removed.
    @discardableResult
    func removeLeftovers() throws -> [String] {
        var removed: [String] = []
        for name in FileSystem.list(folder) where TargetState.isLeftover(name) {
            try FileSystem.remove(folder + "/" + name)
            removed.append(name)
        }
        for sub in [generationsFolder, segmentsFolder] {
            for name in FileSystem.list(sub) where name.hasPrefix(".") {
                try FileSystem.remove(sub + "/" + name)
            }
        }
        var st = stat()
        if lstat(pendingFolder, &st) == 0 {
            let isFolder = st.st_mode & S_IFMT == S_IFDIR
            if !isFolder || (try? FileSystem.read(pendingFolder + "/journal.json")) == nil {
                try discardPendingFolder()
                removed.append("pending")
            }
        }
        return removed
    }

    /// Whether a name in a target's folder is a leftover of an interrupted run.
    static func isLeftover(_ name: String) -> Bool {
        name.hasPrefix(".staging-") || name.hasPrefix(".pending-") || name.hasPrefix(".trash-")
            || (name.hasPrefix(".") && name.contains(".tmp-"))
    }

    /// Records `highestSeq()` before a snapshot or a pending delivery is dropped.
    private func keepSeqMark() throws {
        let highest = highestSeq()
        guard highest > 0 else { return }
        try FileSystem.makeDirectory(folder, root: stateDir)
        try FileSystem.writeAtomically(seqMarkFile, Array("\(highest)\n".utf8))
    }

    /// Forgets the snapshot in force (kept on disk, so `rollback` can bring it back).
    func reset() throws {
        try keepSeqMark()
        try discardPendingFolder()
        try FileSystem.remove(currentFile)
    }

    /// Puts the snapshot before the current one back in force; returns the run id restored.
    /// After a `reset`, restores the newest snapshot.
    func rollback() throws -> String {
        let kept = generations()
        let current = try currentRunId()
        let restored: String
        if let current, let position = kept.firstIndex(of: current) {
            guard position > 0 else { throw NothingToRollBack(target: name) }
            restored = kept[position - 1]
            try keepSeqMark()
            try FileSystem.remove(generationsFolder + "/" + current)
        } else {
            guard let newest = kept.last else { throw NothingToRollBack(target: name) }
            restored = newest
            try keepSeqMark()
        }
        try discardPendingFolder()
        try FileSystem.writeAtomically(currentFile, Array((restored + "\n").utf8))
        try removeUnusedSegments()
        return restored
    }
}

/// `state rollback` with no earlier snapshot (exit 64: the request does not apply; the state is intact).
public struct NothingToRollBack: CodedError {
    public var target: String
    public var exitCode: ExitCode { .usage }
    public var description: String {
        "target `\(target)` has no earlier snapshot to roll back to (see `dropfeed state show \(target)`)"
    }
}

func encodeJSON<T: Encodable>(_ value: T) throws -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    return [UInt8](try encoder.encode(value)) + [0x0A]
}
