import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A file a run delivered (or is delivering), as recorded in snapshots, journals and reports.
public struct FileRecord: Codable, Sendable, Equatable {
    public var name: String
    /// `full`, `delta`, `checksum` or `trigger`.
    public var kind: String
    public var rows: Int
    public var bytes: Int
    public var sha256: String
    /// In a journal: whether the file has arrived under its final name.
    public var delivered: Bool?
}

/// What a snapshot is: which run delivered it, its rows' shape, and how to check it is intact.
public struct SnapshotMeta: Codable, Sendable {
    public var format = 1
    public var target: String
    public var runId: String
    public var time: String
    public var columns: [String]
    public var key: [String]
    public var rows: Int
    public var seq: Int
    public var files: [FileRecord]
    var arenaBytes: Int
    var entryCount: Int
    var keyBytes: Int
    /// 64-bit hash of `snapshot.bin`, hex; a mismatch means the snapshot is corrupt.
    var checksum: String
    /// What the mapped rows were made with (mapping, source shape, dropfeed version); while it
    /// is unchanged, an unchanged export row reuses its row instead of being mapped again.
    var inputDigest: String? = nil
}

/// A delivery that started but has not finished: its files, what arrived, the snapshot it leads to.
public struct Journal: Codable, Sendable {
    public var runId: String
    public var target: String
    public var time: String
    public var files: [FileRecord]
}

