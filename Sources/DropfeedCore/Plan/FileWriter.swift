import Foundation
import Zip

#if canImport(Glibc)
    import Glibc
#endif

/// Writes what a `TargetPlan` describes into a folder: the files to send (data files in the
/// target's dialect, `.sha256` sidecars, trigger files), the snapshot the plan leads to, and
/// `changes.csv`. Rows are streamed from the snapshots' segments, never gathered in memory.
struct FileWriter {
    let plan: TargetPlan

    private var mapping: Mapping { plan.target.mapping }
    private var columns: [String] { mapping.columnNames }

    /// Reads the rows a plan refers to, in the columns of its mapping. One thread at a time
    /// uses an instance; `forAnotherThread` gives one for another.
    final class Rows: @unchecked Sendable {
        /// The most segment bytes a target's writer maps into memory (beyond, it reads rows with
        /// `pread`, so that a large export's peak memory does not grow with its segments).
        static let mapLimit = 512 << 20
        let plan: TargetPlan
        private let previousReader: RowReader?
        private let mappedReader: RowReader?
        /// For each mapping column, its position in the previous snapshot's columns.
        private let project: [Int?]
        private let sameColumns: Bool

        init(_ plan: TargetPlan) {
            self.plan = plan
            // A full file, or a first delivery, reads nearly every row in key order: from segments
            // mapped into memory when they are small enough, else row by row.
            let readsEveryRow = plan.previous == nil || plan.target.mapping.output.mode != .delta
            let segments = (plan.previous?.segments ?? []) + (plan.segment.map { [$0] } ?? [])
            let mapUpTo = readsEveryRow && segments.reduce(0, { $0 + $1.size }) <= Rows.mapLimit ? Int.max : 0
            previousReader = plan.previous.map {
                RowReader(files: $0.segments, target: plan.target.name, mapUpTo: mapUpTo)
            }
            mappedReader = plan.segment.map { RowReader(files: [$0], target: plan.target.name, mapUpTo: mapUpTo) }
            let old = plan.previous?.meta.columns ?? []
            project = projection(from: old, to: plan.target.mapping.columnNames)
            sameColumns = old == plan.target.mapping.columnNames
        }

        private init(_ other: Rows) {
            plan = other.plan
            previousReader = other.previousReader?.forAnotherThread()
            mappedReader = other.mappedReader?.forAnotherThread()
            project = other.project
            sameColumns = other.sameColumns
        }

        /// Rows of the same plan for another thread (sharing the mapped segments).
        func forAnotherThread() -> Rows { Rows(self) }

        /// The values of a row of the previous snapshot, projected onto the mapping's columns
        /// (a column the snapshot did not have is empty).
        func previous(_ i: Int) throws -> [String] {
            let values = try plan.previous!.values(i, previousReader!)
            return sameColumns ? values : project.map { $0.map { values[$0] } ?? "" }
        }

        /// The values of a row mapped in this run.
        func mapped(_ j: Int) throws -> [String] {
            let index = plan.mapped
            return try mappedReader!.values(
                location: RowIndex.location(segment: 0, offset: RowIndex.offset(of: index.location[j])),
                length: Int(index.rowLength[j]), hash: index.rowHash[j], columns: plan.target.mapping.columnNames.count)
        }

        /// Calls `body` with a row's encoded bytes, when they are in the mapping's column order
        /// (always for this run's rows; for the previous snapshot's when its columns are the
        /// mapping's). Returns nil, without calling `body`, otherwise.
        func withEncoded<T>(_ ref: RowRef, _ body: (UnsafeBufferPointer<UInt8>) throws -> T) throws -> T? {
            switch ref {
            case .previous(let i):
                guard sameColumns, let old = plan.previous else { return nil }
                return try previousReader!.withRow(
                    location: old.index.location[i], length: Int(old.index.rowLength[i]), hash: old.index.rowHash[i], body)
            case .mapped(let j):
                let index = plan.mapped
                return try mappedReader!.withRow(
                    location: RowIndex.location(segment: 0, offset: RowIndex.offset(of: index.location[j])),
                    length: Int(index.rowLength[j]), hash: index.rowHash[j], body)
            }
        }

