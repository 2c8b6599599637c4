import Foundation

/// A parsed JSON/JSON5 value, as read from a config or mapping file.
indirect enum ConfigNode: Decodable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([ConfigNode])
    case object([String: ConfigNode])

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: Decoder) throws {
        if let keyed = try? decoder.container(keyedBy: AnyKey.self) {
            var object: [String: ConfigNode] = [:]
            for key in keyed.allKeys { object[key.stringValue] = try keyed.decode(ConfigNode.self, forKey: key) }
            self = .object(object)
        } else if var list = try? decoder.unkeyedContainer() {
            var items: [ConfigNode] = []
            while !list.isAtEnd { items.append(try list.decode(ConfigNode.self)) }
            self = .array(items)
        } else {
            let single = try decoder.singleValueContainer()
            if single.decodeNil() {
                self = .null
            } else if let b = try? single.decode(Bool.self) {
                self = .bool(b)
            } else if let n = try? single.decode(Double.self) {
                self = .number(n)
            } else {
                self = .string(try single.decode(String.self))
            }
        }
    }

    /// Parses JSON with comments and trailing commas (Foundation's JSON5 mode).
    static func parse(_ data: Data) throws -> ConfigNode {
        let decoder = JSONDecoder()
        decoder.allowsJSON5 = true
        return try decoder.decode(ConfigNode.self, from: data)
    }

    var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "a list"
        case .object: return "an object"
        }
    }
}

/// One thing wrong in a config or mapping file: the file, the JSON path inside it, and what.
public struct ConfigProblem: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var path: String
    public var message: String

    public init(file: String, path: String, message: String) {
        self.file = file
        self.path = path
        self.message = message
    }

    public var description: String { path.isEmpty ? "\(file): \(message)" : "\(file): \(path): \(message)" }
}

/// Configuration or mappings are invalid (exit 78); lists every problem found, not only the first.
public struct ConfigError: CodedError {
    public var problems: [ConfigProblem]

    public init(_ problems: [ConfigProblem]) { self.problems = problems }

    public var exitCode: ExitCode { .config }

    public var description: String {
        let count = problems.count
        return "\(count) configuration problem\(count == 1 ? "" : "s"):\n"
            + problems.map { "  " + $0.description }.joined(separator: "\n")
    }
}

/// Collects problems while reading one file.
final class ProblemLog {
    let file: String
    private(set) var problems: [ConfigProblem] = []

    init(file: String) { self.file = file }

    func add(_ path: String, _ message: String) {
        problems.append(ConfigProblem(file: file, path: path, message: message))
    }
}

/// An object being read: typed getters that log a problem (with its path) instead of throwing,
/// and `finish` to report keys nobody asked for.
struct ObjectReader {
    let fields: [String: ConfigNode]
    let path: String
    let log: ProblemLog
    private var asked: Set<String> = []

    /// Reads `node` as an object, or logs a problem and returns nil.
    init?(_ node: ConfigNode?, path: String, log: ProblemLog) {
        guard case .object(let fields)? = node else {
            if let node { log.add(path, "expected an object, found \(node.typeName)") }
            return nil
        }
        self.fields = fields
        self.path = path
        self.log = log
    }

    func child(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func has(_ key: String) -> Bool { fields[key] != nil }

    mutating func node(_ key: String) -> ConfigNode? {
        asked.insert(key)
        if case .null? = fields[key] { return nil }
        return fields[key]
    }

    mutating func string(_ key: String, required: Bool = false) -> String? {
        guard let node = node(key) else {
            if required { log.add(child(key), "required") }
            return nil
        }
        guard case .string(let s) = node else {
            log.add(child(key), "expected a string, found \(node.typeName)")
            return nil
        }
        return s
    }

    mutating func bool(_ key: String) -> Bool? {
        guard let node = node(key) else { return nil }
        guard case .bool(let b) = node else {
            log.add(child(key), "expected true or false, found \(node.typeName)")
            return nil
        }
        return b
    }

    mutating func number(_ key: String, min: Double = 0, max: Double = .infinity) -> Double? {
        guard let node = node(key) else { return nil }
        guard case .number(let n) = node else {
            log.add(child(key), "expected a number, found \(node.typeName)")
            return nil
        }
        guard n >= min && n <= max else {
            log.add(
                child(key), "must be between \(formatNumber(min)) and \(formatNumber(max)), found \(formatNumber(n))")
            return nil
        }
        return n
    }

    mutating func integer(_ key: String, min: Int = 0, max: Int = Int(Int32.max)) -> Int? {
        guard let n = number(key, min: Double(min), max: Double(max)) else { return nil }
        guard n == n.rounded() else {
            log.add(child(key), "expected a whole number, found \(n)")
            return nil
        }
        return Int(n)
    }

    /// A string or a list of strings (`key: "id"` or `key: ["site", "id"]`).
    mutating func stringList(_ key: String, required: Bool = false, allowEmpty: Bool = false) -> [String]? {
        guard let node = node(key) else {
            if required { log.add(child(key), "required") }
            return nil
        }
        switch node {
        case .string(let s): return [s]
        case .array(let items):
            var out: [String] = []
            for (k, item) in items.enumerated() {
                guard case .string(let s) = item else {
                    log.add("\(child(key))[\(k)]", "expected a string, found \(item.typeName)")
                    return nil
                }
                out.append(s)
            }
            if out.isEmpty && !allowEmpty {
                log.add(child(key), "must not be empty")
                return nil
            }
            return out
        default:
            log.add(child(key), "expected a string or a list of strings, found \(node.typeName)")
            return nil
        }
    }

    /// An enumerated string value.
    mutating func choice<T: RawRepresentable>(_ key: String, _ type: T.Type, choices: [String]) -> T?
    where T.RawValue == String {
        guard let s = string(key) else { return nil }
        guard let value = T(rawValue: s) else {
            log.add(child(key), "must be one of \(choices.map { "\"\($0)\"" }.joined(separator: ", ")), found \"\(s)\"")
            return nil
        }
        return value
    }

    /// Logs every key that was never asked for, with a suggestion when it looks like a typo.
    func finish() {
        for key in fields.keys.sorted() where !asked.contains(key) {
            let near = closest(to: key, in: Array(asked))
            log.add(child(key), "unknown key" + (near.map { " (did you mean `\($0)`?)" } ?? ""))
        }
    }
}

/// Reads and parses a JSON5 file, logging a problem when it cannot.
func loadConfigNode(path: String, displayName: String, log: ProblemLog) -> ConfigNode? {
    guard let data = FileManager.default.contents(atPath: path) else {
        log.add("", FileManager.default.fileExists(atPath: path) ? "cannot read the file" : "no such file")
        return nil
    }
    do {
        return try ConfigNode.parse(data)
    } catch {
        log.add("", "not valid JSON5: \(describeParseError(error))")
        return nil
    }
}

private func describeParseError(_ error: Error) -> String {
    guard case DecodingError.dataCorrupted(let context) = error else { return "\(error)" }
    if let underlying = context.underlyingError {
        let text = "\(underlying)"
        if let range = text.range(of: "line ") {
            return "near " + text[range.lowerBound...].prefix(60).trimmingCharacters(in: .punctuationCharacters)
        }
        let nsError = underlying as NSError
        if let detail = nsError.userInfo[NSDebugDescriptionErrorKey] as? String { return detail }
        return text
    }
    return context.debugDescription
}
