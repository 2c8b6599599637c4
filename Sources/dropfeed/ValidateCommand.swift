import DropfeedCore
import Foundation
import SFTP

/// `dropfeed validate`: the config, every mapping and the source header; then the warnings that
/// are likely, not certain, to fail a run (files missing on this machine, an RSA key, a file name
/// that repeats).
enum ValidateCommand {
    static let help = """
        usage: dropfeed validate [--config FILE] [--json]

        Checks the config, every mapping (unknown keys, unknown source columns, bad regular expressions,
        bad date patterns, templates naming missing columns) and the source header, and prints every
        problem with its file and JSON path. Then it warns about what is likely to fail a run: an
        identityFile or knownHosts that does not exist here, an RSA or passphrase-protected key
        without passphraseEnv, an output file name without {seq} or {time} where an existing file is
        never replaced (the second run of a day fails), an export with a UTF-8 byte order mark read
        as another encoding. Exit 0 when there is no problem (warnings included), 78 otherwise.

        options:
          --config FILE   the feed config (default: dropfeed.json)
          --json          print {"ok", "config", "targets", "problems", "warnings"} on stdout

        example:
          dropfeed validate --config /etc/dropfeed/dropfeed.json
        """

    static func run(_ args: [String]) throws -> ExitCode {
        let a = try Arguments(args, command: "validate", valued: ["--config"], switches: ["--json"])
        guard a.positionals.isEmpty else {
            throw UsageError("unexpected argument `\(a.positionals[0])`", command: "validate")
        }
        let path = a.value("--config") ?? ConfigFile.defaultPath
        try ConfigFile.requireExists(path)
        let (config, problems) = FeedValidation.check(configPath: path)
        let warnings = config.map(self.warnings) ?? []
        if a.has("--json") {
            func list(_ items: [ConfigProblem]) -> JSON {
                .array(
                    items.map {
                        .object([
                            ("file", .string($0.file)), ("path", .string($0.path)), ("message", .string($0.message)),
                        ])
                    })
            }
            Output.stdout(
                JSON.object([
                    ("ok", .bool(problems.isEmpty)), ("config", .string(path)),
                    ("targets", .array((config?.targets ?? []).map { .string($0.name) })),
                    ("problems", list(problems)), ("warnings", list(warnings)),
                ]).rendered(indent: 2) + "\n")
            return problems.isEmpty ? .success : .config
        }
        for w in warnings { Output.warning("warning: \(w)") }
        if problems.isEmpty, let config {
            Output.stdout(
                "\(path): ok — source \(config.source.displayPath), \(config.targets.count) target\(config.targets.count == 1 ? "" : "s"): "
                    + config.targets.map(\.name).joined(separator: ", ")
                    + (warnings.isEmpty ? "" : " (\(warnings.count) warning\(warnings.count == 1 ? "" : "s"))") + "\n")
            return .success
        }
        Output.stdout(problems.map(\.description).joined(separator: "\n") + "\n")
        Output.note("\(problems.count) problem\(problems.count == 1 ? "" : "s") found")
        return .config
    }

    /// What is likely to fail a run of `config`, though it may work where the run happens.
    static func warnings(_ config: FeedConfig) -> [ConfigProblem] {
        var out: [ConfigProblem] = []
        if let hint = SourceHints.bomHint(config) {
            out.append(ConfigProblem(file: config.file, path: "source.encoding", message: hint))
        }
        let fm = FileManager.default
        for (k, target) in config.targets.enumerated() {
            let place = "targets[\(k)].deliver"
            var replacesFiles = false
            if case .sftp(let s) = target.deliver {
                replacesFiles = s.overwrite
                if !fm.fileExists(atPath: s.knownHosts) {
                    out.append(
                        ConfigProblem(
                            file: config.file, path: place + ".sftp.knownHosts",
                            message:
                                "\(s.knownHosts) does not exist here; add the server's key with `ssh-keyscan -p \(s.port) \(s.host) >> \(s.knownHosts)` and check its fingerprint"
                        ))
                }
                if let key = s.identityFile {
                    if !fm.fileExists(atPath: key) {
                        out.append(
                            ConfigProblem(
                                file: config.file, path: place + ".sftp.identityFile",
                                message: "\(key) does not exist here; make one with `ssh-keygen -t ed25519 -f \(key)`"))
                    } else if let summary = try? PrivateKeySummary(path: key) {
                        if summary.isRSA {
                            out.append(
                                ConfigProblem(
                                    file: config.file, path: place + ".sftp.identityFile",
                                    message:
                                        "\(key) is an RSA key: \(PrivateKeySummary.rsaExplanation)"))
                        }
                        if summary.isEncrypted && s.passphraseEnv == nil {
                            out.append(
                                ConfigProblem(
                                    file: config.file, path: place + ".sftp.passphraseEnv",
                                    message:
                                        "\(key) is protected by a passphrase: set passphraseEnv to the name of the environment variable that holds it"
                                ))
                        }
                    }
                }
            }
            let name = target.mapping.output.fileTemplate
            if !replacesFiles && !name.contains("{seq}") && !name.contains("{time}") {
                let when =
                    name.contains("{date}")
                    ? "a second run on the same day fails" : "the second run fails"
                let fix =
                    target.deliver.isSFTP
                    ? "add {seq} or {time} to the name, or set overwrite: true" : "add {seq} or {time} to the name"
                out.append(
                    ConfigProblem(
                        file: target.mapping.file, path: "output.file",
                        message:
                            "`\(name)` repeats and an existing file of that name is never replaced: \(when) (\(fix))"))
            }
        }
        return out
    }
}

extension DeliverConfig {
    var isSFTP: Bool {
        if case .sftp = self { return true }
        return false
    }
}

/// Hints for mistakes that cost a new operator a search.
enum SourceHints {
    /// A UTF-8 byte order mark at the start of an export read as another encoding.
    static func bomHint(_ config: FeedConfig) -> String? {
        let source = config.source
        guard source.options.encoding != .utf8 && source.options.encoding != .utf16,
            let handle = FileHandle(forReadingAtPath: source.path)
        else { return nil }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 3)) ?? Data()
        guard head == Data([0xEF, 0xBB, 0xBF]) else { return nil }
        return
            "\(source.displayPath) starts with a UTF-8 byte order mark but is read as \(source.options.encoding.rawValue): it is probably UTF-8 (set encoding: \"utf-8\")"
    }
}
