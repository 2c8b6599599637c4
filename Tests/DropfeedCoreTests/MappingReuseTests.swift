import Foundation
import Testing

@testable import DropfeedCore

/// An unchanged export row reuses the row its target's snapshot holds for it instead of being
/// mapped again. These tests check that the result is always what mapping afresh gives.
struct MappingReuseTests {
    static let header = ["id", "name", "email", "manager"]

    static let mapping = """
        {
          version: 1,
          key: "user_id",
          columns: [
            { name: "user_id", from: "id" },
            { name: "name", from: "name", transform: ["upper"] },
            { name: "manager_email", from: "manager", lookup: "email" },
            { name: "tenant", value: "ACME" },
          ],
          output: { file: "{target}_{seq}_{kind}.csv", mode: "both", lineEnding: "lf" },
        }
        """

    static let day1: [[String]] = [
        ["1", "ada", "ada@x.example", "2"],
        ["2", "bob", "bob@x.example", ""],
        ["3", "cy", "cy@x.example", "2"],
        ["4", "di", "di@x.example", "9"],
    ]

    /// A feed after one run on day 1, its state holding the day-1 snapshot.
    static func feedAfterDay1(mapping: String = mapping) throws -> FeedWorkspace {
        let w = try FeedWorkspace()
        try w.writeConfig(targets: ["lms"])
        try w.write("mappings/lms.json", mapping)
        try w.writeCSV("hr.csv", header: header, rows: day1)
        #expect(try w.execute().exitCode == .success)
        return w
    }

