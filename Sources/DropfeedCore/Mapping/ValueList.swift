import Foundation

/// What an output column does with a field's values when there can be several (a multi-valued
/// LDIF, csvde or SCIM attribute, or a value cut by `split`). Applied in this order: `split`,
/// `encode` (binary values), `where`, `dnPart`, the column's `lookup` (per value), then one of
/// `join`, `first`, `index`.
public struct ValueListOps: Sendable {
    /// Cut each value at this text (any source format; empty pieces are dropped).
    public var split: String?
    /// How binary values (`jpegPhoto`, `objectGUID`) are written; without it they are refused.
    public var encode: BinaryEncoding?
    /// Keep only the values that pass.
    public var filter: ValueFilter?
    /// Replace each value, read as a DN, by its parts of this type (`CN`, `OU`), leftmost first.
    public var dnPart: String?
    /// Make one value of the list.
    public var pick: ValuePick?

    public init(
        split: String? = nil, encode: BinaryEncoding? = nil, filter: ValueFilter? = nil, dnPart: String? = nil,
        pick: ValuePick? = nil
    ) {
        self.split = split
        self.encode = encode
        self.filter = filter
        self.dnPart = dnPart
        self.pick = pick
    }

    /// True when none is set.
    public var isEmpty: Bool { split == nil && encode == nil && filter == nil && dnPart == nil && pick == nil }
}

/// A column's `where`: which of a field's values it keeps.
public enum ValueFilter: Sendable {
    /// Values containing the text (case-sensitive).
    case contains(String)
    /// Values not containing the text.
    case notContains(String)
    /// Values starting with the text (case-sensitive).
    case startsWith(String)
    /// Values the regular expression matches.
    case matches(Pattern)

    func keeps(_ value: String) -> Bool {
        switch self {
        case .contains(let text): return value.contains(text)
        case .notContains(let text): return !value.contains(text)
        case .startsWith(let text): return value.hasPrefix(text)
        case .matches(let pattern): return pattern.matches(value)
        }
    }
}

/// How a list of values becomes one.
public enum ValuePick: Sendable, Equatable {
    /// All values, with this text between them.
    case join(String)
    /// The first value (empty when there is none).
    case first
    /// The value at this position from 0; a negative one counts from the end (-1 is the last).
    case index(Int)

    func pick(_ values: [String]) -> String {
        switch self {
        case .join(let separator): return values.joined(separator: separator)
        case .first: return values.first ?? ""
        case .index(let n):
            let k = n < 0 ? values.count + n : n
            return values.indices.contains(k) ? values[k] : ""
        }
    }
}

/// How a binary value is written as text.
public enum BinaryEncoding: String, Sendable {
    case base64, hex

    func encode(_ bytes: [UInt8]) -> String {
        switch self {
        case .base64: return Data(bytes).base64EncodedString()
        case .hex: return bytes.map { String(format: "%02x", $0) }.joined()
        }
    }
}

/// The outcome of a column's list operations.
enum ListStep {
    case values([String])
    case failure(String)
}

extension ValueListOps {
    /// `values` through `split`, `encode`, `where` and `dnPart` (not the lookup and the pick).
    func select(_ values: [String], column: String) -> ListStep {
        var list = values
        if let split, !split.isEmpty {
            list = list.flatMap { $0.components(separatedBy: split) }.filter { !$0.isEmpty }
        }
        if list.contains(where: MultiValue.isBinary) {
            guard let encode else { return .failure(binaryFailure(column)) }
            list = list.map { MultiValue.isBinary($0) ? encode.encode(MultiValue.binaryBytes($0)) : $0 }
        }
        if let filter { list = list.filter(filter.keeps) }
        if let dnPart { list = list.flatMap { DistinguishedName($0)?.values(of: dnPart) ?? [] } }
        return .values(list)
    }
}

func binaryFailure(_ column: String) -> String {
    "`\(column)`: a binary value (write it with encode: \"base64\" or \"hex\")"
}

/// Reads a column's list operations (`split`, `encode`, `where`, `dnPart`, `join`, `first`, `index`).
func readValueListOps(_ c: inout ObjectReader, path: String, log: ProblemLog) -> ValueListOps {
    var ops = ValueListOps()
    if let split = c.string("split") {
        if split.isEmpty { log.add("\(path).split", "must not be empty") } else { ops.split = split }
    }
    ops.encode = c.choice("encode", BinaryEncoding.self, choices: ["base64", "hex"])
    if let node = c.node("where") {
        if var w = ObjectReader(node, path: "\(path).where", log: log) {
            var filters: [ValueFilter] = []
            if let t = w.string("contains") { filters.append(.contains(t)) }
            if let t = w.string("notContains") { filters.append(.notContains(t)) }
            if let t = w.string("startsWith") { filters.append(.startsWith(t)) }
            if let regex = w.string("matches") {
                do { filters.append(.matches(try Pattern(regex))) } catch {
                    log.add("\(path).where.matches", "\(error)")
                }
            }
            w.finish()
            if filters.count == 1 {
                ops.filter = filters[0]
            } else if filters.count > 1 || !log.problems.contains(where: { $0.path.hasPrefix("\(path).where") }) {
                log.add("\(path).where", "needs exactly one of contains, notContains, startsWith, matches")
            }
        }
    }
    if let part = c.string("dnPart") {
        let type = part.trimmingCharacters(in: .whitespaces)
        if type.isEmpty || type.contains("=") || type.contains(",") {
            log.add("\(path).dnPart", "must be an attribute type such as \"CN\" or \"OU\"")
        } else {
            ops.dnPart = type
        }
    }
    var picks: [ValuePick] = []
    if let separator = c.string("join") { picks.append(.join(separator)) }
    if let first = c.bool("first") {
        if first { picks.append(.first) } else { log.add("\(path).first", "write first: true, or leave it out") }
    }
    if let n = c.integer("index", min: -1_000_000, max: 1_000_000) { picks.append(.index(n)) }
    if picks.count > 1 { log.add(path, "needs at most one of join, first, index") }
    ops.pick = picks.first
    return ops
}

extension Condition {
    /// Whether the condition holds for a field of several values: `in`, `matches` and `equals`
    /// when one value does, `notIn` when none is in the list, `notEmpty` when there is a value.
    func holds(values: [String]) -> Bool {
        if values.isEmpty { return holds("") }
        switch test {
        case .notIn: return values.allSatisfy(holds)
        case .notEmpty(let wanted): return values.isEmpty != wanted
        default: return values.contains(where: holds)
        }
    }
}
