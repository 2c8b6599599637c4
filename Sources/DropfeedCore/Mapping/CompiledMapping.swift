import Foundation

/// A mapping bound to the source header: column names resolved to positions, ready to run.
struct CompiledMapping: @unchecked Sendable {
    let mapping: Mapping
    let conditions: [(Int, Condition)]
    let columns: [CompiledColumn]
    let keyPositions: [Int]
    let required: [Int]
    /// For each lookup, the kept column holding its key and the column it reads; nil when a
    /// lookup's key is not a single column (then rows are always mapped afresh).
    private let lookupSources: [(key: Int, target: Int)]?
    /// Whether a field can hold several values (a source other than CSV).
    let multiValued: Bool
    /// A plain reference to several values: joined with this text (csvde: `;`, as exported), or
    /// nil to reject the row (LDIF, SCIM), naming `join`, `first` and `index`.
    private let plainJoin: String?
    /// OneRoster enrollments, whose values a row is checked for.
    let enrollments: EnrollmentSpec?

    enum Outcome {
        /// Filtered out by `where`.
        case skipped
        /// Passed `where` but could not be mapped; `key` when the output key could be computed.
        case rejected(key: [String]?, reason: String)
        case row([String])
    }

    enum Start {
        case columns([Int])
        case template([TemplatePiece])
        case constant(String)
    }

    enum TemplatePiece {
        case text(String)
        case column(Int)
    }

    /// One output column, bound and flattened: a class, so the per-row loop retains one
    /// reference instead of copying every setting.
    final class CompiledColumn {
        let name: String
        let start: Start
        let lookup: Int?
        let lookupBy: Int?
        /// Nil when the column has no list operations.
        let list: ValueListOps?
        let map: [String: String]?
        let defaultValue: String?
        let date: DateConversion?
        let transforms: [Transform]
        /// The formula guard applies to this column.
        let guarded: Bool
        let keepsEveryValue: Bool

        init(spec: ColumnSpec, start: Start, lookup: Int?, lookupBy: Int?, output: OutputSpec) {
            name = spec.name
            self.start = start
            self.lookup = lookup
            self.lookupBy = lookupBy
            list = spec.list.isEmpty ? nil : spec.list
            map = spec.map
            defaultValue = spec.defaultValue
            date = spec.date
            transforms = spec.transforms
            let except = output.formulaGuardExcept
            guarded = output.formulaGuard && (except.isEmpty || !except.contains(spec.name))
            keepsEveryValue = spec.keepsEveryValue
        }
    }

    /// The source columns whose values `lookup`s return (kept in memory by `SourceTable`).
    static func lookupTargets(of mapping: Mapping) -> Set<String> {
        Set(mapping.columns.compactMap(\.lookup))
    }

    /// The source columns a `lookupBy` matches values against.
    static func lookupByColumns(of mapping: Mapping) -> Set<String> {
        Set(mapping.columns.compactMap(\.lookupBy))
    }

    /// The source columns whose value a `lookup` looks up (when it is one column as it is).
    static func lookupKeys(of mapping: Mapping) -> Set<String> {
        var out = Set<String>()
        for column in mapping.columns where column.lookup != nil {
            if case .from(let names) = column.source, names.count == 1 { out.insert(names[0]) }
        }
        return out
    }

    /// The source columns `mapping` reads (for `SourceTable`'s `needed`).
    static func sourceColumns(of mapping: Mapping) -> Set<String> {
        var names = Set(mapping.conditions.map(\.column))
        for column in mapping.columns {
            switch column.source {
            case .from(let list): names.formUnion(list)
            case .template(let t): names.formUnion(t.placeholders)
            case .value: break
            }
            if let lookup = column.lookup { names.insert(lookup) }
            if let by = column.lookupBy { names.insert(by) }
        }
        return names
    }

