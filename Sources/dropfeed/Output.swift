import DropfeedCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Where the executable writes: results and `--json` to stdout, everything for people to stderr.
///
/// `--quiet` keeps only errors on stderr, `--verbose` adds per-phase timings, and
/// `--log-format json` turns every stderr line into one JSON object (see `Output.log`).
enum Output {
    enum Verbosity: Int, Comparable {
        case quiet, normal, verbose
        static func < (a: Verbosity, b: Verbosity) -> Bool { a.rawValue < b.rawValue }
    }

    enum LogFormat: String { case text, json }

    nonisolated(unsafe) static var verbosity = Verbosity.normal
    nonisolated(unsafe) static var logFormat = LogFormat.text
    /// The run the JSON log lines belong to, once known.
    nonisolated(unsafe) static var runId: String?
    private static let lock = NSLock()

    /// Writes `text` to stdout as it is.
    static func stdout(_ text: String) {
        write(1, text)
    }

    /// Writes `bytes` to stdout as they are.
    static func stdout(bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { write(1, $0) }
    }

    /// Writes a line for people to stderr (not with `--quiet`).
    static func note(_ text: String) {
        guard verbosity >= .normal else { return }
        line(text, level: "info")
    }

    /// A warning: something an operator should look at; the run goes on (not with `--quiet`).
    static func warning(_ text: String) {
        guard verbosity >= .normal else { return }
        line(text, level: "warning")
    }

    /// An error: always printed, even with `--quiet`.
    static func error(_ text: String) {
        line(text, level: "error")
    }

    /// Printed only with `--verbose`.
    static func detail(_ text: String) {
        guard verbosity >= .verbose else { return }
        line(text, level: "debug")
    }

    private static func line(_ text: String, level: String) {
        switch logFormat {
        case .text:
            // Control characters a value brought in (ESC, BEL, CR…) are shown escaped, never sent
            // to the terminal.
            let text = text.escapingControlCharacters(keepingLineBreaks: true)
            stderr(text.hasSuffix("\n") ? text : text + "\n")
        case .json:
            var trimmed = text
            while trimmed.hasSuffix("\n") { trimmed.removeLast() }
            log(level: level, event: "message", [("message", .string(trimmed))])
        }
    }

    /// With `--log-format json`: one line on stderr with `time`, `level`, `runId`, `event` and
    /// `fields` (counts, durations, a target's name — never row contents or secrets).
    static func log(level: String, event: String, _ fields: [(String, JSON)]) {
        guard logFormat == .json else { return }
        if level == "debug" && verbosity < .verbose { return }
        if level != "error" && verbosity < .normal { return }
        var all: [(String, JSON)] = [
            ("time", .string(ISO8601DateFormatter().string(from: Date()))), ("level", .string(level)),
        ]
        if let runId { all.append(("runId", .string(runId))) }
        all.append(("event", .string(event)))
        all += fields
        stderr(JSON.object(all).rendered(indent: nil) + "\n")
    }

    /// Writes raw text to stderr (progress lines use it).
    static func stderr(_ text: String) {
        lock.lock()
        defer { lock.unlock() }
        write(2, text)
    }

    private static func write(_ fd: Int32, _ text: String) {
        var text = text
        text.withUTF8 { write(fd, $0) }
    }

    private static func write(_ fd: Int32, _ bytes: UnsafeBufferPointer<UInt8>) {
        guard let base = bytes.baseAddress else { return }
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, base + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                return
            }
            done += n
        }
    }
}
