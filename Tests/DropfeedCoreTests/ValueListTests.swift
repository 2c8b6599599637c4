import Foundation
import Testing

@testable import DropfeedCore

/// The mapping language's multi-valued and DN operations, on the LDIF directory export.
struct ValueListTests {
    static func run(_ columns: [String], extra: String = "") throws -> (results: [Mapped], misses: [LookupMiss]) {
        try SourceFormatHarness.run(
            SourceFormatHarness.mapping(#"name: "id", from: "uid""#, extra: extra, more: columns),
            source: directoryLDIF,
            format: .ldif, key: ["uid"])
    }

    static func values(_ column: String) throws -> [String] {
        try run([column]).results.map {
            switch $0 {
            case .row(let v): return v[1]
            case .rejected(let reason): return "rejected: \(reason)"
            case .skipped: return "skipped"
            }
        }
    }

    @Test func joinFirstAndIndex() throws {
        #expect(
            try Self.values(#"name: "groups", from: "memberOf", dnPart: "CN", join: "; ""#) == [
                "staff; engineering; vpn", "staff", "",
            ])
        #expect(
            try Self.values(#"name: "g", from: "memberOf", first: true"#)[0]
                == "cn=staff,ou=Groups,dc=northwind,dc=example")
        #expect(try Self.values(#"name: "g", from: "memberOf", dnPart: "cn", index: 1"#) == ["engineering", "", ""])
        #expect(try Self.values(#"name: "g", from: "memberOf", dnPart: "cn", index: -1"#) == ["vpn", "staff", ""])
        #expect(try Self.values(#"name: "g", from: "objectClass", index: 5"#) == ["", "", ""])
    }

    @Test func whereKeepsTheValuesThatPass() throws {
        #expect(
            try Self.values(#"name: "g", from: "memberOf", where: { contains: "ou=Access" }, dnPart: "CN", join: ",""#)
                == ["vpn", "", ""])
        #expect(
            try Self.values(
                #"name: "g", from: "memberOf", where: { notContains: "ou=Access" }, dnPart: "CN", join: "|""#)
                == ["staff|engineering", "staff", ""])
        #expect(
            try Self.values(
                #"name: "g", from: "memberOf", where: { matches: "^cn=(eng|vpn)" }, dnPart: "CN", join: "+""#)
                == ["engineering+vpn", "", ""])
        // A `where` leaving one value needs no pick.
        #expect(
            try Self.values(#"name: "g", from: "memberOf", where: { startsWith: "cn=vpn" }, dnPart: "CN""#)
                == ["vpn", "", ""])
    }

