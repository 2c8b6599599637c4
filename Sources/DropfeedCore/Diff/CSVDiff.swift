import Dispatch

/// The differences between two CSV files matched by key, as `dropfeed diff` reports them.
public struct CSVDiff: Sendable {
    /// One row present in both files with at least one shared column changed.
    public struct Change: Sendable, Equatable {
        /// The key values, one per key column.
        public var key: [String]
        /// The changed columns in the old file's column order: name, old value, new value.
        public var changes: [Column]

        public struct Column: Sendable, Equatable {
            public var name: String
            public var old: String
            public var new: String
        }
    }

    public var keyColumns: [String]
    public var oldHeader: [String]
    public var newHeader: [String]
    /// Columns of the new file that the old one lacks, in the new file's order.
    public var columnsAdded: [String]
    /// Columns of the old file that the new one lacks, in the old file's order.
    public var columnsRemoved: [String]
    /// Rows only in the new file, all columns in `newHeader` order, sorted by key.
    public var added: [[String]]
    /// Rows only in the old file, all columns in `oldHeader` order, sorted by key.
    public var removed: [[String]]
    /// Rows whose shared columns differ, sorted by key.
    public var changed: [Change]
    public var unchanged: Int
    public var oldRows: Int
    public var newRows: Int

    public var hasDifferences: Bool {
        !added.isEmpty || !removed.isEmpty || !changed.isEmpty || !columnsAdded.isEmpty || !columnsRemoved.isEmpty
    }
}

extension CSVDiff {
    /// Compares `oldPath` with `newPath` by the `key` columns.
    ///
    /// Both files are read once, in parallel, keeping only keys and row hashes; the rows that
    /// differ are read again afterwards to report their values. Duplicate or empty keys are a
    /// `DataError` naming the first offenders.
    public static func compare(
        oldPath: String, newPath: String, key: [String], options: CSVReadOptions = .init(),
        oldName: String? = nil, newName: String? = nil
    ) throws -> CSVDiff {
        precondition(!key.isEmpty, "a diff needs at least one key column")
        let oldReader = try CSVReader(path: oldPath, displayName: oldName, options: options)
        let newReader = try CSVReader(path: newPath, displayName: newName, options: options)
        let oldHeader = oldReader.header
        let newHeader = newReader.header
        for (reader, header) in [(oldReader, oldHeader), (newReader, newHeader)] {
            let missing = key.filter { !header.contains($0) }
            if !missing.isEmpty {
                throw DataError(
                    "\(reader.fileName): no key column \(missing.map { "`\($0)`" }.joined(separator: ", "))"
                        + suggestion(for: missing[0], in: header))
            }
        }
        let shared = oldHeader.filter { newHeader.contains($0) }
        var oldPlan = ColumnPlan(header: oldHeader, key: key, shared: shared)
        var newPlan = ColumnPlan(header: newHeader, key: key, shared: shared)
        if oldHeader == newHeader {
            oldPlan.wholeRecord = true
            newPlan.wholeRecord = true
        }

        let sides = [IndexJob(reader: oldReader, plan: oldPlan), IndexJob(reader: newReader, plan: newPlan)]
        DispatchQueue.concurrentPerform(iterations: 2) { sides[$0].run() }
        for side in sides { if let error = side.error { throw error } }
        let oldIndex = sides[0].index
        let newIndex = sides[1].index

        let match = KeyIndex.match(old: oldIndex, new: newIndex)
        let oldNeeded = match.onlyOld + match.changed.map(\.old)
        let newNeeded = match.onlyNew + match.changed.map(\.new)
        let oldRows = try RowFetcher.rows(
            oldIndex, oldNeeded, path: oldPath, reader: oldReader, fields: oldHeader.count)
        let newRows = try RowFetcher.rows(
            newIndex, newNeeded, path: newPath, reader: newReader, fields: newHeader.count)

        /// Rows in key order (byte order, component by component), each key computed once.
        func sortedByKey(_ rows: [[String]], _ plan: ColumnPlan) -> [[String]] {
            let keyed = rows.map { row in (plan.key.map { row[$0] }, row) }
            return keyed.sorted { keyBytesLess($0.0, $1.0) }.map(\.1)
        }
        let removed = sortedByKey(match.onlyOld.map { oldRows[$0]! }, oldPlan)
        let added = sortedByKey(match.onlyNew.map { newRows[$0]! }, newPlan)
        var changed: [Change] = []
        for (o, n) in match.changed {
            let before = oldRows[o]!
            let after = newRows[n]!
            var columns: [Change.Column] = []
            for (k, name) in shared.enumerated() {
                let a = before[oldPlan.shared[k]]
                let b = after[newPlan.shared[k]]
                if a != b { columns.append(.init(name: name, old: a, new: b)) }
            }
            if !columns.isEmpty { changed.append(Change(key: oldPlan.key.map { before[$0] }, changes: columns)) }
        }
        changed.sort { keyBytesLess($0.key, $1.key) }
        return CSVDiff(
            keyColumns: key, oldHeader: oldHeader, newHeader: newHeader,
            columnsAdded: newHeader.filter { !oldHeader.contains($0) },
            columnsRemoved: oldHeader.filter { !newHeader.contains($0) },
            added: added, removed: removed, changed: changed,
            unchanged: match.unchanged + (match.changed.count - changed.count),
            oldRows: oldIndex.entries.count, newRows: newIndex.entries.count)
    }
}