    /// Problems binding `mapping` to a source `header` (unknown columns, lookups on a composite key).
    /// `multiValued` (source column → the line of a record where it has several values) adds a
    /// problem for each column reading such a source column plainly, without `join`, `first`,
    /// `index` or `where`.
    static func problems(
        _ mapping: Mapping, header: [String], sourceKey: [String], multiValued: [String: Int] = [:]
    ) -> [ConfigProblem] {
        var out: [ConfigProblem] = []
        func check(_ name: String, _ path: String) {
            if !header.contains(name) {
                out.append(
                    ConfigProblem(
                        file: mapping.file, path: path,
                        message: "no source column `\(name)`" + suggestion(for: name, in: header)))
            }
        }
        for (k, c) in mapping.conditions.enumerated() { check(c.column, "where[\(k)].column") }
        for (k, column) in mapping.columns.enumerated() {
            let at = column.path ?? "columns[\(k)]"
            switch column.source {
            case .from(let list):
                for (j, name) in list.enumerated() {
                    check(name, list.count == 1 ? "\(at).from" : "\(at).from[\(j)]")
                }
            case .template(let t):
                for name in t.placeholders { check(name, "\(at).template") }
            case .value: break
            }
            if column.list.pick == nil && column.list.filter == nil && !column.keepsEveryValue {
                var plain: [String] = []
                switch column.source {
                case .from(let list): plain = list
                case .template(let t): plain = t.placeholders
                case .value: break
                }
                if let name = plain.first(where: { multiValued[$0] != nil }) {
                    out.append(
                        ConfigProblem(
                            file: mapping.file, path: at,
                            message:
                                "`\(name)` has several values (as in the record at line \(multiValued[name]!) of the "
                                + "source): say which with join, first, index or where"))
                }
            }
            if let by = column.lookupBy { check(by, "\(at).lookupBy") }
            if let lookup = column.lookup {
                check(lookup, "\(at).lookup")
                if sourceKey.count != 1 && column.lookupBy == nil {
                    out.append(
                        ConfigProblem(
                            file: mapping.file, path: "\(at).lookup",
                            message: "lookup needs a single-column source key"))
                }
            }
        }
        return out
    }

    /// Binds `mapping` to the table's kept columns; call `problems` first.
    init(_ mapping: Mapping, table: SourceTable) {
        self.mapping = mapping
        let position = { (name: String) in table.columnIndex[name]! }
        conditions = mapping.conditions.map { (position($0.column), $0) }
        columns = mapping.columns.map { spec in
            let start: Start
            switch spec.source {
            case .from(let names): start = .columns(names.map(position))
            case .template(let t):
                start = .template(
                    t.parts.map {
                        switch $0 {
                        case .text(let s): return .text(s)
                        case .placeholder(let name): return .column(position(name))
                        }
                    })
            case .value(let v): start = .constant(v)
            }
            return CompiledColumn(
                spec: spec, start: start, lookup: spec.lookup.map(position), lookupBy: spec.lookupBy.map(position),
                output: mapping.output)
        }
        enrollments = mapping.output.oneRoster?.enrollments
        multiValued = table.format.isMultiValued
        plainJoin = table.format == .csvde ? ";" : nil
        var sources: [(key: Int, target: Int)]? = []
        for column in columns where column.lookup != nil {
            // What a lookup finds is hashed per row only for a plain lookup of one CSV column
            // through the key; other rows are mapped afresh every run.
            if case .columns(let positions) = column.start, positions.count == 1, !multiValued,
                column.lookupBy == nil, column.list == nil
            {
                sources?.append((positions[0], column.lookup!))
            } else {
                sources = nil
                break
            }
        }
        lookupSources = sources
        let names = mapping.columnNames
        keyPositions = mapping.key.map { names.firstIndex(of: $0)! }
        required = mapping.required.map { names.firstIndex(of: $0)! }
    }

    /// For every row of `rows`, in order, a hash of everything mapping it reads — its raw
    /// record and what its lookups find — into `hashes`, and how many of its lookups found
    /// nothing (as `evaluate` counts them) into `misses`; false (both empty) when it cannot be
    /// told. One pass per lookup over the rows, with the table's arrays fetched once.
    func inputHashes(rows: Range<Int>, table: SourceTable, hashes: inout [UInt64], misses: inout [Int32]) -> Bool {
        hashes.removeAll(keepingCapacity: true)
        misses.removeAll(keepingCapacity: true)
        guard let lookupSources else { return false }
        hashes.append(contentsOf: table.rowHashes[rows])
        misses.append(contentsOf: repeatElement(0, count: rows.count))
        for (key, target) in lookupSources {
            let found = table.lookupRowList(keyColumn: key)
            let values = table.lookupValueColumn(target)
            for (k, row) in rows.enumerated() {
                let other = found?[row] ?? SourceTable.lookupMissing
                if other == SourceTable.lookupEmpty {
                    hashes[k] = RowHash.fold(hashes[k] ^ 0x5A5A, 0x9E37_79B9_7F4A_7C15)
                } else if other >= 0 {
                    hashes[k] = values.withBytes(Int(other)) { RowHash.combine(hashes[k], $0) }
                } else {
                    hashes[k] = RowHash.fold(hashes[k] ^ 0xA5A5, 0x9E37_79B9_7F4A_7C15)
                    misses[k] += 1
                }
            }
        }
        return true
    }

