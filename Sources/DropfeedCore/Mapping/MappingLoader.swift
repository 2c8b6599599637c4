import Foundation

/// Reads mapping files into `Mapping`s, logging every problem with its JSON path.
enum MappingLoader {
    static func load(path: String, displayName: String, log: ProblemLog) -> Mapping? {
        guard let root = loadConfigNode(path: path, displayName: displayName, log: log),
            var object = ObjectReader(root, path: "", log: log)
        else { return nil }
        let before = log.problems.count
        checkVersion(&object)
        let key = object.stringList("key", required: true) ?? []
        let conditions = readConditions(&object)
        let (columns, declared) = readColumns(&object)
        let required = object.stringList("required", allowEmpty: true) ?? []
        let output = readOutput(
            object.node("output"), path: "output", folder: (path as NSString).deletingLastPathComponent, log: log)
        let safety = readSafety(object.node("safety"), path: "safety", log: log)
        object.finish()

        // Every column that names itself counts, even one with a problem of its own, so that one
        // mistake is reported once (not again as an unknown key column) and paths are the file's.
        let names = declared.map(\.name)
        var seen = Set<String>()
        for (k, name) in declared where !seen.insert(name).inserted {
            log.add("columns[\(k)].name", "duplicate output column `\(name)`")
        }
        for name in key where !names.contains(name) {
            log.add("key", "`\(name)` is not an output column" + suggestion(for: name, in: names))
        }
        for name in required where !names.contains(name) {
            log.add("required", "`\(name)` is not an output column" + suggestion(for: name, in: names))
        }
        if let output {
            for name in output.formulaGuardExcept.sorted() where !names.contains(name) {
                log.add("output.formulaGuard.except", "`\(name)` is not an output column" + suggestion(for: name, in: names))
            }
            if case .set(let values) = output.deletes {
                for name in values.keys.sorted() where !names.contains(name) {
                    log.add("output.deletes.set.\(name)", "not an output column" + suggestion(for: name, in: names))
                }
            }
            if let action = output.action, names.contains(action.column) {
                log.add("output.action.column", "`\(action.column)` is also an output column")
            }
            if output.oneRoster != nil && names != OneRosterSpec.userColumns {
                log.add(
                    "columns",
                    "format \"oneroster\": the columns must be users.csv's, in this order: "
                        + OneRosterSpec.userColumns.joined(separator: ", ") + " (status and dateLastModified are written by dropfeed)")
            }
            if output.mode == .both && !output.fileTemplate.isEmpty && !output.fileTemplate.contains("{kind}") {
                log.add("output.file", "mode \"both\" writes two files a run: put {kind} in the name")
            }
            if output.action == nil && output.deletes == .row && output.mode != .full && output.oneRoster == nil {
                log.add(
                    "output.deletes",
                    "deletes: \"row\" needs an action column to tell deletes apart (set output.action, or use \"omit\" or {set: …})"
                )
            }
        }
        guard log.problems.count == before, let output, let safety, !columns.isEmpty else { return nil }
        let bytes = FileManager.default.contents(atPath: path).map { [UInt8]($0) } ?? []
        // OneRoster enrollments: their columns follow users.csv's (kept in the snapshot, not sent there).
        let enrollmentColumns = output.oneRoster?.enrollments?.columns ?? []
        return Mapping(
            file: displayName, key: key, conditions: conditions, columns: columns + enrollmentColumns,
            required: required, output: output, safety: safety, digest: SHA256.hex(bytes))
    }

    static func checkVersion(_ object: inout ObjectReader) {
        guard let version = object.number("version", min: -.infinity) else {
            if !object.has("version") { object.log.add("version", "required (write `version: 1`)") }
            return
        }
        if version != 1 {
            object.log.add("version", "unsupported version \(formatNumber(version)) (this dropfeed reads version 1)")
        }
    }

