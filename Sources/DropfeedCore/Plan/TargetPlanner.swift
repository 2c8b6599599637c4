import Dispatch
import Foundation

/// Turns (source, snapshot, mapping) into a `TargetPlan`: maps the export rows (reusing the
/// snapshot's row for an export row whose inputs are unchanged), diffs the result against the
/// snapshot by key, applies the safety gates and decides the files.
///
/// It reads the source table and the snapshot, and writes only the rows it maps, into the new
/// segment at `segmentPath` (a folder the runner chose); it touches nothing else on disk.
struct TargetPlanner {
    let target: TargetConfig
    let table: SourceTable
    let previous: Snapshot?
    let clock: RunClock
    let gates: TargetGates
    /// The `{seq}` for this run's files.
    let seq: Int
    let inputDigest: String
    /// Where the rows mapped in this run are written (`<folder>/<run id>.seg`).
    let segmentPath: String

    /// Rows a mapping chunk takes; chunks run on every core.
    static let chunkSize = 8192
    /// Earlier segments are compacted into the new one when less than half their bytes are
    /// still used, or when a snapshot would use more segments than this.
    static let maxSegments = 12

    func plan() -> TargetPlan {
        let plan = TargetPlan(
            target: target, previous: previous, segmentName: (segmentPath as NSString).lastPathComponent,
            inputDigest: inputDigest)
        do {
            try compute(plan)
        } catch {
            plan.outcome.status = .failed
            plan.outcome.error = "\(error)"
            plan.outcome.exitCode = ExitCode(for: error)
            plan.files = []
            plan.moves = false
            plan.segment = nil
            unlink(segmentPath)
        }
        return plan
    }

