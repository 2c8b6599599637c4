import Dispatch
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The source export, read once for all targets.
///
/// Memory holds only what identifies a row and what lookups need: per row its line, the hash
/// of its raw record, its key (bytes and hash) and where its values are in the spool; the
/// values of the columns some mapping reads go to the spool, an unlinked temporary file read
/// back by offset when a row is mapped. The columns a lookup returns (an e-mail, say) are kept
/// in memory, since any row may ask for any other row's.
public final class SourceTable: @unchecked Sendable {
    /// The full header of the export (for LDIF, csvde and SCIM: the columns found in its records).
    public private(set) var header: [String] = []
    /// What kind of file the export is.
    public let format: SourceFormat
    /// Columns holding several values in some record: name → the first such record's line.
    public private(set) var multiValuedLines: [String: Int] = [:]
    /// The columns kept, by name; `columnIndex[name]` is the column's position in a stored row.
    public let columns: [String]
    let columnIndex: [String: Int]
    public let keyColumns: [String]
    public private(set) var rowCount = 0
    public private(set) var sha256 = ""
    /// The export's size in bytes.
    public private(set) var byteCount: Int64 = 0
    /// How many stretches of the export were read at once (1: it was read from start to end).
    private(set) var stretchesRead = 1

    /// Per row: its physical line, the hash of its raw record, the hash of its key.
    private(set) var lines: [UInt32] = []
    private(set) var rowHashes: [UInt64] = []
    private(set) var keyHashes: [UInt64] = []
    /// Per row: where its encoded values end in the spool (they start where the previous row's end).
    fileprivate var spoolEnds: [UInt64] = []
    /// Per row: where its key ends in `keyBytes` (one column: the bytes; several: encoded fields).
    private var keyEnds: [UInt32] = []
    private var keyBytes: [UInt8] = []
    private var keySlots: HashSlots
    fileprivate let spool: Spool

    /// Per lookup key column (a kept column): for each row, the row its value names
    /// (`lookupEmpty` when the value is empty, `lookupMissing` when no row has that key).
    private var lookupRows: [Int: [Int32]] = [:]
    /// Per lookup target column: every row's value, in memory.
    private var lookupValues: [Int: ValueColumn] = [:]
    static let lookupEmpty: Int32 = -1
    static let lookupMissing: Int32 = -2

    /// Per `lookupBy` column: every row's value (DN-normalized for a DN column) and their table.
    private var byValues: [Int: ValueColumn] = [:]
    private var bySlots: [Int: HashSlots] = [:]

    /// Rows rejected because another row has the same key (`duplicateKeys: "reject"`): row → the
    /// other row's line.
    public private(set) var duplicateRows: [Int: Int] = [:]

    /// Reads `source`, keeping the `needed` columns (the key columns are always kept). The
    /// values of `lookupTargets` are kept in memory, and for each column of `lookupKeys` the row
    /// its value names is found. The spool is made in `spoolFolder` and unlinked at once.
    /// A UTF-8 CSV export of 16 MB or more is read by one thread per core (up to 8); `readers`
    /// sets how many for any size (1: one thread).
    ///
    /// Throws `CSVError` for malformed CSV, `InputFileError` when the file cannot be read, and
    /// `DataError` for missing columns, empty keys and (with `duplicates: .fail`) duplicate keys.
    public init(
        source: SourceConfig, needed: Set<String>, lookupKeys: Set<String> = [], lookupTargets: Set<String> = [],
        lookupBy: Set<String> = [], duplicates: DuplicateKeyPolicy = .fail,
        spoolFolder: String = NSTemporaryDirectory(), readers: Int? = nil
    ) throws {
        keyColumns = source.key
        format = source.format
        let wanted = needed.union(lookupKeys).union(lookupTargets).union(lookupBy)
        var kept = source.key
        var csv: CSVReader?
        if source.format == .csv {
            let reader = try CSVReader(path: source.path, displayName: source.displayPath, options: source.options)
            header = reader.header
            try SourceTable.checkKeys(source, header: reader.header)
            for name in reader.header where wanted.contains(name) && !kept.contains(name) { kept.append(name) }
            csv = reader
        } else {
            // The header is known only once every record was read: keep every column asked for.
            for name in wanted.sorted() where !kept.contains(name) { kept.append(name) }
        }
        columns = kept
        var index: [String: Int] = [:]
        for (k, name) in kept.enumerated() { index[name] = k }
        columnIndex = index
        spool = try Spool(folder: spoolFolder)
        keySlots = HashSlots(capacity: 0)

        // The checksum for the report is computed on the other core while this one parses.
        let digest = FileDigest(path: source.path)
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) { digest.run() }
        // Also when reading fails: a process that exits while the digest still runs crashes in
        // libcrypto's exit handlers (exit 139 instead of the error's code).
        defer { group.wait() }

