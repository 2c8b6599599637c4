import Foundation

/// `dropfeed state export TARGET`: the rows a vendor currently has (the snapshot in force), in
/// key order, as CSV in the target's dialect or as JSON Lines.
public enum SnapshotExport {
    public enum Format: Sendable { case csv, json }

    /// Streams the snapshot's rows to `write` in chunks; returns how many rows there were, or
    /// nil when the target has no snapshot.
    public static func export(
        target: TargetConfig, stateDir: String, format: Format, write: ([UInt8]) throws -> Void
    ) throws -> Int? {
        let state = TargetState(stateDir: stateDir, target: target.name)
        let scratch = try FileSystem.makeTemporaryFolder(prefix: "dropfeed-export-")
        defer { try? FileSystem.remove(scratch) }
        guard let snapshot = try state.loadCurrent(spoolFolder: scratch) else { return nil }
        let index = snapshot.index
        let order = (0..<index.count).sorted { a, b in
            index.withKey(a) { x in index.withKey(b) { y in RowIndex.keyLess(x, y, parts: index.keyParts) } }
        }
        let reader = snapshot.rowReader()
        let columns = snapshot.meta.columns
        switch format {
        case .csv:
            var dialect = target.mapping.output.dialect
            dialect.header = true
            var writer = CSVWriter(options: dialect)
            try writer.write(columns)
            for i in order {
                try writer.write(try snapshot.values(i, reader))
                if writer.bytes.count >= 1 << 20 { try write(writer.takeBytes()) }
            }
            try write(writer.takeBytes())
        case .json:
            var out: [UInt8] = []
            for i in order {
                let values = try snapshot.values(i, reader)
                out += Array(JSON.object(zip(columns, values).map { ($0, .string($1)) }).rendered(indent: nil).utf8) + [0x0A]
                if out.count >= 1 << 20 {
                    try write(out)
                    out.removeAll(keepingCapacity: true)
                }
            }
            try write(out)
        }
        return order.count
    }
}
