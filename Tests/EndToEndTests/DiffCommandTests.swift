import Foundation
import Testing

/// `dropfeed diff` as a user runs it: exit codes, stdout and stderr, the csv-diff JSON shape.
@Suite struct DiffCommandTests {
    static let old = "id,name,team\r\n1,Ann,A\r\n2,Bob,B\r\n3,\"Cé, \"\"x\"\"\",C\r\n"
    static let new = "id,name,team\r\n3,\"Cé, \"\"y\"\"\",C\r\n1,Ann,A\r\n4,Dan,D\r\n"

    /// Writes `files` into a fresh directory, runs `dropfeed ARGS` there, removes the directory.
    func diff(_ files: [String: String], _ arguments: [String]) throws -> ProcessResult {
        try TemporaryDirectory.with { dir in
            for (name, text) in files { try Data(text.utf8).write(to: dir.appendingPathComponent(name)) }
            return try DropfeedProcess.run(arguments, cwd: dir)
        }
    }

    func json(_ result: ProcessResult) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: result.stdoutData)
        return try #require(object as? [String: Any], "stdout is not a JSON object: \(result.stdout)")
    }

    // MARK: exit codes 0 and 1

    @Test func identicalFilesExitZeroEvenWithExitCode() throws {
        for extra in [[], ["--exit-code"], ["--json", "--exit-code"]] {
            let r = try diff(
                ["a.csv": Self.old, "b.csv": Self.old], ["diff", "a.csv", "b.csv", "--key", "id"] + extra)
            #expect(r.exitCode == 0, "\(extra): \(r.stderr)")
            #expect(r.stderr.isEmpty)
        }
        let r = try diff(["a.csv": Self.old, "b.csv": Self.old], ["diff", "a.csv", "b.csv", "--key", "id"])
        #expect(r.stdout.hasPrefix("no differences"))
    }

    @Test func differencesExitZeroUnlessExitCodeAsked() throws {
        let files = ["old.csv": Self.old, "new.csv": Self.new]
        #expect(try diff(files, ["diff", "old.csv", "new.csv", "--key", "id"]).exitCode == 0)
        #expect(try diff(files, ["diff", "old.csv", "new.csv", "--key", "id", "--json"]).exitCode == 0)
        #expect(try diff(files, ["diff", "old.csv", "new.csv", "--key", "id", "--exit-code"]).exitCode == 1)
        #expect(try diff(files, ["diff", "--exit-code", "--json", "old.csv", "new.csv", "--key=id"]).exitCode == 1)
    }

    // MARK: output

    @Test func jsonHasCsvDiffShapeSortedByKey() throws {
        let r = try diff(
            ["old.csv": Self.old, "new.csv": Self.new], ["diff", "old.csv", "new.csv", "--key", "id", "--json"])
        #expect(r.exitCode == 0)
        #expect(r.stderr.isEmpty)
        let object = try json(r)
        #expect(Set(object.keys) == ["added", "removed", "changed", "columns_added", "columns_removed"])
        #expect(object["added"] as? [[String: String]] == [["id": "4", "name": "Dan", "team": "D"]])
        #expect(object["removed"] as? [[String: String]] == [["id": "2", "name": "Bob", "team": "B"]])
        let changed = try #require(object["changed"] as? [[String: Any]])
        #expect(changed.count == 1)
        #expect(changed.first?["key"] as? String == "3")
        #expect(changed.first?["changes"] as? [String: [String]] == ["name": ["Cé, \"x\"", "Cé, \"y\""]])
        #expect(object["columns_added"] as? [String] == [])
        #expect(object["columns_removed"] as? [String] == [])
        // Row objects keep the file's column order, as csv-diff's do.
        #expect(r.stdout.contains("\"id\": \"4\",\n            \"name\": \"Dan\",\n            \"team\": \"D\""))
    }

    @Test func outputIsSortedByKeyWhateverTheFileOrder() throws {
        let old = "id,v\n" + (1...9).map { "k\($0),old\n" }.joined()
        let new = "id,v\n" + (1...9).reversed().map { "k\($0),new\n" }.joined() + "k0,x\nz1,x\na1,x\n"
        let r = try diff(["o.csv": old, "n.csv": new], ["diff", "o.csv", "n.csv", "--key", "id", "--json"])
        let object = try json(r)
        let changed = try #require(object["changed"] as? [[String: Any]])
        #expect(changed.compactMap { $0["key"] as? String } == (1...9).map { "k\($0)" })
        let added = try #require(object["added"] as? [[String: String]])
        #expect(added.compactMap { $0["id"] } == ["a1", "k0", "z1"])
    }

    @Test func humanOutputGoesToStdout() throws {
        let r = try diff(["old.csv": Self.old, "new.csv": Self.new], ["diff", "old.csv", "new.csv", "--key", "id"])
        #expect(r.exitCode == 0)
        #expect(r.stderr.isEmpty)
        let first = r.stdout.split(separator: "\n").first.map(String.init) ?? ""
        #expect(first.hasPrefix("1 row added, 1 row removed, 1 row changed"), "\(r.stdout)")
        #expect(r.stdout.contains("+ id \"4\""))
        #expect(r.stdout.contains("- id \"2\""))
        #expect(r.stdout.contains("~ id \"3\""))
        #expect(r.stdout.contains("name: \"Cé, \\\"x\\\"\" => \"Cé, \\\"y\\\"\""), "\(r.stdout)")
    }

    @Test func compositeKeyIsAnArray() throws {
        let old = "region,id,v\nEU,1,a\nUS,1,b\nEU,2,c\n"
        let new = "region,id,v\nEU,1,a\nUS,1,B\nUS,2,d\n"
        let r = try diff(["o.csv": old, "n.csv": new], ["diff", "o.csv", "n.csv", "--key", "region,id", "--json"])
        #expect(r.exitCode == 0, "\(r.stderr)")
        let object = try json(r)
        let changed = try #require(object["changed"] as? [[String: Any]])
        #expect(changed.count == 1)
        #expect(changed.first?["key"] as? [String] == ["US", "1"])
        #expect(changed.first?["changes"] as? [String: [String]] == ["v": ["b", "B"]])
        #expect(object["added"] as? [[String: String]] == [["region": "US", "id": "2", "v": "d"]])
        #expect(object["removed"] as? [[String: String]] == [["region": "EU", "id": "2", "v": "c"]])
        // The same id in two regions is not a duplicate under the composite key, but is under `id`.
        let single = try diff(["o.csv": old, "n.csv": new], ["diff", "o.csv", "n.csv", "--key", "id"])
        #expect(single.exitCode == 65)
    }

    @Test func columnsAddedAndRemoved() throws {
        let old = "id,name,team,legacy\n1,Ann,A,x\n2,Bob,B,y\n"
        let new = "id,email,name,team\n1,ann@example.com,Ann,A\n2,bob@example.com,Bobby,B\n"
        let r = try diff(
            ["o.csv": old, "n.csv": new], ["diff", "o.csv", "n.csv", "--key", "id", "--json", "--exit-code"])
        #expect(r.exitCode == 1)
        let object = try json(r)
        #expect(object["columns_added"] as? [String] == ["email"])
        #expect(object["columns_removed"] as? [String] == ["legacy"])
        // Only shared columns are compared: row 1 is unchanged, row 2 changed its name.
        let changed = try #require(object["changed"] as? [[String: Any]])
        #expect(changed.count == 1)
        #expect(changed.first?["key"] as? String == "2")
        #expect(changed.first?["changes"] as? [String: [String]] == ["name": ["Bob", "Bobby"]])
        let text = try diff(["o.csv": old, "n.csv": new], ["diff", "o.csv", "n.csv", "--key", "id"])
        #expect(text.stdout.contains("columns added: email"))
        #expect(text.stdout.contains("columns removed: legacy"))
    }

    @Test func semicolonDelimiter() throws {
        let old = "id;name;note\n1;Ann;\"a;b\"\n2;Bob;x,y\n"
        let new = "id;name;note\n1;Ann;\"a;c\"\n2;Bob;x,y\n"
        let r = try diff(
            ["o.csv": old, "n.csv": new], ["diff", "o.csv", "n.csv", "--key", "id", "--delimiter", ";", "--json"])
        #expect(r.exitCode == 0, "\(r.stderr)")
        let changed = try #require(try json(r)["changed"] as? [[String: Any]])
        #expect(changed.first?["key"] as? String == "1")
        #expect(changed.first?["changes"] as? [String: [String]] == ["note": ["a;b", "a;c"]])
        // Read with the default comma, the same files have no `id` column.
        let comma = try diff(["o.csv": old, "n.csv": new], ["diff", "o.csv", "n.csv", "--key", "id"])
        #expect(comma.exitCode == 65)
    }

    @Test func windows1252Encoding() throws {
        try TemporaryDirectory.with { dir in
            // "Zoë" and "Müller" in code page 1252 (ë = 0xEB, ü = 0xFC), and the euro sign (0x80).
            var old =
                Data("id,name,price\n1,Zo".utf8) + Data([0xEB]) + Data(",5 ".utf8) + Data([0x80]) + Data("\n".utf8)
            old += Data("2,M".utf8) + Data([0xFC]) + Data("ller,1\n".utf8)
            var new =
                Data("id,name,price\n1,Zo".utf8) + Data([0xEB]) + Data(",6 ".utf8) + Data([0x80]) + Data("\n".utf8)
            new += Data("2,M".utf8) + Data([0xFC]) + Data("ller,1\n".utf8)
            try old.write(to: dir.appendingPathComponent("o.csv"))
            try new.write(to: dir.appendingPathComponent("n.csv"))
            let r = try DropfeedProcess.run(
                ["diff", "o.csv", "n.csv", "--key", "id", "--encoding", "windows-1252", "--json"], cwd: dir)
            #expect(r.exitCode == 0, "\(r.stderr)")
            let changed = try #require(try json(r)["changed"] as? [[String: Any]])
            #expect(changed.count == 1)
            #expect(changed.first?["changes"] as? [String: [String]] == ["price": ["5 €", "6 €"]])
            // Without --encoding the same bytes are invalid UTF-8: a data error naming the place.
            let utf8 = try DropfeedProcess.run(["diff", "o.csv", "n.csv", "--key", "id"], cwd: dir)
            #expect(utf8.exitCode == 65)
            #expect(utf8.stderr.contains("invalid UTF-8 at o.csv:2"), "\(utf8.stderr)")
        }
    }

    // MARK: usage errors (64)

    @Test(arguments: [
        (["diff", "old.csv", "new.csv"], "--key"),
        (["diff", "old.csv", "new.csv", "--key", "id", "--frobnicate"], "--frobnicate"),
        (["diff", "old.csv", "new.csv", "--key", "id", "--jsn"], "--jsn"),
        (["diff", "old.csv", "--key", "id"], "two files"),
        (["diff", "old.csv", "new.csv", "third.csv", "--key", "id"], "two files"),
        (["diff", "old.csv", "new.csv", "--key"], "--key"),
        (["diff", "old.csv", "new.csv", "--key", "id,"], "--key"),
        (["diff", "old.csv", "new.csv", "--key", "id", "--delimiter", "::"], "--delimiter"),
        (["diff", "old.csv", "new.csv", "--key", "id", "--encoding", "ebcdic"], "ebcdic"),
        (["frobnicate"], "frobnicate"),
    ])
    func usageErrors(arguments: [String], mentions: String) throws {
        let r = try diff(["old.csv": Self.old, "new.csv": Self.new], arguments)
        #expect(r.exitCode == 64, "\(arguments): \(r.stderr)")
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.contains(mentions), "\(arguments): \(r.stderr)")
    }

    // MARK: data errors (65) and missing input (66)

    @Test(arguments: [
        ("id,name\n1,Ann\n2,Bob\n1,Ann again\n", "duplicate key `1`"),
        ("id,name\n1,Ann\n,Nobody\n", "empty key at line 3"),
        ("id,name\n1,Ann\n2,\"Bob\n", "unterminated quoted field at bad.csv:3"),
        ("id,name\n1,Ann,extra\n", "3 fields where the header has 2 at bad.csv:2"),
        ("ident,name\n1,Ann\n", "no key column `id`"),
        ("", "bad.csv"),
    ])
    func dataErrors(content: String, mentions: String) throws {
        let r = try diff(
            ["bad.csv": content, "good.csv": "id,name\n1,Ann\n"], ["diff", "bad.csv", "good.csv", "--key", "id"])
        #expect(r.exitCode == 65, "\(content): \(r.stderr)")
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.contains(mentions), "\(r.stderr)")
        // The same file as NEW fails the same way.
        let swapped = try diff(
            ["bad.csv": content, "good.csv": "id,name\n1,Ann\n"], ["diff", "good.csv", "bad.csv", "--key", "id"])
        #expect(swapped.exitCode == 65, "\(swapped.stderr)")
    }

    @Test func missingFileIs66() throws {
        for arguments in [
            ["diff", "nope.csv", "new.csv", "--key", "id"], ["diff", "old.csv", "nope.csv", "--key", "id"],
        ] {
            let r = try diff(["old.csv": Self.old, "new.csv": Self.new], arguments)
            #expect(r.exitCode == 66, "\(arguments): \(r.stderr)")
            #expect(r.stdout.isEmpty)
            #expect(r.stderr.contains("nope.csv"), "\(r.stderr)")
        }
    }

    // MARK: help and version

    @Test(arguments: [
        ["--help"], ["-h"], ["help"], ["help", "diff"], ["diff", "--help"], ["diff", "old.csv", "--help"],
    ])
    func helpGoesToStdout(arguments: [String]) throws {
        let r = try DropfeedProcess.run(arguments)
        #expect(r.exitCode == 0, "\(arguments): \(r.stderr)")
        #expect(r.stderr.isEmpty)
        #expect(r.stdout.contains("usage: dropfeed"), "\(arguments): \(r.stdout)")
        if arguments.contains("diff") { #expect(r.stdout.contains("--key COL")) }
    }

    @Test func versionGoesToStdout() throws {
        for flag in ["--version", "-V"] {
            let r = try DropfeedProcess.run([flag])
            #expect(r.exitCode == 0)
            #expect(r.stderr.isEmpty)
            #expect(r.stdout.range(of: #"^dropfeed \d+\.\d+\.\d+"#, options: .regularExpression) != nil, "\(r.stdout)")
        }
    }
}