    private static func readConditions(_ object: inout ObjectReader) -> [Condition] {
        guard let node = object.node("where") else { return [] }
        guard case .array(let items) = node else {
            object.log.add("where", "expected a list of conditions, found \(node.typeName)")
            return []
        }
        var out: [Condition] = []
        for (k, item) in items.enumerated() {
            let path = "where[\(k)]"
            guard var c = ObjectReader(item, path: path, log: object.log) else { continue }
            let column = c.string("column", required: true)
            var tests: [Condition.Test] = []
            if let list = c.stringList("in", allowEmpty: true) { tests.append(.isIn(Set(list))) }
            if let list = c.stringList("notIn", allowEmpty: true) { tests.append(.notIn(Set(list))) }
            if let regex = c.string("matches") {
                do { tests.append(.matches(try Pattern(regex))) } catch {
                    object.log.add("\(path).matches", "\(error)")
                }
            }
            if let flag = c.bool("notEmpty") { tests.append(.notEmpty(flag)) }
            if let value = c.string("equals") { tests.append(.equals(value)) }
            c.finish()
            if tests.count != 1 && !(tests.isEmpty && object.log.problems.last?.path.hasPrefix(path) == true) {
                object.log.add(path, "needs exactly one of in, notIn, matches, notEmpty, equals")
            }
            if let column, tests.count == 1 { out.append(Condition(column: column, test: tests[0])) }
        }
        return out
    }

    /// The valid columns, and the name of every column object that has one, with its position.
    private static func readColumns(_ object: inout ObjectReader) -> ([ColumnSpec], [(index: Int, name: String)]) {
        guard let node = object.node("columns") else {
            object.log.add("columns", "required")
            return ([], [])
        }
        guard case .array(let items) = node, !items.isEmpty else {
            object.log.add("columns", "expected a non-empty list of columns")
            return ([], [])
        }
        var out: [ColumnSpec] = []
        var declared: [(index: Int, name: String)] = []
        for (k, item) in items.enumerated() {
            let path = "columns[\(k)]"
            guard var c = ObjectReader(item, path: path, log: object.log) else { continue }
            let name = c.string("name", required: true)
            if let name { declared.append((k, name)) }
            if let column = readValueSpec(&c, name: name ?? "", path: path, log: object.log), name != nil {
                out.append(column)
            }
        }
        return (out, declared)
    }

    /// What makes a column's value — one of `from`, `template`, `value`, then `lookup`,
    /// `lookupBy`, the list operations, `map`, `default`, `date`, `transform` — read from `c`
    /// (whose other keys the caller has asked for), which it finishes. Nil when it has a problem.
    static func readValueSpec(_ c: inout ObjectReader, name: String, path: String, log: ProblemLog) -> ColumnSpec? {
        let given = ["from", "template", "value"].filter { c.has($0) }
        var sources: [ValueSource] = []
        if let from = c.stringList("from") { sources.append(.from(from)) }
        if let text = c.string("template") {
            do { sources.append(.template(try Template(text))) } catch {
                log.add("\(path).template", "\(error)")
            }
        }
        if let value = c.string("value") { sources.append(.value(value)) }
        if given.count != 1 {
            log.add(path, "needs exactly one of from, template, value")
        }
        let lookup = c.string("lookup")
        let lookupBy = c.string("lookupBy")
        if lookupBy != nil && lookup == nil { log.add("\(path).lookupBy", "only makes sense with lookup") }
        let list = readValueListOps(&c, path: path, log: log)
        var map: [String: String]?
        if let node = c.node("map") {
            if case .object(let pairs) = node {
                var m: [String: String] = [:]
                for (key, value) in pairs {
                    if case .string(let s) = value {
                        m[key] = s
                    } else {
                        log.add("\(path).map.\(key)", "expected a string, found \(value.typeName)")
                    }
                }
                map = m
            } else {
                log.add("\(path).map", "expected an object of value → replacement, found \(node.typeName)")
            }
        }
        let defaultValue = c.string("default")
        var date: DateConversion?
        if let node = c.node("date") {
            if var d = ObjectReader(node, path: "\(path).date", log: log) {
                let from = d.string("from", required: true)
                let to = d.string("to", required: true)
                d.finish()
                if let from, let to {
                    do { date = try DateConversion(from: from, to: to) } catch {
                        log.add("\(path).date", "\(error)")
                    }
                }
            }
        }
        let transforms = readTransforms(c.node("transform"), path: "\(path).transform", log: log)
        c.finish()
        guard let source = sources.first, sources.count == 1 else { return nil }
        return ColumnSpec(
            name: name, source: source, lookup: lookup, map: map, defaultValue: defaultValue,
            date: date, transforms: transforms, lookupBy: lookupBy, list: list)
    }