        var targetColumns = [Bool](repeating: false, count: kept.count)
        for name in lookupTargets { if let k = index[name] { targetColumns[k] = true } }
        let layout = TablePart.Layout(
            keyCount: source.key.count, targetColumns: targetColumns, multiValued: format.isMultiValued,
            displayPath: source.displayPath)
        var parts: [TablePart]
        SourceMeter.reset()
        if let reader = csv {
            let positions = kept.map { reader.header.firstIndex(of: $0)! }
            parts = try SourceTable.readCSV(
                reader, source: source, positions: positions, layout: layout, spool: spool, spoolFolder: spoolFolder,
                readers: readers)
        } else {
            var part = TablePart(layout, spool: spool, meterPart: 0)
            let reader = try makeRecordReader(source: source, columns: kept)
            while let record = try reader.next() {
                for field in record.fields { field.withUnsafeBufferPointer { part.buffer.appendField($0) } }
                try part.store(line: record.line, hash: record.hash)
            }
            try part.finish()
            parts = [part]
            header = reader.header
            multiValuedLines = reader.multiValuedLines
            try SourceTable.checkKeys(source, header: header)
        }
        let bytesRead = parts.reduce(Int64(0)) { $0 + $1.bytesRead }
        stretchesRead = parts.count
        let (emptyKeyLines, multiKeyLines) = try adopt(&parts, layout: layout)
        SourceMeter.reset()
        SourceMeter.set(part: 0, rows: rowCount, bytes: csv == nil ? nil : bytesRead)
        group.wait()
        sha256 = try digest.result()
        byteCount = digest.size
        if !emptyKeyLines.isEmpty {
            throw DataError(
                "\(source.displayPath): empty key (\(source.key.joined(separator: ", "))) at line"
                    + (emptyKeyLines.count > 1 ? "s " : " ")
                    + emptyKeyLines.map(String.init).joined(separator: ", "))
        }
        if !multiKeyLines.isEmpty {
            throw DataError(
                "\(source.displayPath): a key (\(source.key.joined(separator: ", "))) with several values in the record"
                    + (multiKeyLines.count > 1 ? "s at lines " : " at line ")
                    + multiKeyLines.map(String.init).joined(separator: ", "))
        }
        try indexKeys(displayPath: source.displayPath, duplicates: duplicates)
        try resolveLookups(Set(lookupKeys.compactMap { index[$0] }))
        try indexLookupBy(Set(lookupBy.compactMap { index[$0] }))
    }

    private static func checkKeys(_ source: SourceConfig, header: [String]) throws {
        let missingKeys = source.key.filter { !header.contains($0) }
        if !missingKeys.isEmpty {
            throw DataError(
                "\(source.displayPath): no key column \(missingKeys.map { "`\($0)`" }.joined(separator: ", "))"
                    + suggestion(for: missingKeys[0], in: header))
        }
    }

    /// Exports at least this large are read by several threads at once, one stretch each.
    static let parallelReadBytes: Int64 = 16 << 20

    /// Reads a CSV export's records into one part, or — for a large UTF-8 file on a machine
    /// with several cores — into one part per stretch, read at once (see `CSVSplit`). When any
    /// stretch fails the file is read again in one piece, so errors are those of a plain read.
    private static func readCSV(
        _ reader: CSVReader, source: SourceConfig, positions: [Int], layout: TablePart.Layout, spool: Spool,
        spoolFolder: String, readers: Int?
    ) throws -> [TablePart] {
        let size = (try? openRegularFile(source.path)).map { info -> Int64 in
            close(info.fd)
            return Int64(info.size)
        } ?? 0
        let stretches = readers ?? (size >= parallelReadBytes ? min(ProcessInfo.processInfo.activeProcessorCount, 8) : 1)
        var cuts: [Int64] = []
        if source.options.encoding == .utf8 && stretches > 1 {
            cuts = try CSVSplit.cuts(path: source.path, size: size, parts: stretches)
        }
        guard !cuts.isEmpty else {
            var part = TablePart(layout, spool: spool, meterPart: 0)
            try read(reader, positions: positions, into: &part)
            return [part]
        }
        let starts = [0] + cuts
        let ends = cuts + [size]
        let expectedFields = reader.header.count
        let results = Slots<Result<TablePart, Error>>(ends.count)
        DispatchQueue.concurrentPerform(iterations: ends.count) { k in
            results[k] = Result {
                var part = TablePart(layout, spool: k == 0 ? spool : try Spool(folder: spoolFolder), meterPart: k)
                let stretch = try CSVReader(
                    path: source.path, displayName: source.displayPath, options: source.options, offset: starts[k],
                    length: ends[k] - starts[k], expectedFields: expectedFields)
                try read(stretch, positions: positions, into: &part)
                return part
            }
        }
        var parts: [TablePart] = []
        for k in 0..<ends.count {
            guard case .success(let part) = results.take(k) else {
                // A real error, or a cut inside a field of a file that breaks the rules: read it whole.
                try spool.truncate()
                SourceMeter.reset()
                let again = try CSVReader(path: source.path, displayName: source.displayPath, options: source.options)
                var part = TablePart(layout, spool: spool, meterPart: 0)
                try read(again, positions: positions, into: &part)
                return [part]
            }
            parts.append(part)
        }
        return parts
    }

    /// Reads every record of `reader` into `part`, keeping the fields at `positions`.
    private static func read(_ reader: CSVReader, positions: [Int], into part: inout TablePart) throws {
        var scratch: [UInt8] = []
        try reader.forEach { record in
            part.bytesRead += Int64(record.rawContent.count + 1)
            if part.rowCount & 0x3FFF == 0 { SourceMeter.set(part: part.meterPart, rows: part.rowCount, bytes: part.bytesRead) }
            for c in positions {
                if record.isEscaped(c) {
                    scratch = record.bytes(c)
                    scratch.withUnsafeBufferPointer { part.buffer.appendField($0) }
                } else {
                    part.buffer.appendField(record.rawBytes(c))
                }
            }
            try part.store(line: record.line, hash: RowHash.combine(RowHash.seed, record.rawContent))
        }
        try part.finish()
        part.endLine = reader.nextLine
    }

    /// Takes the parts' rows, in order: lines of later parts count on from the earlier parts'
    /// last line, their keys and spooled values follow the earlier ones'. Returns the first
    /// lines (at most 5 each) with an empty key and with a key of several values.
    private func adopt(_ parts: inout [TablePart], layout: TablePart.Layout) throws -> (empty: [Int], multi: [Int]) {
        var lineBase = 0
        var emptyKeys: [Int] = []
        var multiKeys: [Int] = []
        for k in parts.indices {
            var part = TablePart(layout, spool: spool, meterPart: k)
            swap(&part, &parts[k])
            let keyBase = UInt32(truncatingIfNeeded: keyBytes.count)
            guard keyBytes.count + part.keyBytes.count < Int(UInt32.max) else {
                throw DataError("\(layout.displayPath): the keys take more than 4 GB; dropfeed cannot hold them")
            }
            let spoolBase = spool.size
            if k > 0 { try spool.append(part.spool) }
            if k == 0 {
                lines = part.lines
                rowHashes = part.rowHashes
                keyHashes = part.keyHashes
                keyBytes = part.keyBytes
                keyEnds = part.keyEnds
                spoolEnds = part.spoolEnds
            } else {
                let shift = UInt32(lineBase)
                lines += part.lines.lazy.map { $0 &+ shift }
                rowHashes += part.rowHashes
                keyHashes += part.keyHashes
                keyBytes += part.keyBytes
                keyEnds += part.keyEnds.lazy.map { $0 + keyBase }
                spoolEnds += part.spoolEnds.lazy.map { $0 + spoolBase }
            }
            for (column, values) in part.lookupValues.enumerated() where layout.targetColumns[column] {
                if lookupValues[column] == nil { lookupValues[column] = ValueColumn() }
                lookupValues[column]!.append(contentsOf: values)
            }
            emptyKeys += part.emptyKeyLines.map { $0 + lineBase }
            multiKeys += part.multiKeyLines.map { $0 + lineBase }
            rowCount += part.rowCount
            lineBase += part.endLine - 1
        }
        return (Array(emptyKeys.prefix(5)), Array(multiKeys.prefix(5)))
    }

    /// The rows read from one stretch of the export before they join the table: per row its
    /// line, hashes, key and where its encoded values end in the part's spool.
    private struct TablePart {
        /// What every part of one table shares.
        struct Layout {
            let keyCount: Int
            /// Per kept column: whether a lookup reads it (its values are kept in memory).
            let targetColumns: [Bool]
            let multiValued: Bool
            let displayPath: String
        }
        let layout: Layout
        let spool: Spool
        let meterPart: Int
        /// The encoded fields not yet written to the spool; the current row's start at `rowStart`.
        var buffer: [UInt8] = []
        var rowStart = 0
        var spooled: UInt64 = 0
        var emptyKeyLines: [Int] = []
        var multiKeyLines: [Int] = []
        var lines: [UInt32] = []
        var rowHashes: [UInt64] = []
        var keyHashes: [UInt64] = []
        var spoolEnds: [UInt64] = []
        var keyEnds: [UInt32] = []
        var keyBytes: [UInt8] = []
        var lookupValues: [ValueColumn]
        var rowCount = 0
        var bytesRead: Int64 = 0
        /// The line after the last record (lines count from 1 at the part's start).
        var endLine = 1

        init(_ layout: Layout, spool: Spool, meterPart: Int) {
            self.layout = layout
            self.spool = spool
            self.meterPart = meterPart
            lookupValues = [ValueColumn](repeating: ValueColumn(), count: layout.targetColumns.count)
            buffer.reserveCapacity(1 << 20)
        }

        /// Records the row whose encoded fields were just appended to `buffer`: its line, hash,
        /// key and lookup values; writes the buffer to the spool when it is large.
        mutating func store(line: Int, hash: UInt64) throws {
            lines.append(UInt32(truncatingIfNeeded: line))
            rowHashes.append(hash)
            let keyCount = layout.keyCount
            var emptyKey = false
            var multiKey = false
            // The key and the lookup values, taken from the encoded fields just written.
            buffer.withUnsafeBufferPointer { all in
                var cursor = FieldCursor(all, from: rowStart, to: all.count)
                var keyHash = RowHash.seed
                for k in 0..<layout.targetColumns.count {
                    let field = cursor.next()!
                    if k < keyCount {
                        if field.isEmpty { emptyKey = true }
                        if layout.multiValued && field.contains(MultiValue.separator) { multiKey = true }
                        keyHash = RowHash.combine(keyHash, field)
                        if keyCount == 1 { keyBytes.append(contentsOf: field) } else { keyBytes.appendField(field) }
                    }
                    if layout.targetColumns[k] { lookupValues[k].append(field) }
                }
                keyHashes.append(keyHash)
            }
            if emptyKey && emptyKeyLines.count < 5 { emptyKeyLines.append(line) }
            if multiKey && multiKeyLines.count < 5 { multiKeyLines.append(line) }
            guard keyBytes.count < Int(UInt32.max) else {
                throw DataError("\(layout.displayPath): the keys take more than 4 GB; dropfeed cannot hold them")
            }
            keyEnds.append(UInt32(keyBytes.count))
            spooled += UInt64(buffer.count - rowStart)
            spoolEnds.append(spooled)
            if buffer.count >= 1 << 20 {
                try spool.write(buffer)
                buffer.removeAll(keepingCapacity: true)
                SourceMeter.set(part: meterPart, rows: rowCount + 1)
            }
            rowStart = buffer.count
            rowCount += 1
        }

        /// Writes what is left of the buffer to the spool.
        mutating func finish() throws {
            try spool.write(buffer)
            buffer = []
            rowStart = 0
        }
    }

    // MARK: Keys

    /// The key bytes of `row`.
    @inline(__always)
    private func withKey<T>(_ row: Int, _ body: (UnsafeBufferPointer<UInt8>) -> T) -> T {
        let start = row == 0 ? 0 : Int(keyEnds[row - 1])
        return keyBytes.withUnsafeBufferPointer { all in
            body(UnsafeBufferPointer(rebasing: all[start..<Int(keyEnds[row])]))
        }
    }

    private func sameKey(_ a: Int, _ b: Int) -> Bool {
        withKey(a) { x in withKey(b) { y in x.elementsEqual(y) } }
    }

    /// The key values of `row`, for messages.
    public func keyValues(_ row: Int) -> [String] {
        withKey(row) { bytes in
            if keyColumns.count == 1 { return [String(decoding: bytes, as: UTF8.self)] }
            var cursor = FieldCursor(bytes, from: 0, to: bytes.count)
            var out: [String] = []
            while let field = cursor.next() { out.append(String(decoding: field, as: UTF8.self)) }
            return out
        }
    }

    /// Builds the key table and finds duplicate keys.
    private func indexKeys(displayPath: String, duplicates: DuplicateKeyPolicy) throws {
        keySlots = HashSlots(capacity: rowCount)
        var found: [(Int, Int)] = []
        for row in 0..<rowCount {
            if let first = keySlots.insert(keyHashes[row], row: row, isSame: { self.sameKey($0, row) }) {
                found.append((first, row))
            }
        }
        guard !found.isEmpty else { return }
        switch duplicates {
        case .fail:
            let shown = found.prefix(5).map { first, row in
                "`\(keyValues(row).joined(separator: ", "))` (lines \(lines[first]) and \(lines[row]))"
            }
            throw DataError(
                "\(displayPath): duplicate key \(shown.joined(separator: "; "))"
                    + (found.count > 5 ? " and \(found.count - 5) more" : "")
                    + " (set source.duplicateKeys to \"reject\" to reject such rows and send the rest)")
        case .reject:
            for (first, row) in found {
                duplicateRows[row] = Int(lines[first])
                if duplicateRows[first] == nil { duplicateRows[first] = Int(lines[row]) }
            }
        }
    }

    /// The row whose source key hash is `hash` (a snapshot row's `sourceKeyHash`), if any.
    func row(forKeyHash hash: UInt64) -> Int? {
        keySlots.first(hash) { _ in true }
    }

    /// The row whose source key is `values`.
    public func row(forKey values: [String]) -> Int? {
        guard values.count == keyColumns.count else { return nil }
        var bytes: [UInt8] = []
        var hash = RowHash.seed
        for v in values {
            var s = v
            s.withUTF8 { field in
                hash = RowHash.combine(hash, field)
                if values.count == 1 { bytes.append(contentsOf: field) } else { bytes.appendField(field) }
            }
        }
        return bytes.withUnsafeBufferPointer { wanted in
            keySlots.first(hash) { row in self.withKey(row) { $0.elementsEqual(wanted) } }
        }
    }

    // MARK: Lookups

    private func resolveLookups(_ keyColumnsUsed: Set<Int>) throws {
        guard !keyColumnsUsed.isEmpty, keyColumns.count == 1 else { return }
        // In chunks on every core: each chunk reads its rows' values and finds the rows they name.
        let chunk = 1 << 16
        let chunks = (rowCount + chunk - 1) / chunk
        for column in keyColumnsUsed {
            let results = Slots<Result<[Int32], Error>>(chunks)
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                let rows = (c * chunk)..<min(rowCount, (c + 1) * chunk)
                results[c] = Result {
                    var found = [Int32](repeating: SourceTable.lookupEmpty, count: rows.count)
                    try forEachRow(in: rows) { row, values in
                        let value = values.field(column)
                        if value.count == 0 { return }
                        let hash = RowHash.combine(RowHash.seed, value)
                        found[row - rows.lowerBound] =
                            keySlots.first(hash) { other in self.withKey(other) { $0.elementsEqual(value) } }
                            .map { Int32($0) } ?? SourceTable.lookupMissing
                    }
                    return found
                }
            }
            var found: [Int32] = []
            found.reserveCapacity(rowCount)
            for c in 0..<chunks { found += try results.take(c).get() }
            lookupRows[column] = found
        }
    }

    /// Whether values of the kept column `column` are compared as DNs in a `lookupBy`.
    func comparesAsDN(_ column: Int) -> Bool {
        (format == .ldif || format == .csvde) && ["dn", "distinguishedname"].contains(columns[column].lowercased())
    }

    /// The form of `value` a `lookupBy` on `column` compares.
    private func byForm(_ value: String, column: Int) -> String {
        comparesAsDN(column) ? DistinguishedName.normalize(value) : value
    }

    private func indexLookupBy(_ byColumns: Set<Int>) throws {
        for column in byColumns {
            var values = ValueColumn()
            try forEachRow(in: 0..<rowCount) { _, row in
                var text = byForm(String(decoding: row.field(column), as: UTF8.self), column: column)
                text.withUTF8 { values.append($0) }
            }
            var slots = HashSlots(capacity: rowCount)
            for row in 0..<rowCount where values.withBytes(row, { !$0.isEmpty }) {
                let hash = values.withBytes(row) { RowHash.combine(RowHash.seed, $0) }
                // The first row with a value wins (a DN column's values are unique).
                _ = slots.insert(hash, row: row) { other in
                    values.withBytes(other) { a in values.withBytes(row) { a.elementsEqual($0) } }
                }
            }
            byValues[column] = values
            bySlots[column] = slots
        }
    }

    /// The value of `column` in the row whose kept column `by` holds `value` (nil `by`: the
    /// row whose single-column source key is `value`).
    func lookup(_ value: String, column: Int, by: Int?) -> String? {
        guard let by else { return lookup(value, column: column) }
        guard let values = byValues[by], let slots = bySlots[by], let targets = lookupValues[column] else { return nil }
        var wanted = byForm(value, column: by)
        return wanted.withUTF8 { w -> String? in
            let hash = RowHash.combine(RowHash.seed, w)
            guard let row = slots.first(hash, where: { values.withBytes($0) { $0.elementsEqual(w) } }) else {
                return nil
            }
            return targets.string(row)
        }
    }

    /// The row named by `row`'s value in the kept column `keyColumn` (see `lookupEmpty`, `lookupMissing`).
    @inline(__always)
    func lookupRow(keyColumn: Int, row: Int) -> Int32 { lookupRows[keyColumn]?[row] ?? SourceTable.lookupMissing }

    /// For each row, the row its value in the kept column `keyColumn` names (as `lookupRow`);
    /// nil when that column's lookups were not resolved (every row then misses).
    func lookupRowList(keyColumn: Int) -> [Int32]? { lookupRows[keyColumn] }

    /// Every row's value of the lookup target column `column`.
    func lookupValueColumn(_ column: Int) -> ValueColumn { lookupValueColumnIfKept(column)! }

    /// Every row's value of the kept column `column`, if it is a lookup target.
    func lookupValueColumnIfKept(_ column: Int) -> ValueColumn? { lookupValues[column] }

    /// The value of the lookup target column `column` in `row`.
    func lookupValue(row: Int, column: Int) -> String { lookupValues[column]!.string(row) }

    /// The hash of the lookup target column `column`'s value in `row`.
    func lookupValueHash(row: Int, column: Int, into h: UInt64) -> UInt64 {
        lookupValues[column]!.withBytes(row) { RowHash.combine(h, $0) }
    }

    /// The value of `column` in the row whose (single-column) source key is `key`.
    func lookup(_ key: String, column: Int) -> String? {
        var s = key
        return s.withUTF8 { withLookup($0, column: column) { String(decoding: $0, as: UTF8.self) } }
    }

    /// `lookup(_:column:)` on the key's UTF-8 bytes: `body` called with the found value's bytes,
    /// or nil when no row has that key.
    func withLookup<T>(
        _ key: UnsafeBufferPointer<UInt8>, column: Int, _ body: (UnsafeBufferPointer<UInt8>) -> T
    ) -> T? {
        guard keyColumns.count == 1, let values = lookupValues[column] else { return nil }
        let hash = RowHash.combine(RowHash.seed, key)
        guard let row = keySlots.first(hash, where: { self.withKey($0) { $0.elementsEqual(key) } }) else { return nil }
        return values.withBytes(row, body)
    }

    // MARK: Values

    /// The encoded values of a row (one field per kept column).
    struct RowValues {
        let bytes: UnsafeBufferPointer<UInt8>
        let start: Int
        let end: Int

        /// The bytes of kept column `column`.
        func field(_ column: Int) -> UnsafeBufferPointer<UInt8> {
            var cursor = FieldCursor(bytes, from: start, to: end)
            for _ in 0..<column { _ = cursor.next() }
            return cursor.next() ?? UnsafeBufferPointer(start: nil, count: 0)
        }

        /// Every kept column as a string.
        func strings(count: Int) -> [String] {
            var cursor = FieldCursor(bytes, from: start, to: end)
            var out: [String] = []
            out.reserveCapacity(count)
            for _ in 0..<count { out.append(cursor.nextString() ?? "") }
            return out
        }
    }

    fileprivate func spoolStart(_ row: Int) -> UInt64 { row == 0 ? 0 : spoolEnds[row - 1] }

    /// Calls `body` with each row of `rows` and its values, reading the spool in large blocks.
    /// Safe to call from several threads at once.
    func forEachRow(in rows: Range<Int>, _ body: (Int, RowValues) throws -> Void) throws {
        var cursor = RowCursor(table: self, rows: rows, dense: true)
        for row in rows { try cursor.withValues(row) { try body(row, $0) } }
    }

    /// Reads the values of rows taken in increasing order from one range: `dense` reads the
    /// spool in large blocks (most rows will be asked for), otherwise each row asked for is
    /// read alone (a second night asks for the few rows that changed). One cursor per thread.
    struct RowCursor {
        let table: SourceTable
        let rows: Range<Int>
        let dense: Bool
        private var block: [UInt8] = []
        private var blockRows = 0..<0
        private var blockStart: UInt64 = 0

        init(table: SourceTable, rows: Range<Int>, dense: Bool) {
            self.table = table
            self.rows = rows
            self.dense = dense
        }

        /// Calls `body` with the values of `row` (a row of `rows`, at or after the last one asked for).
        mutating func withValues<T>(_ row: Int, _ body: (RowValues) throws -> T) throws -> T {
            if !blockRows.contains(row) {
                var last = row + 1
                let start = table.spoolStart(row)
                if dense {
                    while last < rows.upperBound && table.spoolEnds[last] - start <= 4 << 20 { last += 1 }
                }
                try table.spool.read(at: start, count: Int(table.spoolEnds[last - 1] - start), into: &block)
                blockRows = row..<last
                blockStart = start
            }
            let start = Int(table.spoolStart(row) - blockStart)
            let end = Int(table.spoolEnds[row] - blockStart)
            return try block.withUnsafeBufferPointer { try body(RowValues(bytes: $0, start: start, end: end)) }
        }

        /// The values of `row` as strings, in `columns` order.
        mutating func strings(_ row: Int) throws -> [String] {
            let count = table.columns.count
            return try withValues(row) { $0.strings(count: count) }
        }
    }

    /// The values of `row` as strings, in `columns` order.
    public func strings(row: Int) -> [String] {
        var out: [String] = []
        try? forEachRow(in: row..<(row + 1)) { _, values in out = values.strings(count: columns.count) }
        return out
    }

    /// One kept column of `row`.
    public func string(row: Int, column: Int) -> String {
        strings(row: row)[column]
    }

    /// The physical line of the export row.
    public func line(of row: Int) -> Int { Int(lines[row]) }
}

