/// A column of a SCIM source: an attribute path (RFC 7644 §3.10) with an optional value filter,
/// such as `userName`, `name.givenName`, `emails[type eq "work"].value`, `emails[primary eq true].value`
/// or `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`.
struct SCIMPath {
    /// The schema URN written before the attribute, lowercased, if any.
    var schema: String?
    var attribute: String
    var filter: SCIMFilter?
    var subAttribute: String?

    static let enterpriseSchema = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user"
    static let userSchema = "urn:ietf:params:scim:schemas:core:2.0:user"

    /// Parses `text`; throws a message saying what is wrong.
    init(_ text: String) throws(SCIMPathError) {
        var rest = Substring(text)
        // A URN prefix (which has dots: `…:2.0:User`) ends at the last `:` before any filter.
        let head = rest.prefix { $0 != "[" }
        if head.lowercased().hasPrefix("urn:") {
            guard let colon = head.lastIndex(of: ":") else {
                throw SCIMPathError("`\(text)`: a schema URN without an attribute")
            }
            schema = head[..<colon].lowercased()
            rest = rest[rest.index(after: colon)...]
        }
        let name = rest.prefix { $0 != "[" && $0 != "." }
        guard SCIMPath.isName(name) else { throw SCIMPathError("`\(text)` is not a SCIM attribute path") }
        attribute = String(name)
        rest = rest[name.endIndex...]
        if rest.first == "[" {
            guard let close = SCIMPath.closingBracket(rest) else {
                throw SCIMPathError("`\(text)`: a filter without `]`")
            }
            filter = try SCIMFilter(String(rest[rest.index(after: rest.startIndex)..<close]), path: text)
            rest = rest[rest.index(after: close)...]
        }
        if rest.first == "." {
            let sub = rest.dropFirst()
            guard SCIMPath.isName(sub) else { throw SCIMPathError("`\(text)`: `\(sub)` is not a sub-attribute name") }
            subAttribute = String(sub)
            rest = rest[rest.endIndex...]
        }
        guard rest.isEmpty else { throw SCIMPathError("`\(text)`: unexpected `\(rest)`") }
    }

    /// `ALPHA *(nameChar)`, nameChar being `-`, `_`, digits and letters.
    static func isName<S: StringProtocol>(_ s: S) -> Bool {
        guard let first = s.unicodeScalars.first, first.isASCII, first.properties.isAlphabetic else { return false }
        return s.unicodeScalars.allSatisfy {
            $0.isASCII
                && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" || $0 == "$")
        }
    }

    private static func closingBracket(_ s: Substring) -> Substring.Index? {
        var inString = false
        var escaped = false
        for i in s.indices {
            let c = s[i]
            if inString {
                if escaped {
                    escaped = false
                } else if c == "\\" {
                    escaped = true
                } else if c == "\"" {
                    inString = false
                }
            } else if c == "\"" {
                inString = true
            } else if c == "]" {
                return i
            }
        }
        return nil
    }

    /// The unfiltered leaf this path reads, lowercased, as `SCIMExportReader` lists leaves found
    /// (`emails.value` for `emails[type eq "work"].value`).
    var leaf: String {
        let base = (schema.map { $0 + ":" } ?? "") + attribute.lowercased()
        return subAttribute.map { base + "." + $0.lowercased() } ?? base
    }

    /// The values this path reads in `resource`: a complex value without a sub-attribute gives
    /// its `value` sub-attribute (as `manager` gives `manager.value`).
    func values(in resource: JSONValue) -> [String] {
        var found: JSONValue?
        if let schema {
            found = resource.member(schema)?.member(attribute)
        } else {
            found = resource.member(attribute)
            // Attributes of the enterprise extension may be named without their URN.
            if found == nil { found = resource.member(SCIMPath.enterpriseSchema)?.member(attribute) }
        }
        guard let found else { return [] }
        var items: [JSONValue]
        if case .array(let list) = found { items = list } else { items = [found] }
        if let filter { items = items.filter(filter.matches) }
        return items.compactMap { item -> String? in
            if case .object = item { return item.member(subAttribute ?? "value")?.text }
            return subAttribute == nil ? item.text : nil
        }
    }
}

struct SCIMPathError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A value filter inside `[…]`: comparisons (`eq ne co sw ew gt ge lt le`, `pr`) joined with
/// `and` / `or` (`and` binds tighter), and `not (…)` is not supported.
struct SCIMFilter {
    struct Comparison {
        var attribute: String
        var op: String
        var value: JSONValue?
    }

    /// Alternatives (`or`), each a list of comparisons that must all hold (`and`).
    var alternatives: [[Comparison]]

