import Foundation

/// `dropfeed validate` on a one-target feed whose mapping is `mapping` (JSON5 text), over a
/// one-column export `e.csv` keyed by `id`: for tests of the problems a mapping is refused for.
func validateMapping(_ mapping: String) throws -> ProcessResult {
    try TemporaryDirectory.with { dir in
        try Data("id\n1\n".utf8).write(to: dir.appendingPathComponent("e.csv"))
        try Data(mapping.utf8).write(to: dir.appendingPathComponent("m.json"))
        try Data(
            #"{ version: 1, source: { path: "e.csv", key: "id" }, stateDir: "s", targets: [{ name: "t", mapping: "m.json", deliver: { directory: "o" } }] }"#
                .utf8
        ).write(to: dir.appendingPathComponent("dropfeed.json"))
        return try DropfeedProcess.run(["validate"], cwd: dir)
    }
}