    @Test func aPlainReferenceToSeveralValuesRejectsTheRow() throws {
        let out = try Self.values(#"name: "g", from: "memberOf""#)
        #expect(
            out[0]
                == "rejected: `g`: 3 values (`cn=staff,ou=Groups,dc=northwind,dc=example`, `cn=engineering,ou=Groups,dc=northwind,dc=example`, `cn=vpn,ou=Access,dc=northwind,dc=example`): say which with join, first, index or where"
        )
        #expect(out[1] == "cn=staff,ou=Groups,dc=northwind,dc=example")
        let template = try Self.values(#"name: "g", template: "{uid}: {objectClass}""#)
        #expect(template[0].hasPrefix("rejected: `g`: 2 values"))
        #expect(template[2] == "grace: inetOrgPerson")
    }

    @Test func validationNamesAPlainReferenceToAMultiValuedColumn() throws {
        let w = try FeedWorkspace()
        let mapping = try MappingHarness.load(
            SourceFormatHarness.mapping(#"name: "id", from: "uid""#, more: [#"name: "g", from: "memberOf""#]), in: w)
        let problems = CompiledMapping.problems(
            mapping, header: ["uid", "memberOf"], sourceKey: ["uid"], multiValued: ["memberOf": 6])
        #expect(
            problems.map(\.description) == [
                "mappings/m.json: columns[1]: `memberOf` has several values (as in the record at line 6 of the source): say which with join, first, index or where"
            ])
    }

    @Test func dnPartOfASingleValue() throws {
        #expect(try Self.values(#"name: "m", from: "manager", dnPart: "UID""#) == ["", "ada", "ADA"])
        #expect(try Self.values(#"name: "m", from: "dn", dnPart: "ou""#) == ["People", "People", "People"])
        #expect(try Self.values(#"name: "m", from: "dn", dnPart: "dc", join: ".""#)[2] == "northwind.example")
    }

    @Test func lookupThroughADN() throws {
        // `manager` is a DN; the DN of Grace's manager is spelled differently from Ada's `dn` line.
        let (results, misses) = try Self.run([#"name: "m", from: "manager", lookup: "mail", lookupBy: "dn""#])
        #expect(
            results == [
                .row(["ada", ""]), .row(["zoe", "ada@northwind.example"]), .row(["grace", "ada@northwind.example"]),
            ])
        #expect(misses.isEmpty)
        // Through the key, a DN finds nothing: the key is `uid`.
        let (_, keyMisses) = try Self.run([#"name: "m", from: "manager", lookup: "mail""#])
        #expect(
            keyMisses.map(\.value) == [
                "uid=ada,ou=People,dc=northwind,dc=example", "uid=ADA,ou=people,dc=Northwind,dc=example",
            ])
    }

    @Test func lookupPerValueThenJoin() throws {
        let (results, _) = try Self.run([
            #"name: "m", from: "employeeNumber", lookup: "cn", lookupBy: "employeeNumber", join: "/""#
        ])
        #expect(
            results.map { if case .row(let v) = $0 { return v[1] } else { return "?" } } == [
                "Ada Lovelace", "Zoë Müller", "Grace Hopper",
            ])
    }

    @Test func binaryValuesOnlyThroughEncode() throws {
        #expect(try Self.values(#"name: "p", from: "jpegPhoto", encode: "hex""#) == ["", "ffd8ffe000104a464946", ""])
        #expect(try Self.values(#"name: "p", from: "jpegPhoto", encode: "base64""#)[1] == "/9j/4AAQSkZJRg==")
        #expect(
            try Self.values(#"name: "p", from: "jpegPhoto""#)[1]
                == "rejected: `p`: a binary value (write it with encode: \"base64\" or \"hex\")")
    }

    @Test func rowConditionsHoldWhenOneValueDoes() throws {
        let staff = #"where: [ { column: "memberOf", equals: "cn=engineering,ou=Groups,dc=northwind,dc=example" } ],"#
        #expect(try Self.run([], extra: staff).results == [.row(["ada"]), .skipped, .skipped])
        let notIn = #"where: [ { column: "memberOf", notIn: ["cn=vpn,ou=Access,dc=northwind,dc=example"] } ],"#
        #expect(try Self.run([], extra: notIn).results == [.skipped, .row(["zoe"]), .row(["grace"])])
        let present = #"where: [ { column: "memberOf", notEmpty: true } ],"#
        #expect(try Self.run([], extra: present).results == [.row(["ada"]), .row(["zoe"]), .skipped])
    }

    @Test func splitWorksOnACSVColumn() throws {
        let (results, _) = try MappingHarness.run(
            MappingHarness.oneColumn(#"from: "roles", split: "|", index: -1, transform: ["upper"]"#),
            header: ["id", "roles"], rows: [["1", "a|b|c"], ["2", ""], ["3", "solo"]])
        #expect(results == [.row(["1", "C"]), .row(["2", ""]), .row(["3", "SOLO"])])
        let (plain, _) = try MappingHarness.run(
            MappingHarness.oneColumn(#"from: "roles", split: "|""#), header: ["id", "roles"], rows: [["1", "a|b"]])
        #expect(plain == [.rejected("`out`: 2 values (`a`, `b`): say which with join, first, index or where")])
    }

    @Test func listOperationsAreCheckedWhenTheMappingLoads() throws {
        let w = try FeedWorkspace()
        #expect {
            _ = try MappingHarness.load(
                MappingHarness.oneColumn(
                    #"from: "a", first: true, join: ",", where: { contains: "x", matches: "y" }, lookupBy: "dn""#),
                in: w)
        } throws: { error in
            let text = "\(error)"
            return text.contains("columns[1]: needs at most one of join, first, index")
                && text.contains("columns[1].where: needs exactly one of contains, notContains, startsWith, matches")
                && text.contains("columns[1].lookupBy: only makes sense with lookup")
        }
    }
}

/// DNs taken apart as RFC 4514 writes them.
struct DistinguishedNameTests {
    @Test func partsEscapesQuotesAndSpaces() {
        let dn = DistinguishedName(#"CN=Hopper\, Grace , OU = Sales+L=Berlin;DC=ex\41mple,O="Acme, Inc.",CN=trailing\ "#)
        #expect(
            dn?.parts.map { "\($0.type)=\($0.value)" } == [
                "CN=Hopper, Grace", "OU=Sales", "L=Berlin", "DC=exAmple", "O=Acme, Inc.", "CN=trailing ",
            ])
        #expect(dn?.values(of: "cn") == ["Hopper, Grace", "trailing "])
        #expect(
            DistinguishedName.normalize("uid=ADA, ou=People,dc=Example")
                == DistinguishedName.normalize("UID=ada,OU=people,DC=example"))
        #expect(DistinguishedName("no equals sign") == nil)
        #expect(DistinguishedName("=x") == nil)
        #expect(DistinguishedName(#"cn="open"#) == nil)
        #expect(DistinguishedName.normalize("  Not A DN ") == "not a dn")
    }
}