    init(_ text: String, path: String) throws(SCIMPathError) {
        var tokens = try SCIMFilter.tokens(text, path: path)
        var alternatives: [[Comparison]] = [[]]
        while !tokens.isEmpty {
            let attribute = tokens.removeFirst()
            guard SCIMPath.isName(attribute), !tokens.isEmpty else {
                throw SCIMPathError("`\(path)`: expected `attribute op value` in the filter, found `\(attribute)`")
            }
            let op = tokens.removeFirst().lowercased()
            var comparison = Comparison(attribute: attribute, op: op, value: nil)
            switch op {
            case "pr": break
            case "eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le":
                guard !tokens.isEmpty else { throw SCIMPathError("`\(path)`: `\(op)` needs a value") }
                comparison.value = try SCIMFilter.literal(tokens.removeFirst(), path: path)
            default: throw SCIMPathError("`\(path)`: unknown filter operator `\(op)`")
            }
            alternatives[alternatives.count - 1].append(comparison)
            guard !tokens.isEmpty else { break }
            switch tokens.removeFirst().lowercased() {
            case "and": break
            case "or": alternatives.append([])
            case let other: throw SCIMPathError("`\(path)`: expected `and` or `or` in the filter, found `\(other)`")
            }
            if tokens.isEmpty { throw SCIMPathError("`\(path)`: the filter ends after `and`/`or`") }
        }
        guard !alternatives[0].isEmpty else { throw SCIMPathError("`\(path)`: an empty filter") }
        self.alternatives = alternatives
    }

    private static func tokens(_ text: String, path: String) throws(SCIMPathError) -> [String] {
        var out: [String] = []
        var current = ""
        var inString = false
        var escaped = false
        for c in text {
            if inString {
                current.append(c)
                if escaped {
                    escaped = false
                } else if c == "\\" {
                    escaped = true
                } else if c == "\"" {
                    inString = false
                }
            } else if c == " " {
                if !current.isEmpty { out.append(current) }
                current = ""
            } else {
                if c == "\"" { inString = true }
                current.append(c)
            }
        }
        if inString { throw SCIMPathError("`\(path)`: a string in the filter without its closing quote") }
        if !current.isEmpty { out.append(current) }
        return out
    }

    private static func literal(_ token: String, path: String) throws(SCIMPathError) -> JSONValue {
        switch token.lowercased() {
        case "true": return .bool(true)
        case "false": return .bool(false)
        case "null": return .null
        default: break
        }
        if token.hasPrefix("\"") {
            guard token.count >= 2, token.hasSuffix("\"") else {
                throw SCIMPathError("`\(path)`: a bad string `\(token)`")
            }
            var s = String(token.dropFirst().dropLast())
            s = s.replacingOccurrences(of: "\\\"", with: "\"").replacingOccurrences(of: "\\\\", with: "\\")
            return .string(s)
        }
        if Double(token) != nil { return .number(token) }
        throw SCIMPathError(
            "`\(path)`: the filter value `\(token)` must be quoted (\"…\"), a number, true, false or null")
    }

    func matches(_ item: JSONValue) -> Bool {
        alternatives.contains { all in all.allSatisfy { $0.holds(item) } }
    }
}

extension SCIMFilter.Comparison {
    func holds(_ item: JSONValue) -> Bool {
        let actual = item.member(attribute)
        if op == "pr" {
            switch actual {
            case nil, .null?: return false
            case .string(let s)?: return !s.isEmpty
            case .array(let a)?: return !a.isEmpty
            default: return true
            }
        }
        guard let value else { return false }
        switch (actual ?? .null, value) {
        case (.null, .null): return op == "eq"
        case (.bool(let a), .bool(let b)): return op == "eq" ? a == b : op == "ne" ? a != b : false
        case (.number(let a), .number(let b)):
            guard let x = Double(a), let y = Double(b) else { return false }
            switch op {
            case "eq": return x == y
            case "ne": return x != y
            case "gt": return x > y
            case "ge": return x >= y
            case "lt": return x < y
            case "le": return x <= y
            default: return false
            }
        case (.string(let a), .string(let b)):
            // Sub-attributes such as `type` and `value` are not case-exact (RFC 7643 §4.1.2).
            let x = a.lowercased()
            let y = b.lowercased()
            switch op {
            case "eq": return x == y
            case "ne": return x != y
            case "co": return x.contains(y)
            case "sw": return x.hasPrefix(y)
            case "ew": return x.hasSuffix(y)
            case "gt": return x > y
            case "ge": return x >= y
            case "lt": return x < y
            case "le": return x <= y
            default: return false
            }
        default: return op == "ne"
        }
    }
}