/// One column's values for every row, in memory (the columns lookups return).
struct ValueColumn {
    private var ends: [UInt32] = []
    private var bytes: [UInt8] = []

    mutating func append(_ value: UnsafeBufferPointer<UInt8>) {
        bytes.append(contentsOf: value)
        ends.append(UInt32(truncatingIfNeeded: bytes.count))
    }

    /// Appends every value of `other`, after this column's.
    mutating func append(contentsOf other: ValueColumn) {
        let base = UInt32(truncatingIfNeeded: bytes.count)
        bytes += other.bytes
        ends += other.ends.lazy.map { $0 + base }
    }

    func withBytes<T>(_ row: Int, _ body: (UnsafeBufferPointer<UInt8>) -> T) -> T {
        let start = row == 0 ? 0 : Int(ends[row - 1])
        return bytes.withUnsafeBufferPointer { all in body(UnsafeBufferPointer(rebasing: all[start..<Int(ends[row])])) }
    }

    func string(_ row: Int) -> String { withBytes(row) { String(decoding: $0, as: UTF8.self) } }
}

/// An unlinked temporary file written once and read back by offset (`pread`, thread-safe).
/// It has no name from the moment it is made, so nothing is left behind, whatever happens.
final class Spool: @unchecked Sendable {
    private let fd: Int32
    private let folder: String
    /// Bytes written so far.
    private(set) var size: UInt64 = 0

