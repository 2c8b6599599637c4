import Foundation
import Testing

@testable import DropfeedCore

/// A directory export as OpenLDAP's `slapcat` or `ldapsearch -LLL` writes it: `version: 1`,
/// comments (one folded), lines folded at 76 columns (one fold inside a base64 value), base64
/// values, a multi-valued `memberOf`, an attribute with an option, CRLF on some lines.
let directoryLDIF = """
    # Northwind directory, exported 2026-12-01
    #  by slapcat; this comment is
      folded
    version: 1

    dn: uid=ada,ou=People,dc=northwind,dc=example
    objectClass: inetOrgPerson
    objectClass: organizationalPerson
    uid: ada
    cn: Ada Lovelace
    cn;lang-de: Ada Lovelace (de)
    givenName: Ada
    sn: Lovelace
    mail: ada@northwind.example
    employeeNumber: 1001
    memberOf: cn=staff,ou=Groups,dc=northwind,dc=example
    memberOf: cn=engineering,ou=Groups,dc=northwind,dc=example
    memberOf: cn=vpn,ou=Access,dc=northwind,dc=example
    description: A long description that an exporter folds at seventy-six col
     umns, so it continues here.

    # A person with a name outside ASCII (base64, folded inside the value)
    dn: uid=zoe,ou=People,dc=northwind,dc=example\r
    objectClass: inetOrgPerson\r
    uid: zoe\r
    cn:: Wm/DqyBN\r
     w7xsbGVy\r
    givenName:: Wm/Dqw==
    sn:: TcO8bGxlcg==
    mail: zoe@northwind.example
    employeeNumber: 1002
    manager: uid=ada,ou=People,dc=northwind,dc=example
    memberOf: cn=staff,ou=Groups,dc=northwind,dc=example
    jpegPhoto:: /9j/4AAQSkZJRg==
    l:: w4Zyw7hza8O4YmluZywgRMOkbmVtYXJr

    dn: UID=grace, OU=People, DC=northwind, DC=example
    objectclass: inetOrgPerson
    UID: grace
    CN: Grace Hopper
    mail: grace@northwind.example
    employeeNumber: 1003
    manager: uid=ADA,ou=people,dc=Northwind,dc=example

    """

