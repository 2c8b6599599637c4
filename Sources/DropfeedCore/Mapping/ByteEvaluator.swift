/// `CompiledMapping.evaluate` on the bytes of a stored row: the same outcome, values, reasons
/// and lookup misses, without a `String` per value. The planner maps every export row of every
/// target on a first night, and most values are short ASCII that each step can answer from its
/// bytes; a step that cannot (a name outside ASCII through `lower`, a regex) runs its `String`
/// form on that one value and goes on with the bytes it returns.
///
/// It evaluates rows of a plain CSV source for a mapping without list operations, every-value
/// columns or OneRoster enrollments (`evaluatesBytes`); for others the caller runs `evaluate`
/// and hands its outcome to `take`, so that both are read the same way. One evaluator per
/// thread at a time: it owns the buffers it fills, and the copies it reads.
struct ByteEvaluator {
    enum Outcome {
        /// Filtered out by `where`.
        case skipped
        /// Passed `where` but could not be mapped (as `CompiledMapping.Outcome.rejected`).
        case rejected(key: [String]?, reason: String)
        /// Mapped: the values are read with `withValue`, `string`, `appendRow` and `keyBytes`
        /// until the next call.
        case row
    }

    // Everything the per-row loop reads is this evaluator's own: objects that two threads
    // retain and release at once (a shared pattern, set or array) cost more, in cache lines
    // passed between cores, than the mapping itself.

    /// A `where` condition, with its members as bytes when a byte comparison is exact.
    private final class Test {
        let position: Int
        let condition: Condition
        let isNotIn: Bool
        /// For `in`/`notIn`/`equals` with ASCII members only: the members (an ASCII value is
        /// equal to a `String` only byte for byte; others are compared as strings).
        let members: [[UInt8]]?

        init(position: Int, condition: Condition, members: [[UInt8]]?) {
            self.position = position
            self.condition = condition
            if case .notIn = condition.test { isNotIn = true } else { isNotIn = false }
            self.members = members
        }
    }

    /// One output column, with what its steps need as bytes.
    private final class Column {
        let name: String
        let start: Start
        let lookup: Int?
        let lookupBy: Int?
        /// For a plain lookup of one column through the key: the row each row's value names
        /// (as `SourceTable.lookupRowList`) and the looked-up column's values.
        let lookupRows: [Int32]?
        let lookupValues: ValueColumn?
        let map: [String: String]?
        /// The map's entries when every key is ASCII and there are few: compared as bytes.
        let mapEntries: [(key: [UInt8], value: [UInt8])]?
        let defaultValue: [UInt8]?
        let date: DateConversion?
        let steps: [Step]
        let guarded: Bool

        init(_ spec: CompiledMapping.CompiledColumn, table: SourceTable) {
            name = String(decoding: Array(spec.name.utf8), as: UTF8.self)
            switch spec.start {
            case .columns(let positions): start = .columns(positions.map { $0 })
            case .template(let pieces):
                start = .template(
                    pieces.map {
                        switch $0 {
                        case .text(let s): return .text(Array(s.utf8))
                        case .column(let p): return .column(p)
                        }
                    })
            case .constant(let v): start = .constant(Array(v.utf8))
            }
            lookup = spec.lookup
            lookupBy = spec.lookupBy
            if let target = spec.lookup, spec.lookupBy == nil, case .columns(let positions) = spec.start,
                positions.count == 1, let rows = table.lookupRowList(keyColumn: positions[0]),
                let values = table.lookupValueColumnIfKept(target)
            {
                lookupRows = rows
                lookupValues = values
            } else {
                lookupRows = nil
                lookupValues = nil
            }
            map = spec.map.map { Dictionary(uniqueKeysWithValues: $0.map { ($0.key, $0.value) }) }
            if let map = spec.map, map.count <= ByteEvaluator.maxByteMap, map.keys.allSatisfy(isASCII) {
                mapEntries = map.map { (Array($0.key.utf8), Array($0.value.utf8)) }
            } else {
                mapEntries = nil
            }
            defaultValue = spec.defaultValue.map { Array($0.utf8) }
            // Compiled again from what compiled once already (so it cannot fail): this thread's own copy.
            date = spec.date.map { try! DateConversion(from: $0.from, to: $0.to) }
            steps = spec.transforms.map(Step.init)
            guarded = spec.guarded
        }
    }

    private enum Start {
        case columns([Int])
        case template([Piece])
        case constant([UInt8])
    }

    private enum Piece {
        case text([UInt8])
        case column(Int)
    }

