import Foundation
import Testing

@testable import DropfeedCore

/// A page of `GET /Users` shaped like RFC 7643 §8.3's full User (with the enterprise extension)
/// and RFC 7644 §3.4.2's ListResponse.
let scimListResponse = #"""
    {
      "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
      "totalResults": 3,
      "itemsPerPage": 3,
      "startIndex": 1,
      "Resources": [
        {
          "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                      "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
          "id": "2819c223-7f76-453a-919d-413861904646",
          "externalId": "701984",
          "userName": "bjensen@example.com",
          "name": { "formatted": "Ms. Barbara J Jensen, III", "familyName": "Jensen", "givenName": "Barbara" },
          "displayName": "Babs Jensen",
          "active": true,
          "emails": [
            { "value": "bjensen@example.com", "type": "work", "primary": true },
            { "value": "babs@jensen.org", "type": "home" }
          ],
          "phoneNumbers": [ { "value": "555-555-5555", "type": "work" }, { "value": "555-555-4444", "type": "mobile" } ],
          "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "701984",
            "costCenter": "4130",
            "department": "Tour Operations",
            "manager": { "value": "26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "John Smith" }
          },
          "meta": { "resourceType": "User", "version": "W/\"3694e05e9dff591\"" }
        },
        {
          "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                      "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
          "id": "26118915-6090-4610-87e4-49d8ca9f808d",
          "userName": "jsmith@example.com",
          "name": { "familyName": "Smith", "givenName": "John" },
          "active": false,
          "emails": [ { "value": "jsmith@example.com", "type": "Work" }, { "value": "john@smith.example", "type": "home", "primary": true } ],
          "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": { "employeeNumber": "100042" }
        },
        {
          "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
          "id": "c3a1",
          "userName": "zo\u00eb@example.com",
          "name": { "givenName": "Zo\u00eb", "familyName": "M\u00fcller \ud83d\ude00" },
          "emails": []
        }
      ]
    }
    """#

struct SCIMExportReaderTests {
    static let columns = [
        #"name: "id", from: "userName""#,
        #"name: "given", from: "name.givenName""#,
        #"name: "work", from: "emails[type eq \"work\"].value""#,
        #"name: "primary", from: "emails[primary eq true].value""#,
        #"name: "number", from: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber""#,
        #"name: "short", from: "employeeNumber""#,
        #"name: "boss", from: "manager.value", lookup: "userName", lookupBy: "id""#,
        #"name: "active", from: "active""#,
        #"name: "all", from: "emails.value", join: ";""#,
    ]

    static let expected: [Mapped] = [
        .row([
            "bjensen@example.com", "Barbara", "bjensen@example.com", "bjensen@example.com", "701984", "701984",
            "jsmith@example.com", "true", "bjensen@example.com;babs@jensen.org",
        ]),
        .row([
            "jsmith@example.com", "John", "jsmith@example.com", "john@smith.example", "100042", "100042", "", "false",
            "jsmith@example.com;john@smith.example",
        ]),
        .row(["zoë@example.com", "Zoë", "", "", "", "", "", "", ""]),
    ]

    static func map(_ text: String, columns: [String] = columns) throws -> [Mapped] {
        try SourceFormatHarness.run(
            SourceFormatHarness.mapping(columns), source: text, format: .scim, key: ["userName"]
        ).results
    }

    @Test func listResponseWithTheEnterpriseExtension() throws {
        #expect(try Self.map(scimListResponse) == Self.expected)
    }

    @Test func lowercaseResourcesAsEntraWritesIt() throws {
        let entra = scimListResponse.replacingOccurrences(of: #""Resources""#, with: #""resources""#)
        #expect(try Self.map(entra) == Self.expected)
    }

    @Test func jsonLinesOfUsers() throws {
        let w = try FeedWorkspace()
        let path = try w.write("page.json", scimListResponse)
        // The three resources, one per line, through an independent JSON reader.
        let object =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        let lines = try (object["Resources"] as! [Any]).map {
            String(decoding: try JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]), as: UTF8.self)
        }
        #expect(try Self.map(lines.joined(separator: "\n") + "\n") == Self.expected)
        let w2 = try FeedWorkspace()
        let table = try SourceFormatHarness.table(
            lines.joined(separator: "\r\n"), format: .scim, key: ["userName"], needed: ["emails.value"], in: w2)
        #expect((0..<3).map(table.line(of:)) == [1, 2, 3])
        #expect(table.multiValuedLines["emails.value"] == 1)
    }

    @Test func headerListsLeavesAndResolvedPaths() throws {
        let w = try FeedWorkspace()
        let table = try SourceFormatHarness.table(
            scimListResponse, format: .scim, key: ["userName"],
            needed: [#"emails[type eq "work"].value"#, "EMPLOYEENUMBER", "manager"], in: w)
        #expect(table.header.contains("name.givenName"))
        #expect(table.header.contains("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"))
        #expect(table.header.contains(#"emails[type eq "work"].value"#))
        #expect(table.header.contains("EMPLOYEENUMBER"))
        #expect(table.header.contains("manager"))
        #expect((0..<3).map(table.line(of:)) == [7, 29, 39])
    }

    @Test func unknownPathsAreProblemsWithASuggestion() throws {
        #expect {
            _ = try Self.map(
                scimListResponse, columns: [#"name: "id", from: "userName""#, #"name: "g", from: "name.givenNam""#])
        } throws: { "\($0)".contains("no source column `name.givenNam` (did you mean `name.givenName`?)") }
        #expect {
            _ = try Self.map(
                scimListResponse,
                columns: [#"name: "id", from: "userName""#, #"name: "g", from: "emails[type eq work].value""#])
        } throws: { "\($0)".contains("the filter value `work` must be quoted") }
    }

    @Test(arguments: [
        (
            #"{"Resources": [ {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g1", "displayName": "Staff"} ]}"#,
            "source.scim:1: not a User resource (its schemas are `urn:ietf:params:scim:schemas:core:2.0:group`)"
        ),
        (
            "{\"Resources\": [\n {\"userName\": \"a\"},\n {\"userName\": \"b\" \"x\": 1}\n]}",
            "source.scim:3: expected `,` or `}`, found `\"`"
        ),
        (
            "{\"userName\": \"a\"}\n{\"userName\": \"b\", \"userName\": \"c\"}\n",
            "source.scim:2: the key `userName` is written twice in one object"
        ),
        ("{\"Resources\": []}\n{\"userName\": \"a\"}\n", "source.scim:2: more after the ListResponse"),
        ("[{\"userName\": \"a\"}]", "source.scim:1: not a SCIM export"),
        ("{\"userName\": \"a\"}\n{\"userName\": \"b\n\"}", "source.scim:2: a control character inside a string"),
        ("{\"Resources\": [\n {\"userName\": \"a\"}", "source.scim:2: expected `,` or `]` but the file ends"),
        ("{\"userName\": \"\\ud800\"}", "source.scim:1: a lone UTF-16 surrogate"),
    ])
    func hostileExportsAreRefusedWithTheirLine(_ text: String, _ message: String) throws {
        let error = try SourceFormatHarness.error(text, format: .scim, key: ["userName"])
        #expect(error.hasPrefix(message), "\(error)")
    }

    @Test func aResourceLargerThanTheLimitIsRefused() throws {
        let big = String(repeating: "\\n", count: SCIMExportReader.maxResourceBytes / 2 + 10)
        let text = "{\"userName\": \"a\"}\n{\"userName\": \"b\", \"notes\": \"\(big)\"}\n"
        let error = try SourceFormatHarness.error(text, format: .scim, key: ["userName"])
        #expect(error.hasPrefix("source.scim:2: a resource larger than 16 MiB"), "\(error.prefix(200))")
    }
}