    private func compute(_ plan: TargetPlan) throws {
        let mapping = target.mapping
        let writer = try SegmentWriter(path: segmentPath)
        let rejectedKeys = try mapRows(into: plan, writer: writer)

        plan.mapped.sortByHash()
        let duplicates = plan.mapped.duplicates(limit: 5)
        if !duplicates.isEmpty {
            let list = duplicates.map { a, b in
                "`\(plan.mapped.keyValues(a).joined(separator: ", "))` (source lines \(min(plan.mapped.line[a], plan.mapped.line[b])) and \(max(plan.mapped.line[a], plan.mapped.line[b])))"
            }
            throw DataError(
                "target `\(target.name)`: two source rows map to the same output key \(list.joined(separator: "; ")) — check the mapping's key or add a where condition"
            )
        }

        // Diff the mapped rows against the snapshot's rows that were not reused.
        var unchanged = plan.kept.population
        var unmatched: [Int] = []
        if let old = previous?.index {
            var i = 0
            var j = 0
            let new = plan.mapped
            var clash: (Int, Int)?
            while i < old.count || j < new.count {
                let order = i == old.count ? 1 : j == new.count ? -1 : old.hashOrder(i, new, j)
                if order < 0 {
                    if !plan.kept[i] { unmatched.append(i) }
                    i += 1
                } else if order > 0 {
                    plan.adds.append(j)
                    j += 1
                } else {
                    if plan.kept[i] {
                        clash = clash ?? (i, j)
                    } else if old.rowHash[i] == new.rowHash[j] {
                        unchanged += 1
                    } else {
                        plan.updates.append((i, j))
                    }
                    i += 1
                    j += 1
                }
            }
            if let (i, j) = clash {
                throw DataError(
                    "target `\(target.name)`: two source rows map to the same output key `\(old.keyValues(i).joined(separator: ", "))` (one of them at source line \(new.line[j])) — check the mapping's key or add a where condition"
                )
            }
        } else {
            plan.adds = Array(0..<plan.mapped.count)
        }

        // A delivered row whose source row was rejected this run stays as it was: it is not deleted.
        var carried = 0
        if let old = previous?.index {
            for i in unmatched {
                if old.withKey(i, { rejectedKeys.contains($0, hash: old.keyHash[i]) }) {
                    plan.kept[i] = true
                    carried += 1
                } else {
                    plan.deletes.append(i)
                }
            }
        }
        let outcome = { (o: inout TargetOutcome) in
            o.keptRejected = carried
            o.adds = plan.adds.count
            o.updates = plan.updates.count
            o.deletes = plan.deletes.count
            o.unchanged = unchanged + carried
        }
        outcome(&plan.outcome)

        // Safety gates.
        let trips = gates.trips(
            deletes: plan.deletes.count, updates: plan.updates.count, previousRows: previous?.count ?? 0)
        plan.sentDeletes = mapping.output.deletes == .omit ? [] : plan.deletes
        if let first = trips.first {
            plan.outcome.gate = first
            plan.outcome.exitCode = .held
            let onlyDeleteGates = trips.allSatisfy { $0.name != "maxUpdatePercent" }
            if mapping.safety.onExceed == .holdDeletes && onlyDeleteGates {
                plan.outcome.heldDeletes = plan.deletes.count
                for i in plan.deletes { plan.kept[i] = true }
                plan.sentDeletes = []
            } else {
                plan.outcome.status = .held
                plan.outcome.rows = plan.mapped.count + plan.kept.population
                plan.sentDeletes = []
                // Nothing is sent, but `plan --out`'s changes.csv and `--explain` read the mapped rows.
                try finishSegment(plan, writer: writer)
                return
            }
        }

        let changed =
            previous == nil || !plan.adds.isEmpty || !plan.updates.isEmpty || plan.deletes.count > plan.outcome.heldDeletes
        plan.outcome.rows = plan.nextRowCount
        if changed { try compactIfWorthIt(plan, writer: writer) }
        try finishSegment(plan, writer: writer)

        // Files.
        let names = FileNames(target: target.name, output: mapping.output, clock: clock, seq: seq)
        let everyRowIsAnAdd = previous == nil
        let deltaRows = everyRowIsAnAdd ? plan.nextRowCount : plan.adds.count + plan.updates.count + plan.sentDeletes.count
        let wantDelta = deltaRows > 0 || mapping.output.sendEmptyDelta
        var files: [FileSpec] = []
        switch mapping.output.mode {
        case .full:
            if changed { files.append(.full(name: try names.name(kind: "full"))) }
        case .both:
            files.append(.full(name: try names.name(kind: "full")))
            if wantDelta { files.append(.delta(name: try names.name(kind: "delta"))) }
        case .delta:
            if wantDelta { files.append(.delta(name: try names.name(kind: "delta"))) }
        }
        plan.files = files.flatMap { data -> [FileSpec] in
            var out = [data]
            if mapping.output.checksum { out.append(.checksum(name: data.name + ".sha256", of: data.name)) }
            if let trigger = mapping.output.trigger { out.append(.trigger(name: data.name + trigger, of: data.name)) }
            return out
        }
        plan.moves = changed || !plan.files.isEmpty
        plan.seq = plan.files.isEmpty ? (previous?.meta.seq ?? 0) : seq
        if !plan.moves { plan.outcome.status = .unchanged }
        plan.nextMeta = SnapshotMeta(
            target: target.name, runId: clock.runId, time: clock.iso, columns: mapping.columnNames, key: mapping.key,
            rows: plan.nextRowCount, seq: plan.seq, files: [], inputDigest: inputDigest)
    }

    /// Completes this run's segment and opens it for reading as `plan.segment`; removes it when
    /// it holds no row.
    private func finishSegment(_ plan: TargetPlan, writer: SegmentWriter) throws {
        try writer.finish()
        if writer.size > SnapshotFormat.segmentMagic.count {
            plan.segment = try SegmentFile(path: segmentPath, expectedSize: writer.size, target: target.name)
        } else {
            unlink(segmentPath)
        }
    }

    // MARK: Mapping

    /// The output keys of rejected rows (their delivered rows are kept, not deleted).
    struct KeySet {
        private var slots = HashSlots(capacity: 0)
        private var ends: [UInt32] = []
        private var hashes: [UInt64] = []
        private var bytes: [UInt8] = []
        private var capacity = 0

