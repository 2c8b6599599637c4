import Foundation
import Testing

/// A feed from each directory format of `samples/directory/` — LDIF, csvde and SCIM — run by the
/// `dropfeed` binary: the files delivered, the next day's changes, and exports that are refused.
@Suite struct SourceFormatTests {
    static let day1 = "2026-03-02T02:00:00Z"
    static let day2 = "2026-03-03T02:00:00Z"

    /// What every format's feed delivers on day 1 (the same six people).
    static let expected: [String: String] = [
        "ldif": """
        username,email,display_name,display_name_de,department,manager_email,manager_uid,groups,vpn
        ada,ada@northwind.example,Ada Lovelace,,Engineering,,,staff|engineering|vpn,yes
        amara,amara@northwind.example,Amara Okafor,,Sales,ada@northwind.example,ada,staff|sales,no
        grace,grace@northwind.example,Grace Hopper,,Research,ada@northwind.example,ada,staff|research|vpn,yes
        hiro,hiro@northwind.example,Hiroshi Tanaka,,Sales,amara@northwind.example,amara,staff,no
        linus,linus@northwind.example,Linus Ødegård,,Research,grace@northwind.example,grace,staff|research,no
        zoe,zoe@northwind.example,Zoë Müller,Zoë Müller (Entwicklung),Engineering,ada@northwind.example,ada,staff|engineering,no

        """,
        "csvde": """
        username,email,display_name,department,manager_email,manager_name,groups,guid
        ada,ada@northwind.example,Ada Lovelace,Engineering,,,Staff|Engineering|Vpn,000b16212c37424d58636e79848f9aa5
        amara,amara@northwind.example,Amara Okafor,Sales,ada@northwind.example,Ada Lovelace,Staff|Sales,949faab5c0cbd6e1ecf7020d18232e39
        grace,grace@northwind.example,Grace Hopper,Research,ada@northwind.example,Ada Lovelace,Staff|Research|Vpn,4a55606b76818c97a2adb8c3ced9e4ef
        hiro,hiro@northwind.example,Hiroshi Tanaka,Sales,amara@northwind.example,Amara Okafor,Staff,b9c4cfdae5f0fb06111c27323d48535e
        linus,linus@northwind.example,Linus Ødegård,Research,grace@northwind.example,Grace Hopper,Staff|Research,6f7a85909ba6b1bcc7d2dde8f3fe0914
        zoe,zoe@northwind.example,Zoë Müller,Engineering,ada@northwind.example,Ada Lovelace,Staff|Engineering,25303b46515c67727d88939ea9b4bfca

        """,
        "scim": """
        username,email,display_name,employee_number,department,manager_email,home_email,status
        ada@northwind.example,ada@northwind.example,Ada Lovelace,1001,Engineering,,ada@home.example,active
        amara@northwind.example,amara@northwind.example,Amara Okafor,1005,Sales,ada@northwind.example,amara@home.example,active
        grace@northwind.example,grace@northwind.example,Grace Hopper,1003,Research,ada@northwind.example,grace@home.example,active
        hiro@northwind.example,hiro@northwind.example,Hiroshi Tanaka,1006,Sales,amara@northwind.example,hiro@home.example,suspended
        linus@northwind.example,linus@northwind.example,Linus Ødegård,1004,Research,grace@northwind.example,linus@home.example,active
        zoe@northwind.example,zoe@northwind.example,Zoë Müller,1002,Engineering,ada@northwind.example,zoe@home.example,active

        """,
    ]

    static let exports = ["ldif": "directory.ldif", "csvde": "directory-csvde.csv", "scim": "users.scim.json"]

