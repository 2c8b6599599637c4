import Foundation

/// Reads SCIM 2.0 User resources (RFC 7643): a `ListResponse` document (`Resources`, or
/// `resources` as Entra writes it) or JSON Lines (one resource per line, or any white space
/// between them), front to back, one resource in memory at a time.
///
/// Columns are attribute paths (`SCIMPath`): names match without regard to case; an attribute
/// of the enterprise extension may be written with or without its URN; a multi-valued attribute
/// (`emails.value`) gives several values, which a filter (`emails[type eq "work"].value`) narrows.
/// The header is every leaf path found (`name.givenName`, `emails.value`, the extension's with
/// and without the URN), and each column asked for whose leaf is among them.
final class SCIMExportReader: SourceRecordReader {
    private let stream: JSONStream
    private let columns: [String]
    private let paths: [SCIMPath]
    private var leaves = AttributeNames()
    private(set) var multiValuedLines: [String: Int] = [:]

    private enum State {
        case start
        /// Inside the `Resources` list of a ListResponse.
        case resources
        /// After the list: the rest of the ListResponse object.
        case afterResources
        case jsonLines
        case done
    }

    private var state = State.start
    /// One resource is held in memory at a time, up to this size.
    static let maxResourceBytes = 16 << 20

    init(path: String, displayName: String, columns: [String]) throws {
        stream = try JSONStream(path: path, displayName: displayName)
        self.columns = columns
        paths = try columns.map { name in
            do { return try SCIMPath(name) } catch {
                throw DataError("\(displayName): \(error) (source columns of a scim source are SCIM paths)")
            }
        }
    }

    var header: [String] {
        var found: [String] = []
        for (k, name) in columns.enumerated() where resolves(paths[k]) { found.append(name) }
        return AttributeNames.header(leaves.spellings, asked: found) { _ in true }
    }

    /// Whether some resource has the leaf `path` reads (`manager` reads `manager.value`).
    private func resolves(_ path: SCIMPath) -> Bool {
        leaves.contains(canonical: path.leaf)
            || (path.subAttribute == nil && leaves.contains(canonical: path.leaf + ".value"))
    }

    func next() throws -> SourceRecord? {
        while true {
            switch state {
            case .start:
                guard let b = try stream.skipSpace() else { return nil }
                guard b == UInt8(ascii: "{") else {
                    throw stream.error(
                        "not a SCIM export: expected a ListResponse object or User resources, one per line")
                }
                let line = stream.line
                stream.limit = stream.consumed + SCIMExportReader.maxResourceBytes
                if let resource = try openTopObject() { return try record(resource, line: line, listed: false) }
            case .resources:
                guard let b = try stream.skipSpace() else { throw stream.error("the Resources list does not end") }
                if b == UInt8(ascii: "]") {
                    try stream.next()
                    state = .afterResources
                    continue
                }
                let line = stream.line
                stream.limit = stream.consumed + SCIMExportReader.maxResourceBytes
                let resource = try stream.value(depth: 2)
                let end = try stream.endOfList(UInt8(ascii: "]"))
                if end { state = .afterResources }
                return try record(resource, line: line, listed: true)
            case .afterResources:
                try restOfListResponse()
                state = .done
            case .jsonLines:
                guard let b = try stream.skipSpace() else {
                    state = .done
                    return nil
                }
                guard b == UInt8(ascii: "{") else { throw stream.error("expected the next User resource (`{`)") }
                let line = stream.line
                stream.limit = stream.consumed + SCIMExportReader.maxResourceBytes
                return try record(try stream.value(), line: line, listed: false)
            case .done:
                if try stream.skipSpace() != nil {
                    throw stream.error(
                        "more after the ListResponse (one ListResponse per file, or JSON Lines of resources)")
                }
                return nil
            }
        }
    }

