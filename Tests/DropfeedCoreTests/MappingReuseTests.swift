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
}