        func values(_ ref: RowRef) throws -> [String] {
            switch ref {
            case .previous(let i): return try previous(i)
            case .mapped(let j): return try mapped(j)
            }
        }
    }

    // MARK: Order

    /// Sorts `refs` by key, comparing key columns one by one as bytes.
    func sortedByKey(_ refs: [RowRef]) -> [RowRef] { sortedByKey(refs) { $0 } }

    /// Sorts `items` by the key of the row each refers to.
    func sortedByKey<T>(_ items: [T], ref: (T) -> RowRef) -> [T] {
        let old = plan.previous?.index
        let new = plan.mapped
        func prefix(_ r: RowRef, composite: Bool, usable: inout Bool) -> UInt64 {
            switch r {
            case .previous(let i): return old!.keyPrefix(i, composite: composite, usable: &usable)
            case .mapped(let j): return new.keyPrefix(j, composite: composite, usable: &usable)
            }
        }
        func withKey<R>(_ r: RowRef, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
            switch r {
            case .previous(let i): return old!.withKey(i, body)
            case .mapped(let j): return new.withKey(j, body)
            }
        }
        let parts = new.keyParts
        var usable = true
        var composite = true
        var prefixes = items.map { prefix(ref($0), composite: true, usable: &usable) }
        if !usable {
            composite = false
            prefixes = items.map { prefix(ref($0), composite: false, usable: &usable) }
        }
        var order = radixOrder(prefixes)
        orderTies(
            &order, prefixes: prefixes,
            prefix: { p, offset in
                var ok = true
                let r = ref(items[Int(p)])
                let v: UInt64
                switch r {
                case .previous(let i): v = old!.keyPrefix(i, composite: composite, offset: offset, usable: &ok)
                case .mapped(let j): v = new.keyPrefix(j, composite: composite, offset: offset, usable: &ok)
                }
                return ok ? v : nil
            },
            length: { p in
                switch ref(items[Int(p)]) {
                case .previous(let i): return old!.keyPrefixLength(i, composite: composite)
                case .mapped(let j): return new.keyPrefixLength(j, composite: composite)
                }
            },
            less: { a, b in
                withKey(ref(items[Int(a)])) { x in
                    withKey(ref(items[Int(b)])) { y in RowIndex.keyLess(x, y, parts: parts) }
                }
            })
        return order.map { items[Int($0)] }
    }

    /// Every row of the next snapshot, in key order, packed: a radix sort of the keys' first
    /// eight bytes, then a comparison of the whole keys only where those are equal — about 12
    /// bytes a row while it sorts instead of the 80 a sort of `RowRef`s takes.
    struct KeyOrderedRows {
        /// The kept rows of the previous snapshot, by position.
        let kept: [UInt32]
        /// Positions in "kept rows, then mapped rows", in key order.
        let order: [UInt32]

        var count: Int { order.count }

        subscript(k: Int) -> RowRef {
            let p = Int(order[k])
            return p < kept.count ? .previous(Int(kept[p])) : .mapped(p - kept.count)
        }
    }

    func nextRowsInKeyOrder() -> KeyOrderedRows {
        var kept: [UInt32] = []
        kept.reserveCapacity(plan.kept.population)
        for i in 0..<plan.kept.count where plan.kept[i] { kept.append(UInt32(i)) }
        let old = plan.previous?.index
        let new = plan.mapped
        let total = kept.count + new.count
        func ref(_ p: Int) -> RowRef { p < kept.count ? .previous(Int(kept[p])) : .mapped(p - kept.count) }
        func makePrefixes(composite: Bool, usable: inout Bool) -> [UInt64] {
            var ok = true
            let out = [UInt64](unsafeUninitializedCapacity: total) { buffer, filled in
                for p in 0..<kept.count { buffer[p] = old!.keyPrefix(Int(kept[p]), composite: composite, usable: &ok) }
                for j in 0..<new.count { buffer[kept.count + j] = new.keyPrefix(j, composite: composite, usable: &ok) }
                filled = total
            }
            usable = ok
            return out
        }
        var usable = true
        var composite = true
        var prefixes = makePrefixes(composite: true, usable: &usable)
        if !usable {
            composite = false
            prefixes = makePrefixes(composite: false, usable: &usable)
        }
        var order = radixOrder(prefixes)
        let parts = new.keyParts
        func withKey<R>(_ p: Int, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
            p < kept.count ? old!.withKey(Int(kept[p]), body) : new.withKey(p - kept.count, body)
        }
        orderTies(
            &order, prefixes: prefixes,
            prefix: { p, offset in
                var ok = true
                let p = Int(p)
                let v =
                    p < kept.count
                    ? old!.keyPrefix(Int(kept[p]), composite: composite, offset: offset, usable: &ok)
                    : new.keyPrefix(p - kept.count, composite: composite, offset: offset, usable: &ok)
                return ok ? v : nil
            },
            length: { p in
                let p = Int(p)
                return p < kept.count
                    ? old!.keyPrefixLength(Int(kept[p]), composite: composite)
                    : new.keyPrefixLength(p - kept.count, composite: composite)
            },
            less: { a, b in withKey(Int(a)) { x in withKey(Int(b)) { y in RowIndex.keyLess(x, y, parts: parts) } } })
        return KeyOrderedRows(kept: kept, order: order)
    }

