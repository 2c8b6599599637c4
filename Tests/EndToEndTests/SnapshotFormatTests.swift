import Foundation
import Testing

/// A state directory written by the previous release (snapshot format 1) still reads: the next
/// night delivers exactly what that release delivered from it, and the new snapshot is format 2.
@Suite struct SnapshotFormatTests {
    static let fixture = DropfeedProcess.packageRoot.appendingPathComponent("Tests/EndToEndTests/Fixtures/snapshot-v1")

    /// A copy of the fixture feed, its state private as a run leaves it, with `hr.csv` = `export`.
    static func feed(_ dir: TemporaryDirectory, export: String) throws -> URL {
        let root = dir.file("feed")
        try FileManager.default.copyItem(at: fixture, to: root)
        try FileManager.default.copyItem(at: root.appendingPathComponent(export), to: root.appendingPathComponent("hr.csv"))
        let chmod = try DropfeedProcess.runProgram(
            URL(fileURLWithPath: "/bin/chmod"), ["-R", "go-rwx", root.appendingPathComponent("state").path])
        try #require(chmod.exitCode == 0)
        return root
    }

    static func run(_ args: [String], in root: URL, now: String) throws -> ProcessResult {
        var env = ProcessInfo.processInfo.environment
        env["DROPFEED_NOW"] = now
        return try DropfeedProcess.run(args, cwd: root, environment: env)
    }

    static func currentMeta(_ root: URL, _ target: String) throws -> [String: Any] {
        let current = try String(contentsOf: root.appendingPathComponent("state/\(target)/current"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let data = try Data(contentsOf: root.appendingPathComponent("state/\(target)/generations/\(current)/meta.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test func theFixtureIsAFormatOneState() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let root = try Self.feed(dir, export: "hr_day1.csv")
        for target in ["lms", "badges"] {
            #expect(try Self.currentMeta(root, target)["format"] as? Int == 1)
        }
        // What the vendor has, read from the old snapshot.
        let exported = try Self.run(["state", "export", "lms"], in: root, now: "2026-11-02T02:00:00Z")
        #expect(exported.exitCode == 0, "\(exported.stderr)")
        #expect(
            exported.stdout
                == "user_id,name,email,dept\n1,Zoë Ångström,zoe@x.org,Sales\n2,\"Smith, \"\"Bob\"\"\",bob@x.org,Ops\n"
                + "3,Ünal,u3@x.org,\"Line\nBreak\"\n4,Dee,d@x.org,Ops\n5,Eve,e@x.org,Legal\n")
        // An unchanged night on the old state sends nothing.
        let plan = try Self.run(["plan", "--exit-code"], in: root, now: "2026-11-02T02:00:00Z")
        #expect(plan.exitCode == 0, "\(plan.stderr)")
    }

    @Test func theNextNightOnAnOldStateSendsWhatThePreviousReleaseSent() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let root = try Self.feed(dir, export: "hr_day2.csv")
        let r = try Self.run(["run"], in: root, now: "2026-11-02T02:00:00Z")
        #expect(r.exitCode == 0, "\(r.stderr)")
        for (target, file) in [("lms", "lms_0002_delta.csv"), ("badges", "badges_0002.csv")] {
            let sent = try Data(contentsOf: root.appendingPathComponent("outbox/\(target)/\(file)"))
            let expected = try Data(contentsOf: Self.fixture.appendingPathComponent("expected/\(file)"))
            #expect(sent == expected, "\(target): \(String(decoding: sent, as: UTF8.self))")
            #expect(try Self.currentMeta(root, target)["format"] as? Int == 2)
        }
        // The converted snapshot holds every row: the next night is unchanged...
        let again = try Self.run(["run"], in: root, now: "2026-11-03T02:00:00Z")
        #expect(again.exitCode == 0)
        #expect(again.stderr.contains("lms: unchanged") && again.stderr.contains("badges: unchanged"), "\(again.stderr)")
        // ...and the old generation is still there to roll back to, and still reads.
        let rollback = try Self.run(["state", "rollback", "lms"], in: root, now: "2026-11-03T03:00:00Z")
        #expect(rollback.exitCode == 0, "\(rollback.stderr)")
        #expect(try Self.currentMeta(root, "lms")["format"] as? Int == 1)
        let exported = try Self.run(["state", "export", "lms"], in: root, now: "2026-11-03T03:00:00Z")
        #expect(exported.stdout.contains("4,Dee,d@x.org,Ops\n"), "\(exported.stdout)")
    }
}