    private static func readTransforms(_ node: ConfigNode?, path: String, log: ProblemLog) -> [Transform] {
        guard let node else { return [] }
        let items: [ConfigNode]
        switch node {
        case .array(let list): items = list
        case .string, .object: items = [node]
        default:
            log.add(path, "expected a list of transforms, found \(node.typeName)")
            return []
        }
        var out: [Transform] = []
        let names = ["trim", "lower", "upper", "ascii", "truncate", "replace"]
        for (k, item) in items.enumerated() {
            let itemPath = "\(path)[\(k)]"
            switch item {
            case .string(let name):
                switch name {
                case "trim": out.append(.trim)
                case "lower": out.append(.lower)
                case "upper": out.append(.upper)
                case "ascii": out.append(.ascii)
                default: log.add(itemPath, "unknown transform `\(name)`" + suggestion(for: name, in: names))
                }
            case .object:
                guard var t = ObjectReader(item, path: itemPath, log: log) else { continue }
                if t.has("truncate") {
                    if let n = t.integer("truncate", min: 1) { out.append(.truncate(n)) }
                } else if t.has("replace") {
                    let regex = t.string("replace")
                    let with = t.string("with", required: true)
                    if let regex, let with {
                        do { out.append(.replace(try Pattern(regex), with: with)) } catch {
                            log.add("\(itemPath).replace", "\(error)")
                        }
                    }
                } else {
                    log.add(itemPath, "expected { truncate: N } or { replace: REGEX, with: TEXT }")
                    _ = t.node("truncate")
                    _ = t.node("replace")
                    _ = t.node("with")
                    continue
                }
                t.finish()
            default:
                log.add(itemPath, "expected a transform name or object, found \(item.typeName)")
            }
        }
        return out
    }