    enum DeltaAction { case add, update, delete, deleteAsUpdate }

    /// A delta's rows in key order: every row of the next snapshot as an add (the first
    /// delivery), or the changes.
    enum DeltaRows {
        case allAdds(KeyOrderedRows)
        case changes([(DeltaAction, RowRef)])

        var count: Int {
            switch self {
            case .allAdds(let rows): return rows.count
            case .changes(let list): return list.count
            }
        }

        subscript(k: Int) -> (DeltaAction, RowRef) {
            switch self {
            case .allAdds(let rows): return (.add, rows[k])
            case .changes(let list): return list[k]
            }
        }
    }

    /// The delta's rows, in key order.
    func deltaRows() -> DeltaRows {
        if plan.previous == nil { return .allAdds(nextRowsInKeyOrder()) }
        var rows: [(DeltaAction, RowRef)] = plan.adds.map { (.add, .mapped($0)) }
        rows += plan.updates.map { (.update, .mapped($0.new)) }
        let asUpdate: Bool
        if case .set = mapping.output.deletes { asUpdate = true } else { asUpdate = false }
        rows += plan.sentDeletes.map { (asUpdate ? .deleteAsUpdate : .delete, .previous($0)) }
        return .changes(sortedByKey(rows) { $0.1 })
    }

    // MARK: Files

