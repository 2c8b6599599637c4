import Foundation
import Testing

@testable import DropfeedCore

/// `FeedConfig.load` and `FeedValidation.check` on files written to a temporary folder: a valid
/// feed, and broken ones where every problem must be listed with its file and JSON path.
struct ConfigTests {
    static let goodMapping = """
        // a comment, and trailing commas: JSON5
        { version: 1, key: "user_id",
          columns: [ { name: "user_id", from: "id" }, { name: "email", from: "email" }, ],
          output: { file: "x_{kind}.csv", }, }
        """

    /// The problems loading the workspace's config gives (none when it loads).
    static func problems(_ w: FeedWorkspace) -> [ConfigProblem] {
        do {
            _ = try w.config()
            return []
        } catch let error as ConfigError {
            return error.problems
        } catch {
            return [ConfigProblem(file: "?", path: "?", message: "unexpected \(type(of: error)): \(error)")]
        }
    }

    /// A config whose source and state are fine, with the given targets (JSON5 text).
    static func config(targets: [String], source: String = "path: \"hr.csv\", key: \"id\"", top: String = "version: 1,")
        -> String
    {
        """
        {
          \(top)
          source: { \(source) },
          targets: [
            \(targets.joined(separator: ",\n    ")),
          ],
        }
        """
    }

    static func p(_ file: String, _ path: String, _ message: String) -> ConfigProblem {
        ConfigProblem(file: file, path: path, message: message)
    }

    // MARK: - A valid feed

    @Test func validConfigLoadsWithPathsResolvedAgainstItsFolder() throws {
        let w = try FeedWorkspace()
        try w.write(
            "feed/mappings/a.json",
            """
            { version: 1, key: ["site", "user_id"],
              where: [ { column: "status", in: ["A", "L"] } ],
              columns: [ { name: "site", value: "HQ" }, { name: "user_id", from: "id" },
                         { name: "email", from: ["work_email", "home_email"], transform: ["trim", "lower"] } ],
              required: ["email"],
              output: { file: "a_{date}_{seq}.csv" },
              safety: { maxDeletes: 50, maxDeletePercent: 5.5, maxUpdatePercent: 50, onExceed: "hold-deletes" } }
            """)
        try w.write("feed/mappings/b.json", Self.goodMapping)
        try w.write(
            "feed/dropfeed.json",
            """
            {
              version: 1,
              source: { path: "../data/hr.csv", key: ["id"], delimiter: "\\t", encoding: "cp1252", minRows: 10, maxShrinkPercent: 12.5 },
              stateDir: "/var/tmp/dropfeed-state-unused",
              targets: [
                { name: "a", mapping: "mappings/a.json", deliver: { directory: "outbox/a" } },
                { name: "b.vendor-2", mapping: "./mappings/b.json",
                  deliver: { sftp: { host: "sftp.example", port: 2222, user: "acme", remoteDir: "/in",
                                     identityFile: "~/.ssh/id_ed25519", passphraseEnv: "ACME_PASSPHRASE",
                                     knownHosts: "keys/known_hosts", upload: "direct", overwrite: true,
                                     timeoutSeconds: 5, retries: 0 } } },
              ],
            }
            """)
        let config = try FeedConfig.load(path: w.path("feed/dropfeed.json"))
        let folder = w.path("feed")
        #expect(config.directory == folder)
        #expect(config.source.path == w.path("data/hr.csv"))
        #expect(config.source.displayPath == "../data/hr.csv")
        #expect(config.source.key == ["id"])
        #expect(config.source.options == CSVReadOptions(delimiter: 0x09, encoding: .windows1252, textOnly: true))
        #expect(config.source.minRows == 10)
        #expect(config.source.maxShrinkPercent == 12.5)
        #expect(config.stateDir == "/var/tmp/dropfeed-state-unused")
        #expect(config.targets.map(\.name) == ["a", "b.vendor-2"])

        guard case .directory(let outbox) = config.targets[0].deliver else {
            Issue.record("not a directory target")
            return
        }
        #expect(outbox == folder + "/outbox/a")
        guard case .sftp(let s) = config.targets[1].deliver else {
            Issue.record("not an sftp target")
            return
        }
        #expect(s.host == "sftp.example" && s.port == 2222 && s.user == "acme" && s.remoteDir == "/in")
        #expect(s.identityFile == NSHomeDirectory() + "/.ssh/id_ed25519")
        #expect(s.knownHosts == folder + "/keys/known_hosts")
        #expect(s.passphraseEnv == "ACME_PASSPHRASE" && s.passwordEnv == nil && !s.useAgent)
        #expect(s.upload == .direct && s.overwrite && s.timeoutSeconds == 5 && s.retries == 0)

        let a = config.targets[0].mapping
        #expect(a.file == "mappings/a.json")
        #expect(a.key == ["site", "user_id"])
        #expect(a.columnNames == ["site", "user_id", "email"])
        #expect(a.required == ["email"])
        #expect(a.safety.maxDeletes == 50 && a.safety.maxDeletePercent == 5.5 && a.safety.maxUpdatePercent == 50)
        #expect(a.safety.onExceed == .holdDeletes)
        guard case .from(let sources) = a.columns[2].source else {
            Issue.record("email is not `from`")
            return
        }
        #expect(sources == ["work_email", "home_email"])
    }