    private final class Step {
        let transform: Transform
        let isReplace: Bool
        /// For `replace`: the replacement's bytes and whether it is plain (no `$`, no `\`).
        let template: [UInt8]
        let plainTemplate: Bool

        init(_ transform: Transform) {
            if case .replace(let pattern, let with) = transform {
                self.transform = .replace(try! Pattern(pattern.source), with: with)
                isReplace = true
                template = Array(with.utf8)
                plainTemplate = !template.contains { $0 == UInt8(ascii: "$") || $0 == UInt8(ascii: "\\") }
            } else {
                self.transform = transform
                isReplace = false
                template = []
                plainTemplate = false
            }
        }
    }

    private let compiled: CompiledMapping
    private let table: SourceTable
    private let tests: [Test]
    private let columns: [Column]
    private let keyPositions: [Int]
    private let required: [Int]
    private let singleByteEncoding: TextEncoding?

    /// The current row's fields: where each starts in the row's bytes, and its length.
    private var fieldStart: [Int] = []
    private var fieldCount: [Int] = []
    /// The value being computed, and the buffer a step writes into.
    private var current: [UInt8] = []
    private var scratch: [UInt8] = []
    /// The finished values of the row, one after another; `ends[k]` is where value `k` ends.
    private var values: [UInt8] = []
    private var ends: [Int] = []

    /// Most maps in mappings are a handful of codes; a long one is looked up as a dictionary.
    private static let maxByteMap = 32

    /// Whether `evaluate` can map this mapping's rows (else only `take` may be called).
    let evaluatesBytes: Bool

    init(_ compiled: CompiledMapping, table: SourceTable) {
        evaluatesBytes =
            table.format == .csv && !compiled.multiValued && compiled.enrollments == nil
            && compiled.columns.allSatisfy({ $0.list == nil && !$0.keepsEveryValue })
        self.compiled = compiled
        self.table = table
        func asciiMembers(_ strings: some Collection<String>) -> [[UInt8]]? {
            guard strings.count <= ByteEvaluator.maxByteMap, strings.allSatisfy(isASCII) else { return nil }
            return strings.map { Array($0.utf8) }
        }
        // Nothing to copy for a mapping only `take` serves.
        let conditions = evaluatesBytes ? compiled.conditions : []
        tests = conditions.map { position, condition in
            let members: [[UInt8]]?
            var copy = condition
            switch condition.test {
            case .isIn(let set):
                members = asciiMembers(set)
                copy.test = .isIn(Set(set.map { $0 }))
            case .notIn(let set):
                members = asciiMembers(set)
                copy.test = .notIn(Set(set.map { $0 }))
            case .equals(let expected): members = asciiMembers([expected])
            case .matches(let pattern):
                members = nil
                copy.test = .matches(try! Pattern(pattern.source))
            case .notEmpty: members = nil
            }
            return Test(position: position, condition: copy, members: members)
        }
        columns = evaluatesBytes ? compiled.columns.map { Column($0, table: table) } : []
        keyPositions = compiled.keyPositions.map { $0 }
        required = compiled.required.map { $0 }
        let encoding = compiled.mapping.output.dialect.encoding
        singleByteEncoding = encoding == .windows1252 || encoding == .iso88591 ? encoding : nil
    }

    // MARK: Reading the result

