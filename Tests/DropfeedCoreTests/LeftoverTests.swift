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
}
