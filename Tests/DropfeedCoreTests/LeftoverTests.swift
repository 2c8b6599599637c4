import Foundation
import Testing

@testable import DropfeedCore

#if canImport(Glibc)
    import Glibc
#endif

/// What killed runs leave in the state directory, and what the next run removes.
struct LeftoverTests {
    /// Makes a file at `path` whose modification time is `age` seconds ago.
    static func file(_ path: String, age: time_t) throws {
        try Data("{}".utf8).write(to: URL(fileURLWithPath: path))
        var times = [timespec(tv_sec: time(nil) - age, tv_nsec: 0), timespec(tv_sec: time(nil) - age, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
    }

    /// A report's temporary file in `runs/` older than an hour is a killed run's and goes; a
    /// fresh one (a run writing its report after releasing the lock) and the reports stay.
    @Test func staleReportTemporariesGoAndFreshOnesStay() throws {
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("leftovers-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: state) }
        try FileManager.default.createDirectory(atPath: state + "/runs", withIntermediateDirectories: true)
        try Self.file(state + "/runs/.R1.json.tmp-killed", age: 2 * StateStore.staleReportAge)
        try Self.file(state + "/runs/.R2.json.tmp-writing", age: 5)
        try Self.file(state + "/runs/R0.json", age: 2 * StateStore.staleReportAge)
        try StateStore(stateDir: state).removeLeftovers(targets: [])
        #expect(FileSystem.list(state + "/runs") == [".R2.json.tmp-writing", "R0.json"])
    }

    /// `runs` planted as a link to another folder: nothing in that folder is removed.
    @Test func aLinkedRunsFolderIsNotFollowed() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("leftovers-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: base) }
        try FileManager.default.createDirectory(atPath: base + "/state", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: base + "/elsewhere", withIntermediateDirectories: true)
        try Self.file(base + "/elsewhere/.precious.tmp-1", age: 2 * StateStore.staleReportAge)
        #expect(symlink(base + "/elsewhere", base + "/state/runs") == 0)
        try StateStore(stateDir: base + "/state").removeLeftovers(targets: [])
        #expect(FileSystem.list(base + "/elsewhere") == [".precious.tmp-1"])
    }

    /// A process id that has ended: a child that ran and was waited for.
    static func endedPid() throws -> pid_t {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        return child.processIdentifier
    }

    static func folder(_ path: String, age: time_t) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try Data("row".utf8).write(to: URL(fileURLWithPath: path + "/vendor.csv"))
        var times = [timespec(tv_sec: time(nil) - age, tv_nsec: 0), timespec(tv_sec: time(nil) - age, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, path, &times, AT_SYMLINK_NOFOLLOW) == 0)
    }

    /// A killed `plan`'s (or encryption's) temporary folder goes when the next one is made; a
    /// live process's, a recent one, a link, and other names stay.
    @Test func temporaryFoldersOfKilledProcessesGo() throws {
        let parent = FileManager.default.temporaryDirectory.appendingPathComponent("leftovers-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let old = 2 * FileSystem.staleTemporaryAge
        let dead = try Self.endedPid()
        try Self.folder(parent + "/dropfeed-plan-\(dead)-aaaaaa", age: old)
        try Self.folder(parent + "/dropfeed-plan-\(dead)-recent", age: 5)
        try Self.folder(parent + "/dropfeed-plan-\(getppid())-alive", age: old)
        try Self.folder(parent + "/dropfeed-gpg-\(dead)-bbbbbb", age: old)
        try Self.folder(parent + "/elsewhere", age: old)
        #expect(symlink(parent + "/elsewhere", parent + "/dropfeed-plan-\(dead)-link") == 0)
        let made = try FileSystem.makeTemporaryFolder(prefix: "dropfeed-plan-", in: parent)
        #expect((made as NSString).lastPathComponent.hasPrefix("dropfeed-plan-\(getpid())-"))
        let left = Set(FileSystem.list(parent))
        #expect(!left.contains("dropfeed-plan-\(dead)-aaaaaa"))
        for kept in [
            "dropfeed-plan-\(dead)-recent", "dropfeed-plan-\(getppid())-alive", "dropfeed-gpg-\(dead)-bbbbbb",
            "elsewhere", "dropfeed-plan-\(dead)-link",
        ] {
            #expect(left.contains(kept), "\(kept) was removed")
        }
        #expect(FileSystem.list(parent + "/elsewhere") == ["vendor.csv"])
    }
}
