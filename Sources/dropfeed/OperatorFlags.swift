import DropfeedCore

#if canImport(Glibc)
    import Glibc
#endif

/// The options every command takes, wherever they appear on the line (before a `--`):
/// `-q`/`--quiet`, `-v`/`--verbose`, `--log-format text|json`, `--progress`.
enum OperatorFlags {
    /// `--progress`: show progress even when stderr is not a terminal.
    nonisolated(unsafe) static var forceProgress = false

    /// Removes the operator flags from `args` and applies them to `Output`.
    static func extract(_ args: inout [String], command: String) throws {
        var kept: [String] = []
        var i = 0
        var passthrough = false
        while i < args.count {
            let arg = args[i]
            i += 1
            if passthrough || arg == "--" {
                passthrough = true
                kept.append(arg)
                continue
            }
            switch arg {
            case "-q", "--quiet": Output.verbosity = .quiet
            case "-v", "--verbose": Output.verbosity = .verbose
            case "--progress": forceProgress = true
            case "--log-format":
                guard i < args.count else { throw UsageError("--log-format needs text or json", command: command) }
                try setLogFormat(args[i], command: command)
                i += 1
            default:
                if arg.hasPrefix("--log-format=") {
                    try setLogFormat(String(arg.dropFirst("--log-format=".count)), command: command)
                } else {
                    kept.append(arg)
                }
            }
        }
        args = kept
    }

    private static func setLogFormat(_ value: String, command: String) throws {
        guard let format = Output.LogFormat(rawValue: value) else {
            throw UsageError("--log-format takes text or json, not `\(value)`", command: command)
        }
        Output.logFormat = format
    }

    /// Whether to draw progress: `--progress`, or stderr is a terminal — never with `--quiet` or
    /// `--log-format json`, and never when `TERM` is `dumb`.
    static var showsProgress: Bool {
        guard Output.verbosity > .quiet, Output.logFormat == .text else { return false }
        if forceProgress { return true }
        let term = getenv("TERM").map { String(cString: $0) }
        return isatty(2) == 1 && term != "dumb"
    }
}
