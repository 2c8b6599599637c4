import Dispatch
import Foundation

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
        case .directory(let folder): return DirectoryDrop(folder: folder)
        case .sftp: throw FileDropError("this build has no SFTP delivery")
        }
    }
}

/// What `plan` and `run` were asked to do.
public struct RunOptions: Sendable {
    public enum Command: String, Sendable { case plan, run }

    public var command: Command
    /// Only these targets (all when empty).
    public var targets: [String]
    /// Approve up to this many deletes per target for this run (`--allow-deletes N`).
    public var allowDeletes: Int?
    /// Approve up to this many updates per target for this run (`--allow-updates N`).
    public var allowUpdates: Int?
    /// Approve a source that failed `minRows`, `maxShrinkPercent` or the empty-export default (`--allow-shrink`).
    public var allowShrink: Bool
    /// `plan --out DIR`: keep the files it would send, in `DIR/<target>/`.
    public var outDir: String?

    public init(
        command: Command, targets: [String] = [], allowDeletes: Int? = nil, allowUpdates: Int? = nil,
        allowShrink: Bool = false, outDir: String? = nil
    ) {
        self.command = command
        self.targets = targets
        self.allowDeletes = allowDeletes
        self.allowUpdates = allowUpdates
        self.allowShrink = allowShrink
        self.outDir = outDir
    }
}

/// A `--target` that the config does not have (exit 64).
public struct UnknownTargetError: CodedError {
    public var name: String
    public var known: [String]
    public init(name: String, known: [String]) {
        self.name = name
        self.known = known
    }
    public var exitCode: ExitCode { .usage }
    public var description: String {
        "no target `\(name)` in the config" + suggestion(for: name, in: known)
            + " (targets: \(known.joined(separator: ", ")))"
    }
}

/// The pipeline of `plan` and `run`: finish interrupted deliveries, read the source once, map,
/// diff and gate each target, write its files, deliver them, and only then commit its snapshot.
public final class FeedRunner: @unchecked Sendable {
    let config: FeedConfig
    let options: RunOptions
    let clock: RunClock
    let drops: DropProvider
    /// `plan` without `--out`: a private temporary folder (`mkdtemp`) for the files it writes.
    private var planFolder: String?

    public init(config: FeedConfig, options: RunOptions, clock: RunClock = .now(), drops: DropProvider) {
        self.config = config
        self.options = options
        self.clock = clock
        self.drops = drops
    }

    /// Runs the pipeline; never throws: every failure is in the report, with its exit code.
    public func execute() -> RunReport {
        var report = RunReport(
            command: options.command.rawValue, runId: clock.runId, startedAt: clock.iso,
            sourcePath: config.source.displayPath)
        let isRun = options.command == .run
        let selected: [TargetConfig]
        var lock: StateLock?
        do {
            selected = try selectTargets()
            if isRun {
                lock = try StateLock(stateDir: config.stateDir)
                for target in selected {
                    try TargetState(stateDir: config.stateDir, target: target.name).removeLeftovers()
                }
                removeTemporaryFiles(in: config.stateDir)
            } else if options.outDir == nil {
                planFolder = try FileSystem.makeTemporaryFolder(prefix: "dropfeed-plan-")
            }
        } catch {
            report.error = "\(error)"
            report.errorCode = ExitCode(for: error)
            return report
        }
        defer {
            withExtendedLifetime(lock) {}
            if let planFolder { try? FileSystem.remove(planFolder) }
        }

        // 1. Finish what an interrupted run left pending (plan only reports it).
        var finished: [String: TargetOutcome] = [:]
        var recovered: [String: [String]] = [:]
        for target in selected {
            let state = TargetState(stateDir: config.stateDir, target: target.name)
            do {
                guard let journal = try state.pendingJournal() else { continue }
                if isRun {
                    recovered[target.name] = try deliver(
                        journal: journal, state: state, target: target, recovering: true)
                } else {
                    recovered[target.name] = journal.files.filter { $0.delivered != true }.map(\.name)
                }
            } catch {
                var outcome = TargetOutcome(name: target.name, status: .failed, destination: target.deliver.description)
                outcome.error = "finishing the interrupted delivery failed: \(error)"
                outcome.exitCode = deliveryExitCode(error)
                finished[target.name] = outcome
            }
        }

        // 2. Read the source once, for every target still to plan.
        let remaining = selected.filter { finished[$0.name] == nil }
        var table: SourceTable?
        if !remaining.isEmpty {
            do {
                table = try trace("read source") { try readSource(for: remaining) }
                report.sourceRows = table!.rowCount
                report.sourceSHA256 = table!.sha256
                try checkSourceGates(table!)
            } catch {
                report.error = "\(error)"
                report.errorCode = ExitCode(for: error)
                report.targets = selected.map { target in
                    finished[target.name]
                        ?? {
                            var o = TargetOutcome(
                                name: target.name, status: .failed, destination: target.deliver.description)
                            o.error = "not run: the source failed its checks"
                            o.recovered = recovered[target.name] ?? []
                            return o
                        }()
                }
                return report
            }
        }

        // 3. Map, diff, gate and write files for each target (in parallel), then deliver one by one.
        var prepared = trace("map, diff, write") { prepareAll(remaining, table: &table, recoveredPlan: !isRun) }
        for k in prepared.indices {
            prepared[k].outcome.recovered = recovered[prepared[k].outcome.name] ?? []
            if isRun { trace("deliver \(remaining[k].name)") { commitOrDeliver(&prepared[k], target: remaining[k]) } }
        }
        if isRun, let rows = report.sourceRows, let sha256 = report.sourceSHA256, report.errorCode == nil {
            saveSourceRecord(rows: rows, sha256: sha256)
        }
        var byName = finished
        for p in prepared { byName[p.outcome.name] = p.outcome }
        report.targets = selected.compactMap { byName[$0.name] }
        return report
    }

