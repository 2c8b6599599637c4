import DropfeedCore
import Foundation

/// `dropfeed init [--source EXPORT]`: a starter `dropfeed.json` and one mapping listing every
/// source column, with the export's delimiter, encoding and byte order mark sniffed.
enum InitCommand {
    static let help = """
        usage: dropfeed init [--source EXPORT] [--config FILE] [--target NAME] [--force]

        Writes a starter feed config (default dropfeed.json) and one mapping,
        mappings/<target>.json, that sends every column of the export as it is to a local folder
        (outbox/<target>). With --source it reads the export's first line: the delimiter (, ; tab |),
        the encoding (a UTF-8 or UTF-16 byte order mark, else UTF-8 when the line is valid UTF-8,
        else windows-1252) and the key (a column named like employee_id, id or …_id, else the first
        column). `dropfeed validate` then passes; edit the mapping and the deliver block, then
        `dropfeed plan`. Never replaces an existing file unless --force.

        options:
          --source EXPORT  the HR export to describe (default: a placeholder export.csv)
          --config FILE    where to write the config (default: dropfeed.json)
          --target NAME    the target's name (default: vendor)
          --force          replace files that exist

        example:
          dropfeed init --source /srv/hr/export.csv && dropfeed validate && dropfeed plan
        """

    static func run(_ args: [String]) throws -> ExitCode {
        let a = try Arguments(
            args, command: "init", valued: ["--source", "--config", "--target"], switches: ["--force"])
        guard a.positionals.isEmpty else {
            throw UsageError("unexpected argument `\(a.positionals[0])`", command: "init")
        }
        let configPath = a.value("--config") ?? ConfigFile.defaultPath
        let target = a.value("--target") ?? "vendor"
        guard !target.isEmpty, target.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
            throw UsageError("--target takes letters, digits, - and _ (got `\(target)`)", command: "init")
        }
        let folder = (absolutePath(configPath, relativeTo: FileManager.default.currentDirectoryPath) as NSString)
            .deletingLastPathComponent
        let mappingRelative = "mappings/\(target).json"
        let mappingPath = folder + "/" + mappingRelative
        var sniffed = Sniffed(delimiter: ",", encoding: "utf-8", bom: false, header: ["employee_id", "email"])
        let sourcePath = a.value("--source") ?? "export.csv"
        if let source = a.value("--source") {
            sniffed = try Sniffed(path: source)
        }
        for path in [configPath, mappingPath] where FileManager.default.fileExists(atPath: path) && !a.has("--force") {
            throw InitRefused(path: path)
        }
        let key = sniffed.guessKey()
        let sourceForConfig =
            a.value("--source").map { absolutePath($0, relativeTo: FileManager.default.currentDirectoryPath) }
            .map { relativePath($0, from: folder) } ?? sourcePath
        let config = """
            // Written by `dropfeed init`. Relative paths resolve against this file's folder.
            {
              version: 1,
              source: {
                path: \(quoted(sourceForConfig)),
                key: \(quoted(key)),
                delimiter: \(quoted(sniffed.delimiter == "\t" ? "\\t" : sniffed.delimiter)),
                encoding: \(quoted(sniffed.encoding)),\(sniffed.bom ? "   // the export starts with a byte order mark" : "")
              },
              stateDir: "state",
              targets: [
                // For SFTP: deliver: { sftp: { host, port, user, remoteDir, identityFile, knownHosts } }
                { name: \(quoted(target)), mapping: \(quoted(mappingRelative)), deliver: { directory: \(quoted("outbox/" + target)) } },
              ],
            }

            """
        let columns = sniffed.header.map { "    { name: \(quoted($0)), from: \(quoted($0)) }," }
        let mapping = """
            // Written by `dropfeed init`: every source column, sent as it is. Rename, drop, transform.
            {
              version: 1,
              key: \(quoted(key)),
              columns: [
            \(columns.joined(separator: "\n"))
              ],
              output: {
                file: \(quoted(target + "_{date}_{seq}_{kind}.csv")),
                mode: "delta",
              },
            }

            """
        try FileManager.default.createDirectory(
            atPath: (mappingPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(config.utf8).write(to: URL(fileURLWithPath: configPath))
        try Data(mapping.utf8).write(to: URL(fileURLWithPath: mappingPath))
        Output.stdout("wrote \(configPath) and \(mappingRelative)\n")
        Output.note(
            "source \(sourceForConfig): delimiter \(sniffed.delimiter == "\t" ? "tab" : sniffed.delimiter), \(sniffed.encoding)\(sniffed.bom ? " with a byte order mark" : ""), \(sniffed.header.count) columns, key \(key)\nnext: dropfeed validate\(configPath == ConfigFile.defaultPath ? "" : " --config " + configPath), then dropfeed plan"
        )
        return .success
    }

    static func quoted(_ s: String) -> String { JSON.string(s).rendered(indent: nil) }

    /// `path` relative to `folder` when inside it, else as it is (absolute).
    static func relativePath(_ path: String, from folder: String) -> String {
        path.hasPrefix(folder + "/") ? String(path.dropFirst(folder.count + 1)) : path
    }
}

/// What the first line of an export says about it.
struct Sniffed {
    var delimiter: String
    var encoding: String
    var bom: Bool
    var header: [String]

