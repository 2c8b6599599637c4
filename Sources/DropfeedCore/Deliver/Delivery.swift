/// Makes the `FileDrop` for a target's `deliver` setting. The executable supplies SFTP;
/// the core knows only local folders.
public protocol DropProvider: Sendable {
    func drop(for target: TargetConfig) throws -> FileDrop
}

/// Delivers to local folders only; an SFTP target fails with a clear message.
public struct DirectoryDropProvider: DropProvider {
    public init() {}

    public func drop(for target: TargetConfig) throws -> FileDrop {
        switch target.deliver {
        case .directory(let folder): return DirectoryDrop(folder: folder, target: target.name)
        case .sftp: throw FileDropError("this build has no SFTP delivery")
        }
    }
}

/// The delivery transaction of one target: send the pending journal's files that have not
/// arrived, recording each arrival, then commit the snapshot they lead to. The same for a new
/// delivery, a saved plan and an interrupted delivery being finished; a target with nothing to
/// send takes the same path with an empty journal.
struct Delivery {
    let store: StateStore
    let drops: DropProvider

    /// Sends what `journal` still lists and commits; returns the names sent now. When
    /// `recovering`, a file already at the destination with the right size counts as arrived
    /// (the earlier run got it there but died before recording it).
    @discardableResult
    func complete(_ journal: Journal, target: TargetConfig, recovering: Bool) throws -> [String] {
        var journal = journal
        var sent: [String] = []
        let state = store.target(target.name)
        if !journal.remaining.isEmpty {
            let drop = try drops.drop(for: target)
            try drop.open()
            var closed = false
            defer { if !closed { try? drop.close() } }
            for k in journal.files.indices where journal.files[k].delivered != true {
                let file = journal.files[k]
                if recovering, let size = try drop.size(of: file.name), size == Int64(file.bytes) {
                    journal.files[k].delivered = true
                    try store.recordArrival(target: target.name, journal: journal)
                    continue
                }
                Fault.point("before-put", target: target.name)
                try drop.put(localPath: state.pendingFilesFolder + "/" + file.name, as: file.name)
                Fault.point("after-put", target: target.name)
                journal.files[k].delivered = true
                try store.recordArrival(target: target.name, journal: journal)
                sent.append(file.name)
            }
            closed = true
            try drop.close()
        }
        try store.commit(target: target.name, runId: journal.runId)
        return sent
    }
}