    /// With `DROPFEED_TRACE=1`, prints how long each phase took to stderr (for benchmarks).
    private func trace<T>(_ phase: String, _ body: () throws -> T) rethrows -> T {
        guard traceEnabled else { return try body() }
        let start = Date()
        defer {
            FileHandle.standardError.write(
                Data("trace: \(phase): \(String(format: "%.3f", Date().timeIntervalSince(start))) s\n".utf8))
        }
        return try body()
    }

    private let traceEnabled = ProcessInfo.processInfo.environment["DROPFEED_TRACE"] == "1"

    private func selectTargets() throws -> [TargetConfig] {
        if options.targets.isEmpty { return config.targets }
        let names = config.targets.map(\.name)
        for name in options.targets where !names.contains(name) { throw UnknownTargetError(name: name, known: names) }
        return config.targets.filter { options.targets.contains($0.name) }
    }

    private func readSource(for targets: [TargetConfig]) throws -> SourceTable {
        var needed = Set<String>()
        var lookups = false
        for target in targets {
            needed.formUnion(CompiledMapping.sourceColumns(of: target.mapping))
            lookups = lookups || target.mapping.columns.contains { $0.lookup != nil }
        }
        let table = try SourceTable(source: config.source, needed: needed, buildLookup: lookups)
        let problems = targets.flatMap {
            CompiledMapping.problems($0.mapping, header: table.header, sourceKey: config.source.key)
        }
        if !problems.isEmpty {
            throw DataError(
                "the source \(config.source.displayPath) does not have the columns the mappings need "
                    + "(did the export change shape?):\n" + problems.map { "  \($0)" }.joined(separator: "\n"))
        }
        return table
    }

    // MARK: - Source gates

    private var sourceRecordPath: String { config.stateDir + "/source.json" }

    private struct SourceRecord: Codable {
        var rows: Int
        var sha256: String
        var runId: String
        var time: String
    }

    private func checkSourceGates(_ table: SourceTable) throws {
        let source = config.source
        guard !options.allowShrink else { return }
        let approve = "approve this run with --allow-shrink"
        if let minRows = source.minRows, table.rowCount < minRows {
            throw DataError(
                "source gate minRows: \(source.displayPath) has \(table.rowCount) rows, fewer than \(minRows); nothing was sent (\(approve))"
            )
        }
        if source.minRows == nil, table.rowCount == 0 {
            throw DataError(
                "source gate minRows: \(source.displayPath) has no rows; an empty export would delete every account, so nothing was sent (\(approve), or set source.minRows to 0)"
            )
        }
        if let limit = source.maxShrinkPercent, let bytes = try? FileSystem.read(sourceRecordPath),
            let last = try? JSONDecoder().decode(SourceRecord.self, from: Data(bytes)), last.rows > 0
        {
            let shrink = Double(last.rows - table.rowCount) * 100 / Double(last.rows)
            if shrink > limit {
                throw DataError(
                    "source gate maxShrinkPercent: \(source.displayPath) shrank from \(last.rows) to \(table.rowCount) rows "
                        + "(\(formatNumber((shrink * 10).rounded() / 10))%, limit \(formatNumber(limit))%); nothing was sent (\(approve))"
                )
            }
        }
    }

