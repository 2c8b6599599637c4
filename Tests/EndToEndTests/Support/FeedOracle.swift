import Foundation
import Testing

/// `samples/expected_counts.py`: an oracle independent of the code under test, re-implementing
/// the mapping semantics in plain Python. It compares an OLD export (first run, no snapshot) with
/// a NEW one (the next run).
enum FeedOracle {
    struct Gate: Decodable, Sendable {
        var name: String
        var limit: Double
        var actual: Double
        var tripped: Bool
    }

    struct File: Decodable, Sendable {
        var kind: String
        var rows: Int
    }

    struct Figures: Decodable, Sendable {
        var considered: Int
        var rejected: Int
        var rows: Int
        var adds: Int
        var updates: Int
        var deletes: Int
        var unchanged: Int
        var deltaRows: Int
        /// The data files a run sends (full, then delta).
        var files: [File]
        var gates: [Gate]
        var held: Bool
    }

    struct Target: Decodable, Sendable {
        var name: String
        var first: Figures
        var next: Figures
    }

    struct Counts: Decodable, Sendable {
        var targets: [Target]

        func target(_ name: String) throws -> Target {
            try #require(targets.first { $0.name == name }, "the oracle has no target \(name)")
        }
    }

    /// The keys behind a target's next-run figures; composite keys joined with `/`.
    struct Keys: Sendable, Equatable {
        var adds: Set<String> = []
        var updates: Set<String> = []
        var deletes: Set<String> = []
    }

    static func python() throws -> URL {
        try #require(DropfeedProcess.which("python3"), "python3 is not on PATH; the feed end-to-end tests need it")
    }

    private static func oracle(_ arguments: [String], config: URL, old: URL?, new: URL?) throws -> ProcessResult {
        // The script next to the config: it imports make_samples from its own folder.
        let script = config.deletingLastPathComponent().appendingPathComponent("expected_counts.py")
        var args = [script.path, "--config", config.path]
        if let old { args += ["--old", old.path] }
        if let new { args += ["--new", new.path] }
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONIOENCODING"] = "utf-8"
        environment["PYTHONDONTWRITEBYTECODE"] = "1"  // it runs on the repository's samples/ too
        let r = try DropfeedProcess.runProgram(try python(), args + arguments, environment: environment)
        try #require(r.exitCode == 0, "expected_counts.py \(arguments) failed (\(r.exitCode)): \(r.stderr)")
        return r
    }

    /// The figures for every target of `config`, OLD (default: the config's source) then NEW
    /// (default: `hr_export_next.csv` beside OLD).
    static func counts(config: URL, old: URL? = nil, new: URL? = nil) throws -> Counts {
        let r = try oracle(["--json"], config: config, old: old, new: new)
        return try JSONDecoder().decode(Counts.self, from: r.stdoutData)
    }

    /// The keys behind `target`'s next-run adds, updates and deletes.
    static func keys(_ target: String, config: URL, old: URL? = nil, new: URL? = nil) throws -> Keys {
        let r = try oracle(["--explain", target], config: config, old: old, new: new)
        var keys = Keys()
        for line in r.stdout.split(separator: "\n") {
            guard let colon = line.range(of: ": ") else { continue }
            let head = line[..<colon.lowerBound]
            let list = line[colon.upperBound...]
            let values = Set(list.components(separatedBy: ", ").filter { !$0.isEmpty })
            if head.hasPrefix("adds (") { keys.adds = values }
            if head.hasPrefix("updates (") { keys.updates = values }
            if head.hasPrefix("deletes (") { keys.deletes = values }
        }
        return keys
    }

    /// The repository's own `samples/dropfeed.local.json` (read, never written).
    static var sampleConfig: URL { DropfeedProcess.packageRoot.appendingPathComponent("samples/dropfeed.local.json") }

    private static let sampleCountsResult = Result { try counts(config: sampleConfig) }
    private static let sampleKeysResult = Result {
        try Dictionary(uniqueKeysWithValues: FeedWorkspace.targets.map { ($0, try keys($0, config: sampleConfig)) })
    }

    /// The sample days (hr_export.csv, then hr_export_next.csv), computed once per test process.
    static func sampleCounts() throws -> Counts { try sampleCountsResult.get() }