        mutating func insert(_ key: [UInt8], hash: UInt64) {
            if ends.count * 10 >= capacity * 7 { grow() }
            let row = ends.count
            bytes.append(contentsOf: key)
            ends.append(UInt32(truncatingIfNeeded: bytes.count))
            hashes.append(hash)
            var table = HashSlots(capacity: 0)
            swap(&table, &slots)
            _ = table.insert(hash, row: row) { self.equal($0, row) }
            swap(&table, &slots)
        }

        private func range(_ row: Int) -> Range<Int> { (row == 0 ? 0 : Int(ends[row - 1]))..<Int(ends[row]) }

        private func equal(_ a: Int, _ b: Int) -> Bool { bytes[range(a)].elementsEqual(bytes[range(b)]) }

        private mutating func grow() {
            capacity = max(64, capacity * 2)
            var table = HashSlots(capacity: capacity)
            for row in 0..<ends.count { _ = table.insert(hashes[row], row: row) { self.equal($0, row) } }
            slots = table
        }

        func contains(_ key: UnsafeBufferPointer<UInt8>, hash: UInt64) -> Bool {
            guard !ends.isEmpty else { return false }
            return slots.first(hash) { self.bytes[self.range($0)].elementsEqual(key) } != nil
        }
    }

    /// What one chunk of export rows gave.
    private struct ChunkResult {
        var rows: [UInt8] = []
        var index: RowIndex
        var reused: [Int32] = []
        var rejected = 0
        var rejections: [Rejection] = []
        var rejectedKeys: [([UInt8], UInt64)] = []
        var missCount = 0
        var misses: [LookupMissReport] = []
        var unmapped = UnmappedRows()
    }

    /// Maps every export row into `plan.mapped` (rows written by `writer`), marking the reused
    /// snapshot rows in `plan.kept`. Returns the output keys of rejected rows.
    private func mapRows(into plan: TargetPlan, writer: SegmentWriter) throws -> KeySet {
        let compiled = CompiledMapping(target.mapping, table: table)
        let old = previous
        // An export row gets its snapshot row back when it is the row that row was made from and
        // everything the mapping read is the same (the same mapping, source shape and version).
        var bySource = PairSlots(capacity: 0)
        let reuse = old != nil && old!.meta.inputDigest == inputDigest
        if reuse, let old {
            bySource = PairSlots(capacity: old.count)
            for i in 0..<old.count where old.index.inputHash[i] != 0 {
                bySource.insert(old.index.sourceKeyHash[i], old.index.inputHash[i], row: i)
            }
        }
        // …and an export row skipped or rejected last time is again, without being evaluated.
        var memo = PairSlots(capacity: 0)
        if reuse, let unmapped = old?.unmapped {
            memo = PairSlots(capacity: unmapped.count)
            for i in 0..<unmapped.count { memo.insert(unmapped.sourceKeyHash[i], unmapped.inputHash[i], row: i) }
        }
        let memoSlots = memo
        let rowCount = table.rowCount
        let chunks = (rowCount + TargetPlanner.chunkSize - 1) / TargetPlanner.chunkSize
        let batch = max(2, ProcessInfo.processInfo.activeProcessorCount * 2)
        let slots = bySource
        var rejectedKeys = KeySet()
        plan.mapped.reserve(reuse ? rowCount / 8 : rowCount)
        // One evaluator per worker slot (its patterns compiled once, not once per chunk); slot `k`
        // serves one chunk at a time.
        let evaluators = Unchecked((0..<batch).map { _ in ByteEvaluator(compiled, table: table) })
        var firstError: Error?
        var chunk = 0
        while chunk < chunks {
            let count = min(batch, chunks - chunk)
            let results = Slots<Result<ChunkResult, Error>>(count)
            let base = chunk
            DispatchQueue.concurrentPerform(iterations: count) { k in
                let start = (base + k) * TargetPlanner.chunkSize
                let rows = start..<min(rowCount, start + TargetPlanner.chunkSize)
                results[k] = Result {
                    try mapChunk(
                        rows, compiled: compiled, evaluator: evaluators.value[k], bySource: slots, memo: memoSlots,
                        reuse: reuse)
                }
            }
            for k in 0..<count {
                let result: ChunkResult
                do { result = try results.take(k).get() } catch {
                    firstError = firstError ?? error
                    continue
                }
                let shift = writer.size
                if !result.rows.isEmpty { _ = try writer.append(result.rows) }
                for i in 0..<result.index.count {
                    plan.mapped.append(i, of: result.index)
                    plan.mapped.location[plan.mapped.count - 1] = RowIndex.location(
                        segment: Int(UInt16.max), offset: shift + RowIndex.offset(of: result.index.location[i]))
                }
                for i in result.reused { plan.kept[Int(i)] = true }
                plan.outcome.rejected += result.rejected
                plan.outcome.rejections += result.rejections.prefix(
                    max(0, TargetOutcome.keptRejections - plan.outcome.rejections.count))
                for (key, hash) in result.rejectedKeys { rejectedKeys.insert(key, hash: hash) }
                plan.unmapped.append(contentsOf: result.unmapped)
                plan.outcome.lookupMisses += result.missCount
                plan.outcome.lookupMissList += result.misses.prefix(
                    max(0, TargetOutcome.keptRejections - plan.outcome.lookupMissList.count))
            }
            if let firstError { throw firstError }
            chunk += count
        }
        return rejectedKeys
    }

