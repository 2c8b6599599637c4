import DropfeedCore
import Foundation

/// The feed config a command was given (`--config FILE`, default `dropfeed.json`).
enum ConfigFile {
    static let defaultPath = "dropfeed.json"

    /// Loads the config; a missing file says how to name another one or how to start one.
    static func load(_ path: String?) throws -> FeedConfig {
        let path = path ?? defaultPath
        try requireExists(path)
        return try FeedConfig.load(path: path)
    }

    /// Throws `MissingConfigError` when there is no file at `path`.
    static func requireExists(_ path: String) throws {
        guard !FileManager.default.fileExists(atPath: path) else { return }
        throw MissingConfigError(path: path, isDefault: path == defaultPath)
    }
}

/// No config file where a command looked (exit 78), with the hint a new operator needs.
struct MissingConfigError: CodedError {
    var path: String
    var isDefault: Bool
    var exitCode: ExitCode { .config }
    var description: String {
        let where_ = isDefault ? "no \(path) in \(FileManager.default.currentDirectoryPath)" : "no config file \(path)"
        return where_
            + ": name the feed's config with --config FILE, or write a starter one with `dropfeed init --source EXPORT`"
    }
}
