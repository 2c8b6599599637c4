import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One line of `stateDir/history.jsonl`: what one `run` did, per target, in figures.
///
/// It holds counts, statuses, file names, sizes and durations — never row contents.
public struct HistoryEntry: Codable, Sendable, Equatable {
    public struct Target: Codable, Sendable, Equatable {
        public var name: String
        public var status: String
        public var rows: Int
        public var adds: Int
        public var updates: Int
        public var deletes: Int
        public var unchanged: Int
        public var rejected: Int
        public var files: Int
        /// Bytes of the files delivered by this run (0 when nothing was delivered).
        public var bytesSent: Int
        public var exitCode: Int
        /// The gate that held the target, by name.
        public var gate: String?
    }

    public var runId: String
    public var command: String
    /// `run --plan PLAN`: a saved plan was applied.
    public var appliedPlan: Bool
    public var startedAt: String
    public var durationSeconds: Double
    /// The process's exit code (a report file that could not be written counts).
    public var exitCode: Int
    public var error: String?
    public var sourceRows: Int?
    public var targets: [Target]

    /// The entry for `report`, which ended with `exitCode` after `durationSeconds`.
    public init(report: RunReport, appliedPlan: Bool, durationSeconds: Double, exitCode: ExitCode) {
        runId = report.runId
        command = report.command
        self.appliedPlan = appliedPlan
        startedAt = report.startedAt
        self.durationSeconds = (durationSeconds * 1000).rounded() / 1000
        self.exitCode = Int(exitCode.rawValue)
        error = report.error
        sourceRows = report.sourceRows
        targets = report.targets.map { t in
            Target(
                name: t.name, status: t.status.rawValue, rows: t.rows, adds: t.adds, updates: t.updates,
                deletes: t.deletes, unchanged: t.unchanged, rejected: t.rejected, files: t.files.count,
                bytesSent: t.status == .delivered ? t.files.reduce(0) { $0 + $1.bytes } : 0,
                exitCode: Int(t.exitCode.rawValue), gate: t.gate?.name)
        }
    }

    /// This run's line for `target`, if it ran it.
    public func target(_ name: String) -> Target? { targets.first { $0.name == name } }

    /// The start as seconds since 1970 (0 when it cannot be read).
    public var startedAtSeconds: Double {
        ISO8601DateFormatter().date(from: startedAt)?.timeIntervalSince1970 ?? 0
    }
}

/// The run history in the state directory: `history.jsonl` (one line a run, appended
/// atomically, rotated to `history.jsonl.1` past `maxBytes`) and `runs/RUNID.json` (each run's
/// full JSON report, the last `keptReports` kept). Files 0600, folders 0700, no link followed.
public struct RunHistory: Sendable {
    public let stateDir: String
    public var maxBytes: Int
    public var keptReports: Int

    public init(stateDir: String, maxBytes: Int = 4 << 20, keptReports: Int = 100) {
        self.stateDir = stateDir
        self.maxBytes = maxBytes
        self.keptReports = keptReports
    }

    var historyPath: String { stateDir + "/history.jsonl" }
    var rotatedPath: String { historyPath + ".1" }
    var runsFolder: String { stateDir + "/runs" }

    /// Keeps `reportJSON` as `runs/RUNID.json`, prunes the oldest reports, then appends `entry`'s line.
    public func record(_ entry: HistoryEntry, reportJSON: [UInt8]) throws {
        try FileSystem.makeDirectory(runsFolder, root: stateDir)
        guard Self.isRunId(entry.runId) else { throw StateError("`\(entry.runId)` is not a run id") }
        try FileSystem.writeAtomically(runsFolder + "/" + entry.runId + ".json", reportJSON)
        let reports = FileSystem.list(runsFolder).filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }
        for old in reports.dropLast(keptReports) { try FileSystem.remove(runsFolder + "/" + old) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var line = [UInt8](try encoder.encode(entry))
        line.append(0x0A)
        try append(line)
        Fault.point("after-history")
    }

    /// Appends `line` with one `write` to a file opened `O_APPEND` under an exclusive `flock`, so
    /// lines of two processes never mix; renames the file to `history.jsonl.1` first when the
    /// line would take it past `maxBytes`.
    func append(_ line: [UInt8]) throws {
        let path = historyPath
        while true {
            let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard fd >= 0 else {
                if errno == ELOOP {
                    throw StateError(
                        "\(path) is a symbolic link; dropfeed does not follow links inside its own folders")
                }
                throw StateError("cannot open \(path): \(FileSystem.errnoText())")
            }
            defer { close(fd) }
            fchmod(fd, 0o600)
            guard flock(fd, LOCK_EX) == 0 else { throw StateError("cannot lock \(path): \(FileSystem.errnoText())") }
            defer { flock(fd, LOCK_UN) }
            var open = stat()
            var named = stat()
            guard fstat(fd, &open) == 0 else { throw StateError("cannot inspect \(path): \(FileSystem.errnoText())") }
            // Another process rotated the file while this one waited for the lock: open the new one.
            if lstat(path, &named) != 0 || named.st_ino != open.st_ino { continue }
            if open.st_size > 0 && Int(open.st_size) + line.count > maxBytes {
                guard rename(path, rotatedPath) == 0 else {
                    throw StateError("cannot rotate \(path): \(FileSystem.errnoText())")
                }
                continue
            }
            try FileSystem.writeAll(fd, line, path: path)
            guard fsync(fd) == 0 else { throw StateError("cannot sync \(path): \(FileSystem.errnoText())") }
            return
        }
    }

    /// Every recorded run, newest first (the rotated file included); a damaged line is skipped.
    public func entries() throws -> [HistoryEntry] {
        var out: [HistoryEntry] = []
        let decoder = JSONDecoder()
        for path in [rotatedPath, historyPath] {
            guard let bytes = try FileSystem.read(path) else { continue }
            for line in bytes.split(separator: 0x0A) where !line.isEmpty {
                if let entry = try? decoder.decode(HistoryEntry.self, from: Data(line)) { out.append(entry) }
            }
        }
        return out.reversed()
    }

    /// The full JSON report of run `runId`, or nil when it is not kept (any more).
    public func report(runId: String) throws -> [UInt8]? {
        guard Self.isRunId(runId) else { return nil }
        return try FileSystem.read(runsFolder + "/" + runId + ".json")
    }

    /// The run ids whose reports are kept, oldest first.
    public func keptRunIds() -> [String] {
        FileSystem.list(runsFolder).filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.map {
            String($0.dropLast(5))
        }
    }

    /// A run id names a file: letters, digits, `-`, `_` and `.` only, not starting with a dot.
    static func isRunId(_ s: String) -> Bool {
        !s.isEmpty && !s.hasPrefix(".") && s.utf8.count <= 100
            && s.utf8.allSatisfy { b in
                (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D
                    || b == 0x5F || b == 0x2E
            }
    }

    /// Each target's last success (`delivered` or `unchanged`) and last failure (`failed` or
    /// `held`), from the history.
    public func lastOutcomes() throws -> [String: (success: HistoryEntry?, failure: HistoryEntry?)] {
        var out: [String: (success: HistoryEntry?, failure: HistoryEntry?)] = [:]
        for entry in try entries() {
            for t in entry.targets {
                var known = out[t.name] ?? (nil, nil)
                if known.success == nil && (t.status == "delivered" || t.status == "unchanged") {
                    known.success = entry
                }
                if known.failure == nil && (t.status == "failed" || t.status == "held") { known.failure = entry }
                out[t.name] = known
            }
        }
        return out
    }
}