    /// Reads the first top-level object up to its `Resources` member (a ListResponse: nil is
    /// returned, the list is read next) or whole (a resource of JSON Lines: returned).
    private func openTopObject() throws -> JSONValue? {
        try stream.next()  // {
        var members: [(String, JSONValue)] = []
        if try stream.skipSpace() == UInt8(ascii: "}") {
            try stream.next()
            state = .jsonLines
            return .object([])
        }
        while true {
            let key = try stream.string()
            try stream.expect(UInt8(ascii: ":"), "`:` after a key")
            if key == "Resources" || key == "resources" {
                stream.limit = Int.max
                try stream.expect(UInt8(ascii: "["), "a list of resources in `\(key)`")
                if try stream.skipSpace() == UInt8(ascii: "]") {
                    try stream.next()
                    state = .afterResources
                } else {
                    state = .resources
                }
                return nil
            }
            members.append((key, try stream.value(depth: 1)))
            if try stream.endOfList(UInt8(ascii: "}")) {
                state = .jsonLines
                return .object(members)
            }
        }
    }

    /// The members of a ListResponse after `Resources` (`totalResults`, paging), up to its `}`.
    private func restOfListResponse() throws {
        if try stream.endOfList(UInt8(ascii: "}")) { return }
        while true {
            let key = try stream.string()
            if key == "Resources" || key == "resources" { throw stream.error("a second `\(key)` list") }
            try stream.expect(UInt8(ascii: ":"), "`:` after a key")
            stream.limit = stream.consumed + SCIMExportReader.maxResourceBytes
            _ = try stream.value(depth: 1)
            if try stream.endOfList(UInt8(ascii: "}")) { return }
        }
    }

    private func record(_ resource: JSONValue, line: Int, listed: Bool) throws -> SourceRecord {
        guard case .object(let members) = resource else {
            throw stream.error("a resource that is not an object", line: line)
        }
        if let schemas = resource.member("schemas") {
            let names: [String]
            if case .array(let list) = schemas {
                names = list.compactMap(\.text).map { $0.lowercased() }
            } else {
                names = []
            }
            if names.contains("urn:ietf:params:scim:api:messages:2.0:listresponse") && !listed {
                throw stream.error("a ListResponse inside JSON Lines (one ListResponse per file)", line: line)
            }
            guard names.contains(SCIMPath.userSchema) else {
                throw stream.error(
                    "not a User resource (its schemas are \(names.map { "`\($0)`" }.joined(separator: ", ")))",
                    line: line)
            }
        }
        try noteLeaves(members, prefix: "", line: line)
        var hash = RowHash.seed
        resource.hash(into: &hash)
        var fields: [[UInt8]] = []
        fields.reserveCapacity(paths.count)
        for (k, path) in paths.enumerated() {
            var field: [UInt8] = []
            var count = 0
            for value in path.values(in: resource) { MultiValue.append(Array(value.utf8), to: &field, count: &count) }
            if count > 1 && multiValuedLines[columns[k]] == nil { multiValuedLines[columns[k]] = line }
            fields.append(field)
        }
        return SourceRecord(line: line, hash: hash, fields: fields)
    }

    /// Lists the leaf paths of `members` (an extension object's under its URN and under their own names).
    private func noteLeaves(_ members: [(String, JSONValue)], prefix: String, line: Int) throws {
        for (key, value) in members {
            if prefix.isEmpty, key.lowercased().hasPrefix("urn:"), case .object(let inner) = value {
                try noteLeaves(inner, prefix: key + ":", line: line)
                if key.lowercased() == SCIMPath.enterpriseSchema { try noteLeaves(inner, prefix: "", line: line) }
                continue
            }
            let path = prefix + key
            switch value {
            case .object(let subs):
                for (sub, v) in subs where v.text != nil || isScalarList(v) { try note(path + "." + sub, line) }
            case .array(let items):
                for item in items {
                    if case .object(let subs) = item {
                        for (sub, v) in subs where v.text != nil { try note(path + "." + sub, line) }
                    } else if item.text != nil {
                        try note(path, line)
                    }
                }
            case .null: break
            default: try note(path, line)
            }
        }
    }

    private func isScalarList(_ v: JSONValue) -> Bool {
        if case .array(let items) = v { return items.allSatisfy { $0.text != nil } }
        return false
    }

    private func note(_ path: String, _ line: Int) throws {
        guard leaves.note(path, canonical: path.lowercased()) else {
            throw stream.error("more than \(AttributeNames.limit) attribute paths", line: line)
        }
    }
}
