import Foundation
import Testing

/// The JSON report of `plan --json` / `run --json`: the contract fields, decoded
/// strictly (a missing contract field fails the decoding), plus the extras the tests look at.
struct FeedReport: Decodable {
    struct Source: Decodable {
        var path: String
        var rows: Int?
        var sha256: String?
    }

    struct File: Decodable, Equatable {
        var name: String
        var kind: String?
        var rows: Int
        var bytes: Int
        var sha256: String
    }

    struct Gate: Decodable, Equatable {
        var name: String
        var limit: Double
        var actual: Double
    }

    struct Target: Decodable {
        var name: String
        var status: String
        var rows: Int
        var adds: Int
        var updates: Int
        var deletes: Int
        var unchanged: Int
        var rejected: Int
        var files: [File]
        var gate: Gate?
        var error: String?
        /// Not in the contract: the files an interrupted delivery finished.
        var recovered: [String]?
    }

    var command: String
    /// Not in the contract: the run's id, as `state list` and `state show` name it.
    var runId: String?
    var ok: Bool
    var exitCode: Int
    var source: Source
    var targets: [Target]
    var error: String?

    func target(_ name: String) throws -> Target {
        try #require(targets.first { $0.name == name }, "no target \(name) in the report (\(targets.map(\.name)))")
    }
}

/// A copy of `samples/` and `mappings/` in a fresh temporary directory, laid out as in the
/// repository (the configs name `../mappings/…`), where the sample feed runs.
///
///     try FeedWorkspace.with { ws in
///         let (r, report) = try ws.report(["run"])
///         #expect(r.exitCode == 0)
///     }
struct FeedWorkspace {
    let root: TemporaryDirectory
    /// The config every command gets unless told otherwise (relative to `samples/`).
    var config = "dropfeed.local.json"
    /// `DROPFEED_NOW` for the next commands: runs a day apart get names and run ids in order.
    var now = "2026-03-02T02:00:00Z"

    static let targets = ["acme-lms", "badges", "awareness"]

    init() throws {
        root = try TemporaryDirectory(prefix: "dropfeed-feed-e2e")
        let fm = FileManager.default
        for folder in ["samples", "mappings"] {
            try fm.copyItem(at: DropfeedProcess.packageRoot.appendingPathComponent(folder), to: root.file(folder))
        }
        // A developer's earlier try-out must not leak in.
        for leftover in ["state", "state-all", "outbox", "outbox-all", "demo"] {
            try? fm.removeItem(at: root.file("samples/\(leftover)"))
        }
    }

    /// Makes a workspace, runs `body` with it, and removes it afterwards whatever happened.
    static func with<T>(_ body: (inout FeedWorkspace) throws -> T) throws -> T {
        var ws = try FeedWorkspace()
        defer { ws.root.remove() }
        return try body(&ws)
    }

    /// The folder the commands run in.
    var samples: URL { root.file("samples") }

    /// `samples/PATH`.
    func file(_ path: String) -> URL { samples.appendingPathComponent(path) }

    func outbox(_ target: String) -> URL { file("outbox/\(target)") }

    /// Runs `dropfeed COMMAND --config CONFIG ARGS…` in `samples/` with `DROPFEED_NOW` set and stdin at EOF.
    func run(_ arguments: [String], config: String? = nil) throws -> ProcessResult {
        var environment = ProcessInfo.processInfo.environment
        environment["DROPFEED_NOW"] = now
        let configArguments = ["--config", config ?? self.config]
        let all = arguments.isEmpty ? configArguments : [arguments[0]] + configArguments + arguments.dropFirst()
        return try DropfeedProcess.run(all, cwd: samples, environment: environment)
    }

    /// Runs `dropfeed ARGS --json` and decodes the report on stdout.
    func report(_ arguments: [String], config: String? = nil) throws -> (ProcessResult, FeedReport) {
        let r = try run(arguments + ["--json"], config: config)
        do {
            return (r, try JSONDecoder().decode(FeedReport.self, from: r.stdoutData))
        } catch {
            Issue.record(
                "`dropfeed \(arguments.joined(separator: " ")) --json` printed no report (exit \(r.exitCode)): \(error)\nstdout: \(r.stdout.prefix(2000))\nstderr: \(r.stderr.prefix(2000))"
            )
            throw error
        }
    }

    /// The next day's export arrives: `hr_export_next.csv` replaces `hr_export.csv`.
    func nextDay() throws {
        try replaceSource(with: file("hr_export_next.csv"))
    }

    func replaceSource(with url: URL) throws {
        let source = file("hr_export.csv")
        try FileManager.default.removeItem(at: source)
        try FileManager.default.copyItem(at: url, to: source)
    }

    /// Writes a copy of the config named `name`, with `edit` applied to its text; fails when the edit changed nothing.
    func writeConfig(_ name: String, from original: String = "dropfeed.local.json", _ edit: (String) -> String) throws {
        try rewrite(original, as: name, edit)
    }

    /// Edits `samples/PATH` (e.g. `../mappings/acme-lms.json`) in place.
    func edit(_ path: String, _ edit: (String) -> String) throws {
        try rewrite(path, as: path, edit)
    }

    private func rewrite(_ path: String, as target: String, _ edit: (String) -> String) throws {
        let text = try String(contentsOf: file(path), encoding: .utf8)
        let edited = edit(text)
        try #require(edited != text, "the edit of \(path) changed nothing")
        try Data(edited.utf8).write(to: file(target))
    }

    /// Every regular file under `samples/PATH`, by relative path, with its contents (empty when
    /// the folder does not exist): for "nothing changed here" checks.
    func contents(of path: String) -> [String: Data] {
        let base = file(path)
        var out: [String: Data] = [:]
        guard let walker = FileManager.default.enumerator(at: base, includingPropertiesForKeys: [.isRegularFileKey])
        else { return out }
        for case let url as URL in walker {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true else { continue }
            let relative = String(url.standardizedFileURL.path.dropFirst(base.standardizedFileURL.path.count + 1))
            out[relative] = (try? Data(contentsOf: url)) ?? Data()
        }
        return out
    }

    /// The state directory's snapshots, journals and records — everything but the lock and the
    /// run history (`history.jsonl`, `runs/`), which every run, failed or not, appends to.
    func snapshotState() -> [String: Data] {
        contents(of: "state").filter { k, _ in k != ".lock" && !k.hasPrefix("history.jsonl") && !k.hasPrefix("runs/") }
    }

    /// The names in `outbox/TARGET` (empty when it does not exist).
    func delivered(_ target: String) -> Set<String> {
        Set((try? FileManager.default.contentsOfDirectory(atPath: outbox(target).path)) ?? [])
    }

    func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: file(path).path) }
}

extension String {
    /// `self` with `target` replaced, recording an issue when `target` does not occur.
    func replacingExactly(_ target: String, with replacement: String, sourceLocation: SourceLocation = #_sourceLocation)
        -> String
    {
        if !contains(target) { Issue.record("`\(target)` is not in the text to edit", sourceLocation: sourceLocation) }
        return replacingOccurrences(of: target, with: replacement)
    }
}