    /// The keys behind each sample target's day-2 changes, computed once per test process.
    static func sampleKeys(_ target: String) throws -> Keys {
        try #require(try sampleKeysResult.get()[target])
    }
}

/// A CSV file as Python's `csv` module reads it, with its size and SHA-256 (`hashlib`): an
/// outside view of what Dropfeed wrote.
struct CSVFile: Decodable {
    var bytes: Int
    var sha256: String
    var bom: Bool
    var header: [String]?
    var records: [[String]]

    /// The dialect a file is read in (the one its mapping declares).
    struct Dialect {
        var delimiter = ","
        var encoding = "utf-8"
        var header = true
    }

    static let script = #"""
        import codecs, csv, hashlib, io, json, sys
        ENCODINGS = {"utf-8": "utf-8", "windows-1252": "cp1252", "iso-8859-1": "latin-1", "utf-16": "utf-16"}
        cmd = sys.argv[1]
        if cmd == "read":
            path, delimiter, encoding, header = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5] == "1"
            data = open(path, "rb").read()
            bom = data.startswith(codecs.BOM_UTF8)
            text = data.decode(ENCODINGS[encoding])
            if bom and encoding == "utf-8":
                text = text[1:]
            records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
            head = records.pop(0) if header and records else None
            json.dump({"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(), "bom": bom,
                       "header": head, "records": records}, sys.stdout, ensure_ascii=False)
        elif cmd == "drop":
            # drop SRC DST KEYFILE: SRC without the rows whose first column is listed in KEYFILE
            src, dst, keyfile = sys.argv[2], sys.argv[3], sys.argv[4]
            drop = set(open(keyfile, encoding="utf-8").read().split())
            with open(src, newline="", encoding="utf-8") as f:
                rows = list(csv.reader(f, strict=True))
            kept = [r for r in rows[1:] if r[0] not in drop]
            with open(dst, "w", newline="", encoding="utf-8") as f:
                w = csv.writer(f, lineterminator="\r\n")
                w.writerow(rows[0])
                w.writerows(kept)
            print(len(rows) - 1 - len(kept))
        """#

    static func read(_ url: URL, _ dialect: Dialect = Dialect()) throws -> CSVFile {
        let r = try DropfeedProcess.runProgram(
            try FeedOracle.python(),
            ["-c", script, "read", url.path, dialect.delimiter, dialect.encoding, dialect.header ? "1" : "0"])
        try #require(r.exitCode == 0, "python csv cannot read \(url.lastPathComponent): \(r.stderr)")
        return try JSONDecoder().decode(CSVFile.self, from: r.stdoutData)
    }

    /// Writes SRC without the rows whose key (first column) is in `keys`, as Python's csv writes
    /// (RFC 4180, CRLF); returns how many rows were dropped.
    @discardableResult
    static func write(_ source: URL, to destination: URL, dropping keys: Set<String>) throws -> Int {
        let keyFile = destination.deletingLastPathComponent().appendingPathComponent(".drop-keys-\(UUID().uuidString)")
        try Data(keys.sorted().joined(separator: "\n").utf8).write(to: keyFile)
        defer { try? FileManager.default.removeItem(at: keyFile) }
        let r = try DropfeedProcess.runProgram(
            try FeedOracle.python(), ["-c", script, "drop", source.path, destination.path, keyFile.path])
        try #require(r.exitCode == 0, "python csv cannot rewrite \(source.lastPathComponent): \(r.stderr)")
        return Int(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    /// The records as dictionaries by header name (files with a header only).
    var rows: [[String: String]] {
        guard let header else { return [] }
        return records.map { Dictionary(zip(header, $0), uniquingKeysWith: { a, _ in a }) }
    }
}

/// The sample targets' output dialects, as their mappings declare them.
enum SampleDialects {
    static let byTarget: [String: CSVFile.Dialect] = [
        "acme-lms": CSVFile.Dialect(delimiter: ",", encoding: "utf-8", header: true),
        "badges": CSVFile.Dialect(delimiter: ";", encoding: "windows-1252", header: false),
        "awareness": CSVFile.Dialect(delimiter: ",", encoding: "utf-8", header: true),
    ]

    /// A badges record's composite key, as the oracle prints it: `site/badge_id`.
    static func badgeKey(_ record: [String]) -> String { record[0] + "/" + record[1] }
}