    private static func readOutput(_ node: ConfigNode?, path: String, folder: String, log: ProblemLog) -> OutputSpec? {
        guard let node else {
            log.add(path, "required (at least `file`)")
            return nil
        }
        guard var o = ObjectReader(node, path: path, log: log) else { return nil }
        let file = o.string("file", required: true) ?? ""
        if !file.isEmpty { checkFileTemplate(file, path: o.child("file"), log: log) }
        let mode = o.choice("mode", OutputMode.self, choices: ["full", "delta", "both"]) ?? .delta
        var dialect = CSVWriteOptions()
        if let header = o.bool("header") { dialect.header = header }
        if let d = o.string("delimiter") {
            if let byte = CSVReadOptions.delimiter(named: d) {
                dialect.delimiter = byte
            } else {
                log.add(o.child("delimiter"), "must be one ASCII character such as , ; | or \\t")
            }
        }
        if let q = o.choice("quote", QuotePolicy.self, choices: ["minimal", "always"]) { dialect.quote = q }
        if let l = o.choice("lineEnding", LineEnding.self, choices: ["crlf", "lf"]) { dialect.lineEnding = l }
        if let bom = o.bool("bom") { dialect.bom = bom }
        if let e = o.string("encoding") {
            if let encoding = TextEncoding(name: e) {
                dialect.encoding = encoding
            } else {
                log.add(o.child("encoding"), "unknown encoding `\(e)` (utf-8, windows-1252, iso-8859-1, utf-16)")
            }
        }
        let format = o.choice("format", OutputFormat.self, choices: ["csv", "oneroster"]) ?? .csv
        var action: ActionSpec? = format == .oneroster ? nil : .standard
        if let node = o.node("action") {
            if case .bool(false) = node {
                action = nil
            } else if var a = ObjectReader(node, path: o.child("action"), log: log) {
                action = ActionSpec(
                    column: a.string("column") ?? "action", add: a.string("add") ?? "add",
                    update: a.string("update") ?? "update", delete: a.string("delete") ?? "delete")
                a.finish()
            }
        }
        var deletes = DeletePolicy.row
        if let node = o.node("deletes") {
            switch node {
            case .string("row"): deletes = .row
            case .string("omit"): deletes = .omit
            case .object:
                if var d = ObjectReader(node, path: o.child("deletes"), log: log) {
                    if let set = d.node("set"), case .object(let pairs) = set {
                        var values: [String: String] = [:]
                        for (k, v) in pairs {
                            if case .string(let s) = v {
                                values[k] = s
                            } else {
                                log.add("\(o.child("deletes")).set.\(k)", "expected a string, found \(v.typeName)")
                            }
                        }
                        deletes = .set(values)
                    } else {
                        log.add(o.child("deletes"), "expected { set: { column: value, … } }")
                    }
                    d.finish()
                }
            default:
                log.add(o.child("deletes"), "must be \"row\", \"omit\" or { set: { column: value } }")
            }
        }
        var formulaGuard = false
        var unguarded: [String] = []
        switch o.node("formulaGuard") {
        case .bool(let b)?: formulaGuard = b
        case .object?:
            if var g = ObjectReader(o.node("formulaGuard"), path: o.child("formulaGuard"), log: log) {
                formulaGuard = true
                unguarded = g.stringList("except", required: true) ?? []
                g.finish()
            }
        case let other?:
            log.add(o.child("formulaGuard"), "expected true, false or { except: [columns] }, found \(other.typeName)")
        case nil: break
        }
        var sendEmpty = false
        if let e = o.string("emptyDelta") {
            switch e {
            case "skip": sendEmpty = false
            case "send": sendEmpty = true
            default: log.add(o.child("emptyDelta"), "must be \"skip\" or \"send\"")
            }
        }
        var checksum = false
        if let c = o.string("checksum") {
            if c == "sha256" { checksum = true } else { log.add(o.child("checksum"), "only \"sha256\" is supported") }
        }
        let trigger = o.string("trigger")
        let preamble = o.stringList("preamble", allowEmpty: true) ?? []
        var oneRoster: OneRosterSpec?
        if format == .oneroster {
            oneRoster = readOneRoster(o.node("oneroster"), path: o.child("oneroster"), log: log)
            if mode == .both { log.add(o.child("mode"), "format \"oneroster\" writes one bundle a run: \"full\" (bulk) or \"delta\"") }
            if case .set = deletes {
                log.add(
                    o.child("deletes"),
                    "format \"oneroster\" sends a deleted user with status tobedeleted: deletes must be \"row\" or \"omit\"")
            }
            if o.has("action") { log.add(o.child("action"), "OneRoster delta rows carry status (active/tobedeleted), not an action column") }
            if dialect.delimiter != UInt8(ascii: ",") || !dialect.header || dialect.encoding != .utf8 {
                log.add(path, "OneRoster CSV files are comma separated UTF-8 with a header: leave delimiter, header and encoding out")
            }
        } else if o.has("oneroster") {
            _ = o.node("oneroster")
            log.add(o.child("oneroster"), "only with format \"oneroster\"")
        }
        let encrypt = o.node("encrypt").flatMap { readEncrypt($0, path: o.child("encrypt"), folder: folder, log: log) }
        for (k, line) in preamble.enumerated() where line.utf8.contains(where: { $0 == 0x0A || $0 == 0x0D }) {
            log.add("\(o.child("preamble"))[\(k)]", "one line each: no line breaks")
        }
        if let trigger,
            trigger.isEmpty || trigger.contains("/") || trigger.contains("\\")
                || trigger.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
        {
            log.add(o.child("trigger"), "must be a non-empty suffix without `/`, such as \".done\"")
        }
        o.finish()
        // Returned even when a field had a problem, so the checks against the columns still run
        // (every problem is reported); `load` makes no mapping from it then.
        var spec = OutputSpec(
            fileTemplate: file, mode: mode, dialect: dialect, action: action, deletes: deletes,
            formulaGuard: formulaGuard, sendEmptyDelta: sendEmpty, checksum: checksum, trigger: trigger,
            preamble: preamble, encrypt: encrypt, oneRoster: oneRoster)
        spec.formulaGuardExcept = Set(unguarded)
        return spec
    }

