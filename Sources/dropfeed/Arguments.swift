import DropfeedCore

/// A command line that could not be understood (exit 64).
struct UsageError: Error, CustomStringConvertible {
    var message: String
    var command: String?

    init(_ message: String, command: String? = nil) {
        self.message = message
        self.command = command
    }

    var description: String { message }
}

/// A command's arguments: `--name value`, `--name=value`, boolean `--flag`s and positionals.
///
/// Every option a command accepts is declared up front, so an unknown or misspelled flag is a
/// usage error instead of being ignored.
struct Arguments {
    private(set) var values: [String: [String]] = [:]
    private(set) var flags: Set<String> = []
    private(set) var positionals: [String] = []
    let command: String

    /// Parses `args` for `command`, which takes the `valued` options and the boolean `switches`.
    init(_ args: [String], command: String, valued: Set<String>, switches: Set<String>) throws {
        self.command = command
        var i = 0
        var onlyPositionals = false
        while i < args.count {
            let arg = args[i]
            i += 1
            if onlyPositionals || !arg.hasPrefix("-") || arg == "-" {
                positionals.append(arg)
                continue
            }
            if arg == "--" {
                onlyPositionals = true
                continue
            }
            var name = arg
            var inline: String?
            if let eq = arg.firstIndex(of: "=") {
                name = String(arg[..<eq])
                inline = String(arg[arg.index(after: eq)...])
            }
            if valued.contains(name) {
                if let inline {
                    values[name, default: []].append(inline)
                } else {
                    guard i < args.count else { throw UsageError("\(name) needs a value", command: command) }
                    values[name, default: []].append(args[i])
                    i += 1
                }
            } else if switches.contains(name), inline == nil {
                flags.insert(name)
            } else {
                let known = Array(valued) + Array(switches)
                var message = "unknown option \(name) for `dropfeed \(command)`"
                if let near = closest(to: name, in: known) { message += " (did you mean \(near)?)" }
                throw UsageError(message, command: command)
            }
        }
    }

    /// The last value given for `name`.
    func value(_ name: String) -> String? { values[name]?.last }

    /// Every value given for a repeatable option.
    func all(_ name: String) -> [String] { values[name] ?? [] }

    func has(_ name: String) -> Bool { flags.contains(name) }

    /// A non-negative whole number option.
    func count(_ name: String) throws -> Int? {
        guard let raw = value(name) else { return nil }
        guard let n = Int(raw), n >= 0 else {
            throw UsageError("\(name) takes a whole number, not `\(raw)`", command: command)
        }
        return n
    }
}

extension Arguments {
    /// The value of `flag` as a number of seconds (0 or more), nil when the flag is absent.
    func seconds(_ flag: String, command: String) throws -> Double? {
        guard let raw = value(flag) else { return nil }
        guard let seconds = Double(raw), seconds >= 0, seconds.isFinite else {
            throw UsageError("\(flag) takes a number of seconds, not `\(raw)`", command: command)
        }
        return seconds
    }
}
