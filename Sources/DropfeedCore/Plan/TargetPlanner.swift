import Foundation

/// One target's computed plan: its outcome so far, the files to send and the snapshot they lead to.
struct PreparedTarget {
    var outcome: TargetOutcome
    /// The folder holding the written files (a staging folder in the state directory, or `--out`).
    var filesFolder: String?
    var newSnapshot: RowSet?
    var meta: SnapshotMeta?
    /// Whether the snapshot moves even though no file is sent (only omitted deletes, say).
    var commitWithoutFiles = false
}

/// Maps the source for one target, diffs it against the target's snapshot, applies the safety
/// gates and writes the files. Touches the state directory only to read it.
struct TargetPlanner {
    let target: TargetConfig
    /// The target's rows, as the mapping pass made them.
    let mapped: MappedRows
    let clock: RunClock
    let allowDeletes: Int?
    let allowUpdates: Int?
    let stateDir: String
    /// See `SnapshotMeta.inputDigest`.
    let inputDigest: String

    /// The snapshot to diff against: the pending one (a delivery in progress leads to it) or the current one.
    let previous: (RowSet, SnapshotMeta)?

    func prepare(filesFolder: String, root: String) -> PreparedTarget {
        var outcome = TargetOutcome(name: target.name, status: .planned, destination: target.deliver.description)
        do {
            return try compute(&outcome, filesFolder: filesFolder, root: root)
        } catch {
            outcome.status = .failed
            outcome.error = "\(error)"
            outcome.exitCode = ExitCode(for: error)
            return PreparedTarget(outcome: outcome)
        }
    }

