extension CSVDiff {
    /// The JSON `csv-diff --json` prints — `added`, `removed`, `changed`, `columns_added`,
    /// `columns_removed`; `key` is a string, or an array for a composite key — with four-space
    /// indents, written straight into bytes: a diff of a million rows can hold hundreds of
    /// thousands of rows.
    public var jsonBytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(1 << 16)
        func newline(_ level: Int) {
            out.append(0x0A)
            out.append(contentsOf: repeatElement(0x20, count: 4 * level))
        }
        func keyBytes(_ header: [String]) -> [[UInt8]] {
            header.map { name in
                var b: [UInt8] = []
                JSON.appendString(name, into: &b)
                return b + Array(": ".utf8)
            }
        }
        func list<T>(_ name: String, _ items: [T], last: Bool = false, _ item: (T) -> Void) {
            newline(1)
            JSON.appendString(name, into: &out)
            out.append(contentsOf: Array(": ".utf8))
            if items.isEmpty {
                out.append(contentsOf: Array("[]".utf8))
            } else {
                out.append(UInt8(ascii: "["))
                for (k, element) in items.enumerated() {
                    if k > 0 { out.append(UInt8(ascii: ",")) }
                    newline(2)
                    item(element)
                }
                newline(1)
                out.append(UInt8(ascii: "]"))
            }
            if !last { out.append(UInt8(ascii: ",")) }
        }
        func rowObject(_ keys: [[UInt8]], _ row: [String]) {
            out.append(UInt8(ascii: "{"))
            for (k, value) in row.enumerated() {
                if k > 0 { out.append(UInt8(ascii: ",")) }
                newline(3)
                out.append(contentsOf: keys[k])
                JSON.appendString(value, into: &out)
            }
            newline(2)
            out.append(UInt8(ascii: "}"))
        }
        let newKeys = keyBytes(newHeader)
        let oldKeys = keyBytes(oldHeader)
        out.append(UInt8(ascii: "{"))
        list("added", added) { rowObject(newKeys, $0) }
        list("removed", removed) { rowObject(oldKeys, $0) }
        list("changed", changed) { change in
            out.append(UInt8(ascii: "{"))
            newline(3)
            out.append(contentsOf: Array("\"key\": ".utf8))
            if change.key.count == 1 {
                JSON.appendString(change.key[0], into: &out)
            } else {
                out.append(UInt8(ascii: "["))
                for (k, part) in change.key.enumerated() {
                    if k > 0 { out.append(UInt8(ascii: ",")) }
                    newline(4)
                    JSON.appendString(part, into: &out)
                }
                newline(3)
                out.append(UInt8(ascii: "]"))
            }
            out.append(UInt8(ascii: ","))
            newline(3)
            out.append(contentsOf: Array("\"changes\": {".utf8))
            for (k, column) in change.changes.enumerated() {
                if k > 0 { out.append(UInt8(ascii: ",")) }
                newline(4)
                JSON.appendString(column.name, into: &out)
                out.append(contentsOf: Array(": [".utf8))
                newline(5)
                JSON.appendString(column.old, into: &out)
                out.append(UInt8(ascii: ","))
                newline(5)
                JSON.appendString(column.new, into: &out)
                newline(4)
                out.append(UInt8(ascii: "]"))
            }
            newline(3)
            out.append(UInt8(ascii: "}"))
            newline(2)
            out.append(UInt8(ascii: "}"))
        }
        list("columns_added", columnsAdded) { JSON.appendString($0, into: &out) }
        list("columns_removed", columnsRemoved, last: true) { JSON.appendString($0, into: &out) }
        out.append(0x0A)
        out.append(UInt8(ascii: "}"))
        out.append(0x0A)
        return out
    }

    /// A one-line count of what differs, such as `2 rows added, 1 row removed, 3 rows changed`.
    public var summary: String {
        var parts: [String] = []
        func count(_ n: Int, _ noun: String, _ verb: String) {
            if n > 0 { parts.append("\(n) \(noun)\(n == 1 ? "" : "s") \(verb)") }
        }
        count(columnsAdded.count, "column", "added")
        count(columnsRemoved.count, "column", "removed")
        count(added.count, "row", "added")
        count(removed.count, "row", "removed")
        count(changed.count, "row", "changed")
        return parts.isEmpty ? "no differences" : parts.joined(separator: ", ")
    }

    /// The readable report: the summary, then every difference, field by field.
    public var text: String {
        var lines = [
            "\(summary) (\(oldRows) → \(newRows) rows, \(unchanged) unchanged, key: \(keyColumns.joined(separator: ", ")))"
        ]
        let quoted = { (s: String) in JSON.string(s).rendered(indent: nil) }
        let keyLabel = { (key: [String]) in
            zip(self.keyColumns, key).map { "\($0) \(quoted($1))" }.joined(separator: ", ")
        }
        if !columnsAdded.isEmpty { lines += ["", "columns added: " + columnsAdded.joined(separator: ", ")] }
        if !columnsRemoved.isEmpty { lines += ["", "columns removed: " + columnsRemoved.joined(separator: ", ")] }
        let section = { (title: String, rows: [[String]], header: [String], sign: String) in
            guard !rows.isEmpty else { return }
            lines += ["", "\(rows.count) \(title)"]
            let keyPositions = self.keyColumns.map { header.firstIndex(of: $0)! }
            for row in rows {
                lines.append("  \(sign) \(keyLabel(keyPositions.map { row[$0] }))")
                for (name, value) in zip(header, row) where !self.keyColumns.contains(name) {
                    lines.append("      \(name): \(quoted(value))")
                }
            }
        }
        section(added.count == 1 ? "row added" : "rows added", added, newHeader, "+")
        section(removed.count == 1 ? "row removed" : "rows removed", removed, oldHeader, "-")
        if !changed.isEmpty {
            lines += ["", "\(changed.count) row\(changed.count == 1 ? "" : "s") changed"]
            for change in changed {
                lines.append("  ~ \(keyLabel(change.key))")
                for column in change.changes {
                    lines.append("      \(column.name): \(quoted(column.old)) => \(quoted(column.new))")
                }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
