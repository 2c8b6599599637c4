/// One target's plan: what changed against its snapshot, what the gates said, the files to send
/// and the snapshot they lead to — a value computed without touching the state directory.
///
/// Rows are referred to, never held: `kept` marks the rows of the previous snapshot the next
/// one keeps as they are (unchanged rows reused without mapping, rows whose source row was
/// rejected, deletes held back), and `mapped` indexes the rows mapped in this run, whose bytes
/// are in `segment`. The files are written from these by `FileWriter`.
final class TargetPlan: @unchecked Sendable {
    let target: TargetConfig
    var outcome: TargetOutcome
    /// The snapshot diffed against (the one in force, or where a pending delivery leads);
    /// nil after `releaseRows()`.
    private(set) var previous: Snapshot?
    /// The run id of `previous` (kept after `releaseRows()`: a saved plan names its base).
    let baseRunId: String?
    /// Rows of `previous` the next snapshot keeps as they are.
    var kept: Bitset
    /// The rows mapped in this run, sorted by key hash.
    var mapped: RowIndex
    /// The file holding `mapped`'s rows (nil when none were mapped).
    var segment: SegmentFile?
    /// When the earlier segments were compacted: the new location (in this run's segment) of
    /// each kept row of `previous`; empty otherwise.
    var relocated: [UInt64] = []
    /// The segment's name, as the next snapshot lists it (`<run id>.seg`).
    let segmentName: String
    /// The export rows not mapped this run (skipped or rejected), for the next run to recognise.
    var unmapped = UnmappedRows()

    /// Changes, each a position in `mapped` (adds, updates' new side) or `previous` (deletes,
    /// updates' old side).
    var adds: [Int] = []
    var updates: [(old: Int, new: Int)] = []
    /// Deletes that are sent (as rows, or as updates with `deletes: {set: …}`); empty with `omit`
    /// and while held.
    var sentDeletes: [Int] = []
    /// Every delete found, sent or not.
    var deletes: [Int] = []

    /// The files to write, in delivery order.
    var files: [FileSpec] = []
    /// Whether the snapshot moves (something changed); it moves even when no file is sent
    /// (only omitted deletes, say).
    var moves = false
    /// The `{seq}` the files are numbered with.
    var seq = 0
    /// The metadata of the snapshot the plan leads to (files filled in when written).
    var nextMeta: SnapshotMeta?
    /// What the next snapshot's rows are made from (see `SnapshotMeta.inputDigest`).
    let inputDigest: String

    init(target: TargetConfig, previous: Snapshot?, segmentName: String, inputDigest: String) {
        self.target = target
        self.previous = previous
        baseRunId = previous?.meta.runId
        self.segmentName = segmentName
        self.inputDigest = inputDigest
        outcome = TargetOutcome(name: target.name, status: .planned, destination: target.deliver.description)
        kept = Bitset(count: previous?.count ?? 0)
        mapped = RowIndex(keyParts: max(1, target.mapping.key.count))
    }

    /// Lets go of what identifies and compares the rows (the indexes, the change lists) once
    /// the files and the snapshot are written, so that a run with many targets holds one
    /// target's indexes at a time, not all of them until the last delivery.
    func releaseRows() {
        previous = nil
        kept = Bitset(count: 0)
        mapped = RowIndex(keyParts: mapped.keyParts)
        segment = nil
        relocated = []
        adds = []
        updates = []
        sentDeletes = []
        deletes = []
        unmapped = UnmappedRows()
    }

    /// Whether anything would be sent.
    var sends: Bool { !files.isEmpty }

    /// How many rows the next snapshot has.
    var nextRowCount: Int { kept.population + mapped.count }
}

/// A file a plan sends, before it is written.
enum FileSpec: Sendable, Equatable {
    /// Every row of the next snapshot, in key order.
    case full(name: String)
    /// The changes (adds, updates, sent deletes) in key order; on a first run, every row as an add.
    case delta(name: String)
    /// `NAME.sha256` of the data file `of`.
    case checksum(name: String, of: String)
    /// An empty trigger file, sent after the data file `of`.
    case trigger(name: String, of: String)

    var name: String {
        switch self {
        case .full(let n), .delta(let n), .checksum(let n, _), .trigger(let n, _): return n
        }
    }

    /// A full or delta file (not a sidecar).
    var isData: Bool {
        switch self {
        case .full, .delta: return true
        case .checksum, .trigger: return false
        }
    }

    var kind: String {
        switch self {
        case .full: return "full"
        case .delta: return "delta"
        case .checksum: return "checksum"
        case .trigger: return "trigger"
        }
    }
}

/// A row of the next snapshot, or a change: a position in the previous snapshot or in the rows
/// mapped this run.
enum RowRef: Sendable, Hashable {
    case previous(Int)
    case mapped(Int)
}
