import Foundation
import Testing

@testable import DropfeedCore

/// `oneroster.enrollments`: its values are mapped by the mapping's own column evaluator into
/// columns after users.csv's, checked against enrollments.csv's rules, and turned into rows and
/// delta changes.
struct EnrollmentTests {
    /// A OneRoster mapping over a CSV export `id,school,groups,type,start` (users.csv columns
    /// from `id` and `school`, the rest blank) with `enrollments` as given.
    static func roster(_ enrollments: String, orgs: String = "") -> String {
        let columns = OneRosterSpec.userColumns.map { name -> String in
            switch name {
            case "sourcedId": return #"{ name: "sourcedId", from: "id" }"#
            case "orgSourcedIds": return #"{ name: "orgSourcedIds", from: "school" }"#
            default: return #"{ name: "\#(name)", value: "" }"#
            }
        }
        return """
            { version: 1, key: "sourcedId", columns: [\(columns.joined(separator: ", "))],
              output: { file: "r_{seq}.zip", format: "oneroster", mode: "delta", oneroster: { \(orgs) enrollments: \(enrollments) } } }
            """
    }

    static let header = ["id", "school", "groups", "type", "start"]

    /// Each row mapped: its values after users.csv's columns, or the rejection.
    static func hidden(_ enrollments: String, _ rows: [[String]]) throws -> [Mapped] {
        try MappingHarness.run(roster(enrollments), header: header, rows: rows).results.map {
            if case .row(let values) = $0 { return .row(Array(values[OneRosterSpec.userColumns.count...])) }
            return $0
        }
    }