    /// The first `where` condition `values` fails, as `where[k] (column): value`, or nil.
    func failedCondition(_ values: [String]) -> String? {
        for (k, (position, condition)) in conditions.enumerated() where !holds(condition, values[position]) {
            return "where[\(k)] on `\(condition.column)` does not hold for `\(values[position])`"
        }
        return nil
    }

    /// Maps one source row (its kept values); `lookup(key, column)` reads another row's value.
    /// `lookup(value, column, by)` reads another row's value (`by`: the kept column matched, nil for the key).
    func evaluate(_ values: [String], lookup: (String, Int, Int?) -> String?, misses: inout [LookupMiss]) -> Outcome {
        for (position, condition) in conditions where !holds(condition, values[position]) { return .skipped }
        var out: [String] = []
        out.reserveCapacity(columns.count)
        var failure: String?
        for column in columns {
            if column.keepsEveryValue {
                out.append(everyValue(values, column: column, lookup: lookup, misses: &misses, failure: &failure))
                continue
            }
            var value: String
            switch column.start {
            case .columns(let positions):
                value = positions.lazy.map { values[$0] }.first { !$0.isEmpty } ?? ""
            case .template(let pieces):
                value = ""
                for piece in pieces {
                    switch piece {
                    case .text(let s): value += s
                    case .column(let p):
                        if multiValued {
                            switch plainValue(MultiValue.split(values[p]), column: column.name) {
                            case .values(let one): value += one.first ?? ""
                            case .failure(let reason): if failure == nil { failure = reason }
                            }
                        } else {
                            value += values[p]
                        }
                    }
                }
            case .constant(let v):
                value = v
            }
            if multiValued || column.list != nil, case .columns = column.start {
                switch listValue(value, column: column, lookup: lookup, misses: &misses) {
                case .values(let one): value = one.first ?? ""
                case .failure(let reason):
                    if failure == nil { failure = reason }
                    value = ""
                }
            } else if let target = column.lookup, !value.isEmpty {
                if let found = lookup(value, target, column.lookupBy) {
                    value = found
                } else {
                    misses.append(LookupMiss(column: column.name, value: value))
                    value = ""
                }
            } else if column.lookup != nil {
                value = ""
            }
            out.append(finish(value, column: column, failure: &failure))
        }
        var key: [String] { keyPositions.map { out[$0] } }
        let encoding = mapping.output.dialect.encoding
        if failure == nil, encoding == .windows1252 || encoding == .iso88591 {
            for (k, value) in out.enumerated() where !isRepresentable(value, in: encoding) {
                failure =
                    "`\(columns[k].name)`: `\(value)` cannot be written in \(encoding.rawValue) (add the ascii transform)"
                break
            }
        }
        if let failure { return .rejected(key: key.contains("") ? nil : key, reason: failure) }
        for position in required where out[position].isEmpty {
            return .rejected(
                key: key.contains("") ? nil : key,
                reason: "required column `\(mapping.columns[position].name)` is empty")
        }
        if let k = keyPositions.first(where: { out[$0].isEmpty }) {
            return .rejected(key: nil, reason: "key column `\(mapping.columns[k].name)` is empty")
        }
        if let reason = enrollments?.problem(in: out) { return .rejected(key: key, reason: reason) }
        return .row(out)
    }

    /// A value through the column's `map`/`default`, `date`, `transform` steps and the formula guard.
    private func finish(_ value: String, column: CompiledColumn, failure: inout String?) -> String {
        var value = value
        if let map = column.map {
            if let mapped = map[value] { value = mapped } else if let d = column.defaultValue { value = d }
        } else if value.isEmpty, let d = column.defaultValue {
            value = d
        }
        if let date = column.date {
            if let converted = date.convert(value) {
                value = converted
            } else if failure == nil {
                failure = "`\(column.name)`: `\(value)` is not a date like \(date.from)"
            }
        }
        for transform in column.transforms { value = apply(transform, to: value) }
        return column.guarded ? guardFormula(value) : value
    }

