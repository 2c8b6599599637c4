import Foundation

/// Reads SCIM 2.0 User resources (placeholder until the reader lands).
final class SCIMExportReader: SourceRecordReader {
    init(path: String, displayName: String, columns: [String]) throws {
        throw SourceFormatError(file: displayName, line: 1, "the scim format is not read yet")
    }
    var header: [String] { [] }
    var multiValuedLines: [String: Int] { [:] }
    func next() throws -> SourceRecord? { nil }
}
