import Foundation
import Testing

@testable import DropfeedCore

/// An export as `csvde -f users.csv -r "(objectClass=user)" -l "…"` writes it: `DN` first,
/// multi-valued `proxyAddresses` and `memberOf` joined with `;`, non-ASCII and binary values as
/// `X'…'` hex, managers as DNs (one with an escaped comma), CRLF.
let directoryCSVDE =
    [
        "DN,objectClass,sAMAccountName,displayName,mail,employeeID,manager,proxyAddresses,memberOf,objectGUID,l",
        #""CN=Ada Lovelace,OU=Staff,DC=northwind,DC=example",user,ada,Ada Lovelace,ada@northwind.example,1001,,"#
            + #""smtp:ada.lovelace@northwind.example;SMTP:ada@northwind.example;X500:/o=Northwind/ou=Exchange/cn=Recipients/cn=ada","#
            + #""CN=Staff,OU=Groups,DC=northwind,DC=example;CN=VPN,OU=Groups,DC=northwind,DC=example",X'8f3a0b1c00d24e11a2b3c4d5e6f70812',London"#,
        #""CN=Zoe Muller,OU=Staff,DC=northwind,DC=example",user,zoe,X'5a6fc3ab204dc3bc6c6c6572',zoe@northwind.example,1002,"#
            + #""CN=Ada Lovelace,OU=Staff,DC=northwind,DC=example",SMTP:zoe@northwind.example,"#
            + #""CN=Staff,OU=Groups,DC=northwind,DC=example",X'00112233445566778899aabbccddeeff',X'c38672c3b8736bc3b862696e67'"#,
        #""CN=Hopper\, Grace,OU=Staff,DC=northwind,DC=example",user,grace,"Hopper, Grace",grace@northwind.example,1003,"#
            + #""cn=ada lovelace, ou=Staff, dc=northwind, dc=example",,,,"#,
    ].joined(separator: "\r\n") + "\r\n"

struct CSVDEReaderTests {
    static func values(_ column: String) throws -> [String] {
        try SourceFormatHarness.run(
            SourceFormatHarness.mapping(#"name: "id", from: "sAMAccountName""#, more: [column]), source: directoryCSVDE,
            format: .csvde, key: ["sAMAccountName"]
        ).results.map {
            switch $0 {
            case .row(let v): return v[1]
            case .rejected(let reason): return "rejected: \(reason)"
            case .skipped: return "skipped"
            }
        }
    }

    @Test func readsDNsMultiValuedAndHexValues() throws {
        let w = try FeedWorkspace()
        let table = try SourceFormatHarness.table(
            directoryCSVDE, format: .csvde, key: ["sAMAccountName"], needed: ["dn", "proxyAddresses", "displayName"],
            in: w)
        #expect(table.rowCount == 3)
        #expect((0..<3).map(table.line(of:)) == [2, 3, 4])
        func value(_ row: Int, _ column: String) -> String {
            table.string(row: row, column: table.columnIndex[column]!)
        }
        #expect(value(0, "dn") == "CN=Ada Lovelace,OU=Staff,DC=northwind,DC=example")
        #expect(MultiValue.split(value(0, "proxyAddresses")).count == 3)
        #expect(value(1, "displayName") == "Zoë Müller")
        #expect(value(2, "displayName") == "Hopper, Grace")
        // `dn` resolves to the `DN` column without regard to case.
        #expect(table.header.first == "DN" && table.header.contains("dn"))
    }

    @Test func mappingsSeeEachValue() throws {
        // The primary address is the one whose prefix is uppercase `SMTP:`.
        #expect(
            try Self.values(
                #"name: "primary", from: "proxyAddresses", where: { startsWith: "SMTP:" }, transform: [{ replace: "^SMTP:", with: "" }]"#
            ) == ["ada@northwind.example", "zoe@northwind.example", ""])
        #expect(
            try Self.values(#"name: "groups", from: "memberOf", dnPart: "CN", join: "|""#) == [
                "Staff|VPN", "Staff", "",
            ])
        // A plain reference gives the field as exported.
        #expect(
            try Self.values(#"name: "p", from: "proxyAddresses""#)[0]
                == "smtp:ada.lovelace@northwind.example;SMTP:ada@northwind.example;X500:/o=Northwind/ou=Exchange/cn=Recipients/cn=ada"
        )
        #expect(try Self.values(#"name: "l", from: "l""#) == ["London", "Ærøskøbing", ""])
        #expect(
            try Self.values(#"name: "cn", from: "DN", dnPart: "CN""#) == [
                "Ada Lovelace", "Zoe Muller", "Hopper, Grace",
            ])
    }

    @Test func binaryGUIDsOnlyThroughEncode() throws {
        #expect(
            try Self.values(#"name: "guid", from: "objectGUID", encode: "hex""#) == [
                "8f3a0b1c00d24e11a2b3c4d5e6f70812", "00112233445566778899aabbccddeeff", "",
            ])
        #expect(try Self.values(#"name: "guid", from: "objectGUID""#)[0].hasPrefix("rejected: `guid`: a binary value"))
    }

    @Test func managersThroughTheirDN() throws {
        // Grace's manager is written in another case and with spaces: still Ada.
        #expect(
            try Self.values(#"name: "boss", from: "manager", lookup: "mail", lookupBy: "DN""#) == [
                "", "ada@northwind.example", "ada@northwind.example",
            ])
        #expect(
            try Self.values(#"name: "boss", from: "manager", lookup: "employeeID", lookupBy: "dn""#) == [
                "", "1001", "1001",
            ])
    }

    @Test(arguments: [
        (
            "sAMAccountName,DN\r\nada,\"CN=a,DC=x\"\r\n",
            "source.csvde:1: not a csvde export: its first column is `sAMAccountName`, not `DN`"
        ),
        (
            "DN,sAMAccountName\r\n\"CN=a,DC=x\",a\r\n\"cn=A, dc=X\",b\r\n",
            "source.csvde:3: duplicate DN `cn=A, dc=X` (also at line 2)"
        ),
        (
            "DN,sAMAccountName,objectGUID\r\n\"CN=a,DC=x\",a,X'0g'\r\n",
            "source.csvde:2: invalid hex value in `objectGUID`: `X'0g'`"
        ),
        (
            "DN,sAMAccountName,objectGUID\r\n\"CN=a,DC=x\",a,X'012'\r\n",
            "source.csvde:2: an odd number of hex digits in `objectGUID`"
        ),
        ("DN,sAMAccountName\r\n\"CN=a,DC=x\",a\r\n,b\r\n", "source.csvde:3: a record with an empty DN"),
        ("DN,sAMAccountName\r\n\"CN=a,DC=x\",a,extra\r\n", "3 fields where the header has 2 at source.csvde:2"),
    ])
    func hostileExportsAreRefusedWithTheirLine(_ text: String, _ message: String) throws {
        let error = try SourceFormatHarness.error(text, format: .csvde, key: ["sAMAccountName"], needed: ["objectGUID"])
        #expect(error.hasPrefix(message), "\(error)")
    }
}
