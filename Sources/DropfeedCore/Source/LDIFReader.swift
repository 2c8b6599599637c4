import Foundation

/// Reads an LDIF file of content records (RFC 2849), one record at a time.
///
/// Records are separated by blank lines; a line starting with one space continues the one before
/// (anywhere, inside a base64 value too); `#` lines are comments (and may be folded as well);
/// `name: value`, `name:: base64` and `version: 1` (optional, first). `dn` is a column like any
/// other attribute; names (with options such as `cn;lang-de`) match without regard to case; a
/// repeated attribute is multi-valued. Refused, with the line: change records (`changetype:`,
/// `control:`), `:<` URL values (dropfeed reads no other files), a record without `dn` first,
/// invalid base64, invalid UTF-8 outside base64, a line that is neither an attribute nor a
/// continuation, and two records with the same DN.
final class LDIFReader: SourceRecordReader {
    private let lines: LineReader
    private let displayName: String
    private let columns: [String]
    /// Lowercased column name → positions in `columns` asked for under that name.
    private var wanted: [String: [Int]] = [:]
    private var names = AttributeNames()
    private var dnLines: [UInt64: Int] = [:]
    /// A line read ahead (the start of the next logical line) and its number.
    private var pending: (ArraySlice<UInt8>, Int)?
    private var sawRecord = false
    private(set) var multiValuedLines: [String: Int] = [:]

    init(path: String, displayName: String, columns: [String]) throws {
        lines = try LineReader(path: path, displayName: displayName)
        self.displayName = displayName
        self.columns = columns
        for (k, name) in columns.enumerated() { wanted[name.lowercased(), default: []].append(k) }
    }

    var header: [String] {
        names.header(asked: columns) { names.contains(canonical: $0.lowercased()) }
    }

    private func error(_ line: Int, record: Int? = nil, _ message: String) -> SourceFormatError {
        SourceFormatError(file: displayName, line: line, recordLine: record, message)
    }

    /// The next physical line, from the look-ahead first.
    private func physical() throws -> (ArraySlice<UInt8>, Int)? {
        if let p = pending {
            pending = nil
            return p
        }
        guard let line = try lines.next() else { return nil }
        return (line, lines.lineNumber)
    }

    /// The next logical line (continuations joined) with its first line's number; blank lines
    /// come back empty. Comments are skipped.
    private func logical() throws -> ([UInt8], Int)? {
        while true {
            guard let (first, number) = try physical() else { return nil }
            if first.first == 0x20 {
                throw error(number, "a continuation line (starting with a space) with no line before it to continue")
            }
            var joined = [UInt8](first)
            while let (next, n) = try physical() {
                if next.first == 0x20 {
                    joined.append(contentsOf: next.dropFirst())
                    if joined.count > LineReader.maxLineBytes {
                        throw error(number, "a value longer than \(LineReader.maxLineBytes >> 20) MiB")
                    }
                } else {
                    pending = (next, n)
                    break
                }
            }
            if joined.first == UInt8(ascii: "#") { continue }
            return (joined, number)
        }
    }

