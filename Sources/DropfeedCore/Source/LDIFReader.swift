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
    /// The attribute names met so far, by the hash of their lowercased bytes.
    private var known: [UInt64: [Name]] = [:]
    private var dnLines: [UInt64: Int] = [:]
    /// The logical line being read (continuations joined), its first line's number.
    private var current: [UInt8] = []
    private var currentNumber = 0
    private var lowered: [UInt8] = []
    private var sawRecord = false
    private(set) var multiValuedLines: [String: Int] = [:]
    /// What one record may keep of one attribute (all its values).
    static let maxFieldBytes = 64 << 20

    /// An attribute description met in the file.
    private struct Name {
        var canonical: [UInt8]
        var spelling: String
        var positions: [Int]
        var kind: Kind
        enum Kind { case dn, change, version, other }
    }

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

    /// Reads the next logical line into `current` (comments skipped); false at the end of the file.
    private func logical() throws -> Bool {
        while true {
            guard let first = try lines.next() else { return false }
            currentNumber = lines.lineNumber
            if first.first == 0x20 {
                throw error(
                    currentNumber, "a continuation line (starting with a space) with no line before it to continue")
            }
            current.removeAll(keepingCapacity: true)
            current.append(contentsOf: first)
            while try lines.nextStartsWithSpace() {
                current.append(contentsOf: try lines.next()!.dropFirst())
                if current.count > LineReader.maxLineBytes {
                    throw error(currentNumber, "a value longer than \(LineReader.maxLineBytes >> 20) MiB")
                }
            }
            if current.first != UInt8(ascii: "#") { return true }
        }
    }

    /// Skips blank lines; false at the end of the file.
    private func nextNonBlank() throws -> Bool {
        while try logical() { if !current.isEmpty { return true } }
        return false
    }

    func next() throws -> SourceRecord? {
        guard try nextNonBlank() else { return nil }
        if !sawRecord {
            sawRecord = true
            if let (name, range, _) = try attribute(record: currentNumber), name.kind == .version {
                guard current[range].elementsEqual("1".utf8) else {
                    throw error(
                        currentNumber,
                        "unsupported LDIF version `\(String(decoding: current[range], as: UTF8.self))` (1 is read)")
                }
                guard try nextNonBlank() else { return nil }
            }
        }
        let recordLine = currentNumber
        var fields = [[UInt8]](repeating: [], count: columns.count)
        var counts = [Int](repeating: 0, count: columns.count)
        var hash = RowHash.seed
        var isFirst = true
        var decoded: [UInt8] = []
        while true {
            guard let (name, range, base64) = try attribute(record: recordLine) else {
                let shown = String(decoding: current.prefix(60), as: UTF8.self) + (current.count > 60 ? "…" : "")
                throw error(
                    currentNumber, record: recordLine, "not an attribute (`name: value`) nor a continuation: `\(shown)`"
                )
            }
            if base64 {
                let text = Data(current[range].drop { $0 == 0x20 })
                guard let data = Data(base64Encoded: text) else {
                    throw error(currentNumber, record: recordLine, "invalid base64 in the value of `\(name.spelling)`")
                }
                decoded = [UInt8](data)
            }
            try (base64 ? decoded[...] : current[range]).withContiguousStorageIfAvailable { value in
                try take(name, value, base64: base64, isFirst: isFirst, recordLine: recordLine)
                name.canonical.withUnsafeBufferPointer { hash = RowHash.combine(hash, $0) }
                hash = RowHash.combine(hash, value)
                for k in name.positions {
                    MultiValue.append(value, to: &fields[k], count: &counts[k])
                    if fields[k].count > LDIFReader.maxFieldBytes {
                        throw error(
                            currentNumber, record: recordLine,
                            "the values of `\(name.spelling)` take more than \(LDIFReader.maxFieldBytes >> 20) MiB in one record")
                    }
                    if counts[k] == 2 && multiValuedLines[columns[k]] == nil {
                        multiValuedLines[columns[k]] = recordLine
                    }
                }
            }
            if name.kind == .version, !names.note(name.spelling, canonical: "version") {
                throw error(currentNumber, record: recordLine, "more than \(AttributeNames.limit) attribute names")
            }
            isFirst = false
            guard try logical(), !current.isEmpty else { break }
        }
        return SourceRecord(line: recordLine, hash: hash, fields: fields)
    }

    /// The checks on one attribute of a record.
    private func take(
        _ name: Name, _ value: UnsafeBufferPointer<UInt8>, base64: Bool, isFirst: Bool, recordLine: Int
    ) throws {
        if isFirst {
            guard name.kind == .dn else {
                throw error(
                    currentNumber,
                    "a record without a dn: it starts with `\(name.spelling)` (every record starts with `dn: …`)")
            }
            try checkDuplicate(value, line: currentNumber)
        } else if name.kind == .change {
            throw error(
                currentNumber, record: recordLine,
                "a change record (`\(name.spelling):`): dropfeed reads content records only (an export, not a change log)"
            )
        } else if name.kind == .dn {
            throw error(
                currentNumber, record: recordLine, "a second dn in one record (a blank line must separate records)")
        }
        if !base64, value.contains(where: { $0 >= 0x80 }), String(validating: value, as: UTF8.self) == nil {
            throw error(
                currentNumber, record: recordLine,
                "invalid UTF-8 in the value of `\(name.spelling)` (write it base64 with `::`)")
        }
    }

    /// The attribute of `current`: its name, where its value is in `current` (after `:` and the
    /// spaces, or the base64 text after `::`) and whether it is base64; nil when the line is not
    /// `name:…`.
    private func attribute(record: Int) throws -> (Name, Range<Int>, Bool)? {
        guard let colon = current.firstIndex(of: UInt8(ascii: ":")), colon > 0 else { return nil }
        lowered.removeAll(keepingCapacity: true)
        for k in 0..<colon {
            let b = current[k]
            let letter = (b | 0x20) >= UInt8(ascii: "a") && (b | 0x20) <= UInt8(ascii: "z")
            let digit = b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")
            guard
                letter || digit
                    || (k > 0 && (b == UInt8(ascii: "-") || b == UInt8(ascii: ";") || b == UInt8(ascii: ".")))
            else { return nil }
            lowered.append(letter ? b | 0x20 : b)
        }
        let name = try lookupName(colon: colon, record: record)
        var start = colon + 1
        switch start < current.count ? current[start] : 0 {
        case UInt8(ascii: ":"):
            return (name, (start + 1)..<current.count, true)
        case UInt8(ascii: "<"):
            throw error(
                currentNumber, record: record,
                "a URL value (`\(name.spelling):<`): dropfeed reads no other files; put the value in the LDIF (base64 with `::`)"
            )
        default:
            while start < current.count && current[start] == 0x20 { start += 1 }
            return (name, start..<current.count, false)
        }
    }

    /// The `Name` of the lowercased bytes in `lowered` (its spelling: `current[..<colon]`).
    private func lookupName(colon: Int, record: Int) throws -> Name {
        let hash = lowered.withUnsafeBufferPointer { RowHash.combine(RowHash.seed, $0) }
        if let found = known[hash]?.first(where: { $0.canonical == lowered }) { return found }
        let canonical = String(decoding: lowered, as: UTF8.self)
        let spelling = String(decoding: current[..<colon], as: UTF8.self)
        let kind: Name.Kind
        switch canonical {
        case "dn": kind = .dn
        case "changetype", "control": kind = .change
        case "version": kind = .version
        default: kind = .other
        }
        // `version: 1` before the first record is not a column; inside a record it is.
        if kind != .version, !names.note(spelling, canonical: canonical) {
            throw error(currentNumber, record: record, "more than \(AttributeNames.limit) attribute names")
        }
        let name = Name(canonical: lowered, spelling: spelling, positions: wanted[canonical] ?? [], kind: kind)
        known[hash, default: []].append(name)
        return name
    }

    private func checkDuplicate(_ dn: UnsafeBufferPointer<UInt8>, line: Int) throws {
        let text = String(decoding: dn, as: UTF8.self)
        var normalized = DistinguishedName.normalize(text)
        let hash = normalized.withUTF8 { RowHash.combine(RowHash.seed, $0) }
        if let first = dnLines[hash] {
            throw error(line, "duplicate dn `\(text)` (also at line \(first))")
        }
        dnLines[hash] = line
    }
}