    /// The full file a second run writes, and what a run on fresh state writes for the same export.
    static func secondRunAgainstFresh(_ rows: [[String]], mapping newMapping: String? = nil) throws -> (
        incremental: [[String]], fresh: [[String]], report: TargetOutcome
    ) {
        let w = try feedAfterDay1()
        try w.writeCSV("hr.csv", header: header, rows: rows)
        if let newMapping { try w.write("mappings/lms.json", newMapping) }
        let report = try w.execute()
        let full = try #require(report.target("lms")?.files.first { $0.kind == "full" })
        let incremental = try w.readCSV("outbox/lms/" + full.name)

        let fresh = try FeedWorkspace()
        try fresh.writeConfig(targets: ["lms"])
        try fresh.write("mappings/lms.json", newMapping ?? mapping)
        try fresh.writeCSV("hr.csv", header: header, rows: rows)
        let freshReport = try fresh.execute()
        let freshFull = try #require(freshReport.target("lms")?.files.first { $0.kind == "full" })
        return (incremental, try fresh.readCSV("outbox/lms/" + freshFull.name), try #require(report.target("lms")))
    }

    @Test func aLookedUpValueChangingUpdatesTheRowsThatLookItUp() throws {
        // Only bob's email changes; ada and cy are unchanged rows whose manager is bob.
        var rows = Self.day1
        rows[1][2] = "robert@x.example"
        let (incremental, fresh, report) = try Self.secondRunAgainstFresh(rows)
        #expect(incremental == fresh)
        #expect(incremental.contains(["1", "ADA", "robert@x.example", "ACME"]))
        #expect(report.updates == 2, "ada and cy, who look bob's email up (bob's own row has no email column)")
        #expect(report.lookupMisses == 1, "di's manager 9 is not in the export, reused or not")
    }

    @Test func unchangedRowsGiveTheSameFileAsMappingAfresh() throws {
        var rows = Self.day1
        rows[2][1] = "cyrus"
        rows.append(["5", "eve", "eve@x.example", "1"])
        let (incremental, fresh, report) = try Self.secondRunAgainstFresh(rows)
        #expect(incremental == fresh)
        #expect(report.adds == 1 && report.updates == 1 && report.unchanged == 3)
    }

    @Test func anEditedMappingMapsEveryRowAgain() throws {
        let edited = Self.mapping.replacingOccurrences(of: "value: \"ACME\"", with: "value: \"NORTHWIND\"")
        let (incremental, fresh, report) = try Self.secondRunAgainstFresh(Self.day1, mapping: edited)
        #expect(incremental == fresh)
        #expect(report.updates == 4 && incremental.dropFirst().allSatisfy { $0.last == "NORTHWIND" })
    }

    @Test func aReorderedExportHeaderMapsEveryRowAgain() throws {
        // The same values under a different column order: the raw records differ, and so does the header.
        let w = try Self.feedAfterDay1()
        let order = [1, 0, 3, 2]
        try w.writeCSV(
            "hr.csv", header: order.map { Self.header[$0] }, rows: Self.day1.map { row in order.map { row[$0] } })
        let report = try #require(try w.execute().target("lms"))
        #expect(report.status == .delivered && report.updates == 0 && report.unchanged == 4)
    }

    /// Rows skipped or rejected last night are recognised (not evaluated again) when their inputs
    /// are the same: the counts, the reasons, the kept rows and the files are what mapping
    /// afresh gives — and a row whose inputs changed is evaluated again.
    @Test func rowsSkippedOrRejectedBeforeGiveWhatMappingAfreshGives() throws {
        let mapping = """
            {
              version: 1,
              key: "user_id",
              where: [ { column: "name", notIn: ["skip"] } ],
              columns: [
                { name: "user_id", from: "id" },
                { name: "email", from: "email" },
                { name: "manager_email", from: "manager", lookup: "email" },
              ],
              required: ["email"],
              output: { file: "{target}_{seq}_{kind}.csv", mode: "both", lineEnding: "lf" },
            }
            """
        var day1 = Self.day1
        day1.append(["5", "skip", "e@x.example", ""])
        day1.append(["6", "fay", "", "9"])
        day1.append(["7", "gus", "gus@x.example", ""])
        var day2 = day1
        day2[6][2] = ""  // gus was delivered; now rejected: kept, not deleted
        day2.append(["8", "skip", "h@x.example", ""])
        day2[5][3] = "1"  // fay: still rejected, another manager (inputs changed: evaluated again)

        let w = try FeedWorkspace()
        try w.writeConfig(targets: ["lms"])
        try w.write("mappings/lms.json", mapping)
        try w.writeCSV("hr.csv", header: Self.header, rows: day1)
        let first = try #require(try w.execute().target("lms"))
        #expect(first.rejected == 1 && first.rejections.first?.reason.contains("email") == true)
        // Day 1 remembered the skipped and the rejected row.
        let generation = try #require(try w.state("lms").currentRunId())
        let meta = try w.state("lms").meta(runId: generation)
        #expect(meta.unmappedChecksum != nil)

        try w.writeCSV("hr.csv", header: Self.header, rows: day2)
        let incremental = try #require(try w.execute().target("lms"))

        // The same second night on a state whose snapshot does not remember them.
        let control = try FeedWorkspace()
        try control.writeConfig(targets: ["lms"])
        try control.write("mappings/lms.json", mapping)
        try control.writeCSV("hr.csv", header: Self.header, rows: day1)
        _ = try control.execute()
        let id = try #require(try control.state("lms").currentRunId())
        var plain = try control.state("lms").meta(runId: id)
        plain.unmappedChecksum = nil
        try control.write("state/lms/generations/\(id)/meta.json", bytes: try encodeJSON(plain))
        try control.writeCSV("hr.csv", header: Self.header, rows: day2)
        let fresh = try #require(try control.execute().target("lms"))

        #expect(incremental.rejected == 2 && fresh.rejected == 2)
        #expect(incremental.rejections.map(\.reason) == fresh.rejections.map(\.reason))
        #expect(incremental.rejections.map(\.line).sorted() == fresh.rejections.map(\.line).sorted())
        #expect(incremental.keptRejected == 1 && fresh.keptRejected == 1)
        #expect(incremental.lookupMisses == fresh.lookupMisses)
        #expect(
            (incremental.adds, incremental.updates, incremental.deletes, incremental.unchanged)
                == (fresh.adds, fresh.updates, fresh.deletes, fresh.unchanged))
        let a = try #require(incremental.files.first { $0.kind == "full" })
        let b = try #require(fresh.files.first { $0.kind == "full" })
        #expect(try w.readCSV("outbox/lms/" + a.name) == control.readCSV("outbox/lms/" + b.name))
    }
}
