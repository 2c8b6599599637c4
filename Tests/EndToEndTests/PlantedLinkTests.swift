import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Links planted in the folders dropfeed writes (the state directory, a delivery folder, the
/// system temporary folder) are never followed to write or remove anything outside, files and
/// folders are private whatever the umask, and what an interrupted run left behind is cleaned.
@Suite struct PlantedLinkTests {
    /// A folder outside the workspace's own folders, with a file that must stay as it is.
    struct Outside {
        let dir: TemporaryDirectory
        var sentinel: URL { dir.file("precious.txt") }
        static let text = "do not touch\n"

        init() throws {
            dir = try TemporaryDirectory(prefix: "dropfeed-outside")
            try dir.write("precious.txt", Self.text)
        }

        /// Whether the folder holds exactly the untouched sentinel.
        func intact() -> Bool {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.url.path)) ?? []
            return names == ["precious.txt"] && (try? String(contentsOf: sentinel, encoding: .utf8)) == Self.text
        }
    }

    func plantLink(at url: URL, to target: URL) throws {
        try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: url.path, withDestinationPath: target.path)
    }

    func mode(_ url: URL) -> mode_t {
        var st = stat()
        return lstat(url.path, &st) == 0 ? st.st_mode & 0o777 : 0
    }

    @Test func aLinkedLockFileIsRefused() throws {
        try FeedWorkspace.with { ws in
            let outside = try Outside()
            defer { outside.dir.remove() }
            try plantLink(at: ws.file("state/.lock"), to: outside.sentinel)
            let r = try ws.run(["run"])
            #expect(r.exitCode == 73, "\(r.stderr)")
            #expect(r.stderr.contains("symbolic link"))
            #expect(outside.intact())
            #expect(ws.delivered("acme-lms").isEmpty)
        }
    }

    @Test func linksPlantedInATargetFolderAreRemovedNotFollowed() throws {
        try FeedWorkspace.with { ws in
            let outside = try Outside()
            defer { outside.dir.remove() }
            // What an interrupted run leaves, planted as links to a folder outside.
            for name in [".staging-20260302T020000Z-0000000001", ".pending-x", ".trash-y", ".current.tmp-z"] {
                try plantLink(at: ws.file("state/acme-lms/\(name)"), to: outside.dir.url)
            }
            try plantLink(at: ws.file("state/badges/pending"), to: outside.dir.url)
            let r = try ws.run(["run"])
            #expect(r.exitCode == 0, "\(r.stderr)")
            #expect(outside.intact())
            let left = try FileManager.default.contentsOfDirectory(atPath: ws.file("state/acme-lms").path).sorted()
            #expect(left == ["current", "generations", "segments"], "leftovers stayed: \(left)")
            #expect(!ws.exists("state/badges/pending"))
            #expect(!ws.delivered("badges").isEmpty)
        }
    }

    @Test func aLinkAtADeliveredNameIsNotWrittenThrough() throws {
        try FeedWorkspace.with { ws in
            let outside = try Outside()
            defer { outside.dir.remove() }
            // The name day 1's acme-lms delta will have, and a stale temporary name beside it.
            try plantLink(at: ws.file("outbox/acme-lms/acme_users_20260302_0001_delta.csv"), to: outside.sentinel)
            try plantLink(at: ws.file("outbox/badges/.badges_20260302_0001.csv.part-4242"), to: outside.sentinel)
            let (r, report) = try ws.report(["run"])
            #expect(r.exitCode == 69)
            #expect(try report.target("acme-lms").status == "failed")
            #expect(try report.target("acme-lms").error?.contains("already exists") == true)
            #expect(try report.target("badges").status == "delivered")
            #expect(outside.intact())
            #expect(!ws.delivered("badges").contains { $0.contains(".part-") }, "\(ws.delivered("badges"))")
        }
    }

    @Test func filesAndFoldersArePrivateWhateverTheUmask() throws {
        try FeedWorkspace.with { ws in
            let binary = try DropfeedProcess.binary()
            var environment = ProcessInfo.processInfo.environment
            environment["DROPFEED_NOW"] = ws.now
            let r = try DropfeedProcess.runProgram(
                URL(fileURLWithPath: "/bin/sh"),
                ["-c", "umask 000; exec \"$0\" \"$@\"", binary.path, "run", "--config", ws.config],
                cwd: ws.samples, environment: environment)
            #expect(r.exitCode == 0, "\(r.stderr)")
            for folder in ["state", "outbox/acme-lms", "outbox/badges", "outbox/awareness"] {
                let walker = try #require(FileManager.default.enumerator(atPath: ws.file(folder).path))
                #expect(mode(ws.file(folder)) == 0o700, "\(folder)")
                var seen = 0
                for case let relative as String in walker {
                    let url = ws.file(folder + "/" + relative)
                    var isDirectory: ObjCBool = false
                    FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory)
                    #expect(mode(url) == (isDirectory.boolValue ? 0o700 : 0o600), "\(folder)/\(relative)")
                    seen += 1
                }
                #expect(seen > 0, "\(folder) is empty")
            }
        }
    }

    @Test func aPlanWithoutOutUsesAPrivateTemporaryFolder() throws {
        try FeedWorkspace.with { ws in
            let outside = try Outside()
            defer { outside.dir.remove() }
            let tmp = try TemporaryDirectory(prefix: "dropfeed-tmpdir")
            defer { tmp.remove() }
            var environment = ProcessInfo.processInfo.environment
            environment["DROPFEED_NOW"] = ws.now
            environment["TMPDIR"] = tmp.url.path
            let r = try DropfeedProcess.run(["plan", "--config", ws.config], cwd: ws.samples, environment: environment)
            #expect(r.exitCode == 0, "\(r.stderr)")
            // Nothing is left in the temporary folder, and nothing was written anywhere else.
            #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.url.path).isEmpty)
            #expect(!ws.exists("state/acme-lms"))
            #expect(outside.intact())
        }
    }

    /// The repro of a target stuck for good: a `pending/` without its journal (a commit's
    /// removal of it was cut short) must not fail every later run.
    @Test func aPendingFolderWithoutItsJournalIsCleanedUp() throws {
        try FeedWorkspace.with { ws in
            let first = try ws.run(["run"])
            try #require(first.exitCode == 0, "\(first.stderr)")
            try FileManager.default.createDirectory(
                at: ws.file("state/acme-lms/pending/files"), withIntermediateDirectories: true)
            try FileManager.default.createDirectory(
                at: ws.file("state/acme-lms/.staging-20260301T020000Z-00000000001"), withIntermediateDirectories: true)
            ws.now = "2026-03-03T02:00:00Z"
            try ws.nextDay()
            let (r, report) = try ws.report(["run"])
            #expect(r.exitCode == 0, "\(r.stderr)")
            #expect(try report.target("acme-lms").status == "delivered")
            #expect(!ws.exists("state/acme-lms/pending"))
            #expect(!ws.exists("state/acme-lms/.staging-20260301T020000Z-00000000001"))
            let list = try ws.run(["state", "list"])
            #expect(!list.stdout.contains("pending"), "\(list.stdout)")
        }
    }
}
