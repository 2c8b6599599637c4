import Foundation

/// What a finished child process left behind.
struct ProcessResult: Sendable {
    var exitCode: Int32
    var stdoutData: Data
    var stderrData: Data

    var stdout: String { String(decoding: stdoutData, as: UTF8.self) }
    var stderr: String { String(decoding: stderrData, as: UTF8.self) }
}

/// A failure to start a process, or to find the program to start.
struct ProcessLaunchError: Error, CustomStringConvertible {
    var description: String
}

/// Runs the built `dropfeed` binary, and other programs, for end-to-end tests.
///
/// The binary is `$DROPFEED_BIN` when set (`make test` points it at the release build); otherwise
/// the `dropfeed` built beside the running test bundle (any `--scratch-path`, any configuration);
/// otherwise `.build/debug/dropfeed` under the package root.
///
///     let r = try DropfeedProcess.run(["diff", "old.csv", "new.csv", "--key", "id"], cwd: dir)
///     #expect(r.exitCode == 0)
enum DropfeedProcess {
    /// The directory holding `Package.swift`, found by walking up from this source file.
    static let packageRoot: URL = {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" {
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) { return dir }
            dir.deleteLastPathComponent()
        }
        fatalError("no Package.swift above \(#filePath)")
    }()

    /// The `dropfeed` executable the tests run; throws, saying where it looked, when there is none.
    static func binary() throws -> URL {
        if let path = ProcessInfo.processInfo.environment["DROPFEED_BIN"], !path.isEmpty {
            let url = URL(fileURLWithPath: path)
            guard FileManager.default.isExecutableFile(atPath: url.path) else {
                throw ProcessLaunchError(description: "DROPFEED_BIN=\(path) is not an executable file")
            }
            return url
        }
        // The test bundle sits in the products directory the executables were built into.
        var products = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent()
        while products.path != "/" && products.path.contains(".xctest") { products.deleteLastPathComponent() }
        let candidates = [
            products.appendingPathComponent("dropfeed"),
            packageRoot.appendingPathComponent(".build/debug/dropfeed"),
        ]
        for url in candidates {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue,
                FileManager.default.isExecutableFile(atPath: url.path)
            {
                return url
            }
        }
        throw ProcessLaunchError(
            description: "no dropfeed binary (looked at \(candidates.map(\.path).joined(separator: ", "))); "
                + "run `swift build --product dropfeed` or set DROPFEED_BIN")
    }

    /// Runs `dropfeed ARGS` in `cwd` (default: a fresh process's current directory) and waits for it.
    static func run(
        _ arguments: [String], cwd: URL? = nil, environment: [String: String]? = nil,
        stdin: Data? = nil
    ) throws -> ProcessResult {
        try runProgram(binary(), arguments, cwd: cwd, environment: environment, stdin: stdin)
    }

    /// Runs any program and waits for it. Output goes through temporary files, so a child that
    /// prints megabytes never blocks on a full pipe.
    static func runProgram(
        _ executable: URL, _ arguments: [String], cwd: URL? = nil,
        environment: [String: String]? = nil, stdin: Data? = nil
    ) throws -> ProcessResult {
        let scratch = FileManager.default.temporaryDirectory
            .appendingPathComponent("dropfeed-e2e-io-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let outURL = scratch.appendingPathComponent("stdout")
        let errURL = scratch.appendingPathComponent("stderr")
        let inURL = scratch.appendingPathComponent("stdin")
        for (url, contents) in [(outURL, Data()), (errURL, Data()), (inURL, stdin ?? Data())] {
            try contents.write(to: url)
        }
        let out = try FileHandle(forWritingTo: outURL)
        let err = try FileHandle(forWritingTo: errURL)
        let input = try FileHandle(forReadingFrom: inURL)
        defer {
            try? out.close()
            try? err.close()
            try? input.close()
        }

        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let cwd { process.currentDirectoryURL = cwd }
        if let environment { process.environment = environment }
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        do {
            try process.run()
        } catch {
            throw ProcessLaunchError(description: "cannot start \(executable.path): \(error)")
        }
        process.waitUntilExit()
        let code =
            process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        return ProcessResult(
            exitCode: code, stdoutData: try Data(contentsOf: outURL), stderrData: try Data(contentsOf: errURL))
    }

    /// The first executable called `name` on `$PATH`, or nil.
    static func which(_ name: String) -> URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") where !dir.isEmpty {
            let url = URL(fileURLWithPath: String(dir)).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return nil
    }
}

/// A directory under the system temporary directory, removed by `remove()` (or use `with`).
struct TemporaryDirectory: Sendable {
    let url: URL

    init(prefix: String = "dropfeed-e2e") throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(prefix)-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// Makes a directory, runs `body` with it, and removes it afterwards whatever happened.
    static func with<T>(_ body: (URL) throws -> T) throws -> T {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        return try body(dir.url)
    }

    /// The URL of `name` inside the directory.
    func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    /// Writes `text` as UTF-8 to `name` and returns its URL.
    @discardableResult
    func write(_ name: String, _ text: String) throws -> URL {
        try write(name, Data(text.utf8))
    }

    /// Writes `data` to `name` and returns its URL.
    @discardableResult
    func write(_ name: String, _ data: Data) throws -> URL {
        let target = file(name)
        try data.write(to: target)
        return target
    }

    func remove() { try? FileManager.default.removeItem(at: url) }
}