    /// Writes the plan's files into `folder`; returns their records, in delivery order.
    func writeFiles(into folder: String) throws -> [FileRecord] {
        let rows = Rows(plan)
        let pgp = try plan.files.contains(where: \.isData) ? mapping.output.encrypt.map(PGPHome.forTarget) : nil
        defer { pgp?.close() }
        let oneRoster = mapping.output.oneRoster != nil
        let enrollments = mapping.output.oneRoster?.enrollments
        // A bundle's users.csv has users.csv's columns; the enrollments' columns after them are not sent there.
        let sent = oneRoster ? OneRosterSpec.userColumns : columns
        let modified = OneRosterBundle.dateLastModified(runTime: plan.nextMeta?.time ?? "")
        var records: [String: FileRecord] = [:]
        var out: [FileRecord] = []
        for spec in plan.files {
            let record: FileRecord
            switch spec {
            case .full(let name):
                let order = nextRowsInKeyOrder()
                let count = columns.count
                // bulk: every enrollment of every user, status and dateLastModified blank
                let bulkEnrollments = enrollments.map { spec in
                    { (emit: ([String]) throws -> Void) throws in
                        for k in 0..<order.count {
                            let values = try rows.values(order[k])
                            for e in spec.enrollments(of: values) {
                                try emit(e.row(user: values[0], status: "", modified: ""))
                            }
                        }
                    }
                }
                record = try write(
                    name: name, kind: "full", header: sent, folder: folder, rowCount: order.count, pgp: pgp,
                    enrollments: bulkEnrollments, rows: rows
                ) {
                    k, csv, rows in
                    if oneRoster {
                        // bulk: status and dateLastModified blank
                        var values = try rows.values(order[k])
                        values[1] = ""
                        values[2] = ""
                        return try csv.write(Array(values[..<sent.count]))
                    }
                    let done: Void? = try rows.withEncoded(order[k]) {
                        try csv.write(leading: nil, encodedRow: $0, count: count)
                    }
                    if done == nil { try csv.write(try rows.values(order[k])) }
                }
            case .delta(let name):
                let delta = deltaRows()
                let action = mapping.output.action
                let overrides: [String: String]
                if case .set(let o) = mapping.output.deletes { overrides = o } else { overrides = [:] }
                let names = columns
                // delta: the enrollments each changed user gained, lost or changed (an unchanged
                // class of an updated user is not sent again)
                let deltaEnrollments = enrollments.map { spec in
                    { (emit: ([String]) throws -> Void) throws in
                        var oldPosition: [Int: Int] = [:]
                        for update in plan.updates { oldPosition[update.new] = update.old }
                        for k in 0..<delta.count {
                            let (kind, ref) = delta[k]
                            let values = try rows.values(ref)
                            var old: [Enrollment] = []
                            var new: [Enrollment] = []
                            switch (kind, ref) {
                            case (.delete, _), (.deleteAsUpdate, _): old = spec.enrollments(of: values)
                            case (.update, .mapped(let j)):
                                new = spec.enrollments(of: values)
                                old = spec.enrollments(of: try rows.previous(oldPosition[j]!))
                            default: new = spec.enrollments(of: values)
                            }
                            for (e, deleted) in OneRosterBundle.enrollmentChanges(old: old, new: new) {
                                let status = deleted ? "tobedeleted" : "active"
                                try emit(e.row(user: values[0], status: status, modified: modified))
                            }
                        }
                    }
                }
                record = try write(
                    name: name, kind: "delta", header: (action.map { [$0.column] } ?? []) + sent, folder: folder,
                    rowCount: delta.count, pgp: pgp, enrollments: deltaEnrollments, rows: rows
                ) { k, csv, rows in
                    let (kind, ref) = delta[k]
                    if oneRoster {
                        // delta: every row says what it is and when
                        var values = try rows.values(ref)
                        values[1] = kind == .delete ? "tobedeleted" : "active"
                        values[2] = modified
                        return try csv.write(Array(values[..<sent.count]))
                    }
                    let leading: String?
                    switch kind {
                    case .add: leading = action?.add
                    case .update, .deleteAsUpdate: leading = action?.update
                    case .delete: leading = action?.delete
                    }
                    if kind != .deleteAsUpdate || overrides.isEmpty {
                        let done: Void? = try rows.withEncoded(ref) {
                            try csv.write(leading: leading, encodedRow: $0, count: names.count)
                        }
                        if done != nil { return }
                    }
                    var values = try rows.values(ref)
                    if kind == .deleteAsUpdate {
                        for (c, name) in names.enumerated() { if let v = overrides[name] { values[c] = v } }
                    }
                    try csv.write(leading.map { [$0] + values } ?? values)
                }
            case .checksum(let name, let of):
                let data = records[of]!
                let bytes = Array("\(data.sha256)  \(data.name)\n".utf8)
                try FileSystem.writeAtomically(folder + "/" + name, bytes, mode: 0o600)
                record = FileRecord(name: name, kind: "checksum", rows: 0, bytes: bytes.count, sha256: SHA256.hex(bytes))
            case .trigger(let name, _):
                try FileSystem.writeAtomically(folder + "/" + name, [], mode: 0o600)
                record = FileRecord(name: name, kind: "trigger", rows: 0, bytes: 0, sha256: SHA256.hex([UInt8]()))
            }
            records[record.name] = record
            out.append(record)
        }
        return out
    }

