import Foundation
import Testing

@testable import DropfeedCore

#if canImport(Glibc)
    import Glibc
#endif

/// The temporary files of a local-folder delivery: named after their writer, removed once it has ended.
@Suite struct DirectoryDropTests {
    @Test(
        "the writer of a temporary name",
        arguments: [
            (".a.csv.part-123-0123456789abcdef", Int32(123)),
            (".a.part-9.csv.part-77-fedcba9876543210", 77),
            (".a.csv.part-0123456789abcdef", nil),  // an earlier release's name: no writer
            (".a.csv.part-x-0123456789abcdef", nil),
            (".a.csv.part-12-0123", nil),
            ("a.csv.part-12-0123456789abcdef", nil),  // not hidden: a vendor file, never ours
            ("a.csv", nil),
        ] as [(String, Int32?)])
    func writerOfATemporaryName(name: String, pid: Int32?) {
        #expect(DirectoryDrop.writer(ofTemporary: name) == pid)
    }

    @Test("opening a folder removes the temporary files of ended runs and keeps a live one's")
    func openRemovesTemporariesOfEndedRuns() throws {
        let folder = try FileSystem.makeTemporaryFolder(prefix: "dropfeed-drop-")
        defer { try? FileSystem.remove(folder) }
        let ended = Process()
        ended.executableURL = URL(fileURLWithPath: "/bin/true")
        try ended.run()
        ended.waitUntilExit()
        let dead = ".x.csv.part-\(ended.processIdentifier)-0123456789abcdef"
        let live = ".y.csv.part-\(getpid())-0123456789abcdef"
        let vendor = "z.csv"
        for name in [dead, live, vendor] { try FileSystem.writeAtomically(folder + "/" + name, Array("x".utf8)) }
        let drop = DirectoryDrop(folder: folder)
        try drop.open()
        #expect(FileSystem.list(folder) == [live, vendor].sorted())
        try drop.close()
    }
}