    private func compute(_ outcome: inout TargetOutcome, filesFolder: String, root: String) throws -> PreparedTarget {
        let mapping = target.mapping
        var mapped = self.mapped.rows
        let keyPositions = mapped.keyPositions
        let rejectedKeys = self.mapped.rejectedKeys
        outcome.rejected = self.mapped.rejected
        outcome.rejections = self.mapped.rejections
        outcome.lookupMisses = self.mapped.lookupMisses
        mapped.index.sort()
        let duplicates = mapped.index.duplicates(limit: 5)
        if !duplicates.isEmpty {
            let list = duplicates.map { a, b in
                "`\(mapped.index.keyParts(a, componentCount: mapping.key.count).map { String(decoding: $0, as: UTF8.self) }.joined(separator: ", "))` (source lines \(a.line) and \(b.line))"
            }
            throw DataError(
                "target `\(target.name)`: two source rows map to the same output key \(list.joined(separator: "; ")) — check the mapping's key or add a where condition"
            )
        }

        let old = previous?.0
        let oldMeta = previous?.1
        let project = projection(from: old?.columns ?? [], to: mapping.columnNames)
        let oldValues = { (entry: KeyEntry) -> [String] in
            let values = old!.row(entry)
            return project.map { $0.map { values[$0] } ?? "" }
        }
        let empty = RowSet(columns: mapping.columnNames, keyPositions: keyPositions)
        let match = KeyIndex.match(old: old?.index ?? empty.index, new: mapped.index)

        // A delivered row whose source row was rejected this run stays as it was: it is not deleted.
        var deletes: [Int] = []
        var carried: [Int] = []
        for i in match.onlyOld {
            let entry = old!.index.entries[i]
            let key = old!.index.keyParts(entry, componentCount: mapping.key.count).map {
                String(decoding: $0, as: UTF8.self)
            }
            if rejectedKeys.contains(key) { carried.append(i) } else { deletes.append(i) }
        }
        outcome.keptRejected = carried.count
        outcome.adds = match.onlyNew.count
        outcome.updates = match.changed.count
        outcome.deletes = deletes.count
        outcome.unchanged = match.unchanged + carried.count

        // Safety gates.
        let previousRows = old?.count ?? 0
        let trips = gates(deletes: deletes.count, updates: match.changed.count, previousRows: previousRows)
        var sentDeletes = deletes
        if let first = trips.first {
            outcome.gate = first
            outcome.exitCode = .held
            let onlyDeleteGates = trips.allSatisfy { $0.name != "maxUpdatePercent" }
            if mapping.safety.onExceed == .holdDeletes && onlyDeleteGates {
                outcome.heldDeletes = deletes.count
                carried += deletes
                sentDeletes = []
            } else {
                outcome.status = .held
                outcome.rows = mapped.count
                return PreparedTarget(outcome: outcome)
            }
        }

        // The snapshot the delivery leads to: the new rows, plus the delivered rows kept as they were.
        var next = mapped
        for i in carried { next.append(oldValues(old!.index.entries[i]), line: 0) }
        if !carried.isEmpty { next.index.sort() }
        outcome.rows = next.count

        // Files.
        // Never a number already used, even after a rollback or a reset.
        let seq = max(oldMeta?.seq ?? 0, TargetState(stateDir: stateDir, target: target.name).highestSeq()) + 1
        try FileSystem.makeDirectory(filesFolder, root: root)
        let builder = FileBuilder(
            target: target.name, output: mapping.output, columns: mapping.columnNames,
            clock: clock, seq: seq, folder: filesFolder)
        // With no snapshot (a first run, or after a reset) every row is an add: the delta is the
        // whole row set in key order, written straight from it rather than gathered first.
        let everyRowIsAnAdd = old == nil
        var delta: [DeltaRow] = []
        delta.reserveCapacity(everyRowIsAnAdd ? 0 : match.onlyNew.count + match.changed.count + sentDeletes.count)
        for j in match.onlyNew where !everyRowIsAnAdd {
            delta.append(
                DeltaRow(action: .add, values: mapped.row(mapped.index.entries[j]), keyPositions: keyPositions))
        }
        for (_, j) in match.changed {
            delta.append(
                DeltaRow(action: .update, values: mapped.row(mapped.index.entries[j]), keyPositions: keyPositions))
        }
        switch mapping.output.deletes {
        case .row:
            for i in sentDeletes {
                delta.append(
                    DeltaRow(action: .delete, values: oldValues(old!.index.entries[i]), keyPositions: keyPositions))
            }
        case .omit:
            break
        case .set(let overrides):
            let names = mapping.columnNames
            for i in sentDeletes {
                var values = oldValues(old!.index.entries[i])
                for (k, name) in names.enumerated() { if let v = overrides[name] { values[k] = v } }
                delta.append(DeltaRow(action: .update, values: values, keyPositions: keyPositions))
            }
        }
        delta.sort { keyBytesLess($0.key, $1.key) }

        let changed = previous == nil || !match.onlyNew.isEmpty || !match.changed.isEmpty || !sentDeletes.isEmpty
        let wantDelta = (everyRowIsAnAdd ? next.count > 0 : !delta.isEmpty) || mapping.output.sendEmptyDelta
        var files: [FileRecord] = []
        var order: [Int]?
        func keyOrder() -> [Int] {
            if order == nil { order = next.keyOrder() }
            return order!
        }
        func writeDelta() throws -> [FileRecord] {
            guard everyRowIsAnAdd else { return try builder.writeDelta(delta) }
            let order = keyOrder()
            return try builder.writeDelta(rowCount: order.count) { (.add, next.row(next.index.entries[order[$0]])) }
        }
        func writeFull() throws -> [FileRecord] {
            let order = keyOrder()
            return try builder.writeFull(rowCount: order.count) { next.row(next.index.entries[order[$0]]) }
        }
        switch mapping.output.mode {
        case .full:
            if changed { files += try writeFull() }
        case .both:
            files += try writeFull()
            if wantDelta { files += try writeDelta() }
        case .delta:
            if wantDelta { files += try writeDelta() }
        }
        outcome.files = files
        if files.isEmpty && !changed { outcome.status = .unchanged }
        let meta = SnapshotMeta(
            target: target.name, runId: clock.runId, time: clock.iso, columns: mapping.columnNames, key: mapping.key,
            rows: next.count, seq: files.isEmpty ? (oldMeta?.seq ?? 0) : seq, files: files,
            arenaBytes: 0, entryCount: 0, keyBytes: 0, checksum: "", inputDigest: inputDigest)
        return PreparedTarget(
            outcome: outcome, filesFolder: filesFolder, newSnapshot: next, meta: meta,
            commitWithoutFiles: files.isEmpty && changed)
    }

    /// The gates that trip, in the order maxDeletes, maxDeletePercent, maxUpdatePercent.
    func gates(deletes: Int, updates: Int, previousRows: Int) -> [GateTrip] {
        TargetGates(safety: target.mapping.safety, allowDeletes: allowDeletes, allowUpdates: allowUpdates)
            .trips(deletes: deletes, updates: updates, previousRows: previousRows)
    }
}

/// For each column of `to`, its position in `from` (nil when the snapshot did not have it).
func projection(from: [String], to: [String]) -> [Int?] {
    to.map { from.firstIndex(of: $0) }
}

/// Key order: component by component, comparing UTF-8 bytes.
func keyBytesLess(_ a: [String], _ b: [String]) -> Bool {
    for (x, y) in zip(a, b) where x != y {
        return x.utf8.lexicographicallyPrecedes(y.utf8)
    }
    return a.count < b.count
}

extension DeliverConfig {
    /// Where files go, for people: a folder, or `sftp://user@host:port/dir`.
    public var description: String {
        switch self {
        case .directory(let path): return path
        case .sftp(let s):
            return "sftp://\(s.user)@\(s.host):\(s.port)\(s.remoteDir.hasPrefix("/") ? "" : "/")\(s.remoteDir)"
        }
    }
}