    /// Streams a CSV file to disk in the target's dialect, hashing it on the way; with `pgp`,
    /// streams it through gpg instead and records the encrypted bytes (what is delivered). A
    /// OneRoster bundle's `enrollments` gives its enrollments.csv rows, each through `emit`.
    private func write(
        name: String, kind: String, header: [String], folder: String, rowCount: Int, pgp: PGPHome?,
        enrollments: ((_ emit: ([String]) throws -> Void) throws -> Void)? = nil, rows: Rows,
        row: (Int, inout CSVWriter, Rows) throws -> Void
    ) throws -> FileRecord {
        let path = folder + "/" + name
        let bundle = mapping.output.oneRoster
        let fd = try FileSystem.createNew(path, readable: pgp != nil || bundle != nil)
        defer { close(fd) }
        // A bundle encrypted: the zip goes to a private temporary file first (a zip's headers are
        // completed in place), then through gpg.
        var zipPath: String?
        var zipFd = fd
        if bundle != nil && pgp != nil {
            zipPath = folder + "/" + FileSystem.temporaryPrefix(for: name) + FileSystem.randomSuffix()
            zipFd = try FileSystem.createNew(zipPath!, readable: true)
        }
        defer {
            if let zipPath {
                close(zipFd)
                unlink(zipPath)
            }
        }
        let stream = bundle == nil ? try pgp?.encrypt(into: fd, name: name) : nil
        var hasher = SHA256()
        var size = 0
        do {
            let zip = try bundle.map {
                try OneRosterBundle(
                    spec: $0, fd: zipFd, path: path, runTime: plan.nextMeta?.time ?? "", delta: kind == "delta",
                    options: mapping.output.dialect)
            }
            try zip?.beginUsers()
            var writer = CSVWriter(options: mapping.output.dialect)
            func send(_ bytes: [UInt8]) throws {
                if let zip { return try zip.write(bytes) }
                if let stream { return try stream.write(bytes) }
                bytes.withUnsafeBytes { hasher.update($0) }
                size += bytes.count
                try FileSystem.writeAll(fd, bytes, path: path)
            }
            func flush() throws { try send(writer.takeBytes()) }
            for line in mapping.output.preamble { try writer.writeLine(line) }
            if mapping.output.dialect.header { try writer.write(header) }
            let threads = bundle == nil && rowCount >= FileWriter.parallelRows ? ProcessInfo.processInfo.activeProcessorCount : 1
            if threads > 1 {
                try flush()
                try encodeInParallel(rowCount: rowCount, threads: min(threads, 8), rows: rows, row: row, send: send)
            } else {
                for i in 0..<rowCount {
                    try row(i, &writer, rows)
                    if writer.bytes.count >= 1 << 20 { try flush() }
                }
            }
            try flush()
            if let zip {
                try zip.endUsers()
                if let enrollments {
                    try writer.write(EnrollmentSpec.columns)
                    try enrollments { values in
                        try writer.write(values)
                        if writer.bytes.count >= 1 << 20 { try flush() }
                    }
                    try flush()
                }
                try zip.finish()
            }
        } catch let error as EncodingError {
            throw DataError("target `\(plan.target.name)`: \(error) (output.encoding)")
        } catch let error as ZipError {
            throw StateError("target `\(plan.target.name)`: \(error)")
        }
        if let zipPath, let pgp {
            let encrypting = try pgp.encrypt(into: fd, name: name)
            var offset = 0
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            while true {
                let n = buffer.withUnsafeMutableBytes { pread(zipFd, $0.baseAddress, $0.count, off_t(offset)) }
                guard n >= 0 else { throw StateError("cannot read \(zipPath): \(FileSystem.errnoText())") }
                if n == 0 { break }
                try encrypting.write(Array(buffer[0..<n]))
                offset += n
            }
            try encrypting.finish()
        }
        try stream?.finish()
        if stream != nil || bundle != nil { size = try hashFile(fd, path: path, into: &hasher) }
        guard fsync(fd) == 0 else { throw StateError("cannot sync \(path): \(FileSystem.errnoText())") }
        return FileRecord(name: name, kind: kind, rows: rowCount, bytes: size, sha256: hexString(hasher.finalize()))
    }

    /// Files of at least this many rows are encoded on every core.
    static let parallelRows = 32768
    /// Rows a thread encodes at a time.
    static let rowsPerBlock = 8192