    /// Maps the export rows `rows`. Locations are offsets into the chunk's own `rows` bytes
    /// (segment `UInt16.max` marks "this run's segment" until the snapshot is written).
    private func mapChunk(
        _ rows: Range<Int>, compiled: CompiledMapping, evaluator: ByteEvaluator, bySource: PairSlots, memo: PairSlots,
        reuse: Bool
    ) throws -> ChunkResult {
        let mapping = target.mapping
        var out = ChunkResult(index: RowIndex(keyParts: max(1, mapping.key.count)))
        out.index.reserve(reuse ? 256 : rows.count)
        // The closure holds the table alone: capturing `self` would copy the whole planner on every call.
        let table = self.table
        let lookup = { (value: String, column: Int, by: Int?) -> String? in table.lookup(value, column: column, by: by) }
        let keyParts = max(1, mapping.key.count)
        // Fetched once: `previous?.x` in the row loop would copy the whole snapshot for every row.
        // (Nor may the loop bind an optional of them: `if let` copies the struct, every array
        // of it retained, on every row.)
        let oldIndex = previous?.index ?? RowIndex(keyParts: keyParts)
        let oldUnmapped = previous?.unmapped ?? UnmappedRows()
        let hasOldUnmapped = previous?.unmapped != nil
        let keyHashes = table.keyHashes
        let duplicateRows = table.duplicateRows
        // First what each row's inputs hash to, and which rows get their snapshot row back or
        // their outcome of last time: tight loops over the chunk, so the table probes overlap.
        var hashes: [UInt64] = []
        var missCounts: [Int32] = []
        let hashed = compiled.inputHashes(rows: rows, table: table, hashes: &hashes, misses: &missCounts)
        var reusedRows = [Int32](repeating: -1, count: rows.count)
        var memoRows = [Int32](repeating: -1, count: rows.count)
        if reuse && hashed {
            var use = [Bool](repeating: true, count: rows.count)
            if !duplicateRows.isEmpty {
                for (k, row) in rows.enumerated() where duplicateRows[row] != nil { use[k] = false }
            }
            keyHashes.withUnsafeBufferPointer { all in
                let keys = UnsafeBufferPointer(rebasing: all[rows])
                hashes.withUnsafeBufferPointer { inputs in
                    use.withUnsafeBufferPointer { u in
                        reusedRows.withUnsafeMutableBufferPointer { bySource.rows(keys, inputs, use: u, into: $0) }
                    }
                    if hasOldUnmapped {
                        for k in 0..<use.count where reusedRows[k] >= 0 { use[k] = false }
                        use.withUnsafeBufferPointer { u in
                            memoRows.withUnsafeMutableBufferPointer { memo.rows(keys, inputs, use: u, into: $0) }
                        }
                    }
                }
            }
        }
        // The values are read in blocks when most rows are mapped, else only for the rows that are.
        let mappedRows = zip(reusedRows, memoRows).lazy.filter { $0 < 0 && $1 < 0 }.count
        var cursor = SourceTable.RowCursor(table: table, rows: rows, dense: mappedRows * 8 > rows.count)
        var evaluator = evaluator
        for row in rows {
            let k = row - rows.lowerBound
            let misses = hashed ? Int(missCounts[k]) : 0
            let inputHash: UInt64? = hashed ? hashes[k] : nil
            let duplicateOf = duplicateRows.isEmpty ? nil : duplicateRows[row]
            if reusedRows[k] >= 0 {
                let i = Int(reusedRows[k])
                out.reused.append(Int32(i))
                out.missCount += misses
                if misses > 0 && out.misses.count < TargetOutcome.keptRejections {
                    // Only to name the misses: the row is not mapped again.
                    var found: [LookupMiss] = []
                    _ = compiled.evaluate(try cursor.strings(row), lookup: lookup, misses: &found)
                    out.misses += found.map {
                        LookupMissReport(key: oldIndex.keyValues(i).joined(separator: ", "), column: $0.column, value: $0.value)
                    }
                }
                continue
            }
            if memoRows[k] >= 0, let inputHash {
                let m = Int(memoRows[k])
                // Skipped or rejected last time with the same inputs: the same again.
                let kind = UnmappedRows.Kind(rawValue: oldUnmapped.kind[m]) ?? .skipped
                let key = oldUnmapped.withKey(m) { $0.isEmpty ? nil : Array($0) }
                oldUnmapped.withKey(m) {
                    out.unmapped.append(
                        sourceKeyHash: keyHashes[row], inputHash: inputHash, kind: kind,
                        misses: Int(oldUnmapped.misses[m]), key: $0)
                }
                out.missCount += Int(oldUnmapped.misses[m])
                guard kind == .rejected else { continue }
                out.rejected += 1
                if let key {
                    let hash = key.withUnsafeBufferPointer { RowIndex.keyHash(keyBytes: $0, parts: keyParts) }
                    out.rejectedKeys.append((key, hash))
                }
                if out.rejections.count < TargetOutcome.keptRejections {
                    // Only to give the reason: evaluated for the first few.
                    var found: [LookupMiss] = []
                    if case .rejected(let k, let reason) = compiled.evaluate(
                        try cursor.strings(row), lookup: lookup, misses: &found)
                    {
                        out.rejections.append(
                            Rejection(line: table.line(of: row), key: k?.joined(separator: ", ") ?? "", reason: reason))
                    }
                }
                continue
            }
            var found: [LookupMiss] = []
            let result: ByteEvaluator.Outcome
            if evaluator.evaluatesBytes {
                result = try cursor.withValues(row) { evaluator.evaluate($0, at: row, misses: &found) }
            } else {
                result = evaluator.take(compiled.evaluate(try cursor.strings(row), lookup: lookup, misses: &found))
            }
            let line = table.line(of: row)
            func reject(_ key: [String]?, _ reason: String) {
                out.rejected += 1
                var bytes: [UInt8]?
                if let key {
                    bytes = RowIndex.keyBytes(key)
                    out.rejectedKeys.append((bytes!, RowIndex.keyHash(key)))
                }
                if out.rejections.count < TargetOutcome.keptRejections {
                    out.rejections.append(Rejection(line: line, key: key?.joined(separator: ", ") ?? "", reason: reason))
                }
                if duplicateOf == nil, let inputHash {
                    if let bytes {
                        bytes.withUnsafeBufferPointer {
                            out.unmapped.append(
                                sourceKeyHash: keyHashes[row], inputHash: inputHash, kind: .rejected,
                                misses: found.count, key: $0)
                        }
                    } else {
                        out.unmapped.append(
                            sourceKeyHash: keyHashes[row], inputHash: inputHash, kind: .rejected,
                            misses: found.count, key: nil)
                    }
                }
            }
            switch result {
            case .skipped:
                if duplicateOf == nil, let inputHash {
                    out.unmapped.append(
                        sourceKeyHash: keyHashes[row], inputHash: inputHash, kind: .skipped, misses: found.count,
                        key: nil)
                }
                out.missCount += found.count
                continue
            case .rejected(let key, let reason):
                reject(key, reason)
            case .row:
                if let other = duplicateOf {
                    reject(
                        evaluator.keyStrings(),
                        "duplicate source key `\(table.keyValues(row).joined(separator: ", "))` (also at line \(other))")
                    continue
                }
                let start = out.rows.count
                evaluator.appendRow(to: &out.rows)
                let rowHash = out.rows.withUnsafeBufferPointer {
                    RowCodec.hash(UnsafeBufferPointer(rebasing: $0[start...]))
                }
                evaluator.keyBytes().withUnsafeBufferPointer {
                    out.index.append(
                        key: $0, keyHash: RowIndex.keyHash(keyBytes: $0, parts: keyParts), rowHash: rowHash,
                        location: RowIndex.location(segment: 0, offset: start), rowLength: out.rows.count - start,
                        sourceKeyHash: keyHashes[row], inputHash: inputHash ?? 0, line: line)
                }
            }
            out.missCount += found.count
            for miss in found where out.misses.count < TargetOutcome.keptRejections {
                let key: String
                if case .row = result { key = evaluator.keyStrings().joined(separator: ", ") } else {
                    key = table.keyValues(row).joined(separator: ", ")
                }
                out.misses.append(LookupMissReport(key: key, column: miss.column, value: miss.value))
            }
        }
        return out
    }

