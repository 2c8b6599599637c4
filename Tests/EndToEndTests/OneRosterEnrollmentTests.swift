import Foundation
import Testing

/// `oneroster.enrollments`: enrollments.csv in bulk and delta bundles, from an LDAP directory
/// whose classes are groups, checked by the independent checker and against enrollments
/// computed here from the staff each night has.
extension OneRosterBundleTests {
    /// A person of the generated directory: `type` is employeeType, `office` the building.
    struct Staff {
        var number: String
        var type = "Teacher"
        var office = "Boston"
        var classes: [String]
        var phone = "+1 617 555 0100"

        var uid: String { "u" + number }

        /// What the shipped mapping must make of this person, by class: (school, role, primary).
        var enrollments: [String: [String]] {
            let school = ["Boston": "org-bos-ms2", "Chicago": "org-chi-es3"][office] ?? "org-district"
            let role = ["Teacher": "teacher", "Aide": "teacher", "Principal": "administrator"][type] ?? "?"
            let primary = type == "Teacher" ? "true" : "false"
            return Dictionary(classes.map { ($0, [school, role, primary]) }, uniquingKeysWith: { a, _ in a })
        }
    }

    /// The people as `ldapsearch -LLL` exports them, each class a group under ou=Classes (in the
    /// order given), with other groups around them.
    static func ldif(_ staff: [Staff]) -> String {
        var out = "version: 1\n\n"
        for s in staff {
            out += """
                dn: uid=\(s.uid),ou=Staff,dc=district,dc=example
                objectClass: top
                objectClass: person
                objectClass: inetOrgPerson
                uid: \(s.uid)
                givenName: Given\(s.number)
                sn: Family\(s.number)
                mail: \(s.uid)@district.example
                employeeNumber: \(s.number)
                employeeType: \(s.type)
                physicalDeliveryOfficeName: \(s.office)
                telephoneNumber: \(s.phone)
                memberOf: cn=staff,ou=Groups,dc=district,dc=example

                """
            for c in s.classes { out += "memberOf: cn=\(c),ou=Classes,ou=Groups,dc=district,dc=example\n" }
            out += "memberOf: cn=teachers,ou=Groups,dc=district,dc=example\n\n"
        }
        return out
    }

    /// An enrollments.csv row as OneRoster 1.1 lays it out, with the sourcedId dropfeed derives.
    static func enrollmentRow(_ user: String, _ classId: String, _ status: String, _ modified: String, _ v: [String])
        -> [String]
    {
        ["\(user)-\(classId)", status, modified, classId, v[0], user, v[1], v[2], "", ""]
    }

    /// Every enrollment of `staff`, in user then class order (a bulk file; `status` and
    /// `modified` for a first delta).
    static func allEnrollments(_ staff: [Staff], status: String = "", modified: String = "") -> [[String]] {
        staff.sorted { $0.number < $1.number }.flatMap { s in
            s.enrollments.keys.sorted().map { enrollmentRow(s.number, $0, status, modified, s.enrollments[$0]!) }
        }
    }

    /// The delta from `before` to `after`: per user, a class only before had is tobedeleted (as it
    /// was), one only after has is active, one both have is active when its values changed.
    static func enrollmentDelta(_ before: [Staff], _ after: [Staff], modified: String) -> [[String]] {
        let old = Dictionary(before.map { ($0.number, $0.enrollments) }, uniquingKeysWith: { a, _ in a })
        let new = Dictionary(after.map { ($0.number, $0.enrollments) }, uniquingKeysWith: { a, _ in a })
        var rows: [[String]] = []
        for user in Set(old.keys).union(new.keys).sorted() {
            let o = old[user] ?? [:]
            let n = new[user] ?? [:]
            for c in Set(o.keys).union(n.keys).sorted() {
                switch (o[c], n[c]) {
                case (let was?, nil): rows.append(enrollmentRow(user, c, "tobedeleted", modified, was))
                case (let was, let now?) where was != now: rows.append(enrollmentRow(user, c, "active", modified, now))
                default: break
                }
            }
        }
        return rows
    }

    /// The bytes enrollments.csv holds for `rows`: the header, CRLF, no field needs quotes.
    static func enrollmentsCSV(_ rows: [[String]]) -> Data {
        let header =
            "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate"
        return Data(([header] + rows.map { $0.joined(separator: ",") }).map { $0 + "\r\n" }.joined().utf8)
    }

