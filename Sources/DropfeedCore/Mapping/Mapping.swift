/// A target's mapping: which source rows it takes and how it shapes them into the vendor's columns.
///
/// Read from `mappings/<target>.json` (JSON5, `version: 1`); see README "Mapping reference".
public struct Mapping: Sendable {
    /// The file it was read from, for messages.
    public var file: String
    /// The output column(s) identifying a record at the vendor.
    public var key: [String]
    public var conditions: [Condition]
    public var columns: [ColumnSpec]
    /// Output columns that must not be empty; a row failing this is rejected and reported.
    public var required: [String]
    public var output: OutputSpec
    public var safety: Safety
    /// SHA-256 of the mapping file's bytes: a snapshot's mapped rows are reused only while it holds.
    public var digest: String = ""

    /// The output column names, in order.
    public var columnNames: [String] { columns.map(\.name) }
}

/// A `where` condition; a row is taken only when all hold.
public struct Condition: Sendable {
    public enum Test: Sendable {
        case isIn(Set<String>)
        case notIn(Set<String>)
        case matches(Pattern)
        case notEmpty(Bool)
        case equals(String)
    }

    public var column: String
    public var test: Test

    func holds(_ value: String) -> Bool {
        switch test {
        case .isIn(let set): return set.contains(value)
        case .notIn(let set): return !set.contains(value)
        case .matches(let pattern): return pattern.matches(value)
        case .notEmpty(let wanted): return value.isEmpty != wanted
        case .equals(let expected): return value == expected
        }
    }
}

/// Where an output column's value starts from.
public enum ValueSource: Sendable {
    /// The first non-empty of these source columns (one column is the common case).
    case from([String])
    /// Text with `{column}` placeholders.
    case template(Template)
    /// A constant.
    case value(String)
}

/// One output column: a source, then `lookup`, `map`/`default`, `date`, then `transform` steps.
public struct ColumnSpec: Sendable {
    public var name: String
    public var source: ValueSource
    /// Replace the value by this source column of the source row whose key equals the value.
    public var lookup: String?
    public var map: [String: String]?
    /// With `map`: the value for unmatched input; without `map`: the value when empty.
    public var defaultValue: String?
    public var date: DateConversion?
    public var transforms: [Transform]
    /// With `lookup`: the source column matched against the value instead of the source key
    /// (a DN column — `dn` of an LDIF or csvde export — is compared as DNs).
    public var lookupBy: String? = nil
    /// What is done with several values (`split`, `encode`, `where`, `dnPart`, `join`, `first`, `index`).
    public var list: ValueListOps = ValueListOps()
    /// Where the column is written in the mapping file, for messages; nil for `columns[k]`.
    public var path: String? = nil
    /// Keep every value instead of making one: each goes through `map`, `default`, `date` and
    /// `transform` on its own, and the non-empty results are sorted, written once each and joined
    /// with `,` (OneRoster's list separator). For `oneroster.enrollments.classes`.
    public var keepsEveryValue = false
}

/// A value transformation, applied in the order written.
public enum Transform: Sendable {
    case trim
    case lower
    case upper
    /// Strip diacritics and drop what is still not ASCII.
    case ascii
    /// Keep at most N characters (extended grapheme clusters).
    case truncate(Int)
    case replace(Pattern, with: String)
}

/// How a delete reaches the vendor.
public enum DeletePolicy: Sendable, Equatable {
    /// A row with the delete action and the values last delivered.
    case row
    /// Not sent at all.
    case omit
    /// Sent as an update: the last delivered values with these columns overwritten.
    case set([String: String])
}

/// What a data file is: a CSV in the target's dialect, or a OneRoster bundle.
public enum OutputFormat: String, Sendable {
    case csv, oneroster
}

public enum OutputMode: String, Sendable {
    case full, delta, both
}

/// The action column of a delta file.
public struct ActionSpec: Sendable, Equatable {
    public var column: String
    public var add: String
    public var update: String
    public var delete: String

    public static let standard = ActionSpec(column: "action", add: "add", update: "update", delete: "delete")
}

/// What files a target gets and how they are written.
public struct OutputSpec: Sendable {
    /// A name template: `{target} {date} {time} {kind} {seq}`.
    public var fileTemplate: String
    public var mode: OutputMode
    public var dialect: CSVWriteOptions
    /// The delta files' action column; nil means delta files have none.
    public var action: ActionSpec?
    public var deletes: DeletePolicy
    /// Neutralise cells starting with `=` `+` `-` `@` TAB or CR (OWASP CSV injection).
    public var formulaGuard: Bool
    /// Output columns the formula guard leaves as they are (`formulaGuard: { except: ["phone"] }`):
    /// a phone number's leading `+` is data the vendor needs.
    public var formulaGuardExcept: Set<String> = []
    /// Send a header-only delta when nothing changed.
    public var sendEmptyDelta: Bool
    /// Upload a `NAME.sha256` sidecar after each file.
    public var checksum: Bool
    /// Upload an empty `NAME<trigger>` after each file (e.g. `.done`).
    public var trigger: String?
    /// Lines written as they are before the header of every data file (Entra's `version:v1.0`).
    public var preamble: [String] = []
    /// `encrypt`: each data file is delivered OpenPGP-encrypted (its name gets `.pgp`/`.asc`).
    public var encrypt: EncryptionSpec?
    /// `format: "oneroster"`: each data file is a OneRoster 1.1 CSV bundle (a zip), not a CSV.
    public var oneRoster: OneRosterSpec?
}

