import Foundation

/// The feed config, `dropfeed.json`: the source export, the state directory and the targets.
public struct FeedConfig: Sendable {
    /// The config file as the user named it.
    public var file: String
    /// Absolute folder of the config file; relative paths resolve against it.
    public var directory: String
    public var source: SourceConfig
    /// Absolute path of the state directory.
    public var stateDir: String
    public var targets: [TargetConfig]
    /// SHA-256 of the config file's bytes (a saved plan records it).
    public var digest: String = ""
}

/// One vendor feed.
public struct TargetConfig: Sendable {
    public var name: String
    public var mapping: Mapping
    public var deliver: DeliverConfig
}

/// Where a target's files go.
public enum DeliverConfig: Sendable {
    /// A local folder (absolute path), created with its parents when missing.
    case directory(String)
    case sftp(SFTPSettings)
}

/// An SFTP target's connection settings. Secrets are named by environment variable, never stored.
public struct SFTPSettings: Sendable {
    public enum UploadMode: String, Sendable {
        /// Write `NAME.part`, verify its size, rename to `NAME`.
        case rename
        /// Write `NAME` in place, for servers that forbid rename.
        case direct
    }

    public var host: String
    public var port: Int
    public var user: String
    public var remoteDir: String
    public var identityFile: String?
    public var passphraseEnv: String?
    public var passwordEnv: String?
    /// Authenticate with the keys of a running ssh-agent (`SSH_AUTH_SOCK`).
    public var useAgent: Bool
    public var knownHosts: String
    public var upload: UploadMode
    public var overwrite: Bool
    public var timeoutSeconds: Int
    public var retries: Int
}

extension FeedConfig {
    /// Reads `path` and every mapping it names; throws `ConfigError` listing every problem.
    public static func load(path: String) throws -> FeedConfig {
        let absolute = absolutePath(path, relativeTo: FileManager.default.currentDirectoryPath)
        let directory = (absolute as NSString).deletingLastPathComponent
        let log = ProblemLog(file: path)
        var mappingProblems: [ConfigProblem] = []
        guard let root = loadConfigNode(path: absolute, displayName: path, log: log),
            var object = ObjectReader(root, path: "", log: log)
        else { throw ConfigError(log.problems) }
        MappingLoader.checkVersion(&object)
        let source = readSource(object.node("source"), directory: directory, log: log)
        let stateDir =
            object.string("stateDir").map { absolutePath($0, relativeTo: directory) }
            ?? absolutePath("state", relativeTo: directory)
        var targets: [TargetConfig] = []
        if let node = object.node("targets") {
            if case .array(let items) = node, !items.isEmpty {
                var names = Set<String>()
                for (k, item) in items.enumerated() {
                    let path = "targets[\(k)]"
                    guard var t = ObjectReader(item, path: path, log: log) else { continue }
                    let name = t.string("name", required: true)
                    if let name {
                        if !isSafeName(name) {
                            log.add(
                                "\(path).name",
                                "use letters, digits, `-`, `_` and `.` only, not first `.`, at most 100 (it names a state folder)")
                        } else if !names.insert(name).inserted {
                            log.add("\(path).name", "duplicate target name `\(name)`")
                        }
                    }
                    var mapping: Mapping?
                    if let mappingPath = t.string("mapping", required: true) {
                        let mappingLog = ProblemLog(file: mappingPath)
                        mapping = MappingLoader.load(
                            path: absolutePath(mappingPath, relativeTo: directory),
                            displayName: mappingPath, log: mappingLog)
                        mappingProblems += mappingLog.problems
                    }
                    let deliver = readDeliver(
                        t.node("deliver"), path: "\(path).deliver", directory: directory, log: log)
                    t.finish()
                    if let name, let mapping, let deliver {
                        targets.append(TargetConfig(name: name, mapping: mapping, deliver: deliver))
                    }
                }
            } else {
                log.add("targets", "expected a non-empty list of targets")
            }
        } else {
            log.add("targets", "required")
        }
        object.finish()
        let problems = log.problems + mappingProblems
        guard problems.isEmpty, let source else { throw ConfigError(problems) }
        var config = FeedConfig(file: path, directory: directory, source: source, stateDir: stateDir, targets: targets)
        config.digest = FileManager.default.contents(atPath: absolute).map { SHA256.hex([UInt8]($0)) } ?? ""
        return config
    }

    private static func readSource(_ node: ConfigNode?, directory: String, log: ProblemLog) -> SourceConfig? {
        guard let node else {
            log.add("source", "required")
            return nil
        }
        guard var s = ObjectReader(node, path: "source", log: log) else { return nil }
        let before = log.problems.count
        let path = s.string("path", required: true)
        let key = s.stringList("key", required: true)
        var options = CSVReadOptions(textOnly: true)
        if let d = s.string("delimiter") {
            if let byte = CSVReadOptions.delimiter(named: d) {
                options.delimiter = byte
            } else {
                log.add("source.delimiter", "must be one ASCII character such as , ; | or \\t")
            }
        }
        if let e = s.string("encoding") {
            if let encoding = TextEncoding(name: e) {
                options.encoding = encoding
            } else {
                log.add("source.encoding", "unknown encoding `\(e)` (utf-8, windows-1252, iso-8859-1, utf-16)")
            }
        }
        if let n = s.integer("maxFieldBytes", min: 1, max: 1 << 30) {
            options.limits = CSVLimits(maxFieldBytes: n)
        }
        let minRows = s.integer("minRows")
        let shrink = s.number("maxShrinkPercent", max: 100)
        let duplicates = s.choice("duplicateKeys", DuplicateKeyPolicy.self, choices: ["fail", "reject"]) ?? .fail
        let format = s.choice("format", SourceFormat.self, choices: SourceFormat.allCases.map(\.rawValue)) ?? .csv
        if format == .ldif || format == .scim {
            for name in ["delimiter", "encoding"] where s.has(name) {
                log.add("source.\(name)", "only for the csv and csvde formats (\(format.rawValue) is UTF-8)")
            }
        }
        s.finish()
        guard log.problems.count == before, let path, let key else { return nil }
        return SourceConfig(
            path: absolutePath(path, relativeTo: directory), displayPath: path, key: key,
            options: options, minRows: minRows, maxShrinkPercent: shrink, duplicateKeys: duplicates, format: format)
    }

