/// One enrollment of a user: a class and what enrollments.csv says of it.
struct Enrollment: Sendable, Equatable {
    var classId: String
    var school: String
    var role: String
    var primary: String
    var beginDate: String
    var endDate: String

    /// The enrollment's `sourcedId`: `<userSourcedId>-<classSourcedId>`, the same every run for
    /// the same user and class, so a delta's `tobedeleted` names the row a bulk file sent.
    static func sourcedId(user: String, classId: String) -> String { user + "-" + classId }

    /// Its enrollments.csv row, in `EnrollmentSpec.columns` order.
    func row(user: String, status: String, modified: String) -> [String] {
        [
            Enrollment.sourcedId(user: user, classId: classId), status, modified, classId, school, user, role, primary,
            beginDate, endDate,
        ]
    }
}

extension EnrollmentSpec {
    /// users.csv's `orgSourcedIds`: without `school`, a user's first org is the school of every
    /// enrollment.
    static let orgsColumn = OneRosterSpec.userColumns.firstIndex(of: "orgSourcedIds")!

    /// The enrollments a mapped row (in the mapping's columns) holds, by class; none when its
    /// `enrollments.classes` is empty (a row of a snapshot made before the mapping had
    /// enrollments reads so).
    func enrollments(of row: [String]) -> [Enrollment] {
        func value(_ field: Field) -> String { position(field).map { $0 < row.count ? row[$0] : "" } ?? "" }
        let classes = value(.classes)
        if classes.isEmpty { return [] }
        let school =
            position(.school) != nil
            ? value(.school) : String(row[EnrollmentSpec.orgsColumn].split(separator: ",").first ?? "")
        let role = value(.role)
        let primary = value(.primary)
        let begin = value(.beginDate)
        let end = value(.endDate)
        // Stored sorted and once each; sorted again so that any stored order merges right.
        return Set(classes.split(separator: ",").map(String.init)).sorted().map {
            Enrollment(classId: $0, school: school, role: role, primary: primary, beginDate: begin, endDate: end)
        }
    }

    /// Why a mapped row cannot be sent with its enrollments (a row rejection), or nil.
    func problem(in row: [String]) -> String? {
        guard let first = enrollments(of: row).first else { return nil }
        if first.school.isEmpty {
            return position(.school) != nil
                ? "`\(Field.school.columnName)` is empty for a user with classes"
                : "`orgSourcedIds` is empty for a user with classes (the enrollments' school; or give enrollments.school)"
        }
        if let schools, !schools.contains(first.school) {
            return
                "`\(first.school)` is not an org of type school in oneroster.orgs (the school of the user's enrollments)"
        }
        return EnrollmentSpec.problem(first.role, for: .role)
            ?? EnrollmentSpec.problem(first.primary, for: .primary)
            ?? EnrollmentSpec.problem(first.beginDate, for: .beginDate)
            ?? EnrollmentSpec.problem(first.endDate, for: .endDate)
    }

    /// What is wrong with `value` as `field`'s value (a role outside the vocabulary, a primary
    /// other than true/false, a date not yyyy-MM-dd), as a row rejection's reason; nil when it
    /// is fine. Empty is fine except for `role`.
    static func problem(_ value: String, for field: Field) -> String? {
        guard let rule = rule(for: field), !(value.isEmpty && field != .role), !rule.holds(value) else { return nil }
        return "`\(field.columnName)`: `\(value)` \(rule.says)"
    }

    /// The values `field` allows, when it has a rule.
    static func rule(for field: Field) -> (holds: (String) -> Bool, says: String)? {
        switch field {
        case .role:
            return (
                { roles.contains($0) }, "is not an enrollment role of OneRoster 1.1 (\(roles.joined(separator: ", ")))"
            )
        case .primary:
            return ({ $0 == "true" || $0 == "false" }, "is not true or false")
        case .beginDate, .endDate:
            return (isCalendarDate, "is not a date like 2026-09-01 (yyyy-MM-dd)")
        case .classes, .school:
            return nil
        }
    }

    /// `yyyy-MM-dd` with a month 01–12 and a day 01–31.
    static func isCalendarDate(_ value: String) -> Bool {
        let b = Array(value.utf8)
        let digit = { (k: Int) in b[k] >= 0x30 && b[k] <= 0x39 }
        guard b.count == 10, b[4] == 0x2D, b[7] == 0x2D, [0, 1, 2, 3, 5, 6, 8, 9].allSatisfy(digit) else {
            return false
        }
        let month = Int(b[5] - 0x30) * 10 + Int(b[6] - 0x30)
        let day = Int(b[8] - 0x30) * 10 + Int(b[9] - 0x30)
        return (1...12).contains(month) && (1...31).contains(day)
    }
}