    /// The export of `format` on day 2: one person changed (for SCIM: the same users as JSON Lines).
    static func dayTwo(_ format: String, _ ws: FeedWorkspace) throws {
        switch format {
        case "ldif":
            // Hiroshi joins the VPN group: a new value of a multi-valued attribute.
            try ws.edit("directory/directory.ldif") {
                $0.replacingExactly(
                    "mail: hiro@northwind.example\n",
                    with: "mail: hiro@northwind.example\nmemberOf: cn=vpn,ou=Groups,dc=northwind,dc=example\n")
            }
        case "csvde":
            // Zoë's manager becomes Grace (her DN is in the export as csvde writes it).
            try ws.edit("directory/directory-csvde.csv") {
                $0.replacingExactly(
                    "1002,Engineering,\"CN=Ada Lovelace,OU=Engineering,OU=Staff,DC=northwind,DC=example\"",
                    with: "1002,Engineering,\"CN=Grace Hopper,OU=Research,OU=Staff,DC=northwind,DC=example\"")
            }
        default:
            try ws.edit("directory/dropfeed.scim.json") {
                $0.replacingExactly(#"path: "users.scim.json""#, with: #"path: "users.scim.jsonl""#)
            }
        }
    }

    @Test(arguments: ["ldif", "csvde", "scim"])
    func aFeedFromEachFormat(_ format: String) throws {
        try FeedWorkspace.with { ws in
            let config = "directory/dropfeed.\(format).json"
            ws.now = Self.day1
            let v = try ws.run(["validate"], config: config)
            #expect(v.exitCode == 0, "\(v.stdout)\(v.stderr)")
            let (r1, first) = try ws.report(["run"], config: config)
            #expect(r1.exitCode == 0, "\(r1.stderr)")
            #expect(first.source.rows == 6)
            let t1 = try first.target("team-directory")
            #expect((t1.status, t1.adds, t1.rejected) == ("delivered", 6, 0))
            let outbox = ws.file("directory/outbox-\(format)/team-directory")
            let delivered = try String(
                contentsOf: outbox.appendingPathComponent(try #require(t1.files.first?.name)), encoding: .utf8)
            #expect(delivered == Self.expected[format]!)

            try Self.dayTwo(format, ws)
            ws.now = Self.day2
            let (r2, second) = try ws.report(["run"], config: config)
            #expect(r2.exitCode == 0, "\(r2.stderr)")
            let t2 = try second.target("team-directory")
            switch format {
            case "ldif":
                #expect((t2.adds, t2.updates, t2.deletes, t2.unchanged) == (0, 1, 0, 5))
                let file = try String(contentsOf: outbox.appendingPathComponent(t2.files[0].name), encoding: .utf8)
                #expect(
                    file.contains(
                        "hiro,hiro@northwind.example,Hiroshi Tanaka,,Sales,amara@northwind.example,amara,vpn|staff,yes\n"
                    ))
            case "csvde":
                #expect((t2.adds, t2.updates, t2.deletes, t2.unchanged) == (0, 1, 0, 5))
                let file = try String(contentsOf: outbox.appendingPathComponent(t2.files[0].name), encoding: .utf8)
                #expect(
                    file.contains(
                        "zoe,zoe@northwind.example,Zoë Müller,Engineering,grace@northwind.example,Grace Hopper,"))
            default:
                // The same users as JSON Lines: nothing changed.
                #expect(second.source.rows == 6)
                #expect((t2.adds, t2.updates, t2.deletes, t2.unchanged) == (0, 0, 0, 6))
            }
        }
    }

    @Test(arguments: [
        (
            "ldif", "dn: uid=hiro,ou=Sales,ou=People,dc=northwind,dc=example\n",
            "dn: uid=hiro,ou=Sales,ou=People,dc=northwind,dc=example\nchangetype: modify\n",
            "directory.ldif:85: a change record (`changetype:`)"
        ),
        ("ldif", "uid: grace\n", "uid: grace\nthis is not an attribute\n", "directory.ldif:41: not an attribute"),
        (
            "csvde", "\"CN=Hiroshi Tanaka,OU=Sales,OU=Staff,DC=northwind,DC=example\"",
            "\"cn=ada lovelace, ou=Engineering,OU=Staff,DC=northwind,DC=example\"",
            "directory-csvde.csv:7: duplicate DN `cn=ada lovelace, ou=Engineering,OU=Staff,DC=northwind,DC=example` (also at line 2)"
        ),
        (
            "scim", "\"userName\": \"grace@northwind.example\",", "\"userName\": \"grace@northwind.example\"",
            "users.scim.json:"
        ),
    ])
    func aBrokenExportIsRefusedWithItsLineAndNothingIsDelivered(
        _ format: String, _ original: String, _ replacement: String, _ message: String
    ) throws {
        try FeedWorkspace.with { ws in
            try ws.edit("directory/\(Self.exports[format]!)") { $0.replacingExactly(original, with: replacement) }
            let r = try ws.run(["run"], config: "directory/dropfeed.\(format).json")
            #expect(r.exitCode == 65, "\(r.stderr)")
            #expect(r.stderr.contains(message), "\(r.stderr)")
            #expect(!ws.exists("directory/outbox-\(format)"))
        }
    }

    @Test func validateNamesAPlainReferenceToAMultiValuedAttribute() throws {
        try FeedWorkspace.with { ws in
            try ws.edit("directory/team-directory.ldif.json") {
                $0.replacingExactly(
                    #"{ name: "groups", from: "memberOf", dnPart: "cn", join: "|" },"#,
                    with: #"{ name: "groups", from: "memberOf" },"#)
            }
            let v = try ws.run(["validate"], config: "directory/dropfeed.ldif.json")
            #expect(v.exitCode == 78, "\(v.stdout)\(v.stderr)")
            #expect(
                (v.stdout + v.stderr).contains(
                    "team-directory.ldif.json: columns[7]: `memberOf` has several values (as in the record at line 5 of the source): say which with join, first, index or where"
                ), "\(v.stdout)\(v.stderr)")
            // A run rejects the rows holding several values and sends the rest.
            let (r, report) = try ws.report(["run"], config: "directory/dropfeed.ldif.json")
            #expect(r.exitCode == 0 || r.exitCode == 2, "\(r.stderr)")
            let t = try report.target("team-directory")
            #expect((t.adds, t.rejected) == (1, 5))
        }
    }
}