    // MARK: Compaction

    /// Copies the kept rows into this run's segment when the earlier segments are mostly unused
    /// bytes, hold a converted older snapshot, or are too many; the next snapshot then uses
    /// this run's segment only.
    private func compactIfWorthIt(_ plan: TargetPlan, writer: SegmentWriter) throws {
        guard let old = previous, plan.kept.population > 0 else { return }
        var live = [Int](repeating: 0, count: old.segments.count)
        for i in 0..<old.count where plan.kept[i] {
            live[RowIndex.segment(of: old.index.location[i])] += Int(old.index.rowLength[i])
        }
        let used = live.indices.filter { live[$0] > 0 }
        let usedBytes = used.reduce(0) { $0 + old.segments[$1].size }
        let liveBytes = live.reduce(0, +)
        let worth =
            old.mustCopyRows || used.count + 1 > TargetPlanner.maxSegments || usedBytes > 2 * liveBytes + (1 << 20)
        guard worth else { return }
        // Read the kept rows in the order they are stored, append them to this run's segment.
        let order = (0..<old.count).filter { plan.kept[$0] }.sorted { old.index.location[$0] < old.index.location[$1] }
        var relocated = [UInt64](repeating: 0, count: old.count)
        let reader = old.rowReader()
        for i in order {
            let offset = try reader.withRow(
                location: old.index.location[i], length: Int(old.index.rowLength[i]), hash: old.index.rowHash[i]
            ) { try writer.append($0) }
            relocated[i] = RowIndex.location(segment: Int(UInt16.max), offset: offset)
        }
        plan.relocated = relocated
    }
}

/// File names from `output.file`: `{target}`, `{date}`, `{time}`, `{kind}`, `{seq}`.
struct FileNames {
    let target: String
    let output: OutputSpec
    let clock: RunClock
    let seq: Int

    func name(kind: String) throws -> String {
        let template = try Template(output.fileTemplate)
        let name = template.render { field in
            switch field {
            case "target": return target
            case "date": return clock.day
            case "time": return clock.time
            case "kind": return kind
            case "seq": return seq < 10000 ? String(format: "%04d", seq) : String(seq)
            default: return ""
            }
        }
        guard !name.isEmpty, !name.contains("/"), !name.hasPrefix("."), name != ".." else {
            throw DataError("output.file `\(output.fileTemplate)` gives `\(name)`, which is not a plain file name")
        }
        return name + (output.encrypt?.suffix ?? "")
    }
}