    /// A `keepsEveryValue` column: each value of the field (through the list operations and the
    /// lookup) finished on its own — an empty list as one empty value, so that `default` can
    /// give one — then the non-empty ones sorted, once each, joined with `,`.
    private func everyValue(
        _ values: [String], column: CompiledColumn, lookup: (String, Int, Int?) -> String?, misses: inout [LookupMiss],
        failure: inout String?
    ) -> String {
        guard case .columns(let positions) = column.start else { return "" }
        let field = positions.lazy.map { values[$0] }.first { !$0.isEmpty } ?? ""
        var list: [String]
        switch listValues(field, column: column, lookup: lookup, misses: &misses) {
        case .values(let found): list = found
        case .failure(let reason):
            if failure == nil { failure = reason }
            return ""
        }
        if list.contains(where: MultiValue.isBinary) {
            if failure == nil { failure = binaryFailure(column.name) }
            return ""
        }
        var kept = Set<String>()
        for value in list.isEmpty ? [""] : list {
            let done = finish(value, column: column, failure: &failure)
            if done.contains(",") && failure == nil {
                failure = "`\(column.name)`: `\(done)` holds a comma, which separates the values of a OneRoster list"
            }
            if !done.isEmpty { kept.insert(done) }
        }
        return kept.sorted().joined(separator: ",")
    }

    /// Whether `condition` holds for a stored field (any of its values, for a multi-valued source).
    private func holds(_ condition: Condition, _ field: String) -> Bool {
        multiValued ? condition.holds(values: MultiValue.split(field)) : condition.holds(field)
    }

    /// A field through the column's list operations, lookup and pick: one value (empty when there
    /// is none), or why the row is rejected.
    private func listValue(
        _ field: String, column: CompiledColumn, lookup: (String, Int, Int?) -> String?, misses: inout [LookupMiss]
    ) -> ListStep {
        switch listValues(field, column: column, lookup: lookup, misses: &misses) {
        case .failure(let reason): return .failure(reason)
        case .values(let list):
            if let pick = column.list?.pick { return .values([pick.pick(list)]) }
            return plainValue(list, column: column.name)
        }
    }

    /// A field's values through the column's list operations and lookup (before a pick).
    private func listValues(
        _ field: String, column: CompiledColumn, lookup: (String, Int, Int?) -> String?, misses: inout [LookupMiss]
    ) -> ListStep {
        var list = multiValued ? MultiValue.split(field) : (field.isEmpty ? [] : [field])
        if let ops = column.list {
            switch ops.select(list, column: column.name) {
            case .values(let selected): list = selected
            case .failure(let reason): return .failure(reason)
            }
        }
        if let target = column.lookup {
            list = list.compactMap { value in
                if let found = lookup(value, target, column.lookupBy) { return found }
                misses.append(LookupMiss(column: column.name, value: value))
                return nil
            }
        }
        return .values(list)
    }

    /// Values read without a pick: one (or none) as it is; several joined (csvde) or refused.
    private func plainValue(_ list: [String], column: String) -> ListStep {
        if list.contains(where: MultiValue.isBinary) { return .failure(binaryFailure(column)) }
        if list.count <= 1 { return .values(list) }
        if let plainJoin { return .values([list.joined(separator: plainJoin)]) }
        let shown = list.prefix(3).map { "`\($0)`" }.joined(separator: ", ") + (list.count > 3 ? ", …" : "")
        return .failure("`\(column)`: \(list.count) values (\(shown)): say which with join, first, index or where")
    }
}

/// A `lookup` that found no row: the output column and the value looked up.
struct LookupMiss: Sendable, Equatable {
    var column: String
    var value: String
}

/// Applies one transform step.
func apply(_ transform: Transform, to value: String) -> String {
    switch transform {
    case .trim: return trimmed(value)
    case .lower: return value.lowercased()
    case .upper: return value.uppercased()
    case .ascii: return asciiFolded(value)
    case .truncate(let n): return truncated(value, to: n)
    case .replace(let pattern, let with): return pattern.replacing(in: value, with: with)
    }
}