struct LDIFReaderTests {
    @Test func readsRecordsWithFoldsCommentsAndBase64() throws {
        let w = try FeedWorkspace()
        let table = try SourceFormatHarness.table(
            directoryLDIF, format: .ldif, key: ["uid"],
            needed: ["dn", "cn", "cn;lang-de", "sn", "description", "memberOf", "l", "jpegPhoto", "manager"], in: w)
        #expect(table.rowCount == 3)
        #expect((0..<3).map(table.line(of:)) == [6, 23, 37])
        func value(_ row: Int, _ column: String) -> String {
            table.string(row: row, column: table.columnIndex[column]!)
        }
        #expect(value(0, "uid") == "ada")
        #expect(value(0, "dn") == "uid=ada,ou=People,dc=northwind,dc=example")
        #expect(value(0, "cn;lang-de") == "Ada Lovelace (de)")
        #expect(
            value(0, "description")
                == "A long description that an exporter folds at seventy-six columns, so it continues here.")
        #expect(
            MultiValue.split(value(0, "memberOf")) == [
                "cn=staff,ou=Groups,dc=northwind,dc=example", "cn=engineering,ou=Groups,dc=northwind,dc=example",
                "cn=vpn,ou=Access,dc=northwind,dc=example",
            ])
        // The fold fell inside the base64 of "Zoë Müller"; CRLF lines read like LF ones.
        #expect(value(1, "cn") == "Zoë Müller")
        #expect(value(1, "dn") == "uid=zoe,ou=People,dc=northwind,dc=example")
        #expect(value(1, "l") == "Ærøskøbing, Dänemark")
        #expect(MultiValue.isBinary(value(1, "jpegPhoto")))
        #expect(
            MultiValue.binaryBytes(value(1, "jpegPhoto")) == [0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46])
        // Attribute names match without regard to case (`UID`, `CN`).
        #expect(value(2, "uid") == "grace")
        #expect(value(2, "cn") == "Grace Hopper")
        #expect(table.header.starts(with: ["dn", "objectClass", "uid", "cn", "cn;lang-de"]))
        #expect(table.multiValuedLines["memberOf"] == 6)
        #expect(table.multiValuedLines["cn"] == nil)
    }

    @Test func missingKeyColumnIsNamedWithASuggestion() throws {
        let text = try SourceFormatHarness.error(directoryLDIF, format: .ldif, key: ["uidd"])
        #expect(text.contains("no key column `uidd`") && text.contains("uid"), "\(text)")
    }

    struct Hostile: Sendable, CustomTestStringConvertible {
        var label: String
        var text: String
        var message: String
        var testDescription: String { label }
    }

    static let hostile: [Hostile] = [
        Hostile(
            label: "a record without dn", text: "dn: uid=a,dc=x\nuid: a\n\nuid: b\ncn: B\n",
            message: "source.ldif:4: a record without a dn: it starts with `uid`"),
        Hostile(
            label: "a change record", text: "version: 1\n\ndn: uid=a,dc=x\nchangetype: modify\nreplace: cn\ncn: A\n",
            message:
                "source.ldif:4: a change record (`changetype:`): dropfeed reads content records only (an export, not a change log) (in the record starting at line 3)"
        ),
        Hostile(
            label: "invalid base64", text: "dn: uid=a,dc=x\nuid: a\n\ndn: uid=b,dc=x\nuid: b\ncn:: Wm/Dq!!BN\n",
            message: "source.ldif:6: invalid base64 in the value of `cn` (in the record starting at line 4)"),
        Hostile(
            label: "a duplicate dn", text: "dn: uid=a,dc=x\nuid: a\n\ndn: UID=A, DC=X\nuid: a2\n",
            message: "source.ldif:4: duplicate dn `UID=A, DC=X` (also at line 1)"),
        Hostile(
            label: "neither attribute nor continuation",
            text: "dn: uid=a,dc=x\nuid: a\nthis line has no colon\ncn: A\n",
            message:
                "source.ldif:3: not an attribute (`name: value`) nor a continuation: `this line has no colon` (in the record starting at line 1)"
        ),
        Hostile(
            label: "a continuation with nothing before it", text: " uid=a\ndn: uid=a,dc=x\n",
            message: "source.ldif:1: a continuation line (starting with a space) with no line before it to continue"),
        Hostile(
            label: "a URL value", text: "dn: uid=a,dc=x\nuid: a\njpegPhoto:< file:///etc/shadow\n",
            message: "source.ldif:3: a URL value (`jpegPhoto:<`)"),
        Hostile(
            label: "two dn in one record", text: "dn: uid=a,dc=x\nuid: a\ndn: uid=b,dc=x\n",
            message: "source.ldif:3: a second dn in one record"),
        Hostile(
            label: "an unsupported version", text: "version: 2\n\ndn: uid=a,dc=x\n",
            message: "source.ldif:1: unsupported LDIF version `2`"),
    ]

    @Test(arguments: hostile) func hostileLDIFIsRefusedWithItsLine(_ c: Hostile) throws {
        let text = try SourceFormatHarness.error(c.text, format: .ldif, key: ["uid"])
        #expect(text.hasPrefix(c.message), "\(text)")
    }

    @Test func invalidUTF8IsRefusedWithItsLine() throws {
        let w = try FeedWorkspace()
        var bytes = Array("dn: uid=a,dc=x\nuid: a\ncn: Zo".utf8)
        bytes += [0xFF, 0x0A]
        let path = try w.write("bad.ldif", bytes: bytes)
        let source = SourceConfig(
            path: path, displayPath: "bad.ldif", key: ["uid"], options: CSVReadOptions(), minRows: nil,
            maxShrinkPercent: nil, format: .ldif)
        #expect {
            _ = try SourceTable(source: source, needed: ["cn"], spoolFolder: w.root)
        } throws: { "\($0)".hasPrefix("bad.ldif:3: invalid UTF-8 in the value of `cn`") }
    }

    @Test func aKeyWithSeveralValuesIsRefused() throws {
        let text = try SourceFormatHarness.error("dn: uid=a,dc=x\nuid: a\nuid: b\n", format: .ldif, key: ["uid"])
        #expect(text.contains("a key (uid) with several values in the record at line 1"), "\(text)")
    }
}