    private static func readDeliver(_ node: ConfigNode?, path: String, directory: String, log: ProblemLog)
        -> DeliverConfig?
    {
        guard let node else {
            log.add(path, "required: { directory: \"…\" } or { sftp: { … } }")
            return nil
        }
        guard var d = ObjectReader(node, path: path, log: log) else { return nil }
        defer { d.finish() }
        let hasDirectory = d.has("directory")
        let hasSFTP = d.has("sftp")
        if hasDirectory == hasSFTP {
            log.add(path, "needs exactly one of directory, sftp")
            _ = d.node("directory")
            _ = d.node("sftp")
            return nil
        }
        if hasDirectory {
            guard let folder = d.string("directory") else { return nil }
            return .directory(absolutePath(folder, relativeTo: directory))
        }
        guard var s = ObjectReader(d.node("sftp"), path: "\(path).sftp", log: log) else { return nil }
        let before = log.problems.count
        let host = s.string("host", required: true)
        let port = s.integer("port", min: 1, max: 65535) ?? 22
        let user = s.string("user", required: true)
        let remoteDir = s.string("remoteDir") ?? "."
        if remoteDir.split(separator: "/").contains("..") || remoteDir.unicodeScalars.contains(where: isControl) {
            log.add(
                "\(path).sftp.remoteDir",
                "must name the folder itself: no `..` component and no control characters")
        }
        let identity = s.string("identityFile").map { absolutePath($0, relativeTo: directory) }
        let passphraseEnv = s.string("passphraseEnv")
        let passwordEnv = s.string("passwordEnv")
        let agent = s.bool("agent") ?? false
        let knownHosts = s.string("knownHosts", required: true).map { absolutePath($0, relativeTo: directory) }
        let upload = s.choice("upload", SFTPSettings.UploadMode.self, choices: ["rename", "direct"]) ?? .rename
        let overwrite = s.bool("overwrite") ?? false
        let timeout = s.integer("timeoutSeconds", min: 1, max: 3600) ?? 30
        let retries = s.integer("retries", min: 0, max: 20) ?? 3
        for (key, value) in [("passphraseEnv", passphraseEnv), ("passwordEnv", passwordEnv)] {
            if let value, !isEnvironmentName(value) {
                log.add(
                    "\(path).sftp.\(key)", "must name an environment variable (letters, digits, _), not hold a secret")
            }
        }
        if identity == nil && passwordEnv == nil && !agent {
            log.add("\(path).sftp", "needs a way to log in: identityFile, passwordEnv or agent: true")
        }
        if passphraseEnv != nil && identity == nil {
            log.add("\(path).sftp.passphraseEnv", "only makes sense with identityFile")
        }
        s.finish()
        guard log.problems.count == before, let host, let user, let knownHosts else { return nil }
        return .sftp(
            SFTPSettings(
                host: host, port: port, user: user, remoteDir: remoteDir, identityFile: identity,
                passphraseEnv: passphraseEnv, passwordEnv: passwordEnv, useAgent: agent, knownHosts: knownHosts,
                upload: upload, overwrite: overwrite, timeoutSeconds: timeout, retries: retries))
    }
}

/// `path` made absolute against `base`, with a leading `~` expanded to the home directory.
public func absolutePath(_ path: String, relativeTo base: String) -> String {
    var p = path
    if p == "~" || p.hasPrefix("~/") {
        p = NSHomeDirectory() + p.dropFirst()
    }
    if !p.hasPrefix("/") { p = base + "/" + p }
    return (p as NSString).standardizingPath
}

/// Whether `name` can name a folder inside the state directory and nothing else: no `/`, no `..`,
/// no leading `.` (the state directory's own files, `.lock` and `.source.json`, start with one).
func isSafeName(_ name: String) -> Bool {
    !name.isEmpty && !name.hasPrefix(".") && name.utf8.count <= 100
        && name.utf8.allSatisfy {
            ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D
                || $0 == 0x5F || $0 == 0x2E
        }
}

private func isControl(_ s: Unicode.Scalar) -> Bool { s.value < 0x20 || (0x7F..<0xA0).contains(s.value) }

private func isEnvironmentName(_ name: String) -> Bool {
    !name.isEmpty
        && name.utf8.allSatisfy {
            ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x5F
        }
}

extension DeliverConfig {
    /// Where files go, for people: a folder, or `sftp://user@host:port/dir`.
    public var description: String {
        switch self {
        case .directory(let path): return path
        case .sftp(let s):
            return "sftp://\(s.user)@\(s.host):\(s.port)\(s.remoteDir.hasPrefix("/") ? "" : "/")\(s.remoteDir)"
        }
    }
}