/// One target's folder in the state directory.
///
/// ```
/// <target>/current                      the run id of the snapshot in force
/// <target>/generations/<run id>/        snapshot.bin + meta.json, the last few kept for rollback
/// <target>/pending/                     journal.json, files/, snapshot/ — a delivery in progress
/// ```
/// Every write is atomic (temporary name, fsync, rename); folders are 0700, files 0600.
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
    var pendingFolder: String { folder + "/pending" }
    var currentFile: String { folder + "/current" }
    /// The highest `{seq}` of a snapshot that `reset` or `rollback` let go of.
    var seqMarkFile: String { folder + "/seq" }

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
        try readMeta(generationsFolder + "/" + runId)
    }

    func readMeta(_ folder: String) throws -> SnapshotMeta {
        guard let bytes = try FileSystem.read(folder + "/meta.json") else {
            throw StateError("snapshot \(folder) has no meta.json: the state is damaged")
        }
        do { return try JSONDecoder().decode(SnapshotMeta.self, from: Data(bytes)) } catch {
            throw StateError("snapshot metadata \(folder)/meta.json is corrupt: \(error.localizedDescription)")
        }
    }

    /// The snapshot in force (the rows last delivered), verified against its checksum.
    func loadCurrent() throws -> (RowSet, SnapshotMeta)? {
        guard let id = try currentRunId() else { return nil }
        return try loadSnapshot(generationsFolder + "/" + id)
    }

    func loadSnapshot(_ folder: String) throws -> (RowSet, SnapshotMeta) {
        let meta = try readMeta(folder)
        let path = folder + "/snapshot.bin"
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw StateError("snapshot \(path) is missing: the state is damaged") }
        defer { close(fd) }
        var st = stat()
        fstat(fd, &st)
        let entrySize = MemoryLayout<KeyEntry>.stride
        let expected = meta.arenaBytes + meta.entryCount * entrySize + meta.keyBytes
        let corrupt = StateError(
            "snapshot of target `\(name)` is corrupt (\(path): \(st.st_size) bytes, checksum "
                + "mismatch); restore it with `dropfeed state rollback \(name)` or send everything again after `dropfeed state reset \(name)`"
        )
        guard Int(st.st_size) == expected, meta.arenaBytes >= 0, meta.entryCount >= 0, meta.keyBytes >= 0 else {
            throw corrupt
        }
        // Each part is read straight into its own array: no copy of the whole file.
        let arena = try [UInt8](unsafeUninitializedCapacity: meta.arenaBytes) { buffer, count in
            try FileSystem.readAll(fd, into: UnsafeMutableRawBufferPointer(buffer), at: 0, path: path)
            count = meta.arenaBytes
        }
        var index = KeyIndex()
        index.entries = try [KeyEntry](unsafeUninitializedCapacity: meta.entryCount) { buffer, count in
            try FileSystem.readAll(fd, into: UnsafeMutableRawBufferPointer(buffer), at: meta.arenaBytes, path: path)
            count = meta.entryCount
        }
        index.keyBytes = try [UInt8](unsafeUninitializedCapacity: meta.keyBytes) { buffer, count in
            try FileSystem.readAll(
                fd, into: UnsafeMutableRawBufferPointer(buffer), at: meta.arenaBytes + meta.entryCount * entrySize,
                path: path)
            count = meta.keyBytes
        }
        guard snapshotChecksum(arena, index) == meta.checksum else { throw corrupt }
        let keyPositions = meta.key.compactMap { meta.columns.firstIndex(of: $0) }
        return (RowSet(columns: meta.columns, keyPositions: keyPositions, index: index, arena: arena), meta)
    }

    /// Writes `rows` as a snapshot into `folder`: the row arena, the index entries and the key
    /// bytes, one after the other, with their checksum in `meta.json`.
    static func writeSnapshot(_ rows: RowSet, meta: SnapshotMeta, to folder: String, root: String? = nil) throws {
        try FileSystem.makeDirectory(folder, root: root)
        var meta = meta
        meta.arenaBytes = rows.arena.count
        meta.entryCount = rows.index.entries.count
        meta.keyBytes = rows.index.keyBytes.count
        meta.checksum = snapshotChecksum(rows.arena, rows.index)
        try FileSystem.writeAtomically(folder + "/snapshot.bin") { fd, temp in
            try FileSystem.writeAll(fd, rows.arena, path: temp)
            try rows.index.entries.withUnsafeBytes { try FileSystem.writeAll(fd, $0, path: temp) }
            try FileSystem.writeAll(fd, rows.index.keyBytes, path: temp)
        }
        try FileSystem.writeAtomically(folder + "/meta.json", try encodeJSON(meta))
    }

    // MARK: - Journal

    public func pendingJournal() throws -> Journal? {
        guard let bytes = try FileSystem.read(pendingFolder + "/journal.json") else { return nil }
        do { return try JSONDecoder().decode(Journal.self, from: Data(bytes)) } catch {
            throw StateError("delivery journal \(pendingFolder)/journal.json is corrupt: \(error.localizedDescription)")
        }
    }

    var pendingFilesFolder: String { pendingFolder + "/files" }

    /// Records that a journal's file arrived.
    func saveJournal(_ journal: Journal) throws {
        try FileSystem.writeAtomically(pendingFolder + "/journal.json", try encodeJSON(journal))
    }

    /// Stages a delivery: its files (already written into `staged`) and the snapshot it leads to.
    /// The pending folder appears in one rename, so a crash leaves either all of it or none.
    func stage(journal: Journal, filesFolder staged: String, snapshot: RowSet, meta: SnapshotMeta) throws {
        let temp = folder + "/.pending-\(journal.runId)"
        try FileSystem.remove(temp)
        try FileSystem.makeDirectory(temp, root: stateDir)
        try FileSystem.move(staged, temp + "/files")
        try TargetState.writeSnapshot(snapshot, meta: meta, to: temp + "/snapshot", root: stateDir)
        try FileSystem.writeAtomically(temp + "/journal.json", try encodeJSON(journal))
        if FileManager.default.fileExists(atPath: pendingFolder) {
            throw StateError("target `\(name)` already has a pending delivery in \(pendingFolder)")
        }
        try FileSystem.move(temp, pendingFolder)
    }

    /// The snapshot a pending delivery leads to.
    func pendingSnapshot() throws -> (RowSet, SnapshotMeta)? {
        let folder = pendingFolder + "/snapshot"
        guard FileManager.default.fileExists(atPath: folder + "/meta.json") else { return nil }
        return try loadSnapshot(folder)
    }

    /// Makes the pending snapshot the one in force and forgets the journal. Keeps the last
    /// `history` snapshots.
    func commitPending(runId: String) throws {
        try FileSystem.makeDirectory(generationsFolder, root: stateDir)
        let staged = pendingFolder + "/snapshot"
        let generation = generationsFolder + "/" + runId
        if FileManager.default.fileExists(atPath: staged) {
            try FileSystem.remove(generation)
            try FileSystem.move(staged, generation)
        }
        guard FileManager.default.fileExists(atPath: generation) else {
            throw StateError("pending delivery of `\(name)` has no snapshot to commit")
        }
        try FileSystem.writeAtomically(currentFile, Array((runId + "\n").utf8))
        try discardPendingFolder()
        let kept = generations()
        if kept.count > TargetState.history {
            for old in kept.prefix(kept.count - TargetState.history) where old != runId {
                try FileSystem.remove(generationsFolder + "/" + old)
            }
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
        var st = stat()
        if lstat(pendingFolder, &st) == 0, try FileSystem.read(pendingFolder + "/journal.json") == nil {
            try discardPendingFolder()
            removed.append("pending")
        }
        return removed
    }

    /// Whether a name in a target's folder is a leftover of an interrupted run.
    static func isLeftover(_ name: String) -> Bool {
        name.hasPrefix(".staging-") || name.hasPrefix(".pending-") || name.hasPrefix(".trash-")
            || (name.hasPrefix(".") && name.contains(".tmp-"))
    }

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
        if let meta = try? readMeta(pendingFolder + "/snapshot") { highest = max(highest, meta.seq) }
        return highest
    }

    /// Records `highestSeq()` before a snapshot or a pending delivery is dropped.
    private func keepSeqMark() throws {
        let highest = highestSeq()
        guard highest > 0 else { return }
        try FileSystem.writeAtomically(seqMarkFile, Array("\(highest)\n".utf8))
    }

    /// Forgets the snapshot in force (kept on disk, so `rollback` can bring it back).
    public func reset() throws {
        try keepSeqMark()
        try discardPendingFolder()
        try FileSystem.remove(currentFile)
    }

    /// Puts the snapshot before the current one back in force; returns the run id restored.
    /// After a `reset`, restores the newest snapshot.
    public func rollback() throws -> String {
        let kept = generations()
        let current = try currentRunId()
        let restored: String
        if let current, let position = kept.firstIndex(of: current) {
            guard position > 0 else { throw StateError("target `\(name)` has no earlier snapshot to roll back to") }
            restored = kept[position - 1]
            try keepSeqMark()
            try FileSystem.remove(generationsFolder + "/" + current)
        } else {
            guard let newest = kept.last else { throw StateError("target `\(name)` has no snapshot to roll back to") }
            restored = newest
            try keepSeqMark()
        }
        try discardPendingFolder()
        try FileSystem.writeAtomically(currentFile, Array((restored + "\n").utf8))
        return restored
    }
}

/// The snapshot checksum: the fast 64-bit row hash chained over the file's three parts, hex.
func snapshotChecksum(_ arena: [UInt8], _ index: KeyIndex) -> String {
    var h = arena.withUnsafeBufferPointer { RowHash.combine(RowHash.seed, $0) }
    h = index.entries.withUnsafeBytes { RowHash.combine(h, $0.bindMemory(to: UInt8.self).baseAddress, $0.count) }
    h = index.keyBytes.withUnsafeBufferPointer { RowHash.combine(h, $0) }
    let s = String(h, radix: 16)
    return String(repeating: "0", count: 16 - s.count) + s
}

func encodeJSON<T: Encodable>(_ value: T) throws -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    return [UInt8](try encoder.encode(value)) + [0x0A]
}
