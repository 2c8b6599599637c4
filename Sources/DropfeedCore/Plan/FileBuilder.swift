import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A data row of a delta file: its action and values.
struct DeltaRow {
    enum Action { case add, update, delete }
    var action: Action
    var values: [String]
    /// The key values, for ordering the file.
    var key: [String]

    init(action: Action, values: [String], keyPositions: [Int]) {
        self.action = action
        self.values = values
        key = keyPositions.map { values[$0] }
    }
}

/// Writes a target's files (data files, `.sha256` sidecars, trigger files) into a folder.
struct FileBuilder {
    let target: String
    let output: OutputSpec
    let columns: [String]
    let clock: RunClock
    let seq: Int
    let folder: String

    /// The file name for `kind` (`full` or `delta`) from the output template.
    func fileName(kind: String) throws -> String {
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
            throw StateError("output.file `\(output.fileTemplate)` gives `\(name)`, which is not a plain file name")
        }
        return name
    }

    /// Writes a full file of `rows` (already in key order).
    func writeFull(rowCount: Int, rows: (Int) -> [String]) throws -> [FileRecord] {
        let name = try fileName(kind: "full")
        let record = try write(name: name, kind: "full", header: columns, rowCount: rowCount, row: rows)
        return try withSidecars(record)
    }

    /// Writes a delta file; the action column (when configured) comes first.
    func writeDelta(_ rows: [DeltaRow]) throws -> [FileRecord] {
        try writeDelta(rowCount: rows.count) { (rows[$0].action, rows[$0].values) }
    }

    /// Writes a delta file of `rowCount` rows (in key order), each made when it is written.
    func writeDelta(rowCount: Int, row: (Int) -> (DeltaRow.Action, [String])) throws -> [FileRecord] {
        let name = try fileName(kind: "delta")
        let action = output.action
        let header = (action.map { [$0.column] } ?? []) + columns
        let record = try write(name: name, kind: "delta", header: header, rowCount: rowCount) { i in
            let (kind, values) = row(i)
            guard let action else { return values }
            let label: String
            switch kind {
            case .add: label = action.add
            case .update: label = action.update
            case .delete: label = action.delete
            }
            return [label] + values
        }
        return try withSidecars(record)
    }

    private func withSidecars(_ data: FileRecord) throws -> [FileRecord] {
        var out = [data]
        if output.checksum {
            let bytes = Array("\(data.sha256)  \(data.name)\n".utf8)
            let name = data.name + ".sha256"
            try FileSystem.writeAtomically(folder + "/" + name, bytes, mode: 0o600)
            out.append(FileRecord(name: name, kind: "checksum", rows: 0, bytes: bytes.count, sha256: SHA256.hex(bytes)))
        }
        if let trigger = output.trigger {
            let name = data.name + trigger
            try FileSystem.writeAtomically(folder + "/" + name, [], mode: 0o600)
            out.append(FileRecord(name: name, kind: "trigger", rows: 0, bytes: 0, sha256: SHA256.hex([UInt8]())))
        }
        return out
    }

    /// Streams a CSV file to disk in the target's dialect, hashing it on the way.
    private func write(
        name: String, kind: String, header: [String], rowCount: Int,
        row: (Int) -> [String]
    ) throws -> FileRecord {
        let path = folder + "/" + name
        let fd = try FileSystem.createNew(path)
        defer { close(fd) }
        var writer = CSVWriter(options: output.dialect)
        var hasher = SHA256()
        var size = 0
        func flush() throws {
            let bytes = writer.takeBytes()
            bytes.withUnsafeBytes { hasher.update($0) }
            size += bytes.count
            try FileSystem.writeAll(fd, bytes, path: path)
        }
        do {
            if output.dialect.header { try writer.write(header) }
            for i in 0..<rowCount {
                try writer.write(row(i))
                if writer.bytes.count >= 1 << 20 { try flush() }
            }
        } catch let error as EncodingError {
            throw DataError("target `\(target)`: \(error) (output.encoding)")
        }
        try flush()
        guard fsync(fd) == 0 else { throw StateError("cannot sync \(path): \(FileSystem.errnoText())") }
        return FileRecord(name: name, kind: kind, rows: rowCount, bytes: size, sha256: hexString(hasher.finalize()))
    }
}
