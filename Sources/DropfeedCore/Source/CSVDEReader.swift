import Foundation

/// Reads an Active Directory `csvde` export: a CSV (the source's delimiter and encoding apply)
/// whose first column is `DN`, with multi-valued attributes joined by `;` and binary or non-ASCII
/// values written `X'…'` in hex (decoded here: text when the bytes are UTF-8, else binary).
///
/// Column names match without regard to case. Every field except the DN is split at `;` (csvde
/// cannot tell a value holding `;` from two values), so a plain reference gives the values
/// joined with `;` again, as exported, and list operations see each value.
final class CSVDEReader: SourceRecordReader {
    private let reader: CSVReader
    private let displayName: String
    private let columns: [String]
    /// Per column asked for: its position in the CSV, if it has it.
    private let positions: [Int?]
    private let dnPosition: Int
    private var dnLines: [UInt64: Int] = [:]
    private(set) var multiValuedLines: [String: Int] = [:]

    init(source: SourceConfig, columns: [String]) throws {
        reader = try CSVReader(path: source.path, displayName: source.displayPath, options: source.options)
        displayName = source.displayPath
        self.columns = columns
        let lowered = reader.header.map { $0.lowercased() }
        guard lowered.first == "dn" else {
            throw SourceFormatError(
                file: displayName, line: 1,
                "not a csvde export: its first column is `\(reader.header.first ?? "")`, not `DN`")
        }
        dnPosition = 0
        positions = columns.map { lowered.firstIndex(of: $0.lowercased()) }
    }

    var header: [String] {
        let lowered = Set(reader.header.map { $0.lowercased() })
        return AttributeNames.header(reader.header, asked: columns) { lowered.contains($0.lowercased()) }
    }

    func next() throws -> SourceRecord? {
        guard let record = try reader.next() else { return nil }
        let dn = record.string(dnPosition)
        let normalized = DistinguishedName.normalize(dn)
        let dnHash = normalized.utf8.withContiguousStorageIfAvailable { RowHash.combine(RowHash.seed, $0) } ?? 0
        if let first = dnLines[dnHash] {
            throw SourceFormatError(
                file: displayName, line: record.line, "duplicate DN `\(dn)` (also at line \(first))")
        }
        if dn.isEmpty { throw SourceFormatError(file: displayName, line: record.line, "a record with an empty DN") }
        dnLines[dnHash] = record.line
        var fields: [[UInt8]] = []
        fields.reserveCapacity(columns.count)
        for (k, position) in positions.enumerated() {
            var field: [UInt8] = []
            var count = 0
            if let position, !record.isEmpty(position) {
                let text = position == dnPosition ? dn : record.string(position)
                let parts =
                    position == dnPosition
                    ? [Substring(text)] : text.split(separator: ";", omittingEmptySubsequences: false)
                for part in parts {
                    MultiValue.append(
                        try decode(part, line: record.line, column: reader.header[position]), to: &field, count: &count)
                }
                if count > 1 && multiValuedLines[columns[k]] == nil { multiValuedLines[columns[k]] = record.line }
            }
            fields.append(field)
        }
        return SourceRecord(
            line: record.line, hash: RowHash.combine(RowHash.seed, record.rawContent), fields: fields)
    }

    /// A value as csvde writes it: `X'hex'` decoded, anything else as it is.
    private func decode(_ value: Substring, line: Int, column: String) throws -> [UInt8] {
        let bytes = Array(value.utf8)
        guard bytes.count >= 3, bytes[0] == UInt8(ascii: "X") || bytes[0] == UInt8(ascii: "x"),
            bytes[1] == UInt8(ascii: "'"), bytes.last == UInt8(ascii: "'")
        else { return bytes }
        let digits = bytes[2..<(bytes.count - 1)]
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        var high: UInt8?
        for d in digits {
            guard let v = hexValue(d) else {
                throw SourceFormatError(
                    file: displayName, line: line, "invalid hex value in `\(column)`: `\(value.prefix(40))`")
            }
            if let h = high {
                out.append(h << 4 | v)
                high = nil
            } else {
                high = v
            }
        }
        if high != nil {
            throw SourceFormatError(file: displayName, line: line, "an odd number of hex digits in `\(column)`")
        }
        return out
    }

    private func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: return b - 0x30
        case 0x41...0x46: return b - 0x37
        case 0x61...0x66: return b - 0x57
        default: return nil
        }
    }
}
