import Foundation

/// What to do when two export rows have the same source key (`source.duplicateKeys`).
public enum DuplicateKeyPolicy: String, Sendable {
    /// The export is refused: no target runs (exit 65). The default.
    case fail
    /// Both rows are rejected in every target and reported; the vendors keep what they had.
    case reject
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
}
