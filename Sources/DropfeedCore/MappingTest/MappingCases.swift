import Foundation

/// A mapping's case file, as `dropfeed test-mapping MAPPING --cases CASES.json` reads it:
/// fixture source rows, and the output rows and rejections the mapping must make of them.
///
/// ```json5
/// {
///   version: 1,
///   sourceKey: "employee_id",            // the export's key (what lookups look up)
///   base: { employee_id: "", … },       // optional: values every source row starts from
///   cases: [
///     { name: "an active employee",
///       source: [{ employee_id: "E1", … }],        // one row object or a list of them
///       expect: [{ user_id: "E1", … }],            // every output row, each with every column
///       rejected: [{ key: "E2", reason: "…" }] },  // optional; key optional, reason exact
///   ],
/// }
/// ```
struct MappingCaseFile {
    var file: String
    var sourceKey: [String]
    var cases: [MappingCase]

    /// Reads `path`; throws `ConfigError` (exit 78) listing every problem with its JSON path.
    static func load(path: String, displayName: String) throws -> MappingCaseFile {
        let log = ProblemLog(file: displayName)
        guard let root = loadConfigNode(path: path, displayName: displayName, log: log),
            var object = ObjectReader(root, path: "", log: log)
        else { throw ConfigError(log.problems) }
        MappingLoader.checkVersion(&object)
        let sourceKey = object.stringList("sourceKey", required: true) ?? []
        let base = readRow(object.node("base"), path: "base", log: log) ?? [:]
        var cases: [MappingCase] = []
        if let node = object.node("cases") {
            if case .array(let items) = node, !items.isEmpty {
                for (k, item) in items.enumerated() {
                    if let c = readCase(item, path: "cases[\(k)]", base: base, log: log) { cases.append(c) }
                }
            } else {
                log.add("cases", "expected a non-empty list of cases, found \(node.typeName)")
            }
        } else {
            log.add("cases", "required")
        }
        object.finish()
        var names = Set<String>()
        for (k, c) in cases.enumerated() where !names.insert(c.name).inserted {
            log.add("cases[\(k)].name", "another case has the name `\(c.name)`")
        }
        guard log.problems.isEmpty else { throw ConfigError(log.problems) }
        return MappingCaseFile(file: displayName, sourceKey: sourceKey, cases: cases)
    }

    private static func readCase(_ node: ConfigNode, path: String, base: [String: String], log: ProblemLog)
        -> MappingCase?
    {
        guard var c = ObjectReader(node, path: path, log: log) else { return nil }
        let before = log.problems.count
        let name = c.string("name", required: true) ?? ""
        var source: [[String: String]] = []
        switch c.node("source") {
        case nil: log.add(c.child("source"), "required (a source row object, or a list of them)")
        case .array(let items)?:
            if items.isEmpty { log.add(c.child("source"), "must not be empty") }
            for (k, item) in items.enumerated() {
                if let row = readRow(item, path: "\(path).source[\(k)]", log: log) {
                    source.append(base.merging(row) { $1 })
                }
            }
        case let item?:
            if let row = readRow(item, path: c.child("source"), log: log) { source.append(base.merging(row) { $1 }) }
        }
        var expect: [[String: String]] = []
        switch c.node("expect") {
        case nil: log.add(c.child("expect"), "required (the output rows, `[]` when none)")
        case .array(let items)?:
            for (k, item) in items.enumerated() {
                if let row = readRow(item, path: "\(path).expect[\(k)]", log: log) { expect.append(row) }
            }
        case let other?: log.add(c.child("expect"), "expected a list of output rows, found \(other.typeName)")
        }
        var rejected: [ExpectedRejection] = []
        switch c.node("rejected") {
        case nil: break
        case .array(let items)?:
            for (k, item) in items.enumerated() {
                let itemPath = "\(path).rejected[\(k)]"
                guard var r = ObjectReader(item, path: itemPath, log: log) else { continue }
                let key = r.stringList("key")
                let reason = r.string("reason", required: true)
                r.finish()
                if let reason { rejected.append(ExpectedRejection(key: key, reason: reason)) }
            }
        case let other?: log.add(c.child("rejected"), "expected a list of { key, reason }, found \(other.typeName)")
        }
        c.finish()
        guard log.problems.count == before else { return nil }
        return MappingCase(name: name, path: path, source: source, expect: expect, rejected: rejected)
    }

    /// An object of column → string value.
    private static func readRow(_ node: ConfigNode?, path: String, log: ProblemLog) -> [String: String]? {
        guard let node else { return nil }
        guard case .object(let fields) = node else {
            log.add(path, "expected an object of column → value, found \(node.typeName)")
            return nil
        }
        var row: [String: String] = [:]
        var ok = true
        for (name, value) in fields {
            if case .string(let s) = value {
                row[name] = s
            } else {
                log.add("\(path).\(name)", "expected a string, found \(value.typeName) (write values as text: \"42\")")
                ok = false
            }
        }
        return ok ? row : nil
    }
}

/// One case: source rows and what the mapping must make of them.
struct MappingCase {
    var name: String
    /// Where it is in the case file (`cases[2]`).
    var path: String
    /// The source rows, `base` merged in.
    var source: [[String: String]]
    /// Every output row, by output column.
    var expect: [[String: String]]
    var rejected: [ExpectedRejection]
}

/// A source row the mapping must reject: its output key when it has one, and the reason.
struct ExpectedRejection {
    var key: [String]?
    var reason: String
}
