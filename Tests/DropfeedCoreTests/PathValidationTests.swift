import Foundation
import Testing

@testable import DropfeedCore

/// Names that become paths — a target's state folder, a file's name, the remote folder — cannot
/// reach outside their folder: each is a config problem (exit 78) before anything runs.
@Suite struct PathValidationTests {
    private func problems(
        name: String = "t", file: String = "u_{seq}.csv", trigger: String? = nil, remoteDir: String? = nil
    ) throws -> [String] {
        let w = try FeedWorkspace()
        try w.write("hr.csv", "id,email\n1,a@x\n")
        try w.write("keys/known_hosts", "")
        let triggerLine = trigger.map { ", trigger: \(jsonString($0))" } ?? ""
        try w.write(
            "m.json",
            """
            { version: 1, key: "user_id", columns: [ { name: "user_id", from: "id" } ],
              output: { file: \(jsonString(file))\(triggerLine) } }
            """)
        let deliver =
            remoteDir.map {
                "{ sftp: { host: \"h\", user: \"u\", agent: true, knownHosts: \"keys/known_hosts\", remoteDir: \(jsonString($0)) } }"
            } ?? "{ directory: \"out\" }"
        try w.write(
            "dropfeed.json",
            """
            { version: 1, source: { path: "hr.csv", key: "id" }, stateDir: "state",
              targets: [ { name: \(jsonString(name)), mapping: "m.json", deliver: \(deliver) } ] }
            """)
        do {
            _ = try FeedConfig.load(path: w.path("dropfeed.json"))
            return []
        } catch let error as ConfigError {
            #expect(error.exitCode == .config)
            return error.problems.map { "\($0.path): \($0.message)" }
        }
    }

    private func jsonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    static let unsafeNames = ["..", "../x", "x/y", "/abs", ".lock", ".source.json", ".hidden", "a\u{0}b", "a\nb"]

    @Test(arguments: unsafeNames)
    func targetNamesThatArePathsAreRefused(_ name: String) throws {
        let found = try problems(name: name)
        #expect(found.count == 1 && found[0].hasPrefix("targets[0].name: use letters, digits"), "\(found)")
    }

    @Test func ordinaryNamesPass() throws {
        for name in ["acme-lms", "b.vendor-2", "x..y", String(repeating: "n", count: 100)] {
            #expect(try problems(name: name) == [], "\(name)")
        }
    }

    static let unsafeFiles: [(String, String)] = [
        ("../u.csv", "must be a plain file name, not a path"),
        ("{target}/../../u.csv", "must be a plain file name, not a path"),
        ("sub/u_{seq}.csv", "must be a plain file name, not a path"),
        ("/etc/u_{seq}.csv", "must be a plain file name, not a path"),
        ("..\\u_{seq}.csv", "must be a plain file name, not a path"),
        (".u_{seq}.csv", "must be a plain file name, not a path"),
        ("u_{seq}\n.csv", "must not hold control characters"),
    ]

    @Test(arguments: unsafeFiles)
    func fileTemplatesThatArePathsAreRefused(_ file: String, _ message: String) throws {
        #expect(try problems(file: file) == ["output.file: \(message)"])
    }

    @Test func triggersCannotBePaths() throws {
        for trigger in ["/../x", "\\x", "\n.done"] {
            #expect(
                try problems(trigger: trigger) == [
                    "output.trigger: must be a non-empty suffix without `/`, such as \".done\""
                ], "\(trigger.debugDescription)")
        }
        #expect(try problems(trigger: ".done") == [])
    }

    @Test func remoteFoldersCannotClimbOut() throws {
        let message = "targets[0].deliver.sftp.remoteDir: must name the folder itself: no `..` component and no control characters"
        for dir in ["..", "/inbound/../etc", "in/..", "../x", "in\u{1B}"] {
            #expect(try problems(remoteDir: dir) == [message], "\(dir.debugDescription)")
        }
        for dir in ["/inbound", "inbound/users", ".", "/a..b/c"] {
            #expect(try problems(remoteDir: dir) == [], "\(dir)")
        }
    }
}
