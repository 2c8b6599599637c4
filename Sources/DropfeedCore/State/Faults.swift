import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Fault injection for the crash tests: compiled into every build, inert unless
/// `DROPFEED_FAULT` is set.
///
/// `DROPFEED_FAULT=POINT[:TARGET][@N]` kills the process with SIGKILL — as a power cut or the
/// OOM killer would — the N-th time (default 1) execution reaches `POINT` (for `TARGET`, when
/// given). The points are every step that writes (see `Fault.points`); `dropfeed` prints the
/// list with `DROPFEED_FAULT=list`.
///
/// With `DROPFEED_FAULT_SIGNAL=STOP` the process stops there instead (SIGSTOP), holding what it
/// holds — the state lock, a half-done commit — until it is sent SIGCONT: for the tests of runs
/// that meet one another.
public enum Fault {
    /// Every point, in the order a run reaches them.
    public static let points: [(name: String, what: String)] = [
        ("after-leftovers", "leftovers of earlier runs removed, before anything else"),
        ("after-spool", "the export read into its working copy"),
        ("after-segment", "a target's new rows written to its staging folder"),
        ("after-files", "a target's files written to its staging folder"),
        ("after-snapshot", "the snapshot the delivery leads to written to the staging folder"),
        ("after-stage", "the staging folder renamed to pending/ with its journal"),
        ("before-put", "before each file is sent"),
        ("put-written", "a directory delivery: the file complete under its temporary name, not yet under its own"),
        ("put-linked", "a directory delivery: the file under its final name, its temporary name not yet removed"),
        ("after-put", "each file in place under its final name, before the journal records it"),
        ("after-journal", "the journal updated after each file"),
        ("after-segment-move", "commit: the new segment moved into segments/"),
        ("after-generation", "commit: the snapshot moved into generations/"),
        ("after-current", "commit: current points at the new snapshot"),
        ("after-pending-removed", "commit: pending/ renamed away and removed"),
        ("during-prune", "commit: an old snapshot renamed away, before it is removed"),
        ("after-prune", "commit: old snapshots and unused segments removed"),
        ("after-source-record", "source.json written"),
        ("after-history", "the run's line appended to history.jsonl"),
    ]

    /// Whether `DROPFEED_FAULT=list` asks for the list of points instead of a run.
    public static var listRequested: Bool { ProcessInfo.processInfo.environment["DROPFEED_FAULT"] == "list" }

    /// The points, one a line: name, then what has just happened when it is reached.
    public static var listing: String {
        points.map { $0.name.padding(toLength: 22, withPad: " ", startingAt: 0) + $0.what + "\n" }.joined()
    }

    private static let spec: (point: String, target: String?, count: Int)? = {
        guard let raw = ProcessInfo.processInfo.environment["DROPFEED_FAULT"], !raw.isEmpty, raw != "list" else {
            return nil
        }
        var text = raw
        var count = 1
        if let at = text.lastIndex(of: "@"), let n = Int(text[text.index(after: at)...]) {
            count = n
            text = String(text[..<at])
        }
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        return (parts[0], parts.count > 1 ? parts[1] : nil, count)
    }()

    /// SIGKILL, or SIGSTOP with `DROPFEED_FAULT_SIGNAL=STOP`.
    private static let signal: Int32 = ProcessInfo.processInfo.environment["DROPFEED_FAULT_SIGNAL"] == "STOP" ? SIGSTOP : SIGKILL

    nonisolated(unsafe) private static var reached = 0
    private static let lock = NSLock()

    /// Dies here when `DROPFEED_FAULT` names this point (and target).
    @inline(__always)
    public static func point(_ name: String, target: String? = nil) {
        guard let spec else { return }
        check(spec, name, target)
    }

    private static func check(_ spec: (point: String, target: String?, count: Int), _ name: String, _ target: String?) {
        guard spec.point == name, spec.target == nil || spec.target == target else { return }
        lock.lock()
        reached += 1
        let hit = reached == spec.count
        lock.unlock()
        if hit { kill(getpid(), signal) }
    }
}