    /// A feed in `dir` over `export.ldif` with targets `bulk` (the shipped mapping in full mode)
    /// and `delta` (as shipped); `mapping` rewrites the shipped text first.
    static func directoryFeed(_ dir: TemporaryDirectory, mapping: (String) -> String = { $0 }) throws {
        let shipped = try String(
            contentsOf: DropfeedProcess.packageRoot.appendingPathComponent("mappings/oneroster-directory.json"),
            encoding: .utf8)
        #expect(shipped.contains("mode: \"delta\""))
        try dir.write("delta.json", mapping(shipped))
        try dir.write("bulk.json", mapping(shipped).replacingOccurrences(of: "mode: \"delta\"", with: "mode: \"full\""))
        try dir.write(
            "dropfeed.json",
            """
            { version: 1, source: { path: "export.ldif", format: "ldif", key: "uid" }, stateDir: "state",
              targets: [
                { name: "bulk", mapping: "bulk.json", deliver: { directory: "out/bulk" } },
                { name: "delta", mapping: "delta.json", deliver: { directory: "out/delta" } },
              ] }
            """)
    }

    static func night(_ dir: TemporaryDirectory, _ staff: [Staff], _ now: String, _ args: [String] = ["run", "--json"])
        throws -> ProcessResult
    {
        try dir.write("export.ldif", ldif(staff))
        var env = ProcessInfo.processInfo.environment
        env["DROPFEED_NOW"] = now
        return try DropfeedProcess.run(args, cwd: dir.url, environment: env)
    }

    static func target(_ result: ProcessResult, _ name: String) throws -> [String: Any] {
        let report = try #require(try JSONSerialization.jsonObject(with: result.stdoutData) as? [String: Any])
        return try #require((report["targets"] as? [[String: Any]])?.first { $0["name"] as? String == name })
    }

    /// Ten people on the first night.
    static let firstNight: [Staff] = [
        Staff(number: "3001", classes: ["math-7b", "math-7a"]),
        Staff(number: "3002", classes: ["art-k", "ela-3a"]),
        Staff(number: "3003", office: "Chicago", classes: ["music-1", "music-2"]),
        Staff(number: "3004", type: "Aide", office: "Chicago", classes: ["music-1"]),
        Staff(number: "3005", type: "Principal", office: "Chicago", classes: []),
        Staff(number: "3006", classes: ["pe-6"]),
        Staff(number: "3007", office: "Chicago", classes: ["ela-3b"]),
        Staff(number: "3009", classes: ["sci-8a"]),
        Staff(number: "3010", type: "Aide", classes: ["sci-8a", "art-k"]),
        Staff(number: "3011", office: "Springfield", classes: []),
    ]

    /// The next night: 3001 gains sci-7a (its groups listed in another order), 3002 loses
    /// ela-3a, 3003 is gone, 3004 became a teacher (primary now true), 3006 has a new phone
    /// only, 3008 is hired for 3003's classes; the rest is as it was.
    static var secondNight: [Staff] {
        var staff = firstNight.filter { $0.number != "3003" }
        staff[0].classes = ["sci-7a", "math-7a", "math-7b"]
        staff[1].classes = ["art-k"]
        staff[2].type = "Teacher"
        staff[4].phone = "+1 617 555 0199"
        staff.append(Staff(number: "3008", office: "Chicago", classes: ["music-2", "music-1"]))
        return staff
    }

    @Test func enrollmentDeltasAreTheClassesGainedAndLost() throws {
        let dir = try TemporaryDirectory(prefix: "dropfeed-enrollments")
        defer { dir.remove() }
        try Self.directoryFeed(dir)
        let day1 = "2026-09-01T02:00:00Z"
        let day2 = "2026-09-02T02:00:00Z"
        let stamp1 = "2026-09-01T02:00:00.000Z"
        let stamp2 = "2026-09-02T02:00:00.000Z"

        let first = try Self.night(dir, Self.firstNight, day1)
        #expect(first.exitCode == 0, "\(first.stderr)")
        let firstDelta = try Self.check(dir.file("out/delta/oneroster_20260901_0001.zip"), in: dir)
        #expect(firstDelta.problems == [])
        #expect(firstDelta.modes["enrollments"] == "delta" && firstDelta.modes["users"] == "delta")
        #expect(
            firstDelta.tables["enrollments"] == Self.allEnrollments(Self.firstNight, status: "active", modified: stamp1)
        )

