import Foundation

/// A parsed JSON/JSON5 value, as read from a config or mapping file.
indirect enum ConfigNode: Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([ConfigNode])
    case object([String: ConfigNode])

    /// Parses JSON5 (see `JSON5Parser`); keys written twice keep the last value.
    static func parse(_ bytes: [UInt8]) throws(JSON5SyntaxError) -> ConfigNode {
        var parser = JSON5Parser(bytes)
        return try parser.parse()
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

    public var description: String {
        let text = path.isEmpty ? "\(file): \(message)" : "\(file): \(path): \(message)"
        return text.escapingControlCharacters()
    }
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

/// Reads and parses a JSON5 file, logging a problem when it cannot: a missing or unreadable file,
/// one that is not a regular file or is larger than `ConfigLimits.maxFileBytes`, a syntax error
/// (with its line and column), and every key written twice in one object (with both lines; the
/// node is still returned, so the rest of the file is checked too).
func loadConfigNode(path: String, displayName: String, log: ProblemLog) -> ConfigNode? {
    guard let bytes = readConfigBytes(path: path, log: log) else { return nil }
    if !bytes.isEmpty, case (let valid, let problem?) = bytes.withUnsafeBufferPointer({
        validateText($0.baseAddress!, from: 0, to: $0.count, isFinal: true, textOnly: true)
    }) {
        let line = bytes[..<valid].reduce(1) { $1 == 0x0A ? $0 + 1 : $0 }
        let what = problem == .nul ? "a NUL byte" : problem == .byteOrderMark ? "a byte-order mark" : "invalid UTF-8"
        log.add("", "not valid JSON5: \(what) on line \(line)")
        return nil
    }
    var parser = JSON5Parser(bytes)
    do {
        let node = try parser.parse()
        for d in parser.duplicates {
            log.add(d.path, "key written twice (lines \(d.firstLine) and \(d.secondLine)); one value would be lost")
        }
        return node
    } catch {
        log.add("", "not valid JSON5: \(error.description)")
        return nil
    }
}

private func readConfigBytes(path: String, log: ProblemLog) -> [UInt8]? {
    let opened: (fd: Int32, size: Int)
    do {
        opened = try openRegularFile(path)
    } catch {
        log.add("", error.reason == "no such file or directory" ? "no such file" : error.reason)
        return nil
    }
    defer { close(opened.fd) }
    let limit = ConfigLimits.maxFileBytes
    guard opened.size <= limit else {
        log.add("", "\(opened.size) bytes, larger than the limit of \(limit >> 20) MiB for a config or mapping file")
        return nil
    }
    var bytes = [UInt8](repeating: 0, count: opened.size)
    var done = 0
    while done < opened.size {
        let n = bytes.withUnsafeMutableBytes { read(opened.fd, $0.baseAddress! + done, opened.size - done) }
        if n < 0 && errno == EINTR { continue }
        if n < 0 {
            log.add("", "cannot read the file: \(String(cString: strerror(errno)).lowercased())")
            return nil
        }
        if n == 0 { break }
        done += n
    }
    return Array(bytes[..<done])
}