/// `format: "oneroster"` with `oneroster: { orgs: [...], enrollments: {...} }`: the rows are
/// OneRoster 1.1 `users.csv` rows; each file is a zip holding `manifest.csv`, `users.csv` (bulk
/// for a full file, delta for a delta file), when orgs are given `orgs.csv` (bulk), and when
/// enrollments are mapped `enrollments.csv` (processed as users.csv is).
public struct OneRosterSpec: Sendable {
    /// The users.csv columns, in the order of the OneRoster 1.1 CSV tables.
    public static let userColumns = [
        "sourcedId", "status", "dateLastModified", "enabledUser", "orgSourcedIds", "role", "username", "userIds",
        "givenName", "familyName", "middleName", "identifier", "email", "sms", "phone", "agentSourcedIds", "grades",
        "password",
    ]
    /// The orgs.csv columns, in the specified order.
    public static let orgColumns = ["sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId"]
    /// orgs.csv `type` values.
    public static let orgTypes = ["department", "school", "district", "local", "state", "national"]
    /// The files a OneRoster 1.1 manifest lists, in its order.
    public static let manifestFiles = [
        "academicSessions", "categories", "classes", "classResources", "courses", "courseResources", "demographics",
        "enrollments", "lineItems", "orgs", "resources", "results", "users",
    ]

    /// orgs.csv rows, each in `orgColumns` order (status and dateLastModified blank: bulk).
    public var orgs: [[String]]
    /// How each user's enrollments are made; nil: no enrollments.csv.
    public var enrollments: EnrollmentSpec? = nil
}

/// `oneroster.enrollments`: an enrollments.csv row for each class of each user. Its values are
/// made by columns of the mapping that follow users.csv's — `enrollments.classes`,
/// `enrollments.role` and those given of `enrollments.school`, `enrollments.primary`,
/// `enrollments.beginDate`, `enrollments.endDate` — mapped like any column and kept in the
/// snapshot with the row (so a delta knows the classes last delivered), never written to
/// users.csv.
public struct EnrollmentSpec: Sendable {
    /// The enrollments.csv columns, in the order of the OneRoster 1.1 CSV tables.
    public static let columns = [
        "sourcedId", "status", "dateLastModified", "classSourcedId", "schoolSourcedId", "userSourcedId", "role",
        "primary", "beginDate", "endDate",
    ]
    /// enrollments.csv `role` values: OneRoster 1.1 allows only these four for an enrollment
    /// (users.csv's roles — aide, guardian, parent, relative — are not enrollment roles).
    public static let roles = ["administrator", "proctor", "student", "teacher"]

    /// A value of the enrollments, each made by one column.
    public enum Field: String, Sendable, CaseIterable {
        case classes, role, school, primary, beginDate, endDate

        /// The column's name: in the snapshot, `changes.csv`, `state export`, `plan --explain`
        /// and test-mapping cases.
        public var columnName: String { "enrollments." + rawValue }
    }

    /// The fields the mapping gives (always `classes` and `role`), in `Field` order, with the
    /// column making each. Their columns follow users.csv's in this order.
    public var fields: [(field: Field, column: ColumnSpec)]
    /// With `oneroster.orgs`: the sourcedIds of its orgs of type school, the only orgs an
    /// enrollment's school may name; nil when no orgs are given.
    public var schools: Set<String>? = nil

    /// The columns, in order, that follow users.csv's in the mapping.
    public var columns: [ColumnSpec] { fields.map(\.column) }

    /// The position of `field`'s value in a mapped row, nil when the mapping does not give it.
    func position(_ field: Field) -> Int? {
        fields.firstIndex { $0.field == field }.map { OneRosterSpec.userColumns.count + $0 }
    }
}

/// Per-target limits that hold a run instead of delivering damage.
public struct Safety: Sendable {
    public enum OnExceed: String, Sendable {
        /// Nothing is delivered for the target.
        case hold
        /// Adds and updates go; deletes stay pending (and are found again next run).
        case holdDeletes = "hold-deletes"
    }

    public var maxDeletes: Int?
    public var maxDeletePercent: Double?
    public var maxUpdatePercent: Double?
    public var onExceed: OnExceed

    public static let none = Safety(maxDeletes: nil, maxDeletePercent: nil, maxUpdatePercent: nil, onExceed: .hold)
}
