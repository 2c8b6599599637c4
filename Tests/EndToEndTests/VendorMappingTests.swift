import Foundation
import Testing

/// The vendor mappings added with their own format quirks, as files a run writes.
@Suite struct VendorMappingTests {
    /// Entra's bulk create file starts with its `version:v1.0` line, then the headings.
    @Test func entraFileStartsWithTheVersionLine() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let mapping = DropfeedProcess.packageRoot.appendingPathComponent("mappings/entra-bulk-create.json").path
        try dir.write(
            "export.csv",
            "employee_id,given_name,family_name,preferred_name,email,department,title,location,employment_status,country,phone,initial_password\n"
                + "E1,Chris,Green,,chris@contoso.com,Sales,Manager,Building 1,A,US,425-555-0100,Example-Only-1\n")
        try dir.write(
            "dropfeed.json",
            """
            { version: 1, source: { path: "export.csv", key: "employee_id", minRows: 0 }, stateDir: "state",
              targets: [ { name: "entra", mapping: "\(mapping)", deliver: { directory: "outbox" } } ] }
            """)
        let r = try DropfeedProcess.run(
            ["run", "--config", "dropfeed.json"], cwd: dir.url, environment: ["DROPFEED_NOW": "2026-03-02T02:00:00Z"])
        #expect(r.exitCode == 0, "\(r.stderr)")
        let file = dir.file("outbox/entra_bulk_create_20260302_0001.csv")
        let text = try String(contentsOf: file, encoding: .utf8)
        #expect(
            text == "version:v1.0\r\n"
                + "Name [displayName] Required,User name [userPrincipalName] Required,Initial password [passwordProfile] Required,"
                + "Block sign in (Yes/No) [accountEnabled] Required,First name [givenName],Last name [surname],Job title [jobTitle],"
                + "Department [department],Usage location [usageLocation],Office [physicalDeliveryOfficeName],"
                + "Office phone [telephoneNumber]\r\n"
                + "Chris Green,chris@contoso.com,Example-Only-1,No,Chris,Green,Manager,Sales,US,Building 1,425-555-0100\r\n"
        )
    }

    @Test func aPreambleLineWithALineBreakIsInvalid() throws {
        let r = try validateMapping(
            #"{ version: 1, key: "id", columns: [{ name: "id", from: "id" }], output: { file: "x_{seq}.csv", preamble: ["a\nb"] } }"#
        )
        #expect(r.exitCode == 78)
        #expect((r.stdout + r.stderr).contains("output.preamble[0]: one line each: no line breaks"), "\(r.stdout)")
    }
}
