import DropfeedCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `--on-success`, `--on-held`, `--on-failure CMD`: a command run after the run, with the JSON
/// report on its standard input — never on its command line or in its environment.
///
/// CMD is split into words as a shell would split them (spaces; `'…'` and `"…"` group; `\`
/// escapes) but no shell runs it: no variables, globs, pipes or redirections. It gets
/// `DROPFEED_RUN_ID`, `DROPFEED_EXIT_CODE` and `DROPFEED_STATUS` (success, held or failure) and
/// the environment of the run without the variables the config names for secrets. It is given
/// `timeoutSeconds` (`--hook-timeout`, default 60; then SIGTERM, then SIGKILL after 5 s more); its failure is reported, never changing the
/// run's exit code.
struct Hook {
    enum Event: String { case success, held, failure }

    var event: Event
    var command: String
    var timeoutSeconds = 60.0

    /// The words of `command`.
    static func split(_ command: String) throws -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quote: Character?
        var escaped = false
        for c in command {
            if escaped {
                current.append(c)
                escaped = false
                continue
            }
            if let q = quote {
                if c == q {
                    quote = nil
                } else if c == "\\" && q == "\"" {
                    escaped = true
                } else {
                    current.append(c)
                }
                continue
            }
            switch c {
            case "\\":
                escaped = true
                inWord = true
            case "'", "\"":
                quote = c
                inWord = true
            case " ", "\t", "\n":
                if inWord { words.append(current) }
                current = ""
                inWord = false
            default:
                current.append(c)
                inWord = true
            }
        }
        if quote != nil || escaped { throw UsageError("the hook command `\(command)` has an unterminated quote") }
        if inWord { words.append(current) }
        guard !words.isEmpty else { throw UsageError("a hook command is empty") }
        return words
    }

    /// Which event a run that ended with `exitCode` is.
    static func event(for exitCode: ExitCode) -> Event {
        switch exitCode {
        case .success: return .success
        case .held: return .held
        default: return .failure
        }
    }

    /// Runs the hook with `report` on stdin; returns a sentence about its failure, or nil.
    func run(report: [UInt8], runId: String, exitCode: ExitCode, secrets: Set<String>) -> String? {
        let words: [String]
        do { words = try Hook.split(command) } catch { return "\(error)" }
        // The report goes in an anonymous file (`tmpfile`: created exclusively, unlinked at once):
        // no name another user could open, and a hook that never reads its input cannot block the run.
        guard let file = tmpfile() else { return "cannot stage the report for it: \(String(cString: strerror(errno)))" }
        let fd = dup(fileno(file))
        fclose(file)
        guard fd >= 0 else { return "cannot stage the report for it: \(String(cString: strerror(errno)))" }
        let stdin = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        defer { try? stdin.close() }
        var written = 0
        while written < report.count {
            let n = report[written...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress!, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return "cannot stage the report for it: \(String(cString: strerror(errno)))" }
            written += n
        }
        lseek(fd, 0, SEEK_SET)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Hook.resolve(words[0]))
        process.arguments = Array(words.dropFirst())
        var environment = ProcessInfo.processInfo.environment
        for name in secrets { environment.removeValue(forKey: name) }
        environment["DROPFEED_RUN_ID"] = runId
        environment["DROPFEED_EXIT_CODE"] = String(exitCode.rawValue)
        environment["DROPFEED_STATUS"] = event.rawValue
        process.environment = environment
        process.standardInput = stdin
        process.standardOutput = FileHandle.standardError
        do { try process.run() } catch { return "cannot start \(words[0]): \(error.localizedDescription)" }
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            process.terminate()
            let grace = Date().addingTimeInterval(5)
            while process.isRunning && Date() < grace { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            return "\(words[0]) did not finish within \(formatSeconds(timeoutSeconds)) s and was stopped"
        }
        process.waitUntilExit()
        if process.terminationReason == .uncaughtSignal {
            return "\(words[0]) was killed by signal \(process.terminationStatus)"
        }
        if process.terminationStatus != 0 { return "\(words[0]) exited \(process.terminationStatus)" }
        return nil
    }

    /// `name` as a path: as given when it holds a `/`, else found on `PATH`.
    static func resolve(_ name: String) -> String {
        if name.contains("/") { return name }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return name
    }
}

/// `60` or `0.5`: seconds as an operator wrote them.
func formatSeconds(_ s: Double) -> String {
    s == s.rounded() ? String(Int(s)) : String(s)
}