    @Test func outputDefaults() throws {
        let w = try FeedWorkspace()
        try w.write("mappings/b.json", Self.goodMapping)
        try w.write(
            "dropfeed.json",
            Self.config(targets: ["{ name: \"b\", mapping: \"mappings/b.json\", deliver: { directory: \"out\" } }"]))
        let config = try w.config()
        #expect(config.stateDir == w.path("state"))
        let output = config.targets[0].mapping.output
        #expect(output.fileTemplate == "x_{kind}.csv")
        #expect(output.mode == .delta)
        #expect(output.dialect == CSVWriteOptions())
        #expect(
            output.dialect.header && output.dialect.delimiter == UInt8(ascii: ",") && output.dialect.quote == .minimal)
        #expect(output.dialect.lineEnding == .crlf && !output.dialect.bom && output.dialect.encoding == .utf8)
        #expect(output.action == .standard)
        #expect(output.deletes == .row)
        #expect(!output.formulaGuard && !output.sendEmptyDelta && !output.checksum && output.trigger == nil)
        let safety = config.targets[0].mapping.safety
        #expect(
            safety.maxDeletes == nil && safety.maxDeletePercent == nil && safety.maxUpdatePercent == nil
                && safety.onExceed == .hold)
    }

    @Test func homeDirectoryAndAbsolutePaths() {
        #expect(absolutePath("~", relativeTo: "/base") == NSHomeDirectory())
        #expect(absolutePath("~/x/y", relativeTo: "/base") == NSHomeDirectory() + "/x/y")
        #expect(absolutePath("/abs/p", relativeTo: "/base") == "/abs/p")
        #expect(absolutePath("rel/p", relativeTo: "/base") == "/base/rel/p")
        #expect(absolutePath("../up", relativeTo: "/base/dir") == "/base/up")
        #expect(absolutePath("./here/./x", relativeTo: "/base") == "/base/here/x")
        #expect(absolutePath("~user/x", relativeTo: "/base") == "/base/~user/x")
    }

    // MARK: - Every problem, with its path

    @Test func unknownKeysAtEveryDepthWithSuggestions() throws {
        let w = try FeedWorkspace()
        try w.write(
            "mappings/a.json",
            """
            { version: 1, key: "user_id", kee: "x",
              where: [ { column: "s", in: ["A"], colum: "t" } ],
              columns: [ { name: "user_id", from: "id" }, { name: "email", from: "email", transfrom: ["trim"] },
                         { name: "d", from: "d", date: { from: "yyyy", to: "yyyy", form: "x" } },
                         { name: "r", from: "r", transform: [{ replace: "a", with: "b", width: 1 }] } ],
              output: { file: "x_{kind}.csv", lineEndings: "lf", action: { column: "op", ad: "A" }, deletes: { set: {}, sett: 1 } },
              safety: { maxDeletePercnt: 5 } }
            """)
        try w.write(
            "dropfeed.json",
            """
            { version: 1,
              source: { path: "hr.csv", key: "id", delimitr: ";" },
              stateDir: "state",
              targets: [ { name: "a", mapping: "mappings/a.json", deliver: { directory: "out/a", mode: 1 }, colour: "x" },
                         { name: "s", mapping: "mappings/a.json", deliver: { sftp: { host: "h", user: "u", knownHosts: "k", agent: true, prot: 22 } } } ],
              extra: true, targest: [] }
            """)
        let cfg = w.path("dropfeed.json")
        let map = "mappings/a.json"
        let mappingProblems = [
            Self.p(map, "where[0].colum", "unknown key (did you mean `column`?)"),
            Self.p(map, "columns[1].transfrom", "unknown key (did you mean `transform`?)"),
            Self.p(map, "columns[2].date.form", "unknown key (did you mean `from`?)"),
            Self.p(map, "columns[3].transform[0].width", "unknown key (did you mean `with`?)"),
            Self.p(map, "output.action.ad", "unknown key (did you mean `add`?)"),
            Self.p(map, "output.deletes.sett", "unknown key (did you mean `set`?)"),
            Self.p(map, "output.lineEndings", "unknown key (did you mean `lineEnding`?)"),
            Self.p(map, "safety.maxDeletePercnt", "unknown key (did you mean `maxDeletePercent`?)"),
            Self.p(map, "kee", "unknown key (did you mean `key`?)"),
        ]
        #expect(
            Self.problems(w) == [
                Self.p(cfg, "source.delimitr", "unknown key (did you mean `delimiter`?)"),
                Self.p(cfg, "targets[0].deliver.mode", "unknown key"),
                Self.p(cfg, "targets[0].colour", "unknown key"),
                Self.p(cfg, "targets[1].deliver.sftp.prot", "unknown key (did you mean `port`?)"),
                Self.p(cfg, "extra", "unknown key"),
                Self.p(cfg, "targest", "unknown key (did you mean `targets`?)"),
            ] + mappingProblems + mappingProblems)
    }

    @Test func wrongTypesMissingKeysAndBadValues() throws {
        let w = try FeedWorkspace()
        try w.write("mappings/ok.json", Self.goodMapping)
        try w.write(
            "dropfeed.json",
            """
            {
              source: { path: 5, key: [], minRows: -1, maxShrinkPercent: 150, delimiter: ";;", encoding: "ebcdic" },
              stateDir: 3,
              targets: [
                { mapping: "mappings/ok.json", deliver: { directory: "out" } },
                "x",
                { name: "b", deliver: { directory: 7 } },
              ],
            }
            """)
        let cfg = w.path("dropfeed.json")
        #expect(
            Self.problems(w) == [
                Self.p(cfg, "version", "required (write `version: 1`)"),
                Self.p(cfg, "source.path", "expected a string, found a number"),
                Self.p(cfg, "source.key", "must not be empty"),
                Self.p(cfg, "source.delimiter", "must be one ASCII character such as , ; | or \\t"),
                Self.p(cfg, "source.encoding", "unknown encoding `ebcdic` (utf-8, windows-1252, iso-8859-1, utf-16)"),
                Self.p(cfg, "source.minRows", "must be between 0 and 2147483647, found -1"),
                Self.p(cfg, "source.maxShrinkPercent", "must be between 0 and 100, found 150"),
                Self.p(cfg, "stateDir", "expected a string, found a number"),
                Self.p(cfg, "targets[0].name", "required"),
                Self.p(cfg, "targets[1]", "expected an object, found a string"),
                Self.p(cfg, "targets[2].mapping", "required"),
                Self.p(cfg, "targets[2].deliver.directory", "expected a string, found a number"),
            ])
    }

    @Test(arguments: [
        ("", "source", "required"),
        ("source: [],", "source", "expected an object, found a list"),
        ("source: { key: \"id\" },", "source.path", "required"),
        ("source: { path: \"hr.csv\" },", "source.key", "required"),
        ("source: { path: \"hr.csv\", key: [\"a\", 1] },", "source.key[1]", "expected a string, found a number"),
        (
            "source: { path: \"hr.csv\", key: \"id\", minRows: 2.5 },", "source.minRows",
            "expected a whole number, found 2.5"
        ),
        (
            "source: { path: \"hr.csv\", key: \"id\", delimiter: \"\\\"\" },", "source.delimiter",
            "must be one ASCII character such as , ; | or \\t"
        ),
        (
            "source: { path: \"hr.csv\", key: \"id\", delimiter: \"§\" },", "source.delimiter",
            "must be one ASCII character such as , ; | or \\t"
        ),
        (
            "source: { path: \"hr.csv\", key: \"id\", encoding: \"utf-32\" },", "source.encoding",
            "unknown encoding `utf-32` (utf-8, windows-1252, iso-8859-1, utf-16)"
        ),
    ])
    func sourceProblems(_ source: String, _ path: String, _ message: String) throws {
        let w = try FeedWorkspace()
        try w.write("mappings/ok.json", Self.goodMapping)
        try w.write(
            "dropfeed.json",
            """
            { version: 1, \(source)
              targets: [ { name: "a", mapping: "mappings/ok.json", deliver: { directory: "out" } } ] }
            """)
        #expect(Self.problems(w) == [Self.p(w.path("dropfeed.json"), path, message)])
    }

    @Test(arguments: [
        ("", "version", "required (write `version: 1`)"),
        ("version: 2,", "version", "unsupported version 2 (this dropfeed reads version 1)"),
        ("version: 0.5,", "version", "unsupported version 0.5 (this dropfeed reads version 1)"),
        ("version: \"1\",", "version", "expected a number, found a string"),
    ])
    func versionMustBeOne(_ version: String, _ path: String, _ message: String) throws {
        let w = try FeedWorkspace()
        try w.write("mappings/ok.json", Self.goodMapping)
        try w.write("mappings/v.json", Self.goodMapping.replacingOccurrences(of: "version: 1,", with: version))
        try w.write(
            "dropfeed.json",
            Self.config(
                targets: [
                    "{ name: \"a\", mapping: \"mappings/ok.json\", deliver: { directory: \"out\" } }",
                    "{ name: \"v\", mapping: \"mappings/v.json\", deliver: { directory: \"out\" } }",
                ], top: version))
        #expect(
            Self.problems(w) == [
                Self.p(w.path("dropfeed.json"), path, message), Self.p("mappings/v.json", path, message),
            ])
    }

    @Test func targetsMustBeANonEmptyList() throws {
        for (targets, message) in [
            ("targets: [],", "expected a non-empty list of targets"),
            ("targets: {},", "expected a non-empty list of targets"),
            ("", "required"),
        ] {
            let w = try FeedWorkspace()
            try w.write("dropfeed.json", "{ version: 1, source: { path: \"hr.csv\", key: \"id\" }, \(targets) }")
            #expect(Self.problems(w) == [Self.p(w.path("dropfeed.json"), "targets", message)])
        }
    }

    struct DeliverCase: Sendable, CustomTestStringConvertible {
        var deliver: String
        var problems: [(String, String)]
        var testDescription: String { deliver.isEmpty ? "no deliver" : deliver }
    }

    static let deliverCases: [DeliverCase] = [
        DeliverCase(
            deliver: "", problems: [("targets[0].deliver", "required: { directory: \"…\" } or { sftp: { … } }")]),
        DeliverCase(
            deliver: "deliver: {},", problems: [("targets[0].deliver", "needs exactly one of directory, sftp")]),
        DeliverCase(
            deliver: "deliver: \"out\",", problems: [("targets[0].deliver", "expected an object, found a string")]),
        DeliverCase(
            deliver: "deliver: { directory: \"x\", sftp: { host: \"h\" } },",
            problems: [("targets[0].deliver", "needs exactly one of directory, sftp")]),
        DeliverCase(
            deliver: "deliver: { sftp: { host: \"h\", user: \"u\", knownHosts: \"kh\" } },",
            problems: [("targets[0].deliver.sftp", "needs a way to log in: identityFile, passwordEnv or agent: true")]),
        DeliverCase(
            deliver: "deliver: { sftp: { host: \"h\", user: \"u\", knownHosts: \"kh\", passwordEnv: \"hunter2!\" } },",
            problems: [
                (
                    "targets[0].deliver.sftp.passwordEnv",
                    "must name an environment variable (letters, digits, _), not hold a secret"
                )
            ]),
        DeliverCase(
            deliver:
                "deliver: { sftp: { host: \"h\", user: \"u\", knownHosts: \"kh\", identityFile: \"k\", passphraseEnv: \"my passphrase\" } },",
            problems: [
                (
                    "targets[0].deliver.sftp.passphraseEnv",
                    "must name an environment variable (letters, digits, _), not hold a secret"
                )
            ]),
        DeliverCase(
            deliver: "deliver: { sftp: { host: \"h\", user: \"u\", knownHosts: \"kh\", passwordEnv: \"\" } },",
            problems: [
                (
                    "targets[0].deliver.sftp.passwordEnv",
                    "must name an environment variable (letters, digits, _), not hold a secret"
                )
            ]),
        DeliverCase(
            deliver: "deliver: { sftp: { user: \"u\", identityFile: \"~/.ssh/k\" } },",
            problems: [
                ("targets[0].deliver.sftp.host", "required"), ("targets[0].deliver.sftp.knownHosts", "required"),
            ]),
        DeliverCase(
            deliver:
                "deliver: { sftp: { host: \"h\", user: \"u\", knownHosts: \"k\", passwordEnv: \"PW\", port: 70000 } },",
            problems: [("targets[0].deliver.sftp.port", "must be between 1 and 65535, found 70000")]),
        DeliverCase(
            deliver:
                "deliver: { sftp: { host: \"h\", user: \"u\", knownHosts: \"k\", agent: true, passphraseEnv: \"P\" } },",
            problems: [("targets[0].deliver.sftp.passphraseEnv", "only makes sense with identityFile")]),
        DeliverCase(
            deliver:
                "deliver: { sftp: { host: \"h\", user: \"u\", knownHosts: \"k\", agent: \"yes\", upload: \"copy\", retries: 21 } },",
            problems: [
                ("targets[0].deliver.sftp.agent", "expected true or false, found a string"),
                ("targets[0].deliver.sftp.upload", "must be one of \"rename\", \"direct\", found \"copy\""),
                ("targets[0].deliver.sftp.retries", "must be between 0 and 20, found 21"),
                ("targets[0].deliver.sftp", "needs a way to log in: identityFile, passwordEnv or agent: true"),
            ]),
    ]

    @Test(arguments: deliverCases)
    func deliverProblems(_ c: DeliverCase) throws {
        let w = try FeedWorkspace()
        try w.write("mappings/ok.json", Self.goodMapping)
        try w.write(
            "dropfeed.json", Self.config(targets: ["{ name: \"t\", mapping: \"mappings/ok.json\", \(c.deliver) }"]))
        let cfg = w.path("dropfeed.json")
        #expect(Self.problems(w) == c.problems.map { Self.p(cfg, $0.0, $0.1) })
    }

    @Test func targetNamesMustBeUniqueAndSafe() throws {
        let w = try FeedWorkspace()
        try w.write("mappings/ok.json", Self.goodMapping)
        let names = [
            "a", "a", "../x", "", "a b", "..", ".", "x/y", "ok.name-1_2", "ok.name-1_2", ".lock",
            String(repeating: "x", count: 101), String(repeating: "x", count: 100),
        ]
        try w.write(
            "dropfeed.json",
            Self.config(
                targets: names.map {
                    "{ name: \"\($0)\", mapping: \"mappings/ok.json\", deliver: { directory: \"out\" } }"
                }))
        let cfg = w.path("dropfeed.json")
        let unsafe = "use letters, digits, `-`, `_` and `.` only, not first `.`, at most 100 (it names a state folder)"
        #expect(
            Self.problems(w) == [
                Self.p(cfg, "targets[1].name", "duplicate target name `a`"),
                Self.p(cfg, "targets[2].name", unsafe),
                Self.p(cfg, "targets[3].name", unsafe),
                Self.p(cfg, "targets[4].name", unsafe),
                Self.p(cfg, "targets[5].name", unsafe),
                Self.p(cfg, "targets[6].name", unsafe),
                Self.p(cfg, "targets[7].name", unsafe),
                Self.p(cfg, "targets[9].name", "duplicate target name `ok.name-1_2`"),
                Self.p(cfg, "targets[10].name", unsafe),
                Self.p(cfg, "targets[11].name", unsafe),
            ])
    }

    /// One mapping with a problem in nearly every part: each is reported once, at the path of
    /// the file (not shifted by the columns that had problems of their own).
    @Test func mappingProblemsAreAllReportedWithTheirPaths() throws {
        let w = try FeedWorkspace()
        try w.write(
            "mappings/g.json",
            """
            { version: 1, key: ["user_id", "p"],
              where: [ { column: "s", in: ["A"], equals: "B" }, { column: "e", matches: "([" }, { in: ["x"] }, { column: "q" }, "s" ],
              columns: [
                { name: "user_id", from: "id" },
                { name: "email", from: "e", template: "{x}" },
                { name: "d", from: "h", date: { from: "MM/dd/yyy", to: "yyyy" } },
                { name: "p", from: 5 },
                { name: "t", template: "{unclosed" },
                { name: "r", from: "p", transform: ["trim", "titlecase", { replace: "[", with: "" }, { truncate: 0 }, { cut: 1 }] },
                { name: "user_id", value: "x" },
                { name: "m", from: "s", map: { A: 1 } },
                { from: "s" },
                { name: "n" },
                { name: "o", from: "o", date: { from: "MM" } },
              ],
              required: ["emial", "t"],
              output: { file: "out_{dat}/x.csv", mode: "both", deletes: { set: { statu: "x", email: "" } } },
              safety: { maxDeletes: -1, onExceed: "ignore" },
            }
            """)
        try w.write(
            "dropfeed.json",
            Self.config(targets: ["{ name: \"g\", mapping: \"mappings/g.json\", deliver: { directory: \"g\" } }"]))
        let m = "mappings/g.json"
        let problems = Self.problems(w)
        #expect(
            problems == [
                Self.p(m, "where[0]", "needs exactly one of in, notIn, matches, notEmpty, equals"),
                Self.p(m, "where[1].matches", "invalid regular expression `([`"),
                Self.p(m, "where[2].column", "required"),
                Self.p(m, "where[3]", "needs exactly one of in, notIn, matches, notEmpty, equals"),
                Self.p(m, "where[4]", "expected an object, found a string"),
                Self.p(m, "columns[1]", "needs exactly one of from, template, value"),
                Self.p(
                    m, "columns[2].date",
                    "unsupported date field `yyy` in `MM/dd/yyy` (use yyyy yy MM M MMM dd d HH H mm ss)"),
                Self.p(m, "columns[3].from", "expected a string or a list of strings, found a number"),
                Self.p(m, "columns[4].template", "unclosed `{` in template `{unclosed`"),
                Self.p(m, "columns[5].transform[1]", "unknown transform `titlecase`"),
                Self.p(m, "columns[5].transform[2].replace", "invalid regular expression `[`"),
                Self.p(m, "columns[5].transform[3].truncate", "must be between 1 and 2147483647, found 0"),
                Self.p(m, "columns[5].transform[4]", "expected { truncate: N } or { replace: REGEX, with: TEXT }"),
                Self.p(m, "columns[7].map.A", "expected a string, found a number"),
                Self.p(m, "columns[8].name", "required"),
                Self.p(m, "columns[9]", "needs exactly one of from, template, value"),
                Self.p(m, "columns[10].date.to", "required"),
                Self.p(
                    m, "output.file",
                    "unknown field {dat} (use {target} {date} {time} {kind} {seq}) (did you mean `date`?)"),
                Self.p(m, "output.file", "must be a plain file name, not a path"),
                Self.p(m, "safety.maxDeletes", "must be between 0 and 2147483647, found -1"),
                Self.p(m, "safety.onExceed", "must be one of \"hold\", \"hold-deletes\", found \"ignore\""),
                Self.p(m, "columns[6].name", "duplicate output column `user_id`"),
                Self.p(m, "required", "`emial` is not an output column (did you mean `email`?)"),
                Self.p(m, "output.deletes.set.statu", "not an output column"),
                Self.p(m, "output.file", "mode \"both\" writes two files a run: put {kind} in the name"),
            ])
        // The error lists them all, one a line.
        do {
            _ = try w.config()
        } catch let error as ConfigError {
            let lines = "\(error)".split(separator: "\n")
            #expect(lines.first == "\(problems.count) configuration problems:")
            #expect(lines.count == problems.count + 1)
            #expect(
                lines.contains(
                    "  mappings/g.json: columns[3].from: expected a string or a list of strings, found a number"))
        }
    }

    struct OutputCase: Sendable, CustomTestStringConvertible {
        var output: String
        var problems: [(String, String)]
        var testDescription: String { output }
    }

    static let outputCases: [OutputCase] = [
        OutputCase(
            output: "file: \"u_{dat}.csv\"",
            problems: [
                ("output.file", "unknown field {dat} (use {target} {date} {time} {kind} {seq}) (did you mean `date`?)")
            ]),
        OutputCase(
            output: "file: \"u_{employee}.csv\"",
            problems: [("output.file", "unknown field {employee} (use {target} {date} {time} {kind} {seq})")]),
        OutputCase(output: "file: \"in/u.csv\"", problems: [("output.file", "must be a plain file name, not a path")]),
        OutputCase(
            output: "file: \"..\\\\u.csv\"", problems: [("output.file", "must be a plain file name, not a path")]),
        OutputCase(
            output: "file: \".hidden.csv\"", problems: [("output.file", "must be a plain file name, not a path")]),
        OutputCase(
            output: "file: \"u_{date.csv\"", problems: [("output.file", "unclosed `{` in template `u_{date.csv`")]),
        OutputCase(
            output: "file: \"u.csv\", mode: \"both\"",
            problems: [("output.file", "mode \"both\" writes two files a run: put {kind} in the name")]),
        OutputCase(output: "file: \"u_{kind}.csv\", mode: \"both\"", problems: []),
        OutputCase(output: "file: \"u.csv\", mode: \"full\", action: false", problems: []),
        OutputCase(
            output: "file: \"u.csv\", action: false",
            problems: [
                (
                    "output.deletes",
                    "deletes: \"row\" needs an action column to tell deletes apart (set output.action, or use \"omit\" or {set: …})"
                )
            ]),
        OutputCase(output: "file: \"u.csv\", action: false, deletes: \"omit\"", problems: []),
        OutputCase(
            output: "file: \"u.csv\", action: { column: \"email\" }",
            problems: [("output.action.column", "`email` is also an output column")]),
        OutputCase(
            output: "file: \"u.csv\", deletes: { set: { state: \"x\" } }",
            problems: [("output.deletes.set.state", "not an output column (did you mean `status`?)")]),
        OutputCase(
            output: "file: \"u.csv\", deletes: \"purge\"",
            problems: [("output.deletes", "must be \"row\", \"omit\" or { set: { column: value } }")]),
        OutputCase(
            output: "file: \"u.csv\", mode: \"incremental\"",
            problems: [("output.mode", "must be one of \"full\", \"delta\", \"both\", found \"incremental\"")]),
        OutputCase(
            output: "file: \"u.csv\", delimiter: \"::\", encoding: \"ucs-2\", quote: \"never\", lineEnding: \"cr\"",
            problems: [
                ("output.delimiter", "must be one ASCII character such as , ; | or \\t"),
                ("output.quote", "must be one of \"minimal\", \"always\", found \"never\""),
                ("output.lineEnding", "must be one of \"crlf\", \"lf\", found \"cr\""),
                ("output.encoding", "unknown encoding `ucs-2` (utf-8, windows-1252, iso-8859-1, utf-16)"),
            ]),
        OutputCase(
            output: "file: \"u.csv\", emptyDelta: \"always\", checksum: \"md5\", trigger: \"a/b\"",
            problems: [
                ("output.emptyDelta", "must be \"skip\" or \"send\""),
                ("output.checksum", "only \"sha256\" is supported"),
                ("output.trigger", "must be a non-empty suffix without `/`, such as \".done\""),
            ]),
        OutputCase(output: "mode: \"delta\"", problems: [("output.file", "required")]),
    ]

    @Test(arguments: outputCases)
    func outputProblems(_ c: OutputCase) throws {
        let w = try FeedWorkspace()
        try w.write(
            "mappings/o.json",
            """
            { version: 1, key: "user_id",
              columns: [ { name: "user_id", from: "id" }, { name: "email", from: "email" }, { name: "status", from: "s" } ],
              output: { \(c.output) } }
            """)
        try w.write(
            "dropfeed.json",
            Self.config(targets: ["{ name: \"o\", mapping: \"mappings/o.json\", deliver: { directory: \"o\" } }"]))
        #expect(Self.problems(w) == c.problems.map { Self.p("mappings/o.json", $0.0, $0.1) })
    }

    /// A key written twice is as dangerous as a misspelt one: one of the two values would be
    /// silently dropped, so it is a problem naming the key's path and both lines.
    @Test func aKeyWrittenTwiceIsAProblem() throws {
        let w = try FeedWorkspace()
        try w.write(
            "mappings/d.json",
            """
            { version: 1, key: "user_id",
              columns: [ { name: "user_id", from: "id" }, { name: "email", from: "email", transform: ["lower"], transform: ["trim"] } ],
              output: { file: "d.csv", mode: "full", mode: "delta" } }
            """)
        try w.write(
            "dropfeed.json",
            Self.config(targets: ["{ name: \"d\", mapping: \"mappings/d.json\", deliver: { directory: \"d\" } }"]))
        #expect(
            Self.problems(w) == [
                Self.p("mappings/d.json", "columns[1].transform", "key written twice (lines 2 and 2); one value would be lost"),
                Self.p("mappings/d.json", "output.mode", "key written twice (lines 3 and 3); one value would be lost"),
            ])
    }

    @Test func keyAndRequiredMustNameOutputColumns() throws {
        let w = try FeedWorkspace()
        try w.write(
            "mappings/k.json",
            """
            { version: 1, key: ["usr_id", "email"], required: ["emial", "user_id"],
              columns: [ { name: "user_id", from: "id" }, { name: "email", from: 1 } ],
              output: { file: "k.csv" } }
            """)
        try w.write(
            "dropfeed.json",
            Self.config(targets: ["{ name: \"k\", mapping: \"mappings/k.json\", deliver: { directory: \"k\" } }"]))
        // `email` has a problem of its own; it is still a declared column, so `key` and `required` do not repeat it.
        #expect(
            Self.problems(w) == [
                Self.p("mappings/k.json", "columns[1].from", "expected a string or a list of strings, found a number"),
                Self.p("mappings/k.json", "key", "`usr_id` is not an output column (did you mean `user_id`?)"),
                Self.p("mappings/k.json", "required", "`emial` is not an output column (did you mean `email`?)"),
            ])
    }

    @Test func unreadableFiles() throws {
        let w = try FeedWorkspace()
        try w.write("mappings/bad.json", "{ version: 1, key: ")
        try w.write("mappings/list.json", "[1, 2]")
        try w.write(
            "dropfeed.json",
            Self.config(targets: [
                "{ name: \"a\", mapping: \"mappings/missing.json\", deliver: { directory: \"a\" } }",
                "{ name: \"b\", mapping: \"mappings/bad.json\", deliver: { directory: \"b\" } }",
                "{ name: \"c\", mapping: \"mappings/list.json\", deliver: { directory: \"c\" } }",
            ]))
        let problems = Self.problems(w)
        #expect(problems.map(\.file) == ["mappings/missing.json", "mappings/bad.json", "mappings/list.json"])
        #expect(problems.map(\.path) == ["", "", ""])
        #expect(problems[0].message == "no such file")
        #expect(problems[1].message.hasPrefix("not valid JSON5"))
        #expect(problems[2].message == "expected an object, found a list")

        let missing = w.path("nowhere.json")
        #expect(throws: ConfigError.self) { try FeedConfig.load(path: missing) }
        do { _ = try FeedConfig.load(path: missing) } catch let error as ConfigError {
            #expect(error.problems == [Self.p(missing, "", "no such file")])
            #expect(error.exitCode == .config)
        }
    }

    // MARK: - validate: the mappings against the source header

    @Test func validateChecksMappingsAgainstTheSourceHeader() throws {
        let w = try FeedWorkspace()
        try w.write(
            "mappings/a.json",
            """
            { version: 1, key: "user_id",
              where: [ { column: "employment_status", in: ["A"] } ],
              columns: [
                { name: "user_id", from: "employee_id" },
                { name: "email", from: "email" },
                { name: "first", from: ["preferred_name", "given_nam"] },
                { name: "start", from: "hire_date", date: { from: "MM/dd/yyyy", to: "yyyy-MM-dd" } },
                { name: "display", template: "{given_name} {family}" },
                { name: "manager", from: "manager_id", lookup: "emial" },
              ],
              output: { file: "a.csv", mode: "full" } }
            """)
        try w.write("mappings/b.json", Self.goodMapping)
        try w.write(
            "dropfeed.json",
            Self.config(
                targets: [
                    "{ name: \"a\", mapping: \"mappings/a.json\", deliver: { directory: \"a\" } }",
                    "{ name: \"b\", mapping: \"mappings/b.json\", deliver: { directory: \"b\" } }",
                ], source: "path: \"hr.csv\", key: \"employee_id\""))
        try w.writeCSV(
            "hr.csv",
            header: [
                "employee_id", "email", "preferred_name", "given_name", "family_name", "hire_dt",
                "manager_id", "status",
            ], rows: [])
        let (config, problems) = FeedValidation.check(configPath: w.path("dropfeed.json"))
        #expect(config != nil)
        let a = "mappings/a.json"
        let b = "mappings/b.json"
        #expect(
            problems == [
                Self.p(a, "where[0].column", "no source column `employment_status`"),
                Self.p(a, "columns[2].from[1]", "no source column `given_nam` (did you mean `given_name`?)"),
                Self.p(a, "columns[3].from", "no source column `hire_date` (did you mean `hire_dt`?)"),
                Self.p(a, "columns[4].template", "no source column `family`"),
                Self.p(a, "columns[5].lookup", "no source column `emial` (did you mean `email`?)"),
                Self.p(b, "columns[0].from", "no source column `id`"),
            ])
        #expect(
            problems.map(\.description).contains(
                "mappings/a.json: columns[3].from: no source column `hire_date` (did you mean `hire_dt`?)"))
    }

    @Test func validateReportsTheSourceKeyAndAnUnreadableSource() throws {
        let w = try FeedWorkspace()
        try w.write("mappings/b.json", Self.goodMapping)
        try w.write(
            "dropfeed.json",
            Self.config(
                targets: ["{ name: \"b\", mapping: \"mappings/b.json\", deliver: { directory: \"b\" } }"],
                source: "path: \"hr.csv\", key: [\"idd\", \"site\"]"))
        let cfg = w.path("dropfeed.json")
        let (_, missing) = FeedValidation.check(configPath: cfg)
        #expect(missing.map(\.path) == ["source.path"])
        #expect(missing.first?.file == cfg)

        try w.writeCSV("hr.csv", header: ["id", "email"], rows: [["1", "a@x"]])
        let (_, problems) = FeedValidation.check(configPath: cfg)
        #expect(
            problems == [
                Self.p(cfg, "source.key", "no source column `idd` (did you mean `id`?)"),
                Self.p(cfg, "source.key", "no source column `site`"),
            ])
    }

    @Test func validateReturnsConfigProblemsWithoutReadingTheSource() throws {
        let w = try FeedWorkspace()
        try w.write("dropfeed.json", "{ version: 1, source: { path: \"hr.csv\", key: \"id\" }, targets: [], }")
        let (config, problems) = FeedValidation.check(configPath: w.path("dropfeed.json"))
        #expect(config == nil)
        #expect(problems == [Self.p(w.path("dropfeed.json"), "targets", "expected a non-empty list of targets")])
    }

    @Test func aValidFeedValidatesClean() throws {
        let w = try FeedWorkspace()
        try w.write("mappings/b.json", Self.goodMapping)
        try w.write(
            "dropfeed.json",
            Self.config(targets: ["{ name: \"b\", mapping: \"mappings/b.json\", deliver: { directory: \"b\" } }"]))
        try w.writeCSV("hr.csv", header: ["id", "email"], rows: [["1", "a@x"]])
        let (config, problems) = FeedValidation.check(configPath: w.path("dropfeed.json"))
        #expect(problems.isEmpty)
        #expect(config?.targets.count == 1)
    }
}
