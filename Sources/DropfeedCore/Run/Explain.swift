/// `plan --explain TARGET KEY`: one row's story — where it comes from in the export, its values
/// as last delivered and as they would be sent, and which source columns make the difference.
struct Explanation {
    let plan: TargetPlan
    let table: SourceTable

    func text(key given: [String]) throws -> String {
        let mapping = plan.target.mapping
        // A one-column key may itself hold commas.
        let key = mapping.key.count == 1 && given.count > 1 ? [given.joined(separator: ",")] : given
        guard key.count == mapping.key.count else {
            throw RequestError(
                "target `\(plan.target.name)` has a key of \(mapping.key.count) column(s) (\(mapping.key.joined(separator: ", "))); give the values separated by commas"
            )
        }
        let bytes = RowIndex.keyBytes(key)
        let hash = RowIndex.keyHash(key)
        func find(_ index: RowIndex?) -> Int? {
            guard let index else { return nil }
            return (0..<index.count).first { i in index.keyHash[i] == hash && index.withKey(i) { $0.elementsEqual(bytes) } }
        }
        let newPosition = find(plan.mapped)
        let oldPosition = find(plan.previous?.index)
        let rows = FileWriter.Rows(plan)
        let shown = key.joined(separator: ", ")
        var lines: [String] = []
        let compiled = CompiledMapping(mapping, table: table)

        // Where the row comes from in the export.
        var sourceRow: Int?
        if let j = newPosition {
            sourceRow = table.row(forKeyHash: plan.mapped.sourceKeyHash[j])
        } else if let i = oldPosition, let old = plan.previous {
            sourceRow = table.row(forKeyHash: old.index.sourceKeyHash[i])
        }
        let before = try oldPosition.map { try rows.previous($0) }
        let after: [String]? = try newPosition.map { try rows.mapped($0) } ?? {
            // A kept row (reused or carried): its values are the delivered ones.
            if let i = oldPosition, plan.kept[i] { return before }
            return nil
        }()

        // A source row that maps to nothing this time: skipped by a condition, or rejected.
        var notSent: String?
        if newPosition == nil, let sourceRow {
            let values = table.strings(row: sourceRow)
            var misses: [LookupMiss] = []
            if let why = compiled.failedCondition(values) {
                notSent = "not sent: \(why)"
            } else if case .rejected(_, let reason) = compiled.evaluate(
                values, lookup: { table.lookup($0, column: $1, by: $2) }, misses: &misses)
            {
                notSent = "rejected: \(reason)"
            }
        }

        let verdict: String
        switch (before, after) {
        case (nil, nil): verdict = notSent == nil ? "not in this plan and not delivered before" : "not sent"
        case (nil, .some): verdict = "add (not delivered before)"
        case (.some, nil):
            if let i = oldPosition, plan.sentDeletes.contains(i) || plan.deletes.contains(i) {
                verdict = plan.outcome.heldDeletes > 0 || plan.outcome.status == .held ? "delete (held by a gate)" : "delete"
            } else {
                verdict = "delete"
            }
        case (.some(let b), .some(let a)):
            if newPosition == nil, notSent?.hasPrefix("rejected") == true {
                verdict = "unchanged (kept as last delivered: its source row is rejected, so it is not deleted)"
            } else {
                verdict = a == b ? "unchanged" : "update"
            }
        }
        lines.append("\(plan.target.name) \(shown): \(verdict)")
        if let sourceRow {
            let source = table.keyValues(sourceRow).joined(separator: ", ")
            lines.append("  source: line \(table.line(of: sourceRow)) (\(table.keyColumns.joined(separator: ", ")) \(source))")
            if let notSent { lines.append("  " + notSent) }
        } else if before != nil {
            lines.append("  source: no export row gives this key any more")
        }
        if let last = plan.previous?.meta, before != nil {
            lines.append("  last delivered: run \(last.runId) at \(last.time)")
        }
        // The values, column by column, with what each is made from.
        let names = mapping.columnNames
        let width = max(6, names.map(\.count).max() ?? 0)
        for (c, name) in names.enumerated() {
            let b = before?[c]
            let a = after?[c]
            let pad = name.padding(toLength: width, withPad: " ", startingAt: 0)
            let value: String
            switch (b, a) {
            case (let b?, let a?) where a == b: value = "\(quoted(a))"
            case (let b?, let a?): value = "\(quoted(b)) → \(quoted(a))"
            case (nil, let a?): value = "→ \(quoted(a))"
            case (let b?, nil): value = "\(quoted(b)) →"
            default: value = ""
            }
            var line = "  \(pad)  \(value)"
            if b != a, let origin = origin(of: mapping.columns[c], sourceRow: sourceRow) { line += "   (\(origin))" }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }

    private func quoted(_ s: String) -> String { "`" + escapedForMessage(s) + "`" }

    /// What a column is made from, with the export's current values.
    private func origin(of column: ColumnSpec, sourceRow: Int?) -> String? {
        let values = sourceRow.map { table.strings(row: $0) }
        func current(_ name: String) -> String {
            guard let values, let k = table.columnIndex[name] else { return "`\(name)`" }
            return "`\(name)` = \(quoted(values[k]))"
        }
        var parts: [String]
        switch column.source {
        case .from(let names): parts = names.map(current)
        case .template(let t): parts = t.placeholders.map(current)
        case .value(let v): return "the constant \(quoted(v))"
        }
        if let lookup = column.lookup { parts.append("looked up: `\(lookup)` of the row it names") }
        return parts.isEmpty ? nil : "from " + parts.joined(separator: ", ")
    }
}

/// `value` with control characters escaped (`\0`, `\x1b`), for quoting in messages.
func escapedForMessage(_ value: String) -> String {
    var out = ""
    for scalar in value.unicodeScalars {
        switch scalar.value {
        case 0: out += "\\0"
        case 0x09: out += "\\t"
        case 0x0A: out += "\\n"
        case 0x0D: out += "\\r"
        case 0x01..<0x20, 0x7F:
            let hex = String(scalar.value, radix: 16)
            out += "\\x" + (hex.count < 2 ? "0" : "") + hex
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out
}

/// A request the core cannot make sense of (exit 64), such as a key with the wrong number of values.
public struct RequestError: CodedError {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var exitCode: ExitCode { .usage }
    public var description: String { message }
}