/// Column positions one file needs: its key columns and the shared columns, by index.
struct ColumnPlan: Sendable {
    var key: [Int]
    var shared: [Int]
    /// Both files have the same columns in the same order: hash each record's raw bytes at once.
    /// A row written differently (quoted in one file only) then looks changed and is compared
    /// value by value when read again, so the result is the same, only slower for such rows.
    var wholeRecord = false

    init(header: [String], key: [String], shared: [String]) {
        var position: [String: Int] = [:]
        for (k, name) in header.enumerated() { position[name] = k }
        self.key = key.map { position[$0]! }
        self.shared = shared.map { position[$0]! }
    }
}

/// Reads one file into a `KeyIndex` (run on its own thread, one per file).
private final class IndexJob: @unchecked Sendable {
    let reader: CSVReader
    let plan: ColumnPlan
    var index = KeyIndex()
    var error: Error?

    init(reader: CSVReader, plan: ColumnPlan) {
        self.reader = reader
        self.plan = plan
    }

    func run() {
        do {
            index = try buildKeyIndex(reader, plan: plan)
        } catch {
            self.error = error
        }
    }
}

/// Reads every record of `reader`, keeping its key and the hash of the shared columns; checks
/// keys are non-empty and unique.
func buildKeyIndex(_ reader: CSVReader, plan: ColumnPlan) throws -> KeyIndex {
    var index = KeyIndex(capacity: 1 << 16)
    var emptyLines: [Int] = []
    let keyColumns = plan.key
    let shared = plan.shared
    let byOffset = reader.offsetsAreFileOffsets
    try keyColumns.withUnsafeBufferPointer { keys in
        try shared.withUnsafeBufferPointer { columns in
            try reader.forEach { record in
                var h = RowHash.seed
                if plan.wholeRecord {
                    h = RowHash.combine(h, record.rawContent)
                } else {
                    for c in columns { h = RowHash.combine(h, record.rawBytes(c)) }
                }
                for c in keys where record.isEmpty(c) {
                    if emptyLines.count < 5 { emptyLines.append(record.line) }
                    break
                }
                index.append(
                    partCount: keys.count, part: { record.rawBytes(keys[$0]) }, rowHash: h,
                    location: byOffset ? record.byteOffset : Int64(record.index),
                    length: record.byteLength, line: record.line)
            }
        }
    }
    if !emptyLines.isEmpty {
        throw DataError(
            "\(reader.fileName): empty key at line\(emptyLines.count > 1 ? "s" : "") "
                + emptyLines.map(String.init).joined(separator: ", "))
    }
    index.sort()
    let duplicates = index.duplicates(limit: 5)
    if !duplicates.isEmpty {
        let list = duplicates.map { first, again in
            let key = index.keyParts(first, componentCount: keyColumns.count)
                .map { String(decoding: $0, as: UTF8.self) }.joined(separator: ", ")
            return "`\(key)` (lines \(first.line) and \(again.line))"
        }
        throw DataError("\(reader.fileName): duplicate key \(list.joined(separator: "; "))")
    }
    return index
}

/// Reads back the full rows of chosen index entries.
enum RowFetcher {
    /// The rows of `index.entries[i]` for each `i` in `wanted`, keyed by `i`.
    static func rows(
        _ index: KeyIndex, _ wanted: [Int], path: String, reader: CSVReader,
        fields: Int
    ) throws -> [Int: [String]] {
        var out: [Int: [String]] = [:]
        out.reserveCapacity(wanted.count)
        if wanted.isEmpty { return out }
        let options = CSVReadOptions(delimiter: reader.options.delimiter, encoding: .utf8)
        if reader.offsetsAreFileOffsets {
            // Copy the wanted records, in file order, into one buffer and parse them in one go.
            let sorted = wanted.sorted { index.entries[$0].location < index.entries[$1].location }
            let total = sorted.reduce(0) { $0 + Int(index.entries[$1].length) }
            let file = try FileByteSource(path: path)
            var bytes = [UInt8](repeating: 0, count: total)
            var ranges: [(Int64, Int)] = []
            for i in sorted {
                let e = index.entries[i]
                if let last = ranges.last, last.0 + Int64(last.1) == e.location {
                    ranges[ranges.count - 1].1 += Int(e.length)
                } else {
                    ranges.append((e.location, Int(e.length)))
                }
            }
            var at = 0
            try bytes.withUnsafeMutableBytes { raw in
                for (offset, length) in ranges {
                    try file.read(at: offset, count: length, into: raw.baseAddress! + at)
                    at += length
                }
            }
            let all = try CSVReader(
                bytes: bytes, fileName: reader.fileName, options: options, hasHeader: false,
                expectedFields: fields)
            for i in sorted {
                guard let record = try all.next() else {
                    throw DataError("\(reader.fileName) changed while being read")
                }
                out[i] = record.strings
            }
            return out
        }
        var slot: [Int64: Int] = [:]
        slot.reserveCapacity(wanted.count)
        for i in wanted { slot[index.entries[i].location] = i }
        let again = try CSVReader(path: path, displayName: reader.fileName, options: reader.options)
        let byOffset = again.offsetsAreFileOffsets
        try again.forEach { record in
            if let i = slot[byOffset ? record.byteOffset : Int64(record.index)] { out[i] = record.strings }
        }
        return out
    }
}
