import Foundation

/// What to do when two export rows have the same source key (`source.duplicateKeys`).
public enum DuplicateKeyPolicy: String, Sendable {
    /// The export is refused: no target runs (exit 65). The default.
    case fail
    /// Both rows are rejected in every target and reported; the vendors keep what they had.
    case reject
}

/// The kind of file the export is (`source.format`).
public enum SourceFormat: String, Sendable, CaseIterable {
    /// Delimited text with a header row (RFC 4180). The default.
    case csv
    /// LDAP Data Interchange Format content records (RFC 2849): `dn` and repeated attributes.
    case ldif
    /// Active Directory's `csvde` export: a CSV whose first column is `DN`, multi-valued
    /// attributes joined with `;`, binary or non-ASCII values as `X'…'` hex.
    case csvde
    /// SCIM 2.0 User resources: a `ListResponse` JSON document or JSON Lines; columns are SCIM paths.
    case scim

    /// Whether a field can hold several values (separated by `MultiValue.separator`).
    public var isMultiValued: Bool { self != .csv }
}

/// The identity export read once per run.
public struct SourceConfig: Sendable {
    /// Absolute path.
    public var path: String
    /// The path as written in the config, for messages and reports.
    public var displayPath: String
    public var key: [String]
    public var options: CSVReadOptions
    public var minRows: Int?
    public var maxShrinkPercent: Double?
    /// Two export rows with the same key: refuse the export (default) or reject both rows.
    public var duplicateKeys: DuplicateKeyPolicy = .fail
    /// What kind of file the export is.
    public var format: SourceFormat = .csv
}
