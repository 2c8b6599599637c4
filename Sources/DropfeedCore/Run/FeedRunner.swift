import Dispatch
import Foundation

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
    /// `plan --out DIR`: keep the files it would send, and `changes.csv`, in `DIR/<target>/`.
    public var outDir: String?
    /// `plan --save PLAN`: keep the plan, to be applied exactly by `run --plan PLAN`.
    public var savePlan: String?
    /// `run --plan PLAN`: deliver a saved plan instead of planning.
    public var applyPlan: String?
    /// `plan --explain TARGET KEY`: the story of one row (in `RunReport.explanation`).
    public var explain: (target: String, key: [String])?
    /// How long to wait for another run's lock before giving up (`--wait-lock SECONDS`).
    public var lockWaitSeconds: Double = 0
    /// Told when each phase starts and ends (progress, logs, `--verbose`).
    public var observer: (any RunObserver)?

    public init(
        command: Command, targets: [String] = [], allowDeletes: Int? = nil, allowUpdates: Int? = nil,
        allowShrink: Bool = false, outDir: String? = nil, savePlan: String? = nil, applyPlan: String? = nil
    ) {
        self.command = command
        self.targets = targets
        self.allowDeletes = allowDeletes
        self.allowUpdates = allowUpdates
        self.allowShrink = allowShrink
        self.outDir = outDir
        self.savePlan = savePlan
        self.applyPlan = applyPlan
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

/// The pipeline of `plan` and `run`, as a short sequence: recover → read → plan (targets in
/// parallel) → write → deliver → commit. The planning is `TargetPlanner`'s, the writing
/// `FileWriter`'s, the delivery `Delivery`'s, and every write to the state directory
/// `StateStore`'s.
public final class FeedRunner: @unchecked Sendable {
    let config: FeedConfig
    let options: RunOptions
    let clock: RunClock
    let drops: DropProvider
    let store: StateStore
    /// `plan`: a private temporary folder (`mkdtemp`) for what it writes and does not keep.
    private var scratch: String?

    public init(config: FeedConfig, options: RunOptions, clock: RunClock = .now(), drops: DropProvider) {
        self.config = config
        self.options = options
        self.clock = clock
        self.drops = drops
        store = StateStore(stateDir: config.stateDir, lockWaitSeconds: options.lockWaitSeconds)
    }

    private var isRun: Bool { options.command == .run }

    /// Runs the pipeline; never throws: every failure is in the report, with its exit code.
    public func execute() -> RunReport {
        var report = RunReport(
            command: options.command.rawValue, runId: clock.runId, startedAt: clock.iso,
            sourcePath: config.source.displayPath)
        do {
            let selected = try selectTargets()
            if let saved = options.applyPlan {
                try SavedPlan.apply(at: saved, runner: self, selected: selected, into: &report)
            } else {
                try sequence(selected, into: &report)
            }
        } catch {
            report.error = "\(error)"
            report.errorCode = ExitCode(for: error)
        }
        if let scratch { try? FileSystem.remove(scratch) }
        return report
    }

    private func sequence(_ selected: [TargetConfig], into report: inout RunReport) throws {
        let lock = isRun ? try store.lock() : nil
        defer { withExtendedLifetime(lock) {} }
        if isRun {
            try store.removeLeftovers(targets: selected.map(\.name))
        } else {
            scratch = try FileSystem.makeTemporaryFolder(prefix: "dropfeed-plan-")
            if let save = options.savePlan {
                let staging = SavedPlan.stagingFolder(for: save)
                try FileSystem.remove(staging)
                try FileSystem.makeDirectory(staging)
            }
        }

        // 1. Recover: finish what an interrupted run left pending (a plan only reports it).
        var finished: [String: TargetOutcome] = [:]
        var recovered: [String: [String]] = [:]
        var pending: [String: PendingDelivery] = [:]
        for target in selected {
            let state = store.target(target.name)
            do {
                guard let journal = try state.pendingJournal() else { continue }
                if isRun {
                    try trace("finish \(target.name)") {
                        try Delivery(store: store, drops: drops).complete(journal, target: target, recovering: true)
                    }
                    recovered[target.name] = journal.files.map(\.name)
                } else {
                    pending[target.name] = PendingDelivery(
                        runId: journal.runId, remaining: journal.remaining.map(\.name), files: journal.files.map(\.name))
                }
            } catch {
                var outcome = TargetOutcome(name: target.name, status: .failed, destination: target.deliver.description)
                outcome.error = "finishing the interrupted delivery of run \(runIdOf(state)) failed: \(error)"
                outcome.exitCode = ExitCode(for: error)
                if let journal = try? state.pendingJournal() {
                    outcome.pending = PendingDelivery(
                        runId: journal.runId, remaining: journal.remaining.map(\.name), files: journal.files.map(\.name))
                }
                finished[target.name] = outcome
            }
        }

        // 2. Read the source once, for every target still to plan.
        let remaining = selected.filter { finished[$0.name] == nil }
        var plans: [Prepared] = []
        if !remaining.isEmpty {
            do {
                let table = try trace("read source") { try readSource(for: remaining) }
                report.sourceRows = table.rowCount
                report.sourceSHA256 = table.sha256
                try checkSourceGates(table)
                // 3-4. Plan and write each target, in parallel.
                plans = trace("plan and write") { planAll(remaining, table: table) }
                if let (name, key) = options.explain, let p = plans.first(where: { $0.plan.target.name == name }) {
                    if p.outcome.status == .failed { throw DataError(p.outcome.error ?? "target `\(name)` failed") }
                    report.explanation = try Explanation(plan: p.plan, table: table).text(key: key)
                }
            } catch {
                report.error = "\(error)"
                report.errorCode = ExitCode(for: error)
                report.targets = selected.map { target in
                    var o =
                        finished[target.name]
                        ?? TargetOutcome(name: target.name, status: .failed, destination: target.deliver.description)
                    if finished[target.name] == nil { o.error = "not run: the source failed its checks" }
                    o.recovered = recovered[target.name] ?? []
                    o.pending = o.pending ?? pending[target.name]
                    return o
                }
                return
            }
        }

        // 5. Deliver and commit, target by target.
        for k in plans.indices {
            let name = plans[k].plan.target.name
            plans[k].outcome.recovered = recovered[name] ?? []
            plans[k].outcome.pending = pending[name]
            if isRun { trace("deliver \(name)") { deliver(&plans[k]) } }
            // Finishing an interrupted delivery delivered something, even when tonight has nothing new.
            if !(recovered[name] ?? []).isEmpty && plans[k].outcome.status == .unchanged {
                plans[k].outcome.status = .delivered
            }
        }
        if isRun, let rows = report.sourceRows, let sha256 = report.sourceSHA256, report.errorCode == nil {
            try? store.saveSourceRecord(.init(rows: rows, sha256: sha256, runId: clock.runId, time: clock.iso))
        }
        var byName = finished
        for p in plans { byName[p.plan.target.name] = p.outcome }
        report.targets = selected.compactMap { byName[$0.name] }
        if let save = options.savePlan {
            try SavedPlan.write(plans, to: save, runner: self, report: report)
        }
    }

    private func runIdOf(_ state: TargetState) -> String { (try? state.pendingJournal()?.runId) ?? "?" }

    /// With `DROPFEED_TRACE=1`, prints how long each phase took to stderr (for benchmarks).
    @discardableResult
    func trace<T>(_ phase: String, _ body: () throws -> T) rethrows -> T {
        let observer = options.observer
        guard traceEnabled || observer != nil else { return try body() }
        observer?.phaseStarted(phase)
        let start = Date()
        defer {
            let seconds = Date().timeIntervalSince(start)
            if traceEnabled {
                FileHandle.standardError.write(Data("trace: \(phase): \(String(format: "%.3f", seconds)) s\n".utf8))
            }
            observer?.phaseFinished(phase, seconds: seconds)
        }
        return try body()
    }

    private let traceEnabled = ProcessInfo.processInfo.environment["DROPFEED_TRACE"] == "1"

    func selectTargets() throws -> [TargetConfig] {
        let names = config.targets.map(\.name)
        if let (name, _) = options.explain {
            // `--explain` plans that one target only.
            guard let target = config.targets.first(where: { $0.name == name }) else {
                throw UnknownTargetError(name: name, known: names)
            }
            return [target]
        }
        if options.targets.isEmpty { return config.targets }
        for name in options.targets where !names.contains(name) { throw UnknownTargetError(name: name, known: names) }
        return config.targets.filter { options.targets.contains($0.name) }
    }

    // MARK: Read

    /// Where the export's working copy goes: the state directory for a run, else scratch.
    private var spoolFolder: String { isRun ? config.stateDir : (scratch ?? NSTemporaryDirectory()) }

    func readSource(for targets: [TargetConfig]) throws -> SourceTable {
        var needed = Set<String>()
        var lookupKeys = Set<String>()
        var lookupTargets = Set<String>()
        var lookupBy = Set<String>()
        for target in targets {
            lookupBy.formUnion(CompiledMapping.lookupByColumns(of: target.mapping))
            needed.formUnion(CompiledMapping.sourceColumns(of: target.mapping))
            lookupKeys.formUnion(CompiledMapping.lookupKeys(of: target.mapping))
            lookupTargets.formUnion(CompiledMapping.lookupTargets(of: target.mapping))
        }
        let table = try SourceTable(
            source: config.source, needed: needed, lookupKeys: lookupKeys, lookupTargets: lookupTargets,
            lookupBy: lookupBy, duplicates: config.source.duplicateKeys, spoolFolder: spoolFolder)
        Fault.point("after-spool")
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

    private func checkSourceGates(_ table: SourceTable) throws {
        try SourceGates(source: config.source, approved: options.allowShrink)
            .check(rows: table.rowCount, last: store.sourceRecord()?.rows)
    }

    // MARK: Plan and write

    /// A target's plan with where its files and snapshot were written.
    struct Prepared {
        var plan: TargetPlan
        var outcome: TargetOutcome
        /// The folder holding `files/` and `snapshot/` (staging for a run, the saved plan's
        /// target folder, or scratch).
        var folder: String?
    }

    /// Plans the targets one after another — each plan maps its rows on every core — and writes
    /// each planned target's files in the background while the next one is planned. Above
    /// `overlapLimit` export rows the write finishes before the next plan starts, so that one
    /// target's indexes are in memory at a time, not two.
    private func planAll(_ targets: [TargetConfig], table: SourceTable) -> [Prepared] {
        let slots = Slots<Prepared>(targets.count)
        let writes = DispatchGroup()
        let overlap = table.rowCount <= FeedRunner.overlapLimit
        // Targets sending full files first: writing every row is the longest write, and it
        // overlaps the planning of the targets after it. (Results keep the config's order.)
        let order = targets.indices.filter { targets[$0].mapping.output.mode != .delta }
            + targets.indices.filter { targets[$0].mapping.output.mode == .delta }
        for k in order {
            let target = targets[k]
            if !overlap { writes.wait() }
            let planned = plan(target, table: table)
            guard planned.folder != nil else {
                slots[k] = planned
                continue
            }
            DispatchQueue.global().async(group: writes) {
                var prepared = planned
                do {
                    try self.trace("write \(target.name)") { try self.write(&prepared) }
                    // `--explain` tells a row's story from the plan's indexes afterwards.
                    if self.options.explain == nil { prepared.plan.releaseRows() }
                } catch {
                    prepared = self.failed(target, error, folder: prepared.folder)
                }
                slots[k] = prepared
            }
        }
        writes.wait()
        return slots.all
    }

    /// The export size up to which a target's files are written while the next target is planned.
    static let overlapLimit = 4_000_000

    /// The folder a target's plan is written to.
    private func folder(for target: TargetConfig) throws -> String {
        if isRun { return try store.makeStaging(target: target.name, runId: clock.runId) }
        let base = options.savePlan.map { SavedPlan.stagingFolder(for: $0) } ?? scratch!
        let folder = base + "/" + target.name
        try FileSystem.makeDirectory(folder + "/files", root: base)
        try FileSystem.makeDirectory(folder + "/snapshot", root: base)
        return folder
    }

    /// The snapshot a target's plan diffs against: the one in force, or — for a plan made while
    /// a delivery is pending — the one that delivery leads to.
    private func previousSnapshot(_ state: TargetState) throws -> Snapshot? {
        if !isRun, let pending = try state.pendingOrCommittingSnapshot(spoolFolder: spoolFolder) { return pending }
        return try state.loadCurrent(spoolFolder: spoolFolder)
    }

    /// Plans one target into its folder (its new segment); nothing else is written yet.
    private func plan(_ target: TargetConfig, table: SourceTable) -> Prepared {
        let state = store.target(target.name)
        var folder: String?
        do {
            let previous = try previousSnapshot(state)
            let made = try self.folder(for: target)
            folder = made
            // Never a number already used, even after a rollback or a reset.
            let seq = max(previous?.meta.seq ?? 0, state.highestSeq()) + 1
            let planner = TargetPlanner(
                target: target, table: table, previous: previous, clock: clock,
                gates: TargetGates(
                    safety: target.mapping.safety, allowDeletes: options.allowDeletes, allowUpdates: options.allowUpdates),
                seq: seq, inputDigest: inputDigest(for: target, table: table),
                segmentPath: made + "/snapshot/" + clock.runId + ".seg")
            let plan = trace("plan \(target.name)") { planner.plan() }
            Fault.point("after-segment", target: target.name)
            return Prepared(plan: plan, outcome: plan.outcome, folder: made)
        } catch {
            return failed(target, error, folder: folder)
        }
    }

    /// A target that failed before it could be delivered; its folder is dropped.
    private func failed(_ target: TargetConfig, _ error: Error, folder: String?) -> Prepared {
        var outcome = TargetOutcome(name: target.name, status: .failed, destination: target.deliver.description)
        outcome.error = "\(error)"
        outcome.exitCode = ExitCode(for: error)
        if let folder, isRun { store.discardStaging(folder) }
        let plan = TargetPlan(target: target, previous: nil, segmentName: "", inputDigest: "")
        plan.outcome = outcome
        return Prepared(plan: plan, outcome: outcome, folder: nil)
    }

    /// Writes a planned target's files and snapshot into its folder (and `--out`).
    private func write(_ prepared: inout Prepared) throws {
        let plan = prepared.plan
        guard let folder = prepared.folder else { return }
        let writer = FileWriter(plan: plan)
        if plan.outcome.status == .failed { return }
        if let out = options.outDir {
            // Each target's folder holds exactly this plan's files.
            let target = out + "/" + plan.target.name
            try FileSystem.remove(target)
            try FileSystem.makeDirectory(target, root: out)
            if plan.outcome.status != .failed { try writer.writeChanges(to: target + "/changes.csv") }
        }
        guard plan.outcome.status != .held else { return }
        let files = try writer.writeFiles(into: folder + "/files")
        prepared.outcome.files = files
        Fault.point("after-files", target: plan.target.name)
        if plan.moves && (isRun || options.savePlan != nil) {
            plan.nextMeta = try writer.writeSnapshot(into: folder + "/snapshot", files: files)
            Fault.point("after-snapshot", target: plan.target.name)
        }
        if let out = options.outDir {
            for file in files {
                try FileSystem.copy(folder + "/files/" + file.name, to: out + "/" + plan.target.name + "/" + file.name)
            }
        }
    }

    /// What a target's mapped rows depend on besides the export's rows: the mapping file, the
    /// export's header and dialect, the key, and this program's version.
    func inputDigest(for target: TargetConfig, table: SourceTable) -> String {
        let source = config.source
        let parts = [
            dropfeedVersion, target.mapping.digest, table.header.joined(separator: "\u{1F}"),
            source.key.joined(separator: "\u{1F}"), String(source.options.delimiter), source.options.encoding.rawValue,
            source.format.rawValue,
        ]
        return SHA256.hex(Array(parts.joined(separator: "\u{1E}").utf8))
    }

    // MARK: Deliver and commit

    /// Stages a planned target's delivery (its files and snapshot become `pending/` with a
    /// journal), sends the files and commits — the one path, files or none.
    func deliver(_ prepared: inout Prepared, runId: String? = nil, time: String? = nil) {
        let plan = prepared.plan
        guard let folder = prepared.folder else { return }
        guard prepared.outcome.status != .failed, prepared.outcome.status != .held, plan.moves else {
            store.discardStaging(folder)
            return
        }
        let journal = Journal(
            runId: runId ?? clock.runId, target: plan.target.name, time: time ?? clock.iso,
            files: prepared.outcome.files.map {
                var f = $0
                f.delivered = false
                return f
            })
        do {
            try store.stage(target: plan.target.name, journal: journal, staging: folder)
        } catch {
            prepared.outcome.status = .failed
            prepared.outcome.error = "\(error)"
            prepared.outcome.exitCode = ExitCode(for: error)
            store.discardStaging(folder)
            return
        }
        do {
            try Delivery(store: store, drops: drops).complete(journal, target: plan.target, recovering: false)
            prepared.outcome.status = prepared.outcome.files.isEmpty ? .unchanged : .delivered
        } catch {
            prepared.outcome.status = .failed
            prepared.outcome.error = "\(error)"
            prepared.outcome.exitCode = ExitCode(for: error)
        }
    }
}
