import Foundation

/// How several values share one field of a stored row, and how a binary value is told apart.
///
/// Values are joined by the byte 0x1E (ASCII "record separator"), which a text value never holds:
/// a value holding 0x00, 0x1E or 0x1F, or bytes that are not UTF-8, is binary and is stored as 0x1F
/// followed by its base64, so it reaches an output only through an explicit `encode`.
public enum MultiValue {
    /// Separates the values of one field.
    public static let separator: UInt8 = 0x1E
    /// Starts a binary value (the rest is its base64).
    public static let binaryMarker: UInt8 = 0x1F
    static let separatorScalar: Unicode.Scalar = "\u{1E}"
    static let binaryScalar: Unicode.Scalar = "\u{1F}"

    /// Whether `bytes` can be stored as text.
    static func isText<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8 {
        var hasHigh = false
        for b in bytes {
            if b == 0 || b == separator || b == binaryMarker { return false }
            if b >= 0x80 { hasHigh = true }
        }
        return !hasHigh || String(validating: Array(bytes), as: UTF8.self) != nil
    }

    /// Appends `value` to `field` (after a separator when the field has values already).
    static func append<C: Collection>(_ value: C, to field: inout [UInt8], count: inout Int)
    where C.Element == UInt8 {
        if count > 0 { field.append(separator) }
        count += 1
        if isText(value) {
            field.append(contentsOf: value)
        } else {
            field.append(binaryMarker)
            field.append(contentsOf: Data(value).base64EncodedData())
        }
    }

    /// The values of a stored field: none when it is empty.
    static func split(_ field: String) -> [String] {
        if field.isEmpty { return [] }
        guard field.unicodeScalars.contains(separatorScalar) else { return [field] }
        return field.split(separator: Character(separatorScalar), omittingEmptySubsequences: false).map(String.init)
    }

    /// Whether a stored value is binary (marked).
    static func isBinary(_ value: String) -> Bool { value.unicodeScalars.first == binaryScalar }

    /// The bytes of a binary value.
    static func binaryBytes(_ value: String) -> [UInt8] {
        [UInt8](Data(base64Encoded: String(value.unicodeScalars.dropFirst())) ?? Data())
    }
}

/// One record of an LDIF, csvde or SCIM export, as `SourceTable` stores it.
struct SourceRecord {
    /// The record's first line (1-based).
    var line: Int
    /// A hash of everything the record holds, so that an unchanged record can be told.
    var hash: UInt64
    /// One stored field per column asked for, in the order asked (values joined by `MultiValue.separator`).
    var fields: [[UInt8]]
}

/// Reads the records of a non-CSV export, once, front to back.
protocol SourceRecordReader: AnyObject {
    /// The next record, or nil at the end of the file.
    func next() throws -> SourceRecord?
    /// The columns the export has, known once every record was read: the names found (first
    /// spelling), then each column asked for that resolves to one of them under another spelling.
    var header: [String] { get }
    /// Columns asked for that held several values in a record: name → the first such record's line.
    var multiValuedLines: [String: Int] { get }
}

/// A reader for `source`'s format (not `.csv`), storing the values of `columns`.
func makeRecordReader(source: SourceConfig, columns: [String]) throws -> SourceRecordReader {
    switch source.format {
    case .ldif: return try LDIFReader(path: source.path, displayName: source.displayPath, columns: columns)
    case .csvde: return try CSVDEReader(source: source, columns: columns)
    case .scim: return try SCIMExportReader(path: source.path, displayName: source.displayPath, columns: columns)
    case .csv: preconditionFailure("CSV sources are read by CSVReader")
    }
}

/// The header of `source` without keeping any values: a CSV's header row, or the column names
/// found in every record of the other formats (those of `wanted` that resolve included).
/// Also the `wanted` columns that hold several values in some record, with that record's line.
public func readSourceHeader(_ source: SourceConfig, wanted: Set<String> = [])
    throws -> (header: [String], multiValued: [String: Int])
{
    if source.format == .csv {
        return (try CSVReader(path: source.path, displayName: source.displayPath, options: source.options).header, [:])
    }
    let reader = try makeRecordReader(source: source, columns: wanted.sorted())
    while try reader.next() != nil {}
    return (reader.header, reader.multiValuedLines)
}

/// The attribute names an export's records hold, matched without regard to case.
struct AttributeNames {
    private(set) var spellings: [String] = []
    private var known: Set<String> = []
    static let limit = 100_000

    /// Notes `name` (its canonical, lowercased form is `canonical`); false past `limit` names.
    mutating func note(_ name: String, canonical: String) -> Bool {
        if known.contains(canonical) { return true }
        guard known.count < AttributeNames.limit else { return false }
        known.insert(canonical)
        spellings.append(name)
        return true
    }

    func contains(canonical: String) -> Bool { known.contains(canonical) }

    /// The names found, then each of `asked` that resolves (by `resolves`) under another spelling.
    func header(asked: [String], resolves: (String) -> Bool) -> [String] {
        AttributeNames.header(spellings, asked: asked, resolves: resolves)
    }

    /// `found`, then each of `asked` not in it that `resolves`.
    static func header(_ found: [String], asked: [String], resolves: (String) -> Bool) -> [String] {
        var out = found
        let present = Set(found)
        for name in asked where !present.contains(name) && resolves(name) { out.append(name) }
        return out
    }
}

/// An error in a non-CSV export, with the file and line a person should look at.
public struct SourceFormatError: CodedError, Equatable, Sendable {
    public var exitCode: ExitCode { .data }
    public var file: String
    public var line: Int
    /// The first line of the record the problem is in, when it is not `line`.
    public var recordLine: Int?
    public var message: String

    public init(file: String, line: Int, recordLine: Int? = nil, _ message: String) {
        self.file = file
        self.line = line
        self.recordLine = recordLine.flatMap { $0 == line ? nil : $0 }
        self.message = message
    }

    public var description: String {
        "\(file):\(line): \(message)" + (recordLine.map { " (in the record starting at line \($0))" } ?? "")
    }
}