    /// Encodes rows `0..<rowCount` with `row` on `threads` threads — in rounds of one block of
    /// rows per thread, each thread with its own `Rows` — and hands each block's bytes to `send`
    /// in row order, so the file is exactly what one thread writes. The first failing row's
    /// error is thrown, as when the rows are encoded in turn.
    private func encodeInParallel(
        rowCount: Int, threads: Int, rows: Rows, row: (Int, inout CSVWriter, Rows) throws -> Void,
        send: ([UInt8]) throws -> Void
    ) throws {
        let readers = Slots([rows] + (1..<threads).map { _ in rows.forAnotherThread() })
        let dialect = mapping.output.dialect
        try withoutActuallyEscaping(row) { row in
            let encode = Unchecked(row)
            var start = 0
            while start < rowCount {
                let round = start
                let results = Slots<Result<[UInt8], Error>>(threads)
                DispatchQueue.concurrentPerform(iterations: threads) { t in
                    let first = min(rowCount, round + t * FileWriter.rowsPerBlock)
                    let block = first..<min(rowCount, first + FileWriter.rowsPerBlock)
                    results[t] = Result {
                        var writer = CSVWriter(options: dialect)
                        _ = writer.takeBytes()  // a byte-order mark starts the file, not each block
                        for i in block { try encode.value(i, &writer, readers[t]!) }
                        return writer.takeBytes()
                    }
                }
                for t in 0..<threads { try send(try results.take(t).get()) }
                start += threads * FileWriter.rowsPerBlock
            }
        }
    }

    /// Feeds the whole file open at `fd` to `hasher`; returns its size.
    private func hashFile(_ fd: Int32, path: String, into hasher: inout SHA256) throws -> Int {
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var size = 0
        while true {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(size)) }
            guard n >= 0 else { throw StateError("cannot read \(path): \(FileSystem.errnoText())") }
            if n == 0 { return size }
            buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            size += n
        }
    }

    // MARK: Snapshot

    /// Writes the snapshot the plan leads to into `folder` (which holds the plan's segment, if
    /// any): `index.bin` and `meta.json` with `files`. Returns its metadata.
    @discardableResult
    func writeSnapshot(into folder: String, files: [FileRecord]) throws -> SnapshotMeta {
        guard var meta = plan.nextMeta else { throw StateError("target `\(plan.target.name)` has no snapshot to write") }
        // The segments the next snapshot uses: the earlier ones still holding a kept row, then this run's.
        var segments: [SegmentInfo] = []
        var ordinal: [Int: Int] = [:]
        if let old = plan.previous, plan.relocated.isEmpty {
            var used = Set<Int>()
            for i in 0..<old.count where plan.kept[i] { used.insert(RowIndex.segment(of: old.index.location[i])) }
            for s in used.sorted() {
                ordinal[s] = segments.count
                segments.append(old.segmentInfos[s])
            }
        }
        let own = segments.count
        if let segment = plan.segment { segments.append(SegmentInfo(name: plan.segmentName, bytes: segment.size)) }

        let merged = MergedIndex(plan: plan, ordinal: ordinal, own: own)
        let (bytes, checksum) = try writeIndex(merged, to: folder + "/index.bin")
        meta.rows = merged.count
        meta.files = files
        meta.segments = segments
        meta.indexBytes = bytes
        meta.indexChecksum = checksum
        meta.unmappedChecksum = try plan.unmapped.write(to: folder + "/unmapped.bin").checksum
        try FileSystem.writeAtomically(folder + "/meta.json", try encodeJSON(meta))
        return meta
    }

    // MARK: changes.csv

    /// Writes `changes.csv`: `action,<key columns>,column,before,after` (UTF-8, `,`, LF), one line
    /// per output column of an add or a delete and per changed column of an update, sorted by key
    /// then column order. A delete's `after` is what is sent: empty for `row` and `omit`, the
    /// sent value for `{set: …}`.
    func writeChanges(to path: String) throws {
        let rows = Rows(plan)
        let key = mapping.key
        let names = columns
        let keyPositions = key.map { names.firstIndex(of: $0)! }
        var changes: [(action: String, old: Int?, ref: RowRef)] = []
        if plan.previous == nil {
            changes = (0..<plan.mapped.count).map { ("add", nil, .mapped($0)) }
        } else {
            changes = plan.adds.map { ("add", nil, .mapped($0)) }
            changes += plan.updates.map { ("update", $0.old, .mapped($0.new)) }
            changes += plan.deletes.map { ("delete", nil, .previous($0)) }
        }
        let overrides: [String: String]?
        switch mapping.output.deletes {
        case .set(let o): overrides = o
        default: overrides = nil
        }
        var csv = CSVWriter(options: CSVWriteOptions(lineEnding: .lf))
        let fd = try FileSystem.createNew(path)
        defer { close(fd) }
        try csv.write(["action"] + key + ["column", "before", "after"])
        for (action, oldPosition, ref) in sortedByKey(changes, ref: { $0.ref }) {
            let values = try rows.values(ref)
            let keyValues = keyPositions.map { values[$0] }
            switch action {
            case "add":
                for (c, name) in names.enumerated() { try csv.write(["add"] + keyValues + [name, "", values[c]]) }
            case "update":
                let before = try rows.previous(oldPosition!)
                for (c, name) in names.enumerated() where before[c] != values[c] {
                    try csv.write(["update"] + keyValues + [name, before[c], values[c]])
                }
            default:
                for (c, name) in names.enumerated() {
                    let sent = overrides.map { $0[name] ?? values[c] } ?? ""
                    try csv.write(["delete"] + keyValues + [name, values[c], sent])
                }
            }
            if csv.bytes.count >= 1 << 20 { try FileSystem.writeAll(fd, csv.takeBytes(), path: path) }
        }
        try FileSystem.writeAll(fd, csv.takeBytes(), path: path)
    }
}


