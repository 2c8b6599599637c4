import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A saved plan is stale, damaged or not a plan (exit 65): nothing was delivered.
public struct StalePlanError: CodedError {
    public var message: String
    public var exitCode: ExitCode { .data }
    public var description: String { message }
}

/// `plan --save PLAN` and `run --plan PLAN`: a plan kept as it was computed — per target the
/// exact files it would send and the snapshot it leads to — and later delivered byte for byte,
/// or refused when anything it was computed from has moved (terraform's `plan -out` /
/// `apply PLAN`).
///
/// ```
/// PLAN/plan.json                what it was computed from, and each target's outcome
/// PLAN/<target>/files/          the files to send
/// PLAN/<target>/snapshot/       meta.json, index.bin and the new segment: the snapshot to commit
/// ```
/// The folder is 0700 and its files 0600: a plan holds identity data.
enum SavedPlan {
    static let format = 1

    struct Manifest: Codable {
        var format: Int
        var dropfeedVersion: String
        var runId: String
        var createdAt: String
        var config: Digest
        var source: SourceDigest
        var targets: [Target]
    }

    struct Digest: Codable {
        var path: String
        var sha256: String
    }

    struct SourceDigest: Codable {
        var path: String
        var sha256: String
        var rows: Int
    }

    struct Target: Codable {
        var name: String
        var mappingSHA256: String
        /// The run id of the snapshot the plan was computed against (nil: none yet).
        var base: String?
        /// Whether the snapshot moves (files to send, or only omitted deletes).
        var moves: Bool
        var outcome: TargetOutcome
    }

    /// Where `plan --save PLAN` builds the plan before it moves it into place.
    static func stagingFolder(for path: String) -> String { path + ".partial-\(getpid())" }

    // MARK: Save

    static func write(_ plans: [FeedRunner.Prepared], to path: String, runner: FeedRunner, report: RunReport) throws {
        let staging = stagingFolder(for: path)
        defer { try? FileSystem.remove(staging) }
        if let error = report.error {
            throw StalePlanError(message: "the plan was not saved: \(error)")
        }
        if let failed = plans.first(where: { $0.outcome.status == .failed }) {
            throw StalePlanError(
                message: "the plan was not saved: target `\(failed.plan.target.name)` failed (\(failed.outcome.error ?? "?"))")
        }
        let manifest = Manifest(
            format: format, dropfeedVersion: dropfeedVersion, runId: runner.clock.runId, createdAt: runner.clock.iso,
            config: Digest(path: runner.config.file, sha256: runner.config.digest),
            source: SourceDigest(
                path: runner.config.source.displayPath, sha256: report.sourceSHA256 ?? "", rows: report.sourceRows ?? 0),
            targets: plans.map { p in
                Target(
                    name: p.plan.target.name, mappingSHA256: p.plan.target.mapping.digest,
                    base: p.plan.baseRunId, moves: p.plan.moves && p.outcome.status != .held,
                    outcome: p.outcome)
            })
        try FileSystem.makeDirectory(staging)
        // Folders of held or unchanged targets keep only what explains them.
        for p in plans where !(p.plan.moves && p.outcome.status != .held) {
            try FileSystem.remove(staging + "/" + p.plan.target.name + "/snapshot")
        }
        try FileSystem.writeAtomically(staging + "/plan.json", try encodeJSON(manifest))
        // Replace an earlier saved plan, never anything else.
        var st = stat()
        if lstat(path, &st) == 0 {
            guard st.st_mode & S_IFMT == S_IFDIR, (try? FileSystem.read(path + "/plan.json")) ?? nil != nil else {
                throw StalePlanError(
                    message: "the plan was not saved: \(path) exists and is not a saved plan (choose another name)")
            }
            try FileSystem.remove(path)
        }
        try FileSystem.move(staging, path)
    }

    // MARK: Apply