/// At most `n` characters (extended grapheme clusters) of `value`; counted from the bytes when
/// each character is one scalar (`truncatedLength`).
func truncated(_ value: String, to n: Int) -> String {
    if value.utf8.count <= n { return value }
    var copy = value
    if let length = copy.withUTF8({ truncatedLength(utf8: $0, to: n) }) {
        return String(decoding: value.utf8.prefix(length), as: UTF8.self)
    }
    return value.count <= n ? value : String(value.prefix(n))
}

/// The byte length of the first `n` characters of `v` when every scalar of it is a character of
/// its own (ASCII other than CR, which forms one character with a following LF, or a scalar of
/// `AsciiFoldTable`), so that no cluster is counted; nil otherwise.
func truncatedLength(utf8 v: UnsafeBufferPointer<UInt8>, to n: Int) -> Int? {
    let table = AsciiFoldTable.shared
    var end: Int?
    var count = 0
    var i = 0
    while i < v.count {
        if count == n && end == nil { end = i }
        let (scalar, length) = utf8Scalar(v, at: i)
        guard scalar < 0x80 ? scalar != 0x0D : table.holds(scalar) else { return nil }
        i += length
        count += 1
    }
    return end ?? v.count
}

/// `value` without leading and trailing white space and line breaks (Unicode White_Space; Foundation's
/// `whitespacesAndNewlines` would also drop U+200B), without a round trip through NSString.
func trimmed(_ value: String) -> String {
    var copy = value
    if let range = copy.withUTF8({ trimmedRange(utf8: $0) }) {
        return range.count == value.utf8.count
            ? value : String(decoding: value.utf8.dropFirst(range.lowerBound).prefix(range.count), as: UTF8.self)
    }
    let scalars = value.unicodeScalars
    var start = scalars.startIndex
    var end = scalars.endIndex
    while start < end && isWhiteSpace(scalars[start]) { start = scalars.index(after: start) }
    while end > start && isWhiteSpace(scalars[scalars.index(before: end)]) { end = scalars.index(before: end) }
    return String(scalars[start..<end])
}

/// The bytes of `v` that `trim` keeps, when the bytes tell: a value whose ends cannot be white
/// space is kept whole, an ASCII value loses its ASCII white space; nil when white space outside
/// ASCII may be at an end (its scalars must be read).
func trimmedRange(utf8 v: UnsafeBufferPointer<UInt8>) -> Range<Int>? {
    guard let first = v.first, let last = v.last else { return 0..<0 }
    // White space outside ASCII starts with C2 (U+0085, U+00A0), E1 (U+1680), E2 (U+2000–U+205F)
    // or E3 (U+3000).
    func mayBeWhiteSpace(_ lead: UInt8) -> Bool {
        lead < 0x80 ? isWhiteSpace(Unicode.Scalar(lead)) : lead == 0xC2 || lead == 0xE1 || lead == 0xE2 || lead == 0xE3
    }
    var lastLead = v.count - 1
    while lastLead > 0 && v[lastLead] & 0xC0 == 0x80 { lastLead -= 1 }
    if !mayBeWhiteSpace(first) && !mayBeWhiteSpace(v[lastLead]) { return 0..<v.count }
    guard first < 0x80, last < 0x80, !v.contains(where: { $0 >= 0x80 }) else { return nil }
    var end = v.count
    while end > 0 && isWhiteSpace(Unicode.Scalar(v[end - 1])) { end -= 1 }
    var start = 0
    while start < end && isWhiteSpace(Unicode.Scalar(v[start])) { start += 1 }
    return start..<end
}

/// Prefixes `'` to a cell starting with `=` `+` `-` `@` TAB or CR, so spreadsheet programs
/// show it as text instead of running it (OWASP "CSV injection").
func guardFormula(_ value: String) -> String {
    guard let first = value.utf8.first, startsFormula(first) else { return value }
    return "'" + value
}

/// Whether a cell starting with byte `first` is run as a formula (`=` `+` `-` `@` TAB CR).
func startsFormula(_ first: UInt8) -> Bool {
    switch first {
    case UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "@"), 0x09, 0x0D: return true
    default: return false
    }
}

private let asciiReplacements: [Character: String] = [
    "ß": "ss", "ẞ": "SS", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "œ": "oe", "Œ": "OE", "ł": "l", "Ł": "L",
    "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "þ": "th", "Þ": "TH", "ı": "i", "ħ": "h", "Ħ": "H",
    "‘": "'", "’": "'", "“": "\"", "”": "\"", "–": "-", "—": "-", "…": "...", "\u{00A0}": " ",
]

