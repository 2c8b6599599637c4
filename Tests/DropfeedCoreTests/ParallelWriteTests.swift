import Foundation
import Testing

@testable import DropfeedCore

/// Files of many rows are encoded on every core, a block of rows per thread, and written in row
/// order (`FileWriter.encodeInParallel`): the bytes must be those of one thread encoding the
/// rows in turn — checked here against files computed without the writer.
struct ParallelWriteTests {
    typealias People = FeedRunnerTests.People

    /// Enough rows for several rounds of blocks on any number of cores.
    static let count = FileWriter.parallelRows + 2 * FileWriter.rowsPerBlock + 123

    static func fullFile(_ people: People) -> [[String]] {
        [["user_id", "name", "email", "dept"]]
            + people.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }.map {
                FeedRunnerTests.mapped($0, people[$0]!)
            }
    }

    @Test func aFirstDeltaOfManyRowsIsThatOfOneThread() throws {
        let w = try FeedRunnerTests.feed()
        var people = FeedRunnerTests.people(Self.count)
        people["77"] = ["Name, with \"quotes\"", " Spaced@Example.com ", "R&D\nLab"]
        try FeedRunnerTests.writeSource(w, people)
        let report = try w.execute()
        #expect(report.exitCode == .success)
        let lms = try #require(report.target("lms"))
        #expect(lms.adds == Self.count)
        #expect(try w.readCSV("outbox/lms/lms_0001_delta.csv") == FeedRunnerTests.expectedDelta(old: [:], new: people))
        #expect(lms.files[0].sha256 == SHA256.hex(try w.bytes("outbox/lms/lms_0001_delta.csv")))
        #expect(lms.files[0].rows == Self.count)
    }

    @Test func aFullFileWithAByteOrderMarkHasOneMark() throws {
        let w = try FeedRunnerTests.feed(output: "mode: \"both\", bom: true, checksum: \"sha256\",")
        let first = FeedRunnerTests.people(Self.count)
        try FeedRunnerTests.writeSource(w, first)
        #expect(try w.execute().exitCode == .success)
        // Night two: some rows change, some go, some come; the full file comes mostly from the snapshot.
        var next = first
        for i in stride(from: 1, through: Self.count, by: 97) { next["\(i)"]![0] += " Jr." }
        for i in stride(from: 5, through: Self.count, by: 211) { next["\(i)"] = nil }
        for (id, p) in FeedRunnerTests.people(300, from: Self.count + 1) { next[id] = p }
        try FeedRunnerTests.writeSource(w, next)
        let report = try w.execute()
        #expect(report.exitCode == .success)
        let lms = try #require(report.target("lms"))
        let full = try w.bytes("outbox/lms/lms_0002_full.csv")
        let mark: [UInt8] = [0xEF, 0xBB, 0xBF]
        #expect(Array(full.prefix(3)) == mark)
        let marks = (0..<(full.count - 2)).filter { full[$0] == 0xEF && full[$0 + 1] == 0xBB && full[$0 + 2] == 0xBF }
        #expect(marks == [0])
        #expect(try w.readCSV("outbox/lms/lms_0002_full.csv") == Self.fullFile(next))
        #expect(try w.readCSV("outbox/lms/lms_0002_delta.csv") == FeedRunnerTests.expectedDelta(old: first, new: next))
        #expect(try w.read("outbox/lms/lms_0002_full.csv.sha256") == "\(SHA256.hex(full))  lms_0002_full.csv\n")
        #expect(lms.files.first { $0.name == "lms_0002_full.csv" }?.rows == next.count)
    }
}