    static func apply(at path: String, runner: FeedRunner, selected: [TargetConfig], into report: inout RunReport)
        throws
    {
        let manifest = try read(path)
        let config = runner.config
        func stale(_ what: String) -> StalePlanError {
            StalePlanError(message: "plan is stale: \(what); nothing was sent (make a new plan with `dropfeed plan --save`)")
        }
        guard manifest.dropfeedVersion == dropfeedVersion else {
            throw stale("it was made by dropfeed \(manifest.dropfeedVersion), this is \(dropfeedVersion)")
        }
        guard manifest.config.sha256 == config.digest else {
            throw stale("the config \(config.file) changed since the plan")
        }
        // The targets it applies: those asked for (each must be in the plan), else all it has.
        let names = runner.options.targets.isEmpty ? manifest.targets.map(\.name) : selected.map(\.name)
        var targets: [(Target, TargetConfig)] = []
        for name in names {
            guard let saved = manifest.targets.first(where: { $0.name == name }) else {
                throw StalePlanError(message: "the plan has no target `\(name)` (it has: \(manifest.targets.map(\.name).joined(separator: ", ")))")
            }
            guard let target = config.targets.first(where: { $0.name == name }) else {
                throw stale("target `\(name)` is no longer in the config")
            }
            guard target.mapping.digest == saved.mappingSHA256 else {
                throw stale("target `\(name)`'s mapping \(target.mapping.file) changed since the plan")
            }
            targets.append((saved, target))
        }
        let sha = try sha256(ofFile: config.source.path)
        guard sha == manifest.source.sha256 else {
            throw stale("the source \(config.source.displayPath) changed since the plan")
        }

        let lock = try runner.store.lock()
        defer { withExtendedLifetime(lock) {} }
        try runner.store.removeLeftovers(targets: targets.map(\.1.name))
        for (saved, target) in targets {
            let state = runner.store.target(target.name)
            if let pending = try state.pendingJournal() {
                throw stale(
                    "target \(target.name) has a pending delivery of run \(pending.runId) (finish it with `dropfeed run`, or drop it with `dropfeed state discard \(target.name)`)"
                )
            }
            let current = try state.currentRunId()
            guard current == saved.base else {
                throw stale(
                    "target \(target.name)'s snapshot changed since the plan (run \(current ?? "none") is in force, the plan was made against \(saved.base ?? "no snapshot"))"
                )
            }
        }
        // The files are the plan's, byte for byte.
        for (saved, target) in targets where saved.moves {
            for file in saved.outcome.files {
                let local = path + "/" + target.name + "/files/" + file.name
                guard (try? sha256(ofFile: local)) == file.sha256 else {
                    throw StalePlanError(
                        message: "the saved plan is damaged: \(local) is not the file the plan made (sha256 differs); nothing was sent")
                }
            }
        }

        report.sourceRows = manifest.source.rows
        report.sourceSHA256 = manifest.source.sha256
        var outcomes: [TargetOutcome] = []
        for (saved, target) in targets {
            var outcome = saved.outcome
            outcome.pending = nil
            guard saved.moves else {
                if outcome.status == .planned { outcome.status = .unchanged }
                outcomes.append(outcome)
                continue
            }
            do {
                let staging = try runner.store.makeStaging(target: target.name, runId: manifest.runId)
                for name in FileSystem.list(path + "/" + target.name + "/files") {
                    try FileSystem.copy(path + "/" + target.name + "/files/" + name, to: staging + "/files/" + name)
                }
                for name in FileSystem.list(path + "/" + target.name + "/snapshot") {
                    try FileSystem.copy(
                        path + "/" + target.name + "/snapshot/" + name, to: staging + "/snapshot/" + name)
                }
                let plan = TargetPlan(target: target, previous: nil, segmentName: "", inputDigest: "")
                plan.moves = true
                var prepared = FeedRunner.Prepared(plan: plan, outcome: outcome, folder: staging)
                runner.deliver(&prepared, runId: manifest.runId, time: manifest.createdAt)
                outcome = prepared.outcome
            } catch {
                outcome.status = .failed
                outcome.error = "\(error)"
                outcome.exitCode = ExitCode(for: error)
            }
            outcomes.append(outcome)
        }
        report.targets = outcomes
        if outcomes.allSatisfy({ $0.status != .failed }) {
            try? runner.store.saveSourceRecord(
                .init(
                    rows: manifest.source.rows, sha256: manifest.source.sha256, runId: manifest.runId,
                    time: manifest.createdAt))
        }
    }

    static func read(_ path: String) throws -> Manifest {
        let file = path + "/plan.json"
        var st = stat()
        guard lstat(path, &st) == 0 else { throw InputFileError(path: path, reason: "no such saved plan") }
        guard let bytes = try? FileSystem.read(file) else {
            throw StalePlanError(message: "\(path) is not a saved plan (no readable plan.json)")
        }
        do {
            let manifest = try JSONDecoder().decode(Manifest.self, from: Data(bytes))
            guard manifest.format == format else {
                throw StalePlanError(message: "\(file) has format \(manifest.format); this dropfeed reads format \(format)")
            }
            return manifest
        } catch let error as StalePlanError {
            throw error
        } catch {
            throw StalePlanError(message: "\(file) is damaged: \(error.localizedDescription)")
        }
    }
}