/// `value` with diacritics stripped and everything still outside ASCII replaced or dropped.
func asciiFolded(_ value: String) -> String {
    if value.utf8.allSatisfy({ $0 < 0x80 }) { return value }
    var value = value
    var out: [UInt8] = []
    if value.withUTF8({ asciiFolded(utf8: $0, into: &out) }) { return String(decoding: out, as: UTF8.self) }
    return asciiFoldedByFoundation(value)
}

/// `asciiFolded` on UTF-8 bytes, scalar by scalar from `AsciiFoldTable`: appended to `out` and
/// true, or false (nothing appended) when `value` holds a scalar outside the table.
func asciiFolded(utf8 value: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) -> Bool {
    let table = AsciiFoldTable.shared
    let start = out.count
    var i = 0
    while i < value.count {
        if value[i] < 0x80 {
            out.append(value[i])
            i += 1
            continue
        }
        let (scalar, length) = utf8Scalar(value, at: i)
        guard table.append(scalar, to: &out) else {
            out.removeLast(out.count - start)
            return false
        }
        i += length
    }
    return true
}

/// What `asciiFolded` makes of each scalar of the blocks most names outside ASCII are written
/// in (Latin, Greek, Cyrillic, Hebrew and Arabic letters, punctuation, symbols, kana, CJK,
/// Hangul), computed with Foundation once on first use. These scalars are neither combining
/// marks nor joiners: in a value made of them and ASCII other than CR, each is a character of
/// its own (which `truncate` counts), and Foundation's folding and the character loop of
/// `asciiFoldedByFoundation` take them one at a time, so the value folds scalar by scalar.
struct AsciiFoldTable: Sendable {
    static let blocks: [ClosedRange<UInt32>] = [
        0x00A0...0x024F, 0x0370...0x03FF, 0x0400...0x0482, 0x048A...0x052F, 0x05D0...0x05EA, 0x0620...0x064A,
        0x1E00...0x1EFF, 0x2010...0x2027, 0x2030...0x205E, 0x2600...0x26FF, 0x3041...0x3096, 0x30A1...0x30FA,
        0x4E00...0x9FFF, 0xAC00...0xD7A3,
    ]
    static let shared = AsciiFoldTable()

    /// Per scalar value: where its folded bytes start in `bytes` (shifted left 4) and how many
    /// there are; `outside` for a scalar not in `blocks`.
    private let entries: [UInt32]
    private let bytes: [UInt8]
    private static let outside = UInt32.max

    private init() {
        var entries = [UInt32](repeating: AsciiFoldTable.outside, count: Int(AsciiFoldTable.blocks.last!.upperBound) + 1)
        var bytes: [UInt8] = []
        for block in AsciiFoldTable.blocks {
            for value in block {
                let folded = Array(asciiFoldedByFoundation(String(Unicode.Scalar(value)!)).utf8)
                precondition(folded.count < 16, "AsciiFoldTable: U+\(String(value, radix: 16)) folds to \(folded.count) bytes")
                entries[Int(value)] = UInt32(bytes.count) << 4 | UInt32(folded.count)
                bytes += folded
            }
        }
        self.entries = entries
        self.bytes = bytes
    }

    /// Whether `scalar` is in the table.
    @inline(__always)
    func holds(_ scalar: UInt32) -> Bool { scalar < entries.count && entries[Int(scalar)] != AsciiFoldTable.outside }

    /// Appends what `scalar` folds to; false when it is not in the table.
    @inline(__always)
    func append(_ scalar: UInt32, to out: inout [UInt8]) -> Bool {
        guard scalar < entries.count else { return false }
        let entry = entries[Int(scalar)]
        if entry == AsciiFoldTable.outside { return false }
        let start = Int(entry >> 4)
        out.append(contentsOf: bytes[start..<(start + Int(entry & 0xF))])
        return true
    }
}

/// `asciiFolded` by its definition: Foundation's diacritic folding, then each character kept when
/// ASCII, replaced from `asciiReplacements` or dropped.
func asciiFoldedByFoundation(_ value: String) -> String {
    if value.utf8.allSatisfy({ $0 < 0x80 }) { return value }
    let folded = value.folding(options: .diacriticInsensitive, locale: nil)
    var out = ""
    for c in folded {
        if c.isASCII { out.append(c) } else if let r = asciiReplacements[c] { out += r }
    }
    return out
}
