import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The sample feed as the crash tests drive it: night one delivered, night two cut short (by a
/// fault point or a timed SIGKILL), the run after it, and a third — checked against what a
/// clean night two delivers (`CrashOracle`).
///
/// `.directory` delivers every target into local folders (`dropfeed.local.json`); `.sftp`
/// delivers acme-lms to a throw-away loopback sshd (`dropfeed.json`) and the others locally.
///
///     try CrashFeed.with(.directory) { feed in
///         try feed.nightOne()
///         let r = try feed.run(["run"], now: CrashFeed.nightTwo, fault: "after-stage:badges")
///     }
final class CrashFeed {
    enum Kind: String, Sendable, CaseIterable { case directory, sftp }

    let kind: Kind
    let ws: FeedWorkspace
    /// The SFTP feed, for `.sftp`.
    let sftp: SFTPFeed?

    static let nightOneTime = "2026-03-02T02:00:00Z"
    static let nightTwo = "2026-03-03T02:00:00Z"
    static let targets = FeedWorkspace.targets
    /// The exit code of a process killed by SIGKILL, as `DropfeedProcess` reports it.
    static let killed: Int32 = 128 + SIGKILL

    private init(kind: Kind, ws: FeedWorkspace, sftp: SFTPFeed?) {
        self.kind = kind
        self.ws = ws
        self.sftp = sftp
    }

    /// Makes a feed of `kind` (an sshd for `.sftp`), runs `body`, and removes everything afterwards.
    static func with<T>(_ kind: Kind, _ body: (CrashFeed) throws -> T) throws -> T {
        switch kind {
        case .directory:
            return try FeedWorkspace.with { ws in try body(CrashFeed(kind: kind, ws: ws, sftp: nil)) }
        case .sftp:
            return try SFTPFeed.with { feed in try body(CrashFeed(kind: kind, ws: feed.ws, sftp: feed)) }
        }
    }

    var stateDir: URL { ws.file("state") }

    /// The environment of a `dropfeed` child: the test's, with `DROPFEED_NOW` and no fault unless given.
    func environment(now: String, extra: [String: String] = [:]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["DROPFEED_NOW"] = now
        env.removeValue(forKey: "DROPFEED_FAULT")
        env.removeValue(forKey: "DROPFEED_FAULT_SIGNAL")
        env.merge(extra) { _, new in new }
        return env
    }

    func arguments(_ arguments: [String]) -> [String] {
        [arguments[0], "--config", ws.config] + arguments.dropFirst()
    }

    /// Runs `dropfeed COMMAND --config CONFIG ARGS…` in `samples/` and waits for it.
    func run(_ arguments: [String], now: String, fault: String? = nil, extra: [String: String] = [:]) throws
        -> ProcessResult
    {
        var extra = extra
        if let fault { extra["DROPFEED_FAULT"] = fault }
        return try DropfeedProcess.run(
            self.arguments(arguments), cwd: ws.samples, environment: environment(now: now, extra: extra))
    }

    /// Starts `dropfeed` without waiting (output discarded unless given), for timed kills and
    /// stopped runs.
    func launch(
        _ arguments: [String], now: String, extra: [String: String] = [:], stdout: FileHandle = .nullDevice,
        stderr: FileHandle = .nullDevice
    ) throws -> Process {
        let process = Process()
        process.executableURL = try DropfeedProcess.binary()
        process.arguments = self.arguments(arguments)
        process.currentDirectoryURL = ws.samples
        process.environment = environment(now: now, extra: extra)
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Night one, delivered in full; then night two's export takes its place.
    func nightOne(sourceLocation: SourceLocation = #_sourceLocation) throws {
        let r = try run(["run"], now: Self.nightOneTime)
        try #require(r.exitCode == 0, "night one: \(r.stderr.prefix(1500))", sourceLocation: sourceLocation)
        try ws.nextDay()
    }

    /// The folder `target` delivers into.
    func deliveryFolder(_ target: String) -> URL {
        if let sftp, target == "acme-lms" { return sftp.remote.url }
        return ws.outbox(target)
    }

    /// Every entry of every delivery folder (hidden ones too), by target, with its bytes.
    func delivered() -> [String: [String: Data]] {
        var out: [String: [String: Data]] = [:]
        for target in Self.targets {
            let folder = deliveryFolder(target)
            var files: [String: Data] = [:]
            for name in (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [] {
                files[name] = (try? Data(contentsOf: folder.appendingPathComponent(name))) ?? Data()
            }
            out[target] = files
        }
        return out
    }

    /// `state export TARGET` of every target: the rows the vendor has, as the state says.
    func exports(now: String = CrashFeed.nightTwo) throws -> [String: Data] {
        var out: [String: Data] = [:]
        for target in Self.targets {
            let r = try run(["state", "export", target], now: now)
            #expect(r.exitCode == 0, "state export \(target): exit \(r.exitCode): \(r.stderr.prefix(500))")
            out[target] = r.stdoutData
        }
        return out
    }

    /// What interrupted runs left in the state directory: hidden entries (other than the lock),
    /// a target's `pending/`, hidden entries in `generations/` and `segments/`.
    func stateLeftovers() -> [String] {
        let fm = FileManager.default
        var found: [String] = []
        for name in (try? fm.contentsOfDirectory(atPath: stateDir.path)) ?? [] where name.hasPrefix(".") && name != ".lock" {
            found.append(name)
        }
        for target in Self.targets {
            let folder = stateDir.appendingPathComponent(target)
            for name in (try? fm.contentsOfDirectory(atPath: folder.path)) ?? []
            where name.hasPrefix(".") || name == "pending" {
                found.append("\(target)/\(name)")
            }
            for sub in ["generations", "segments"] {
                for name in (try? fm.contentsOfDirectory(atPath: folder.appendingPathComponent(sub).path)) ?? []
                where name.hasPrefix(".") {
                    found.append("\(target)/\(sub)/\(name)")
                }
            }
        }
        return found.sorted()
    }

    /// Every line of `history.jsonl` is a whole JSON object: a killed run adds its line whole or not at all.
    func expectWholeHistoryLines(_ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        guard let data = FileManager.default.contents(atPath: stateDir.appendingPathComponent("history.jsonl").path)
        else { return }
        for line in data.split(separator: UInt8(ascii: "\n")) {
            let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any]
            #expect(object != nil, "\(what): a torn line in history.jsonl: \(String(decoding: line.prefix(200), as: UTF8.self))", sourceLocation: sourceLocation)
        }
    }

    /// Whether `name`, found in a delivery folder after a crash, is a temporary file of an
    /// unfinished upload: `.NAME.part-…` in a local folder, `NAME.part` on the SFTP server.
    func isTemporary(_ name: String, of target: String) -> Bool {
        if sftp != nil && target == "acme-lms" { return name.hasSuffix(".part") }
        return name.hasPrefix(".") && name.contains(".part-")
    }

    // MARK: Checks

    /// Right after a crash: each target's state is night one's or night two's, never a mix; every
    /// file in a delivery folder is one night two delivers, byte for byte, or a temporary file.
    func expectCrashLeftSomethingConsistent(
        _ oracle: CrashOracle.Nights, _ what: String, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let exports = try exports()
        for target in Self.targets {
            let state = exports[target]
            #expect(
                state == oracle.oldExports[target] || state == oracle.newExports[target],
                "\(what): after the crash the state of \(target) is neither night one's nor night two's",
                sourceLocation: sourceLocation)
        }
        let now = delivered()
        for target in Self.targets {
            for (name, bytes) in now[target] ?? [:] where !isTemporary(name, of: target) {
                #expect(
                    oracle.newDelivered[target]?[name] == bytes,
                    "\(what): after the crash \(target) has \(name), which a clean night two does not deliver with these bytes",
                    sourceLocation: sourceLocation)
            }
        }
    }

    /// After the run that follows the crash: exactly what a clean night two delivers (every
    /// file once, under its one name, byte for byte, nothing temporary), the state of a clean
    /// night two, no leftovers; and a third run sends nothing.
    func expectConverged(
        _ oracle: CrashOracle.Nights, _ what: String, now: String = CrashFeed.nightTwo,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let delivered = delivered()
        for target in Self.targets {
            let got = delivered[target] ?? [:]
            let want = oracle.newDelivered[target] ?? [:]
            #expect(
                Set(got.keys) == Set(want.keys),
                "\(what): \(target) delivered \(got.keys.sorted()), a clean night two \(want.keys.sorted())",
                sourceLocation: sourceLocation)
            for (name, bytes) in want where got[name] != nil && got[name] != bytes {
                Issue.record("\(what): \(target)'s \(name) differs from a clean night two's", sourceLocation: sourceLocation)
            }
        }
        #expect(try exports(now: now) == oracle.newExports, "\(what): the state is not night two's", sourceLocation: sourceLocation)
        #expect(stateLeftovers().isEmpty, "\(what): leftovers in the state directory: \(stateLeftovers())", sourceLocation: sourceLocation)
        expectWholeHistoryLines(what, sourceLocation: sourceLocation)

        let third = try run(["run", "--json"], now: now)
        #expect(third.exitCode == 0, "\(what): third run exit \(third.exitCode): \(third.stderr.prefix(800))", sourceLocation: sourceLocation)
        if let report = try? JSONDecoder().decode(FeedReport.self, from: third.stdoutData) {
            for target in report.targets {
                #expect(target.files.isEmpty, "\(what): the third run sent \(target.files.map(\.name)) to \(target.name)", sourceLocation: sourceLocation)
            }
        } else {
            Issue.record("\(what): the third run printed no report", sourceLocation: sourceLocation)
        }
        #expect(self.delivered() == delivered, "\(what): the third run changed a delivery folder", sourceLocation: sourceLocation)
    }
}

/// What a clean night two delivers and leaves in the state, from a workspace of its own —
/// computed once for all crash tests.
enum CrashOracle {
    struct Nights: Sendable {
        /// `state export` of each target after night one and after night two.
        var oldExports: [String: Data]
        var newExports: [String: Data]
        /// Each target's delivery folder after night two (both nights' files).
        var newDelivered: [String: [String: Data]]
    }

    struct Failure: Error, Sendable, CustomStringConvertible { var description: String }

    private static let computed: Result<Nights, Failure> = {
        do {
            return .success(
                try CrashFeed.with(.directory) { feed in
                    try feed.nightOne()
                    let old = try feed.exports()
                    let r = try feed.run(["run"], now: CrashFeed.nightTwo)
                    guard r.exitCode == 0 else { throw Failure(description: "clean night two: \(r.stderr.prefix(1500))") }
                    return Nights(oldExports: old, newExports: try feed.exports(), newDelivered: feed.delivered())
                })
        } catch let error as Failure {
            return .failure(error)
        } catch {
            return .failure(Failure(description: "\(error)"))
        }
    }()

    /// The nights of the sample feed, as a clean run delivers them.
    static func nights() throws -> Nights { try computed.get() }
}
