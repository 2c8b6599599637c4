import Foundation
import Testing

/// A tiny feed in a fresh temporary folder, for the operator tests: an export of `people` rows
/// (`id,email,name`), one local-folder target `lms` whose mapping holds at most `maxDeletes`
/// deletes, and a state directory. Written as plain files, so a test can change any of it.
struct MiniFeed {
    let root: TemporaryDirectory
    /// `DROPFEED_NOW` for the next command.
    var now = "2026-04-01T02:00:00Z"
    var environment: [String: String] = [:]

    init(people: Int = 20, maxDeletes: Int = 2, extraTargets: String = "") throws {
        root = try TemporaryDirectory(prefix: "dropfeed-mini")
        try root.write(
            "mapping.json",
            """
            {
              version: 1,
              key: "user_id",
              columns: [
                { name: "user_id", from: "id" },
                { name: "email", from: "email" },
                { name: "name", from: "name" },
              ],
              output: { file: "lms_{date}_{seq}_{kind}.csv", mode: "delta" },
              safety: { maxDeletes: \(maxDeletes) },
            }
            """)
        try root.write(
            "dropfeed.json",
            """
            {
              version: 1,
              source: { path: "export.csv", key: "id" },
              stateDir: "state",
              targets: [
                { name: "lms", mapping: "mapping.json", deliver: { directory: "outbox" } },\(extraTargets)
              ],
            }
            """)
        try writeExport(people: 0..<people)
    }

    /// The export holding `people` (row k: `P1000+k`, `person.k@mini.example`, `Person Number k`).
    func writeExport(people: Range<Int>, renamed: Set<Int> = []) throws {
        var text = "id,email,name\n"
        for k in people {
            text += "P\(1000 + k),person.\(k)@mini.example,\(renamed.contains(k) ? "Renamed" : "Person") Number \(k)\n"
        }
        try root.write("export.csv", text)
    }

    /// Every value the export holds but its header, for "no row value leaked" checks.
    func exportValues() throws -> [String] {
        let text = try String(contentsOf: root.file("export.csv"), encoding: .utf8)
        return text.split(separator: "\n").dropFirst().flatMap { $0.split(separator: ",").map(String.init) }
    }

    /// Runs `dropfeed ARGS` in the feed's folder with `DROPFEED_NOW` and `environment` set.
    func run(_ arguments: [String], stdin: Data? = nil) throws -> ProcessResult {
        var env = ProcessInfo.processInfo.environment
        env["DROPFEED_NOW"] = now
        for (k, v) in environment { env[k] = v }
        return try DropfeedProcess.run(arguments, cwd: root.url, environment: env, stdin: stdin)
    }

    func path(_ name: String) -> String { root.file(name).path }

    func remove() { root.remove() }

    /// Makes a feed, runs `body` with it, and removes it afterwards.
    static func with<T>(people: Int = 20, maxDeletes: Int = 2, _ body: (inout MiniFeed) throws -> T) throws -> T {
        var feed = try MiniFeed(people: people, maxDeletes: maxDeletes)
        defer { feed.remove() }
        return try body(&feed)
    }
}