    private func saveSourceRecord(rows: Int, sha256: String) {
        let record = SourceRecord(rows: rows, sha256: sha256, runId: clock.runId, time: clock.iso)
        try? FileSystem.writeAtomically(sourceRecordPath, try encodeJSON(record))
    }

    // MARK: - Planning

    /// Maps, diffs, gates and writes every target; lets go of the export's values (`table`
    /// becomes nil) as soon as the mapping pass is done, before the diffs and files.
    private func prepareAll(_ targets: [TargetConfig], table: inout SourceTable?, recoveredPlan: Bool) -> [PreparedTarget] {
        guard table != nil else { return [] }
        let slots = Slots<PreparedTarget>(targets.count)
        // The snapshots to diff against, read in parallel. A plan made while a delivery is
        // pending diffs against where that delivery leads.
        let previous = Slots<Result<(RowSet, SnapshotMeta)?, Error>>(targets.count)
        trace("load snapshots") {
            DispatchQueue.concurrentPerform(iterations: targets.count) { k in
                let state = TargetState(stateDir: self.config.stateDir, target: targets[k].name)
                previous[k] = Result { try (recoveredPlan ? state.pendingSnapshot() : nil) ?? state.loadCurrent() }
            }
        }
        let (mapped, digests) = mapAll(targets, table: table!, previous: previous)
        table = nil
        let work: @Sendable (Int) -> Void = { k in
            let target = targets[k]
            var outcome = TargetOutcome(name: target.name, status: .failed, destination: target.deliver.description)
            do {
                let snapshot = try previous[k]!.get()
                let planner = TargetPlanner(
                    target: target, mapped: mapped.take(k), clock: self.clock,
                    allowDeletes: self.options.allowDeletes, allowUpdates: self.options.allowUpdates,
                    stateDir: self.config.stateDir,
                    inputDigest: digests[k], previous: snapshot)
                let folder = self.filesFolder(for: target)
                // Each target's folder holds exactly this plan's files.
                if self.options.outDir != nil { try FileSystem.remove(folder) }
                slots[k] = planner.prepare(filesFolder: folder, root: self.filesRoot)
            } catch {
                outcome.error = "\(error)"
                outcome.exitCode = ExitCode(for: error)
                slots[k] = PreparedTarget(outcome: outcome)
            }
        }
        DispatchQueue.concurrentPerform(iterations: targets.count) { work($0) }
        let out = slots.all
        for (k, prepared) in out.enumerated() {
            let failed = prepared.outcome.status == .failed || prepared.outcome.status == .held
            if failed || (options.command == .plan && options.outDir == nil) {
                try? FileSystem.remove(filesFolder(for: targets[k]))
            }
        }
        return out
    }

    /// The mapping pass, reusing each target's snapshot rows where its inputs are unchanged.
    private func mapAll(_ targets: [TargetConfig], table: SourceTable,
                        previous: Slots<Result<(RowSet, SnapshotMeta)?, Error>>) -> (Slots<MappedRows>, [String]) {
        let digests = targets.map { inputDigest(for: $0, table: table) }
        let reuse: [MappingPass.Reuse?] = targets.indices.map { k in
            guard case .success(let snapshot?)? = previous[k], snapshot.1.inputDigest == digests[k] else { return nil }
            return MappingPass.Reuse(snapshot.0)
        }
        let mapped = trace("mapping pass") {
            MappingPass.run(table, targets.map { CompiledMapping($0.mapping, table: table) }, reuse: reuse)
        }
        return (Slots(mapped), digests)
    }

    /// What a target's mapped rows depend on besides the export's rows: the mapping file, the
    /// export's header and dialect, the key, and this program's version.
    private func inputDigest(for target: TargetConfig, table: SourceTable) -> String {
        let source = config.source
        let parts = [
            dropfeedVersion, target.mapping.digest, table.header.joined(separator: "\u{1F}"),
            source.key.joined(separator: "\u{1F}"), String(source.options.delimiter), source.options.encoding.rawValue,
        ]
        return SHA256.hex(Array(parts.joined(separator: "\u{1E}").utf8))
    }