    init(folder: String) throws {
        self.folder = folder
        try FileSystem.makeDirectory(folder)
        let path = folder + "/.spool-" + FileSystem.randomSuffix()
        fd = try FileSystem.createNew(path, readable: true)
        unlink(path)
    }

    deinit { close(fd) }

    func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    private func write(_ raw: UnsafeRawBufferPointer) throws {
        do { try FileSystem.writeAll(fd, raw, path: folder + "/(spool)") } catch {
            throw StateError("cannot write the export's working copy in \(folder): \(FileSystem.errnoText())")
        }
        size += UInt64(raw.count)
    }

    /// Empties the spool (a read is started again).
    func truncate() throws {
        guard ftruncate(fd, 0) == 0, lseek(fd, 0, SEEK_SET) == 0 else {
            throw StateError("cannot empty the export's working copy in \(folder): \(FileSystem.errnoText())")
        }
        size = 0
    }

    /// Appends every byte of `other`.
    func append(_ other: Spool) throws {
        var block: [UInt8] = []
        var from: UInt64 = 0
        while from < other.size {
            let count = Int(min(other.size - from, 1 << 22))
            try other.read(at: from, count: count, into: &block)
            try block.withUnsafeBytes { try write(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            from += UInt64(count)
        }
    }

    func read(at offset: UInt64, count: Int, into buffer: inout [UInt8]) throws {
        if buffer.count < count { buffer = [UInt8](repeating: 0, count: count) }
        try buffer.withUnsafeMutableBytes { raw in
            try FileSystem.readAll(
                fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<count]), at: Int(offset),
                path: folder + "/(spool)")
        }
    }
}

/// SHA-256 and size of a file, computed on another thread.
final class FileDigest: @unchecked Sendable {
    let path: String
    private var digest: String?
    private var error: Error?
    private(set) var size: Int64 = 0

    init(path: String) { self.path = path }

    func run() {
        do {
            (digest, size) = try sha256AndSize(ofFile: path)
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
    try sha256AndSize(ofFile: path).0
}

private func sha256AndSize(ofFile path: String) throws -> (String, Int64) {
    let file = try FileByteSource(path: path)
    var hasher = SHA256()
    let size = 1 << 20
    let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: size)
    defer { buffer.deallocate() }
    var total: Int64 = 0
    while true {
        let n = try file.read(into: buffer, capacity: size)
        if n == 0 { break }
        total += Int64(n)
        hasher.update(UnsafeRawBufferPointer(start: buffer, count: n))
    }
    return (hexString(hasher.finalize()), total)
}