    @Test func classesKeepEveryValueSortedOnceEach() throws {
        let spec =
            #"{ classes: { from: "groups", split: ";", where: { contains: ",ou=Classes," }, dnPart: "cn" }, role: "teacher" }"#
        let groups =
            "cn=math-7b,ou=Classes,dc=x;cn=staff,ou=Groups,dc=x;cn=art-k,ou=Classes,dc=x;cn=math-7b,ou=Classes,dc=x"
        #expect(
            try Self.hidden(spec, [["1", "s1", groups, "", ""], ["2", "s1", "cn=staff,ou=Groups,dc=x", "", ""]]) == [
                .row(["art-k,math-7b", "teacher"]), .row(["", "teacher"]),
            ])
    }

    @Test func mapDefaultAndTransformsApplyToEachClass() throws {
        let mapped =
            #"{ classes: { from: "groups", split: ";", map: { "7A": "math-7a", "7B": "math-7b" } }, role: "teacher" }"#
        #expect(
            try Self.hidden(mapped, [["1", "s", "7B;7A;art", "", ""]]) == [.row(["art,math-7a,math-7b", "teacher"])])
        // an empty list is one empty value: default gives it a class
        let homeroom =
            #"{ classes: { from: "groups", split: ";", default: "homeroom", transform: ["upper"] }, role: "student" }"#
        #expect(
            try Self.hidden(homeroom, [["1", "s", "", "", ""], ["2", "s", "a;b", "", ""]]) == [
                .row(["HOMEROOM", "student"]), .row(["A,B", "student"]),
            ])
    }

    @Test func valuesEnrollmentsCsvCannotCarryRejectTheRow() throws {
        let base = #"classes: { from: "groups", split: ";" }"#
        let rows = [["1", "s", "a,b;c", "", ""]]
        #expect(
            try Self.hidden("{ \(base), role: \"teacher\" }", rows) == [
                .rejected("`enrollments.classes`: `a,b` holds a comma, which separates the values of a OneRoster list")
            ])
        let fromType = "{ \(base), role: { from: \"type\" } }"
        #expect(
            try Self.hidden(
                fromType, [["1", "s", "c", "aide", ""], ["2", "s", "", "aide", ""], ["3", "s", "c", "student", ""]])
                == [
                    .rejected(
                        "`enrollments.role`: `aide` is not an enrollment role of OneRoster 1.1 (administrator, proctor, student, teacher)"
                    ),
                    .row(["", "aide"]),  // no classes: no enrollment to check
                    .row(["c", "student"]),
                ])
        #expect(
            try Self.hidden("{ \(base), role: \"teacher\" }", [["1", "", "c", "", ""]]) == [
                .rejected(
                    "`orgSourcedIds` is empty for a user with classes (the enrollments' school; or give enrollments.school)"
                )
            ])
        #expect(
            try Self.hidden(
                "{ \(base), role: \"teacher\", primary: { from: \"type\" } }", [["1", "s", "c", "yes", ""]]) == [
                    .rejected("`enrollments.primary`: `yes` is not true or false")
                ])
        #expect(
            try Self.hidden(
                "{ \(base), role: \"teacher\", beginDate: { from: \"start\" } }", [["1", "s", "c", "", "2026-13-01"]])
                == [.rejected("`enrollments.beginDate`: `2026-13-01` is not a date like 2026-09-01 (yyyy-MM-dd)")])
    }

    @Test func anEnrollmentsSchoolIsAnOrgOfTypeSchool() throws {
        let orgs =
            #"orgs: [{ sourcedId: "d", name: "D", type: "district" }, { sourcedId: "s1", name: "S1", type: "school" }],"#
        let spec = #"{ classes: { from: "groups", split: ";" }, role: "teacher" }"#
        #expect(
            try MappingHarness.run(
                Self.roster(spec, orgs: orgs), header: Self.header,
                rows: [
                    ["1", "s1", "c", "", ""], ["2", "d", "c", "", ""], ["3", "d", "", "", ""],
                ]
            ).results.map { if case .row = $0 { return "row" } else { return "\($0)" } } == [
                "row",
                "rejected: `d` is not an org of type school in oneroster.orgs (the school of the user's enrollments)",
                "row",
            ])
        let w = try FeedWorkspace()
        let stated =
            #"{ classes: { from: "groups" }, role: "teacher", school: { from: "school", map: { x: "d" }, default: "s1" } }"#
        do {
            _ = try MappingHarness.load(Self.roster(stated, orgs: orgs), in: w)
            Issue.record("a school that is not an org of type school was accepted")
        } catch let failure as MappingHarness.LoadFailure {
            #expect(
                failure.problems.map(\.description) == [
                    "mappings/m.json: output.oneroster.enrollments.school.map.x: `d` is not an org of type school in oneroster.orgs"
                ])
        }
    }

    @Test func theOptionalValuesFollowInFieldOrder() throws {
        let spec = #"""
            { endDate: "2027-06-30", beginDate: { from: "start", date: { from: "MM/dd/yyyy", to: "yyyy-MM-dd" } },
              primary: "false", school: { from: "school", map: { s1: "org-1" } }, role: "teacher",
              classes: { from: "groups", split: ";" } }
            """#
        #expect(
            try Self.hidden(spec, [["1", "s1", "b;a", "", "09/01/2026"]]) == [
                .row(["a,b", "teacher", "org-1", "false", "2026-09-01", "2027-06-30"])
            ])
        let w = try FeedWorkspace()
        let mapping = try MappingHarness.load(Self.roster(spec), in: w)
        #expect(
            Array(mapping.columnNames.suffix(6)) == [
                "enrollments.classes", "enrollments.role", "enrollments.school", "enrollments.primary",
                "enrollments.beginDate", "enrollments.endDate",
            ])
    }

    @Test func aRowsEnrollmentsAndTheirRows() throws {
        let w = try FeedWorkspace()
        let plain = try #require(
            try MappingHarness.load(Self.roster(#"{ classes: { from: "groups" }, role: "teacher" }"#), in: w).output
                .oneRoster?.enrollments)
        var row = [String](repeating: "", count: OneRosterSpec.userColumns.count) + ["math-7b,art-k", "teacher"]
        row[0] = "t-1"
        row[EnrollmentSpec.orgsColumn] = "org-a,org-b"
        let found = plain.enrollments(of: row)
        #expect(found.map(\.classId) == ["art-k", "math-7b"])
        #expect(
            found[0].row(user: "t-1", status: "active", modified: "2026-09-01T02:00:00.000Z") == [
                "t-1-art-k", "active", "2026-09-01T02:00:00.000Z", "art-k", "org-a", "t-1", "teacher", "", "", "",
            ])
        // A row of a snapshot from before the mapping had enrollments: no columns, no enrollments.
        #expect(plain.enrollments(of: Array(row.prefix(OneRosterSpec.userColumns.count))) == [])
    }

    @Test func aUsersDeltaIsTheClassesGainedLostOrChanged() {
        func e(_ id: String, role: String = "teacher") -> Enrollment {
            Enrollment(classId: id, school: "s", role: role, primary: "", beginDate: "", endDate: "")
        }
        let changes = OneRosterBundle.enrollmentChanges(
            old: [e("a"), e("b"), e("c"), e("d")], new: [e("b"), e("c", role: "proctor"), e("d"), e("e")])
        #expect(
            changes.map { "\($0.enrollment.classId) \($0.enrollment.role) \($0.deleted)" } == [
                "a teacher true", "c proctor false", "e teacher false",
            ])
        #expect(OneRosterBundle.enrollmentChanges(old: [e("a")], new: [e("a")]).isEmpty)
        #expect(OneRosterBundle.enrollmentChanges(old: [], new: [e("a"), e("b")]).map(\.deleted) == [false, false])
        #expect(OneRosterBundle.enrollmentChanges(old: [e("a"), e("b")], new: []).map(\.deleted) == [true, true])
    }

    @Test func anUnknownSourceColumnIsNamedWhereTheEnrollmentsSayIt() throws {
        let w = try FeedWorkspace()
        let mapping = try MappingHarness.load(
            Self.roster(#"{ classes: { from: "memberof", split: ";" }, role: { from: "staffCategory" } }"#), in: w)
        let problems = CompiledMapping.problems(mapping, header: Self.header + ["memberOf"], sourceKey: ["id"])
        #expect(
            problems.map(\.description) == [
                "mappings/m.json: output.oneroster.enrollments.classes.from: no source column `memberof` (did you mean `memberOf`?)",
                "mappings/m.json: output.oneroster.enrollments.role.from: no source column `staffCategory`",
            ])
    }

    @Test func classesFromAMultiValuedAttributeNeedNoPick() throws {
        let w = try FeedWorkspace()
        let mapping = try MappingHarness.load(
            Self.roster(#"{ classes: { from: "memberOf", dnPart: "cn" }, role: "teacher" }"#), in: w)
        let problems = CompiledMapping.problems(
            mapping, header: Self.header + ["memberOf"], sourceKey: ["id"], multiValued: ["memberOf": 3])
        #expect(problems.isEmpty, "\(problems)")
    }

    @Test func calendarDates() {
        for good in ["2026-09-01", "2027-12-31"] { #expect(EnrollmentSpec.isCalendarDate(good), "\(good)") }
        for bad in ["2026-9-01", "2026-00-10", "2026-01-32", "20260901", "2026-09-01T00:00", "2026/09/01", ""] {
            #expect(!EnrollmentSpec.isCalendarDate(bad), "\(bad)")
        }
    }
}