        let second = try Self.night(dir, Self.secondNight, day2)
        #expect(second.exitCode == 0, "\(second.stderr)")
        // The delta: exactly the enrollments gained, lost or changed.
        let deltaZip = dir.file("out/delta/oneroster_20260902_0002.zip")
        let delta = try Self.check(deltaZip, in: dir)
        #expect(delta.problems == [])
        #expect(Set(delta.names) == ["manifest.csv", "users.csv", "orgs.csv", "enrollments.csv"])
        let expected = Self.enrollmentDelta(Self.firstNight, Self.secondNight, modified: stamp2)
        #expect(
            expected.map { "\($0[0]) \($0[1])" } == [
                "3001-sci-7a active", "3002-ela-3a tobedeleted", "3003-music-1 tobedeleted", "3003-music-2 tobedeleted",
                "3004-music-1 active", "3008-music-1 active", "3008-music-2 active",
            ])
        #expect(delta.tables["enrollments"] == expected)
        // Python's zipfile gives back exactly those bytes.
        #expect(delta.sha256["enrollments.csv"] == (try Self.sha256(Self.enrollmentsCSV(expected))))
        // users.csv: the users whose rows changed (classes included), 3006 for its phone alone.
        #expect(
            delta.userStatuses == [
                "3001": "active", "3002": "active", "3003": "tobedeleted", "3004": "active", "3006": "active",
                "3008": "active",
            ])
        let deltaTarget = try Self.target(second, "delta")
        #expect(
            (deltaTarget["adds"] as? Int, deltaTarget["updates"] as? Int, deltaTarget["deletes"] as? Int) == (1, 4, 1))

        // The bulk bundle: every enrollment of the people there now, status and date blank.
        let bulk = try Self.check(dir.file("out/bulk/oneroster_20260902_0002.zip"), in: dir)
        #expect(bulk.problems == [])
        #expect(bulk.modes["enrollments"] == "bulk" && bulk.modes["users"] == "bulk" && bulk.modes["orgs"] == "bulk")
        #expect(Set(bulk.names) == ["manifest.csv", "users.csv", "orgs.csv", "enrollments.csv"])
        #expect(bulk.rows.users == 10)
        let all = Self.allEnrollments(Self.secondNight)
        #expect(all.count == 12)
        #expect(bulk.tables["enrollments"] == all)
        #expect(bulk.sha256["enrollments.csv"] == (try Self.sha256(Self.enrollmentsCSV(all))))

        // A night without changes sends nothing, for either.
        let third = try Self.night(dir, Self.secondNight, "2026-09-03T02:00:00Z")
        #expect(third.exitCode == 0, "\(third.stderr)")
        #expect(try Self.target(third, "delta")["status"] as? String == "unchanged")
        #expect(try Self.target(third, "bulk")["status"] as? String == "unchanged")
    }

    @Test func aUsersOnlySnapshotGetsEveryEnrollmentWhenTheMappingGainsThem() throws {
        let dir = try TemporaryDirectory(prefix: "dropfeed-enrollments")
        defer { dir.remove() }
        // The shipped mapping without its enrollments block: users.csv and orgs.csv only.
        try Self.directoryFeed(dir) { text in
            let start = text.range(of: "      enrollments: {")!
            let end = text.range(of: "      },\n", range: start.upperBound..<text.endIndex)!
            return text.replacingCharacters(in: start.lowerBound..<end.upperBound, with: "")
        }
        let first = try Self.night(dir, Self.firstNight, "2026-09-01T02:00:00Z")
        #expect(first.exitCode == 0, "\(first.stderr)")
        let usersOnly = try Self.check(dir.file("out/delta/oneroster_20260901_0001.zip"), in: dir)
        #expect(usersOnly.problems == [])
        #expect(usersOnly.modes["enrollments"] == "absent")
        #expect(Set(usersOnly.names) == ["manifest.csv", "users.csv", "orgs.csv"])
        let show = try DropfeedProcess.run(["state", "show", "delta", "--json"], cwd: dir.url)
        let before = try #require(try JSONSerialization.jsonObject(with: show.stdoutData) as? [String: Any])
        #expect((before["columns"] as? [String])?.count == 18)

        // The mapping gains enrollments: the snapshot's rows have no classes, so every class is new.
        try Self.directoryFeed(dir)
        let second = try Self.night(
            dir, Self.firstNight, "2026-09-02T02:00:00Z", ["run", "--json", "--allow-updates", "10"])
        #expect(second.exitCode == 0, "\(second.stderr)")
        let upgraded = try Self.check(dir.file("out/delta/oneroster_20260902_0002.zip"), in: dir)
        #expect(upgraded.problems == [])
        #expect(upgraded.modes["enrollments"] == "delta")
        #expect(
            upgraded.tables["enrollments"]
                == Self.allEnrollments(Self.firstNight, status: "active", modified: "2026-09-02T02:00:00.000Z"))
        // Each row gained columns, so every user is re-sent (active); nobody is deleted.
        #expect(upgraded.rows.users == 10 && upgraded.rows.statuses == ["active"])
        #expect(try Self.target(second, "delta")["updates"] as? Int == 10)
        let after = try #require(
            try JSONSerialization.jsonObject(
                with: DropfeedProcess.run(["state", "show", "delta", "--json"], cwd: dir.url).stdoutData)
                as? [String: Any])
        #expect(
            Array(((after["columns"] as? [String]) ?? []).suffix(3)) == [
                "enrollments.classes", "enrollments.role", "enrollments.primary",
            ])
    }

    @Test func theDistrictSampleSendsItsClassesNightByNight() throws {
        let dir = try TemporaryDirectory(prefix: "dropfeed-enrollments")
        defer { dir.remove() }
        let root = DropfeedProcess.packageRoot
        try FileManager.default.copyItem(at: root.appendingPathComponent("mappings"), to: dir.file("mappings"))
        try FileManager.default.createDirectory(at: dir.file("samples/directory"), withIntermediateDirectories: true)
        for name in ["dropfeed.oneroster.json", "district-staff.ldif", "district-staff-next.ldif"] {
            try FileManager.default.copyItem(
                at: root.appendingPathComponent("samples/directory/\(name)"), to: dir.file("samples/directory/\(name)"))
        }
        let feed = dir.file("samples/directory")
        func run(_ now: String) throws -> ProcessResult {
            var env = ProcessInfo.processInfo.environment
            env["DROPFEED_NOW"] = now
            return try DropfeedProcess.run(["run", "--config", "dropfeed.oneroster.json"], cwd: feed, environment: env)
        }
        let first = try run("2026-09-01T02:00:00Z")
        #expect(first.exitCode == 0, "\(first.stderr)")
        let night1 = try Self.check(
            feed.appendingPathComponent("outbox-oneroster/roster/oneroster_20260901_0001.zip"), in: dir)
        #expect(night1.problems == [])
        #expect(night1.rows.users == 7 && night1.rows.enrollments == 10)

        try FileManager.default.removeItem(at: feed.appendingPathComponent("district-staff.ldif"))
        try FileManager.default.copyItem(
            at: feed.appendingPathComponent("district-staff-next.ldif"),
            to: feed.appendingPathComponent("district-staff.ldif"))
        let second = try run("2026-09-02T02:00:00Z")
        #expect(second.exitCode == 0, "\(second.stderr)")
        let night2 = try Self.check(
            feed.appendingPathComponent("outbox-oneroster/roster/oneroster_20260902_0002.zip"), in: dir)
        #expect(night2.problems == [])
        #expect(
            (night2.tables["enrollments"] ?? []).map { "\($0[0]) \($0[1])" } == [
                "2001-math-8a active", "2002-sci-8a tobedeleted", "2007-music-1 tobedeleted",
                "2007-music-2 tobedeleted",
                "2009-music-1 active", "2009-music-2 active",
            ])
        #expect(
            night2.userStatuses == [
                "2001": "active", "2002": "active", "2005": "active", "2007": "tobedeleted", "2009": "active",
            ])
    }

    @Test func aSavedPlanWithEnrollmentsIsDeliveredByteForByte() throws {
        let dir = try TemporaryDirectory(prefix: "dropfeed-enrollments")
        defer { dir.remove() }
        try Self.directoryFeed(dir)
        #expect(try Self.night(dir, Self.firstNight, "2026-09-01T02:00:00Z").exitCode == 0)
        let day2 = "2026-09-02T02:00:00Z"
        let planned = try Self.night(
            dir, Self.secondNight, day2, ["plan", "--save", "tonight.plan", "--out", "review"])
        #expect(planned.exitCode == 0, "\(planned.stderr)")
        // changes.csv explains a user who is sent for their classes alone.
        let changes = try String(contentsOf: dir.file("review/delta/changes.csv"), encoding: .utf8)
        #expect(changes.contains("update,3002,enrollments.classes,\"art-k,ela-3a\",art-k\n"), "\(changes)")
        #expect(!changes.contains("update,3002,phone"), "\(changes)")
        let applied = try Self.night(dir, Self.secondNight, day2, ["run", "--plan", "tonight.plan"])
        #expect(applied.exitCode == 0, "\(applied.stderr)")
        for target in ["bulk", "delta"] {
            let name = "oneroster_20260902_0002.zip"
            let sent = try Data(contentsOf: dir.file("out/\(target)/\(name)"))
            #expect(sent == (try Data(contentsOf: dir.file("review/\(target)/\(name)"))), "\(target)")
        }
        let delta = try Self.check(dir.file("out/delta/oneroster_20260902_0002.zip"), in: dir)
        #expect(
            delta.tables["enrollments"]
                == Self.enrollmentDelta(Self.firstNight, Self.secondNight, modified: "2026-09-02T02:00:00.000Z"))
        // The committed snapshot holds the classes: the same export again changes nothing.
        let again = try Self.night(dir, Self.secondNight, "2026-09-03T02:00:00Z", ["plan", "--exit-code"])
        #expect(again.exitCode == 0, "\(again.stderr)")
    }

    @Test func aBadEnrollmentsBlockIsRefused() throws {
        let columns = [
            "sourcedId", "status", "dateLastModified", "enabledUser", "orgSourcedIds", "role", "username", "userIds",
            "givenName", "familyName", "middleName", "identifier", "email", "sms", "phone", "agentSourcedIds", "grades",
            "password",
        ].map { $0 == "sourcedId" ? #"{ name: "sourcedId", from: "id" }"# : #"{ name: "\#($0)", value: "x" }"# }
        func mapping(_ enrollments: String) -> String {
            """
            { version: 1, key: "sourcedId", columns: [\(columns.joined(separator: ", "))],
              output: { file: "r_{seq}.zip", format: "oneroster", mode: "delta",
                        oneroster: { orgs: [{ sourcedId: "s1", name: "S", type: "school" }], enrollments: \(enrollments) } } }
            """
        }
        let first = try validateMapping(
            mapping(
                #"{ clases: { from: "id" }, role: "aide", primary: { from: "id", map: { x: "yes" } }, beginDate: "09/01/2026", school: ["s1"] }"#
            ))
        #expect(first.exitCode == 78)
        let second = try validateMapping(
            mapping(
                #"{ classes: { from: "id", dnPart: "cn", join: "," }, role: { from: "id", default: "Teacher" }, school: "s2" }"#
            ))
        #expect(second.exitCode == 78)
        let third = try validateMapping(mapping(#"{ classes: "math-7a", role: "teacher" }"#))
        #expect(third.exitCode == 78)
        let fourth = try validateMapping(mapping(#"{ classes: { template: "{id}" }, role: "teacher" }"#))
        #expect(fourth.exitCode == 78)
        let fifth = try validateMapping(
            mapping(#"{ classes: { from: "groups", split: ";" }, role: { from: "kindOfStaff" } }"#))
        #expect(fifth.exitCode == 78)
        let text = [first, second, third, fourth, fifth].map { $0.stdout + $0.stderr }.joined(separator: "\n")
        for expected in [
            "output.oneroster.enrollments.clases: unknown key (did you mean `classes`?)",
            "output.oneroster.enrollments.classes: required",
            "output.oneroster.enrollments.role: `aide` is not an enrollment role of OneRoster 1.1 (administrator, proctor, student, teacher)",
            "output.oneroster.enrollments.primary.map.x: `yes` is not true or false",
            "output.oneroster.enrollments.beginDate: `09/01/2026` is not a date like 2026-09-01 (yyyy-MM-dd)",
            "output.oneroster.enrollments.school: expected a constant or { from: COLUMN, … }, found a list",
            "output.oneroster.enrollments.classes: keeps every value (an enrollment per class): leave join, first and index out",
            "output.oneroster.enrollments.role.default: `Teacher` is not an enrollment role of OneRoster 1.1",
            "output.oneroster.enrollments.school: `s2` is not an org of type school in oneroster.orgs",
            "output.oneroster.enrollments.classes: expected { from: COLUMN, … } (the column holding each user's classes), found a string",
            "output.oneroster.enrollments.classes: needs from: the column holding each user's classes",
            "output.oneroster.enrollments.classes.from: no source column `groups`",
            "output.oneroster.enrollments.role.from: no source column `kindOfStaff`",
        ] {
            #expect(text.contains(expected), "missing \(expected) in:\n\(text)")
        }
        // Enrollments belong to a OneRoster bundle.
        let csv = try validateMapping(
            #"{ version: 1, key: "id", columns: [{ name: "id", from: "id" }], output: { file: "x.csv", mode: "full", oneroster: { enrollments: {} } } }"#
        )
        #expect(csv.exitCode == 78)
        #expect((csv.stdout + csv.stderr).contains("output.oneroster: only with format \"oneroster\""), "\(csv.stderr)")
    }
}