    /// `output.encrypt: { recipientKey, armor?, signWith?, passphraseEnv? }`; key files resolve
    /// against the mapping file's folder and must be readable.
    private static func readEncrypt(_ node: ConfigNode, path: String, folder: String, log: ProblemLog) -> EncryptionSpec? {
        guard var e = ObjectReader(node, path: path, log: log) else { return nil }
        let before = log.problems.count
        func keyFile(_ key: String, required: Bool) -> String? {
            guard let name = e.string(key, required: required) else { return nil }
            let full = name.hasPrefix("/") ? name : folder + "/" + name
            if access(full, R_OK) != 0 { log.add(e.child(key), "cannot read the key file \(full)") }
            return full
        }
        let recipient = keyFile("recipientKey", required: true)
        let armor = e.bool("armor") ?? false
        let signWith = keyFile("signWith", required: false)
        let passphraseEnv = e.string("passphraseEnv")
        if let passphraseEnv {
            if signWith == nil { log.add(e.child("passphraseEnv"), "only with signWith (the signing key's passphrase)") }
            let valid = !passphraseEnv.isEmpty && passphraseEnv.utf8.allSatisfy {
                ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F
            }
            if !valid { log.add(e.child("passphraseEnv"), "must name an environment variable (letters, digits, _)") }
        }
        e.finish()
        guard log.problems.count == before, let recipient else { return nil }
        return EncryptionSpec(recipientKey: recipient, armor: armor, signWith: signWith, passphraseEnv: passphraseEnv)
    }

    /// `oneroster: { orgs: [{ sourcedId, name, type, identifier?, parentSourcedId? }] }` (optional).
    private static func readOneRoster(_ node: ConfigNode?, path: String, log: ProblemLog) -> OneRosterSpec {
        var orgs: [[String]] = []
        guard let node, var r = ObjectReader(node, path: path, log: log) else { return OneRosterSpec(orgs: []) }
        if let list = r.node("orgs") {
            if case .array(let items) = list {
                for (k, item) in items.enumerated() {
                    guard var org = ObjectReader(item, path: "\(path).orgs[\(k)]", log: log) else { continue }
                    let id = org.string("sourcedId", required: true) ?? ""
                    let name = org.string("name", required: true) ?? ""
                    let type = org.string("type", required: true) ?? ""
                    if !type.isEmpty && !OneRosterSpec.orgTypes.contains(type) {
                        log.add("\(path).orgs[\(k)].type", "must be one of " + OneRosterSpec.orgTypes.joined(separator: ", "))
                    }
                    let identifier = org.string("identifier") ?? ""
                    let parent = org.string("parentSourcedId") ?? ""
                    org.finish()
                    orgs.append([id, "", "", name, type, identifier, parent])
                }
            } else {
                log.add("\(path).orgs", "expected a list of orgs, found \(list.typeName)")
            }
        }
        // An enrollment's school is one of the orgs of type school, when orgs are given.
        let type = OneRosterSpec.orgColumns.firstIndex(of: "type")!
        let schools = orgs.isEmpty ? nil : Set(orgs.filter { $0[type] == "school" }.map { $0[0] })
        let enrollments = r.node("enrollments").flatMap {
            readEnrollments($0, path: r.child("enrollments"), schools: schools, log: log)
        }
        r.finish()
        return OneRosterSpec(orgs: orgs, enrollments: enrollments)
    }