    func next() throws -> SourceRecord? {
        // Skip blank lines between records.
        var line: ([UInt8], Int)?
        repeat { line = try logical() } while line != nil && line!.0.isEmpty
        guard var (bytes, number) = line else { return nil }
        if !sawRecord {
            sawRecord = true
            if let (name, value, _) = try attribute(bytes, number, record: number), name.lowercased() == "version" {
                guard value == Array("1".utf8) else {
                    throw error(number, "unsupported LDIF version `\(String(decoding: value, as: UTF8.self))` (1 is read)")
                }
                repeat { line = try logical() } while line != nil && line!.0.isEmpty
                guard let l = line else { return nil }
                (bytes, number) = l
            }
        }
        let recordLine = number
        var fields = [[UInt8]](repeating: [], count: columns.count)
        var counts = [Int](repeating: 0, count: columns.count)
        var hash = RowHash.seed
        var isFirst = true
        while true {
            guard let (name, value, isBase64) = try attribute(bytes, number, record: recordLine) else {
                throw error(number, record: recordLine, "not an attribute (`name: value`) nor a continuation: `\(preview(bytes))`")
            }
            let canonical = name.lowercased()
            if isFirst {
                guard canonical == "dn" else {
                    throw error(
                        number, "a record without a dn: it starts with `\(name)` (every record starts with `dn: …`)")
                }
                try checkDuplicate(value, line: number)
                isFirst = false
            } else if canonical == "changetype" || canonical == "control" {
                throw error(
                    number, record: recordLine,
                    "a change record (`\(name):`): dropfeed reads content records only (an export, not a change log)")
            } else if canonical == "dn" {
                throw error(number, record: recordLine, "a second dn in one record (a blank line must separate records)")
            }
            if !isBase64, !value.isEmpty, String(validating: value, as: UTF8.self) == nil {
                throw error(number, record: recordLine, "invalid UTF-8 in the value of `\(name)` (write it base64 with `::`)")
            }
            guard names.note(name, canonical: canonical) else {
                throw error(number, record: recordLine, "more than \(AttributeNames.limit) attribute names")
            }
            value.withUnsafeBufferPointer { v in
                canonical.utf8.withContiguousStorageIfAvailable { hash = RowHash.combine(hash, $0) }
                hash = RowHash.combine(hash, v)
            }
            if let positions = wanted[canonical] {
                for k in positions {
                    MultiValue.append(value, to: &fields[k], count: &counts[k])
                    if counts[k] == 2 && multiValuedLines[columns[k]] == nil { multiValuedLines[columns[k]] = recordLine }
                }
            }
            guard let l = try logical(), !l.0.isEmpty else { break }
            (bytes, number) = l
        }
        return SourceRecord(line: recordLine, hash: hash, fields: fields)
    }

    /// `name`, the decoded value and whether it was base64, or nil when the line is not `name:…`.
    private func attribute(_ line: [UInt8], _ number: Int, record: Int) throws -> (String, [UInt8], Bool)? {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > 0,
            isAttributeDescription(line[..<colon])
        else { return nil }
        let name = String(decoding: line[..<colon], as: UTF8.self)
        var rest = line[(colon + 1)...]
        switch rest.first {
        case UInt8(ascii: ":"):
            rest = rest.dropFirst().drop { $0 == 0x20 }
            guard let data = Data(base64Encoded: Data(rest)) else {
                throw error(number, record: record, "invalid base64 in the value of `\(name)`")
            }
            return (name, [UInt8](data), true)
        case UInt8(ascii: "<"):
            throw error(
                number, record: record,
                "a URL value (`\(name):<`): dropfeed reads no other files; put the value in the LDIF (base64 with `::`)")
        default:
            return (name, Array(rest.drop { $0 == 0x20 }), false)
        }
    }

    /// An attribute type (a name or an OID) with options (`;lang-de`).
    private func isAttributeDescription(_ bytes: ArraySlice<UInt8>) -> Bool {
        var first = true
        for b in bytes {
            let letter = (b | 0x20) >= UInt8(ascii: "a") && (b | 0x20) <= UInt8(ascii: "z")
            let digit = b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")
            if first && !letter && !digit { return false }
            if !letter && !digit && b != UInt8(ascii: "-") && b != UInt8(ascii: ";") && b != UInt8(ascii: ".") {
                return false
            }
            first = false
        }
        return true
    }

    private func checkDuplicate(_ dn: [UInt8], line: Int) throws {
        let text = String(decoding: dn, as: UTF8.self)
        var normalized = DistinguishedName.normalize(text)
        let hash = normalized.withUTF8 { RowHash.combine(RowHash.seed, $0) }
        if let first = dnLines[hash] {
            throw error(line, "duplicate dn `\(text)` (also at line \(first))")
        }
        dnLines[hash] = line
    }

    private func preview(_ bytes: [UInt8]) -> String {
        let text = String(decoding: bytes.prefix(60), as: UTF8.self)
        return bytes.count > 60 ? text + "…" : text
    }
}
