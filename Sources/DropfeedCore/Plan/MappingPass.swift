import Dispatch

/// One target's rows as its mapping made them, with what it could not map.
struct MappedRows {
    var rows: RowSet
    var rejected = 0
    /// The first rejections, in source order.
    var rejections: [Rejection] = []
    /// Output keys of rejected rows (when the key itself could be computed).
    var rejectedKeys = Set<[String]>()
    var lookupMisses = 0

    init(columns: [String], keyPositions: [Int], capacity: Int) {
        rows = RowSet(columns: columns, keyPositions: keyPositions, capacity: capacity)
    }

    /// Appends `other` (mapped from later source rows).
    mutating func append(_ other: MappedRows) {
        rows.append(contentsOf: other.rows)
        rejected += other.rejected
        rejections += other.rejections.prefix(max(0, MappedRows.keptRejections - rejections.count))
        rejectedKeys.formUnion(other.rejectedKeys)
        lookupMisses += other.lookupMisses
    }

    static let keptRejections = 20
}

/// Maps the source table for every target in one pass: each row's values are made once and
/// offered to every mapping; the rows are split in chunks mapped on all cores, then joined in
/// source order.
enum MappingPass {
    /// A target's snapshot, made with the same inputs (`SnapshotMeta.inputDigest`): an export row
    /// whose `SourceLink` matches one of its rows gets that row back without being mapped.
    struct Reuse {
        let rows: RowSet
        let bySource: [UInt64: Int32]

        init(_ rows: RowSet) {
            self.rows = rows
            var bySource: [UInt64: Int32] = [:]
            bySource.reserveCapacity(rows.count)
            for (i, entry) in rows.index.entries.enumerated() where entry.inputHash != 0 {
                bySource[entry.sourceKeyHash] = Int32(i)
            }
            self.bySource = bySource
        }
    }

    static func run(_ table: SourceTable, _ mappings: [CompiledMapping], reuse: [Reuse?]) -> [MappedRows] {
        let chunkCount = max(1, min(table.rowCount / 5_000, 8))
        let chunkSize = (table.rowCount + chunkCount - 1) / max(1, chunkCount)
        let results = Slots<[MappedRows]>(chunkCount)
        DispatchQueue.concurrentPerform(iterations: chunkCount) { chunk in
            let rows = (chunk * chunkSize)..<min(table.rowCount, (chunk + 1) * chunkSize)
            results[chunk] = map(table, mappings, reuse: reuse, rows: rows)
        }
        var out = results.take(0)
        // Room for every chunk at once: growing by doubling would briefly hold twice the rows.
        for k in out.indices {
            var arena = 0, entries = 0, keys = 0
            for chunk in 0..<chunkCount {
                let rows = chunk == 0 ? out[k].rows : results[chunk]![k].rows
                arena += rows.arena.count
                entries += rows.index.entries.count
                keys += rows.index.keyBytes.count
            }
            out[k].rows.reserve(arena: arena, entries: entries, keyBytes: keys)
        }
        for chunk in 1..<chunkCount {
            let next = results.take(chunk)
            for k in out.indices { out[k].append(next[k]) }
        }
        return out
    }

    private static func map(
        _ table: SourceTable, _ mappings: [CompiledMapping], reuse: [Reuse?],
        rows: Range<Int>
    ) -> [MappedRows] {
        var out = mappings.map {
            MappedRows(columns: $0.mapping.columnNames, keyPositions: $0.keyPositions, capacity: rows.count)
        }
        let lookup = { (value: String, column: Int) -> String? in
            guard let row = table.keyToRow[value] else { return nil }
            return table.string(row: Int(row), column: column)
        }
        for row in rows {
            var values: [String]?
            for (k, mapping) in mappings.enumerated() {
                var misses = 0
                let inputHash = mapping.inputHash(row: row, table: table, lookupMisses: &misses)
                let link = SourceLink(keyHash: table.keyHashes[row], inputHash: inputHash ?? 0)
                if let inputHash, let reuse = reuse[k], let i = reuse.bySource[link.keyHash] {
                    let entry = reuse.rows.index.entries[Int(i)]
                    if entry.inputHash == inputHash {
                        out[k].rows.appendCopy(of: entry, from: reuse.rows, line: table.line(of: row), source: link)
                        out[k].lookupMisses += misses
                        continue
                    }
                }
                if values == nil { values = table.strings(row: row) }
                switch mapping.evaluate(values!, lookup: lookup, lookupMisses: &out[k].lookupMisses) {
                case .skipped:
                    continue
                case .rejected(let key, let reason):
                    out[k].rejected += 1
                    if let key { out[k].rejectedKeys.insert(key) }
                    if out[k].rejections.count < MappedRows.keptRejections {
                        out[k].rejections.append(
                            Rejection(
                                line: table.line(of: row), key: key?.joined(separator: ", ") ?? "", reason: reason))
                    }
                case .row(let mapped):
                    out[k].rows.append(mapped, line: table.line(of: row), source: link)
                }
            }
        }
        return out
    }
}
