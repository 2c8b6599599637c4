import Dispatch

/// The source export, read once for all targets, holding only the columns some mapping uses.
///
/// Values live in one byte arena (length-prefixed fields, row after row); `string(row:column:)`
/// makes a `String` only when a mapping asks for it.
public final class SourceTable: @unchecked Sendable {
    /// The full header of the export.
    public let header: [String]
    /// The columns kept, by name; `columnIndex[name]` is the column's position in a stored row.
    public let columns: [String]
    let columnIndex: [String: Int]
    public private(set) var rowCount = 0
    /// The physical line each row starts on, for messages.
    private(set) var lines: [UInt32] = []
    private var arena: [UInt8] = []
    private var rowStarts: [Int] = []
    /// Per row: the hash of its raw record, and of its key fields (what `SourceLink` records).
    private(set) var rowHashes: [UInt64] = []
    private(set) var keyHashes: [UInt64] = []
    /// The source key of each row → its row number (built when a mapping needs a lookup).
    private(set) var keyToRow: [String: Int32] = [:]
    public private(set) var sha256 = ""
    public let keyColumns: [String]

    /// Reads `config.source`, keeping `needed` columns (the key columns are always kept).
    ///
    /// Throws `CSVError` for malformed CSV, `InputFileError` when the file cannot be read,
    /// and `DataError` for missing columns or empty/duplicate keys.
    public init(source: SourceConfig, needed: Set<String>, buildLookup: Bool) throws {
        let reader = try CSVReader(path: source.path, displayName: source.displayPath, options: source.options)
        header = reader.header
        keyColumns = source.key
        let missingKeys = source.key.filter { !reader.header.contains($0) }
        if !missingKeys.isEmpty {
            throw DataError(
                "\(source.displayPath): no key column \(missingKeys.map { "`\($0)`" }.joined(separator: ", "))"
                    + suggestion(for: missingKeys[0], in: reader.header))
        }
        var kept = source.key
        for name in reader.header where needed.contains(name) && !kept.contains(name) { kept.append(name) }
        columns = kept
        var index: [String: Int] = [:]
        for (k, name) in kept.enumerated() { index[name] = k }
        columnIndex = index

        // The checksum for the report is computed on the other core while this one parses.
        let digest = FileDigest(path: source.path)
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) { digest.run() }

        let positions = kept.map { reader.header.firstIndex(of: $0)! }
        let keyCount = source.key.count
        var emptyKeyLines: [Int] = []
        arena.reserveCapacity(1 << 20)
        try reader.forEach { record in
            rowStarts.append(arena.count)
            lines.append(UInt32(truncatingIfNeeded: record.line))
            rowHashes.append(RowHash.combine(RowHash.seed, record.rawContent))
            var keyHash = RowHash.seed
            for k in 0..<keyCount { keyHash = RowHash.combine(keyHash, record.rawBytes(positions[k])) }
            keyHashes.append(keyHash)
            for (k, c) in positions.enumerated() {
                if k < keyCount && record.isEmpty(c) && emptyKeyLines.count < 5 { emptyKeyLines.append(record.line) }
                if record.isEscaped(c) {
                    appendField(record.bytes(c)[...])
                } else {
                    let raw = record.rawBytes(c)
                    appendLength(raw.count)
                    arena.append(contentsOf: raw)
                }
            }
            rowCount += 1
        }
        rowStarts.append(arena.count)
        group.wait()
        sha256 = try digest.result()
        if !emptyKeyLines.isEmpty {
            throw DataError(
                "\(source.displayPath): empty key (\(source.key.joined(separator: ", "))) at line"
                    + (emptyKeyLines.count > 1 ? "s " : " ") + emptyKeyLines.map(String.init).joined(separator: ", "))
        }
        try checkUniqueKeys(displayPath: source.displayPath, buildLookup: buildLookup)
    }

    /// One byte for a length under 255 (nearly every field), else 0xFF and four bytes.
    private func appendLength(_ n: Int) {
        if n < 0xFF {
            arena.append(UInt8(n))
        } else {
            arena.append(0xFF)
            arena.appendLength(n)
        }
    }

    private func appendField(_ bytes: ArraySlice<UInt8>) {
        appendLength(bytes.count)
        arena.append(contentsOf: bytes)
    }

    /// The values of `row` as strings, in `columns` order.
    public func strings(row: Int) -> [String] {
        arena.withUnsafeBufferPointer { buffer in
            var out: [String] = []
            out.reserveCapacity(columns.count)
            var i = rowStarts[row]
            for _ in 0..<columns.count {
                var n = Int(buffer[i])
                i += 1
                if n == 0xFF {
                    n = readLength(buffer, at: i)
                    i += 4
                }
                out.append(String(decoding: UnsafeBufferPointer(rebasing: buffer[i..<(i + n)]), as: UTF8.self))
                i += n
            }
            return out
        }
    }

    /// One kept column of `row`.
    public func string(row: Int, column: Int) -> String {
        arena.withUnsafeBufferPointer { buffer in
            var i = rowStarts[row]
            for k in 0...column {
                var n = Int(buffer[i])
                i += 1
                if n == 0xFF {
                    n = readLength(buffer, at: i)
                    i += 4
                }
                if k == column {
                    return String(decoding: UnsafeBufferPointer(rebasing: buffer[i..<(i + n)]), as: UTF8.self)
                }
                i += n
            }
            return ""
        }
    }

    /// The physical line of the export row.
    public func line(of row: Int) -> Int { Int(lines[row]) }

    private func checkUniqueKeys(displayPath: String, buildLookup: Bool) throws {
        var seen: [String: Int32] = [:]
        seen.reserveCapacity(rowCount)
        var duplicates: [String] = []
        let keyCount = keyColumns.count
        for row in 0..<rowCount {
            let values =
                keyCount == 1 ? [string(row: row, column: 0)] : (0..<keyCount).map { string(row: row, column: $0) }
            let key = keyCount == 1 ? values[0] : values.joined(separator: "\u{1F}")
            if let first = seen[key] {
                if duplicates.count < 5 {
                    let shown = values.joined(separator: ", ")
                    duplicates.append("`\(shown)` (lines \(lines[Int(first)]) and \(lines[row]))")
                }
            } else {
                seen[key] = Int32(row)
            }
        }
        if !duplicates.isEmpty {
            throw DataError("\(displayPath): duplicate key \(duplicates.joined(separator: "; "))")
        }
        if buildLookup && keyCount == 1 { keyToRow = seen }
    }
}

/// SHA-256 of a file, computed on another thread.
final class FileDigest: @unchecked Sendable {
    let path: String
    private var digest: String?
    private var error: Error?

    init(path: String) { self.path = path }

    func run() {
        do {
            digest = try sha256(ofFile: path)
        } catch {
            self.error = error
        }
    }

    func result() throws -> String {
        if let error { throw error }
        return digest ?? ""
    }
}

/// The lowercase hex SHA-256 of the file at `path`.
public func sha256(ofFile path: String) throws -> String {
    let file = try FileByteSource(path: path)
    var hasher = SHA256()
    let size = 1 << 20
    let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: size)
    defer { buffer.deallocate() }
    while true {
        let n = try file.read(into: buffer, capacity: size)
        if n == 0 { break }
        hasher.update(UnsafeRawBufferPointer(start: buffer, count: n))
    }
    return hexString(hasher.finalize())
}