    /// Where a target's files are written: `--out DIR/<target>` for a plan (or a private temporary
    /// folder), a staging folder in the state directory for a run.
    private func filesFolder(for target: TargetConfig) -> String {
        filesRoot + "/" + (options.command == .run ? target.name + "/.staging-\(clock.runId)" : target.name)
    }

    /// The operator's folder the files folders are made in; below it dropfeed follows no link.
    private var filesRoot: String {
        switch options.command {
        case .plan: return options.outDir ?? planFolder ?? NSTemporaryDirectory()
        case .run: return config.stateDir
        }
    }

    /// Removes temporary files that interrupted atomic writes left in `folder`.
    private func removeTemporaryFiles(in folder: String) {
        for name in FileSystem.list(folder) where name.hasPrefix(".") && name.contains(".tmp-") {
            try? FileSystem.remove(folder + "/" + name)
        }
    }

    // MARK: - Delivery

    private func commitOrDeliver(_ prepared: inout PreparedTarget, target: TargetConfig) {
        guard prepared.outcome.status != .failed, prepared.outcome.status != .held else {
            if let folder = prepared.filesFolder { try? FileSystem.remove(folder) }
            return
        }
        let state = TargetState(stateDir: config.stateDir, target: target.name)
        guard let snapshot = prepared.newSnapshot, let meta = prepared.meta, let folder = prepared.filesFolder else {
            return
        }
        do {
            if prepared.outcome.files.isEmpty {
                try FileSystem.remove(folder)
                if prepared.commitWithoutFiles {
                    try TargetState.writeSnapshot(
                        snapshot, meta: meta, to: state.generationsFolder + "/" + clock.runId, root: config.stateDir)
                    try FileSystem.writeAtomically(state.currentFile, Array((clock.runId + "\n").utf8))
                }
                prepared.outcome.status = .unchanged
                return
            }
            let journal = Journal(
                runId: clock.runId, target: target.name, time: clock.iso,
                files: prepared.outcome.files.map {
                    var f = $0
                    f.delivered = false
                    return f
                })
            try state.stage(journal: journal, filesFolder: folder, snapshot: snapshot, meta: meta)
        } catch {
            prepared.outcome.status = .failed
            prepared.outcome.error = "\(error)"
            prepared.outcome.exitCode = .cannotCreate
            try? FileSystem.remove(folder)
            return
        }
        do {
            guard let journal = try state.pendingJournal() else { throw StateError("the staged delivery vanished") }
            _ = try deliver(journal: journal, state: state, target: target, recovering: false)
            prepared.outcome.status = .delivered
        } catch {
            prepared.outcome.status = .failed
            prepared.outcome.error = "\(error)"
            prepared.outcome.exitCode = deliveryExitCode(error)
        }
    }

    /// The exit code of a failed delivery: the error's own (73 for the state directory), else 69.
    private func deliveryExitCode(_ error: Error) -> ExitCode {
        (error as? CodedError)?.exitCode ?? .unavailable
    }

    /// Delivers a journal's files that have not arrived, recording each arrival, then commits
    /// the snapshot. Returns the names delivered now.
    @discardableResult
    private func deliver(journal: Journal, state: TargetState, target: TargetConfig, recovering: Bool) throws
        -> [String]
    {
        var journal = journal
        var sent: [String] = []
        if journal.files.contains(where: { $0.delivered != true }) {
            let drop = try drops.drop(for: target)
            try drop.open()
            var closed = false
            defer { if !closed { try? drop.close() } }
            for k in journal.files.indices where journal.files[k].delivered != true {
                let file = journal.files[k]
                // Finishing an interrupted run: a file of that name and size already arrived.
                if recovering, let size = try drop.size(of: file.name), size == Int64(file.bytes) {
                    journal.files[k].delivered = true
                    try state.saveJournal(journal)
                    continue
                }
                try drop.put(localPath: state.pendingFilesFolder + "/" + file.name, as: file.name)
                journal.files[k].delivered = true
                try state.saveJournal(journal)
                sent.append(file.name)
            }
            closed = true
            try drop.close()
        }
        try state.commitPending(runId: journal.runId)
        return recovering ? journal.files.map(\.name) : sent
    }
}