/// The next snapshot's rows as `writeIndex` reads them: the kept rows of the previous snapshot
/// merged with the rows mapped this run, in hash order, their locations renumbered to the next
/// snapshot's segment list. Holds one 4-byte reference a row.
struct MergedIndex: IndexRows {
    let old: RowIndex?
    let new: RowIndex
    /// High bit set: a mapped row; else a row of the previous snapshot.
    let order: [UInt32]
    let relocated: [UInt64]
    /// Previous segment ordinal → ordinal in the next snapshot.
    let ordinal: [Int: Int]
    /// The ordinal of this run's segment.
    let own: Int

    init(plan: TargetPlan, ordinal: [Int: Int], own: Int) {
        old = plan.previous?.index
        new = plan.mapped
        relocated = plan.relocated
        self.ordinal = ordinal
        self.own = own
        var order: [UInt32] = []
        order.reserveCapacity(plan.nextRowCount)
        var i = 0
        var j = 0
        let oldCount = old?.count ?? 0
        while i < oldCount || j < new.count {
            if i < oldCount && !plan.kept[i] {
                i += 1
                continue
            }
            if j == new.count || (i < oldCount && old!.hashOrder(i, new, j) < 0) {
                order.append(UInt32(i))
                i += 1
            } else {
                order.append(UInt32(j) | 0x8000_0000)
                j += 1
            }
        }
        self.order = order
    }

    var count: Int { order.count }
    var keyParts: Int { new.keyParts }

    @inline(__always) private func side(_ k: Int) -> (isNew: Bool, i: Int) {
        let r = order[k]
        return (r & 0x8000_0000 != 0, Int(r & 0x7FFF_FFFF))
    }

    func keyHash(_ k: Int) -> UInt64 { let (n, i) = side(k); return n ? new.keyHash[i] : old!.keyHash[i] }
    func rowHash(_ k: Int) -> UInt64 { let (n, i) = side(k); return n ? new.rowHash[i] : old!.rowHash[i] }
    func rowLength(_ k: Int) -> UInt32 { let (n, i) = side(k); return n ? new.rowLength[i] : old!.rowLength[i] }
    func sourceKeyHash(_ k: Int) -> UInt64 {
        let (n, i) = side(k)
        return n ? new.sourceKeyHash[i] : old!.sourceKeyHash[i]
    }
    func inputHash(_ k: Int) -> UInt64 { let (n, i) = side(k); return n ? new.inputHash[i] : old!.inputHash[i] }

    func location(_ k: Int) -> UInt64 {
        let (n, i) = side(k)
        if n { return RowIndex.location(segment: own, offset: RowIndex.offset(of: new.location[i])) }
        if !relocated.isEmpty { return RowIndex.location(segment: own, offset: RowIndex.offset(of: relocated[i])) }
        let l = old!.location[i]
        return RowIndex.location(segment: ordinal[RowIndex.segment(of: l)]!, offset: RowIndex.offset(of: l))
    }

    func withKey<T>(_ k: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> T) rethrows -> T {
        let (n, i) = side(k)
        return n ? try new.withKey(i, body) : try old!.withKey(i, body)
    }
}
