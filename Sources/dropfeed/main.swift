import DropfeedCore

#if canImport(Glibc)
    import Glibc
#endif

/// Every command: its one-line purpose and its handler.
let commands: [(name: String, summary: String, help: String, run: ([String]) throws -> ExitCode)] = [
    ("plan", "dry run: what each target would receive, and why", FeedCommands.planHelp, FeedCommands.plan),
    ("run", "map, diff, deliver, then commit each target's snapshot", FeedCommands.runHelp, FeedCommands.run),
    (
        "validate", "check the config, the mappings and the source header", ValidateCommand.help,
        ValidateCommand.run
    ),
    (
        "check-connection", "connect to each SFTP target and check it can receive files", CheckConnectionCommand.help,
        CheckConnectionCommand.run
    ),
    ("state", "list, show, reset or roll back targets' snapshots", StateCommand.help, StateCommand.run),
    ("diff", "compare two CSV files by key (csv-diff compatible --json)", DiffCommand.help, DiffCommand.run),
    ("test-mapping", "run a mapping's case file: expected rows and rejections", TestMappingCommand.help, TestMappingCommand.run),
    ("history", "past runs: when, status per target, counts, exit code", HistoryCommand.help, HistoryCommand.run),
    ("init", "write a starter dropfeed.json and a mapping for an export", InitCommand.help, InitCommand.run),
]

let mainHelp = """
    dropfeed \(dropfeedVersion) — CSV-over-SFTP batch identity provisioning

    usage: dropfeed COMMAND [OPTIONS]

    commands:
    \(commands.map { "  " + $0.name.padding(toLength: 18, withPad: " ", startingAt: 0) + $0.summary }.joined(separator: "\n"))
      help [COMMAND]    show help for a command

      dropfeed --version   print the version

    options of every command: -q/--quiet (errors only), -v/--verbose (per-phase timings),
    --progress (even when stderr is not a terminal), --log-format text|json (stderr as JSON lines)

    exit codes: 0 ok, 1 differences (diff --exit-code), 3 a target held by a safety gate, 64 usage,
    65 bad data, 66 missing input, 69 delivery failed, 73 state not writable or corrupt,
    75 locked or temporary failure, 78 bad configuration.
    """

@MainActor func runMain(_ argv: [String]) -> ExitCode {
    guard let first = argv.first else {
        Output.error(mainHelp)
        return .usage
    }
    switch first {
    case "--help", "-h":
        Output.stdout(mainHelp + "\n")
        return .success
    case "--version", "-V":
        Output.stdout("dropfeed \(dropfeedVersion)\n")
        return .success
    case "help":
        guard argv.count > 1 else {
            Output.stdout(mainHelp + "\n")
            return .success
        }
        guard let command = commands.first(where: { $0.name == argv[1] }) else {
            Output.error("dropfeed: no command `\(argv[1])`; see dropfeed --help")
            return .usage
        }
        Output.stdout(command.help + "\n")
        return .success
    default:
        break
    }
    guard let command = commands.first(where: { $0.name == first }) else {
        Output.error(
            "dropfeed: unknown command `\(first)`\(suggestion(for: first, in: commands.map(\.name))); see dropfeed --help"
        )
        return .usage
    }
    var rest = Array(argv.dropFirst())
    if rest.contains("--help") || rest.contains("-h") {
        Output.stdout(command.help + "\n")
        return .success
    }
    do {
        try OperatorFlags.extract(&rest, command: command.name)
        return try command.run(rest)
    } catch let error as UsageError {
        Output.error("dropfeed \(command.name): \(error.message)\nsee: dropfeed help \(command.name)")
        return .usage
    } catch {
        Output.error("dropfeed \(command.name): \(error)")
        return ExitCode(for: error)
    }
}

// DROPFEED_FAULT=list prints the crash tests' fault points instead of running (see Fault).
if Fault.listRequested {
    Output.stdout(Fault.listing)
    exit(0)
}
exit(runMain(Array(CommandLine.arguments.dropFirst())).rawValue)