    /// The bytes of output value `k` of the last row mapped.
    func withValue<T>(_ k: Int, _ body: (UnsafeBufferPointer<UInt8>) -> T) -> T {
        values.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[(k == 0 ? 0 : ends[k - 1])..<ends[k]])) }
    }

    /// Output value `k` of the last row mapped, as a string.
    func string(_ k: Int) -> String { withValue(k) { String(decoding: $0, as: UTF8.self) } }

    /// Appends the last row mapped to `rows` as encoded fields (as `appendField` of each value).
    func appendRow(to rows: inout [UInt8]) {
        for k in ends.indices { withValue(k) { rows.appendField($0) } }
    }

    /// The last row's key in `RowIndex.keyBytes` form.
    func keyBytes() -> [UInt8] {
        let positions = keyPositions
        if positions.count == 1 { return withValue(positions[0]) { Array($0) } }
        var out: [UInt8] = []
        for p in positions { withValue(p) { out.appendField($0) } }
        return out
    }

    /// The last row's key values.
    func keyStrings() -> [String] { keyPositions.map { string($0) } }

    // MARK: Mapping

    /// `outcome` (of `CompiledMapping.evaluate`) as this evaluator's, a row's values loaded as
    /// the last row mapped.
    mutating func take(_ outcome: CompiledMapping.Outcome) -> Outcome {
        switch outcome {
        case .skipped: return .skipped
        case .rejected(let key, let reason): return .rejected(key: key, reason: reason)
        case .row(let row):
            values.removeAll(keepingCapacity: true)
            ends.removeAll(keepingCapacity: true)
            for value in row {
                values.append(contentsOf: value.utf8)
                ends.append(values.count)
            }
            return .row
        }
    }

    /// Maps one stored row (its encoded kept values), appending the lookups that found nothing
    /// to `misses`, as `CompiledMapping.evaluate` does.
    mutating func evaluate(_ row: SourceTable.RowValues, at rowNumber: Int, misses: inout [LookupMiss]) -> Outcome {
        precondition(evaluatesBytes, "ByteEvaluator.evaluate on a mapping it cannot run")
        fieldStart.removeAll(keepingCapacity: true)
        fieldCount.removeAll(keepingCapacity: true)
        var cursor = FieldCursor(row.bytes, from: row.start, to: row.end)
        let base = row.bytes.baseAddress
        while let field = cursor.next() {
            fieldStart.append(field.baseAddress.map { $0 - base! } ?? 0)
            fieldCount.append(field.count)
        }
        let bytes = row.bytes
        for test in tests where !holds(test, field(test.position, of: bytes)) { return .skipped }
        values.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
        var failure: String?
        for column in columns {
            current.removeAll(keepingCapacity: true)
            switch column.start {
            case .columns(let positions):
                if let p = positions.first(where: { fieldCount.indices.contains($0) && fieldCount[$0] > 0 }) {
                    current.append(contentsOf: field(p, of: bytes))
                }
            case .template(let pieces):
                for piece in pieces {
                    switch piece {
                    case .text(let text): current.append(contentsOf: text)
                    case .column(let p): current.append(contentsOf: field(p, of: bytes))
                    }
                }
            case .constant(let text):
                current.append(contentsOf: text)
            }
            if let target = column.lookup, !current.isEmpty {
                lookUp(column, target, row: rowNumber, misses: &misses)
            } else if column.lookup != nil {
                current.removeAll(keepingCapacity: true)
            }
            finish(column, failure: &failure)
            values.append(contentsOf: current)
            ends.append(values.count)
        }
        if failure == nil, let encoding = singleByteEncoding {
            for k in ends.indices where !withValue(k, { ByteEvaluator.representable($0, in: encoding) }) {
                failure =
                    "`\(columns[k].name)`: `\(string(k))` cannot be written in \(encoding.rawValue) (add the ascii transform)"
                break
            }
        }
        if let failure { return .rejected(key: rejectedKey(), reason: failure) }
        for position in required where isEmpty(position) {
            return .rejected(key: rejectedKey(), reason: "required column `\(compiled.mapping.columns[position].name)` is empty")
        }
        if let k = keyPositions.first(where: { isEmpty($0) }) {
            return .rejected(key: nil, reason: "key column `\(compiled.mapping.columns[k].name)` is empty")
        }
        return .row
    }

    /// Field `p` of the current row (empty when the row has fewer).
    @inline(__always)
    private func field(_ p: Int, of bytes: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        p < fieldStart.count
            ? UnsafeBufferPointer(rebasing: bytes[fieldStart[p]..<(fieldStart[p] + fieldCount[p])])
            : UnsafeBufferPointer(start: nil, count: 0)
    }

    /// The key of a rejected row, or nil when a part of it is empty.
    private func rejectedKey() -> [String]? {
        let key = keyStrings()
        return key.contains("") ? nil : key
    }

    private func isEmpty(_ k: Int) -> Bool { ends[k] == (k == 0 ? 0 : ends[k - 1]) }

    /// Whether `test` holds for a field.
    private func holds(_ test: Test, _ value: UnsafeBufferPointer<UInt8>) -> Bool {
        if let members = test.members, isASCII(value) {
            return members.contains { $0.elementsEqual(value) } != test.isNotIn
        }
        switch test.condition.test {
        case .notEmpty(let wanted): return value.isEmpty != wanted
        case .matches(let pattern):
            if let answer = pattern.matches(utf8: value) { return answer }
        case .isIn, .notIn, .equals: break
        }
        return test.condition.holds(String(decoding: value, as: UTF8.self))
    }

    /// `current` replaced by what the lookup finds for it (empty, and a miss, when nothing).
    private mutating func lookUp(_ column: Column, _ target: Int, row: Int, misses: inout [LookupMiss]) {
        var found = false
        if let rows = column.lookupRows, let values = column.lookupValues {
            // `current` is this row's value of the key column, whose row the table found already.
            let other = rows[row]
            if other >= 0 {
                current.removeAll(keepingCapacity: true)
                values.withBytes(Int(other)) { current.append(contentsOf: $0) }
                found = true
            }
        } else if column.lookupBy == nil {
            let table = self.table
            found = rewrite { key, out in table.withLookup(key, column: target) { out.append(contentsOf: $0) } != nil }
        } else if let value = table.lookup(String(decoding: current, as: UTF8.self), column: target, by: column.lookupBy) {
            found = true
            replaceCurrent(with: value)
        }
        if !found {
            misses.append(LookupMiss(column: column.name, value: String(decoding: current, as: UTF8.self)))
            current.removeAll(keepingCapacity: true)
        }
    }

    /// `current` through the column's `map`/`default`, `date`, `transform` steps and the formula
    /// guard (as `CompiledMapping.finish`).
    private mutating func finish(_ column: Column, failure: inout String?) {
        if let map = column.map {
            if let entries = column.mapEntries, isASCII(current) {
                if let entry = entries.first(where: { $0.key == current }) {
                    current = entry.value
                } else if let d = column.defaultValue {
                    current = d
                }
            } else if let mapped = map[String(decoding: current, as: UTF8.self)] {
                replaceCurrent(with: mapped)
            } else if let d = column.defaultValue {
                current = d
            }
        } else if current.isEmpty, let d = column.defaultValue {
            current = d
        }
        if let date = column.date {
            if !rewrite({ date.convert(utf8: $0, into: &$1) }) && failure == nil {
                failure = "`\(column.name)`: `\(String(decoding: current, as: UTF8.self))` is not a date like \(date.from)"
            }
        }
        for step in column.steps { apply(step) }
        if column.guarded, let first = current.first, startsFormula(first) { current.insert(UInt8(ascii: "'"), at: 0) }
    }

    /// One transform step on `current`: from its bytes when that is exact, else through `apply`.
    private mutating func apply(_ step: Step) {
        // Every step but a replace (whose pattern may match the empty value) keeps "" as it is.
        if current.isEmpty && !step.isReplace { return }
        let ascii = isASCII(current)
        switch step.transform {
        case .trim:
            let range = current.withUnsafeBufferPointer { trimmedRange(utf8: $0) }
            if let range {
                if range.upperBound < current.count { current.removeLast(current.count - range.upperBound) }
                if range.lowerBound > 0 { current.removeFirst(range.lowerBound) }
                return
            }
        case .lower where ascii:
            for i in current.indices where current[i] >= 0x41 && current[i] <= 0x5A { current[i] |= 0x20 }
            return
        case .upper where ascii:
            for i in current.indices where current[i] >= 0x61 && current[i] <= 0x7A { current[i] &= ~0x20 }
            return
        case .ascii where ascii:
            return
        case .ascii:
            if rewrite({ asciiFolded(utf8: $0, into: &$1) }) { return }
        case .truncate(let n) where current.count <= n:
            return
        case .truncate(let n):
            if let length = current.withUnsafeBufferPointer({ truncatedLength(utf8: $0, to: n) }) {
                current.removeLast(current.count - length)
                return
            }
        case .replace(let pattern, _):
            if rewrite({ pattern.replacing(utf8: $0, with: step.template, plain: step.plainTemplate, into: &$1) }) {
                return
            }
        default:
            break
        }
        replaceCurrent(with: DropfeedCore.apply(step.transform, to: String(decoding: current, as: UTF8.self)))
    }

    /// Calls `body` with `current`'s bytes and an empty buffer to write into; when it returns
    /// true, what it wrote becomes `current`.
    private mutating func rewrite(_ body: (UnsafeBufferPointer<UInt8>, inout [UInt8]) -> Bool) -> Bool {
        var out: [UInt8] = []
        swap(&out, &scratch)
        out.removeAll(keepingCapacity: true)
        let done = current.withUnsafeBufferPointer { body($0, &out) }
        if done { swap(&current, &out) }
        swap(&out, &scratch)
        return done
    }

    private mutating func replaceCurrent(with value: String) {
        current.removeAll(keepingCapacity: true)
        current.append(contentsOf: value.utf8)
    }

    private static func representable(_ value: UnsafeBufferPointer<UInt8>, in encoding: TextEncoding) -> Bool {
        isASCII(value) || isRepresentable(String(decoding: value, as: UTF8.self), in: encoding)
    }
}

@inline(__always)
private func isASCII(_ bytes: some Sequence<UInt8>) -> Bool { bytes.allSatisfy { $0 < 0x80 } }

private func isASCII(_ string: String) -> Bool { isASCII(string.utf8) }