    init(delimiter: String, encoding: String, bom: Bool, header: [String]) {
        self.delimiter = delimiter
        self.encoding = encoding
        self.bom = bom
        self.header = header
    }

    init(path: String) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw InitSourceMissing(path: path)
        }
        defer { try? handle.close() }
        var head = [UInt8]((try? handle.read(upToCount: 64 << 10)) ?? Data())
        bom = false
        encoding = "utf-8"
        if head.starts(with: [0xEF, 0xBB, 0xBF]) {
            bom = true
            head.removeFirst(3)
        } else if head.starts(with: [0xFF, 0xFE]) || head.starts(with: [0xFE, 0xFF]) {
            bom = true
            encoding = "utf-16"
        }
        var line: String
        if encoding == "utf-16" {
            let text =
                String(data: Data(head), encoding: head.first == 0xFF ? .utf16LittleEndian : .utf16BigEndian)
                ?? String(decoding: head, as: UTF8.self)
            line = String(text.drop { $0 == "\u{FEFF}" }.prefix { $0 != "\n" && $0 != "\r" && $0 != "\r\n" })
        } else {
            let end = head.firstIndex { $0 == 0x0A || $0 == 0x0D } ?? head.count
            let bytes = Array(head[..<end])
            if let text = String(validating: bytes, as: UTF8.self) {
                line = text
            } else {
                encoding = "windows-1252"
                line = String(bytes.map { Character(Unicode.Scalar($0)) })
            }
        }
        let candidates = [",", ";", "\t", "|"]
        delimiter =
            candidates.max { a, b in line.components(separatedBy: a).count < line.components(separatedBy: b).count }
            ?? ","
        header = line.components(separatedBy: delimiter).map {
            var field = $0.trimmingCharacters(in: .whitespaces)
            if field.count >= 2 && field.hasPrefix("\"") && field.hasSuffix("\"") {
                field = String(field.dropFirst().dropLast()).replacingOccurrences(of: "\"\"", with: "\"")
            }
            return field
        }
        guard !header.isEmpty, !header.contains(where: \.isEmpty) else {
            throw DataError("\(path): its first line is not a header (an empty column name)")
        }
    }

    /// A column that looks like the key, else the first.
    func guessKey() -> String {
        let lower = header.map { $0.lowercased() }
        for wanted in ["employee_id", "employeeid", "employee_number", "id", "user_id", "userid"] {
            if let k = lower.firstIndex(of: wanted) { return header[k] }
        }
        if let k = lower.firstIndex(where: { $0.hasSuffix("_id") || $0.hasSuffix("id") }) { return header[k] }
        return header[0]
    }
}

/// `init` would replace a file (exit 73: it cannot create it).
struct InitRefused: CodedError {
    var path: String
    var exitCode: ExitCode { .cannotCreate }
    var description: String {
        "\(path) already exists; give --force to replace it, or --config FILE to write elsewhere"
    }
}

/// `init --source` naming an export that is not there (exit 66).
struct InitSourceMissing: CodedError {
    var path: String
    var exitCode: ExitCode { .noInput }
    var description: String { "cannot read the export \(path)" }
}