    /// `enrollments: { classes: {from, …}, role: "teacher" | {from, …}, school?, primary?,
    /// beginDate?, endDate? }`: each value a constant or a column's value spec (`from`, list
    /// operations, `map`, `default`, `date`, `transform`); `classes` keeps every value.
    private static func readEnrollments(_ node: ConfigNode, path: String, schools: Set<String>?, log: ProblemLog)
        -> EnrollmentSpec?
    {
        guard var e = ObjectReader(node, path: path, log: log) else { return nil }
        let before = log.problems.count
        var fields: [(field: EnrollmentSpec.Field, column: ColumnSpec)] = []
        for field in EnrollmentSpec.Field.allCases {
            let at = e.child(field.rawValue)
            guard let value = e.node(field.rawValue) else {
                if field == .classes || field == .role { log.add(at, "required") }
                continue
            }
            var column: ColumnSpec?
            switch value {
            case .string(let constant) where field != .classes:
                column = ColumnSpec(
                    name: field.columnName, source: .value(constant), lookup: nil, map: nil, defaultValue: nil,
                    date: nil, transforms: [])
            case .object:
                guard var c = ObjectReader(value, path: at, log: log) else { continue }
                column = readValueSpec(&c, name: field.columnName, path: at, log: log)
            default:
                log.add(
                    at,
                    field == .classes
                        ? "expected { from: COLUMN, … } (the column holding each user's classes), found \(value.typeName)"
                        : "expected a constant or { from: COLUMN, … }, found \(value.typeName)")
            }
            guard var column else { continue }
            column.path = at
            if field == .classes {
                if case .from = column.source {
                } else {
                    log.add(at, "needs from: the column holding each user's classes")
                }
                if column.list.pick != nil {
                    log.add(at, "keeps every value (an enrollment per class): leave join, first and index out")
                }
                column.keepsEveryValue = true
            }
            // The values a mapping states must be ones enrollments.csv allows.
            if let rule = EnrollmentSpec.rule(for: field) {
                for (at, stated) in statedValues(column)
                where (!stated.isEmpty || field == .role) && !rule.holds(stated) {
                    log.add(at, "`\(stated)` \(rule.says)")
                }
            }
            if field == .school, let schools {
                for (at, school) in statedValues(column) where !school.isEmpty && !schools.contains(school) {
                    log.add(at, "`\(school)` is not an org of type school in oneroster.orgs")
                }
            }
            fields.append((field, column))
        }
        e.finish()
        return log.problems.count == before ? EnrollmentSpec(fields: fields, schools: schools) : nil
    }

    /// The values a column states as they are, with their paths: its constant, its map's
    /// values, its default.
    private static func statedValues(_ column: ColumnSpec) -> [(path: String, value: String)] {
        let at = column.path ?? ""
        var out: [(path: String, value: String)] = []
        if case .value(let constant) = column.source, column.map == nil { out.append((at, constant)) }
        out += (column.map ?? [:]).sorted { $0.key < $1.key }.map { ("\(at).map.\($0.key)", $0.value) }
        if let d = column.defaultValue { out.append(("\(at).default", d)) }
        return out
    }

    static let fileFields = ["target", "date", "time", "kind", "seq"]

    private static func checkFileTemplate(_ file: String, path: String, log: ProblemLog) {
        do {
            let template = try Template(file)
            for name in template.placeholders where !fileFields.contains(name) {
                log.add(
                    path,
                    "unknown field {\(name)} (use {target} {date} {time} {kind} {seq})"
                        + suggestion(for: name, in: fileFields))
            }
            let literal = template.parts.compactMap { if case .text(let t) = $0 { return t } else { return nil } }
                .joined()
            if literal.contains("/") || literal.contains("\\") || file.hasPrefix(".") {
                log.add(path, "must be a plain file name, not a path")
            } else if file.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F..<0xA0).contains($0.value) }) {
                log.add(path, "must not hold control characters")
            }
        } catch {
            log.add(path, "\(error)")
        }
    }

    private static func readSafety(_ node: ConfigNode?, path: String, log: ProblemLog) -> Safety? {
        guard let node else { return Safety.none }
        guard var s = ObjectReader(node, path: path, log: log) else { return nil }
        let before = log.problems.count
        let safety = Safety(
            maxDeletes: s.integer("maxDeletes"),
            maxDeletePercent: s.number("maxDeletePercent", max: 100),
            maxUpdatePercent: s.number("maxUpdatePercent", max: 100),
            onExceed: s.choice("onExceed", Safety.OnExceed.self, choices: ["hold", "hold-deletes"]) ?? .hold)
        s.finish()
        return log.problems.count == before ? safety : nil
    }
}
