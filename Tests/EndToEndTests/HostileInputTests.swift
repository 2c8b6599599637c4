import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Hostile exports, configs and mappings through the built binary: each a clear error with the
/// file and line and the right exit code, quickly, and nothing delivered.
@Suite struct HostileInputTests {
    static let mapping = """
        { version: 1, key: "user_id", required: ["email"],
          columns: [ { name: "user_id", from: "id" }, { name: "email", from: "email" } ],
          output: { file: "users.csv", mode: "full" } }
        """

    static let config = """
        { version: 1, source: { path: "hr.csv", key: "id" }, stateDir: "state",
          targets: [ { name: "t", mapping: "m.json", deliver: { directory: "out" } } ] }
        """

    /// A feed of one target in a fresh folder, with `export` as `hr.csv`; runs `dropfeed ARGS`.
    private func run(
        export: Data?, config: String = Self.config, mapping: String = Self.mapping, _ arguments: [String] = ["run"],
        prepare: (TemporaryDirectory) throws -> Void = { _ in }
    ) throws -> ProcessResult {
        let dir = try TemporaryDirectory(prefix: "dropfeed-hostile")
        defer { dir.remove() }
        try dir.write("dropfeed.json", config)
        try dir.write("m.json", mapping)
        if let export { try dir.write("hr.csv", export) }
        try prepare(dir)
        let result = try DropfeedProcess.run(
            [arguments[0], "--config", "dropfeed.json"] + arguments.dropFirst(), cwd: dir.url)
        let delivered = (try? FileManager.default.contentsOfDirectory(atPath: dir.file("out").path)) ?? []
        if result.exitCode != 0 { #expect(delivered.isEmpty, "delivered \(delivered) despite exit \(result.exitCode)") }
        return result
    }

    private func export(_ text: String) -> Data { Data(text.utf8) }

    @Test func controlCharactersInARejectedValueArePrintedEscaped() throws {
        let r = try run(export: export("id,email\n1,a@x\n2\u{1B}[31mred\u{07},\n"))
        #expect(r.exitCode == 0, "\(r.stderr)")
        #expect(r.stderr.contains("rejected line 3 (2\\u{1B}[31mred\\u{7}): required column `email` is empty"), "\(r.stderr)")
        #expect(!r.stderrData.contains(0x1B) && !r.stderrData.contains(0x07))
        #expect(!r.stdoutData.contains(0x1B) && !r.stdoutData.contains(0x07))
    }

    @Test func aNULByteIsADataErrorWithItsLine() throws {
        let r = try run(export: export("id,email\n1,a@x\n2,b\u{0}@x\n"))
        #expect(r.exitCode == 65)
        #expect(r.stderr.contains("NUL byte at hr.csv:3:4"), "\(r.stderr)")
    }

    @Test func aByteOrderMarkInTheMiddleIsADataError() throws {
        let r = try run(export: export("id,email\n1,a@x\n\u{FEFF}id,email\n2,b@x\n"))
        #expect(r.exitCode == 65)
        #expect(r.stderr.contains("byte-order mark (U+FEFF) in the middle of the file at hr.csv:3:1"), "\(r.stderr)")
    }

    @Test func invalidUTF8AndABinaryFileAreDataErrors() throws {
        var bytes = Data("id,email\n1,a@x\n2,".utf8)
        bytes.append(contentsOf: [0xC3, 0x28])
        let r = try run(export: bytes)
        #expect(r.exitCode == 65)
        #expect(r.stderr.contains("invalid UTF-8 at hr.csv:3:3"), "\(r.stderr)")
        let binary = try run(export: Data([0x7F, 0x45, 0x4C, 0x46, 0x02, 0x01, 0x01, 0x00]))
        #expect(binary.exitCode == 65)
        #expect(binary.stderr.contains("hr.csv:1:"), "\(binary.stderr)")
    }

    @Test func anEmptyExportIsADataError() throws {
        let r = try run(export: Data())
        #expect(r.exitCode == 65)
        #expect(r.stderr.contains("no header row in hr.csv"), "\(r.stderr)")
    }

    @Test func aFIFOOrADirectoryAsTheSourceFailsAtOnce() throws {
        let fifo = try run(export: nil) { dir in #expect(mkfifo(dir.file("hr.csv").path, 0o600) == 0) }
        #expect(fifo.exitCode == 66)
        #expect(fifo.stderr.contains("hr.csv: is a FIFO (named pipe), not a regular file"), "\(fifo.stderr)")
        let folder = try run(export: nil) { dir in
            try FileManager.default.createDirectory(at: dir.file("hr.csv"), withIntermediateDirectories: false)
        }
        #expect(folder.exitCode == 66)
        #expect(folder.stderr.contains("hr.csv: is a directory"), "\(folder.stderr)")
    }

    @Test func aHundredMegabyteFieldIsRefused() throws {
        var bytes = Data("id,email\n1,".utf8)
        bytes.append(Data(repeating: UInt8(ascii: "x"), count: 100_000_000))
        bytes.append(contentsOf: Array("\n".utf8))
        let r = try run(export: bytes)
        #expect(r.exitCode == 65)
        #expect(r.stderr.contains("field longer than the limit of 16 MiB at hr.csv:2:3"), "\(r.stderr)")
    }

    @Test func aMillionColumnHeaderIsRefused() throws {
        let header = (1...1_000_000).map { "c\($0)" }.joined(separator: ",")
        let r = try run(export: export(header + "\n"))
        #expect(r.exitCode == 65)
        #expect(r.stderr.contains("more than 16384 fields (the limit) at hr.csv:1:"), "\(r.stderr)")
    }

    @Test func aKeyWrittenTwiceInTheConfigIsAConfigError() throws {
        let config = """
            { version: 1, source: { path: "hr.csv", key: "id" }, stateDir: "state",
              targets: [ { name: "t", mapping: "m.json",
                           deliver: { directory: "out" }, deliver: { directory: "/tmp" } } ] }
            """
        let r = try run(export: export("id,email\n1,a@x\n"), config: config, ["validate"])
        #expect(r.exitCode == 78)
        #expect(
            (r.stdout + r.stderr).contains(
                "dropfeed.json: targets[0].deliver: key written twice (lines 3 and 3); one value would be lost"),
            "\(r.stdout)\(r.stderr)")
    }

    @Test func aCatastrophicRegexIsAConfigError() throws {
        let mapping = """
            { version: 1, key: "user_id",
              columns: [ { name: "user_id", from: "id" },
                         { name: "email", from: "email", transform: [{ replace: "(a+)+$", with: "" }] } ],
              output: { file: "users.csv" } }
            """
        let r = try run(export: export("id,email\n1,\(String(repeating: "a", count: 20_000))b\n"), mapping: mapping)
        #expect(r.exitCode == 78)
        #expect(r.stderr.contains("m.json: columns[1].transform[0].replace: regular expression `(a+)+$` can take exponential time"), "\(r.stderr)")
    }

    @Test func aHugeNestedConfigIsRefusedBeforeItIsRead() throws {
        let huge = String(repeating: "[", count: 25_000_000) + String(repeating: "]", count: 25_000_000)
        let r = try run(export: export("id,email\n1,a@x\n"), config: huge, ["validate"])
        #expect(r.exitCode == 78)
        #expect(
            (r.stdout + r.stderr).contains("50000000 bytes, larger than the limit of 8 MiB for a config or mapping file"),
            "\(r.stdout.prefix(500))\(r.stderr.prefix(500))")
    }
}
