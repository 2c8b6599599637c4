/// The process exit codes (a contract: cron jobs and users' scripts branch on them).
public enum ExitCode: Int32, Codable, Sendable, Comparable {
    case success = 0
    /// `diff --exit-code` found differences.
    case differences = 1
    /// At least one target held by a safety gate; nothing was delivered for it.
    case held = 3
    case usage = 64
    /// Malformed source CSV, duplicate or empty key, a source gate failed.
    case data = 65
    /// Source file missing or unreadable.
    case noInput = 66
    /// Delivery failed for at least one target.
    case unavailable = 69
    /// The state directory could not be written (or a snapshot is corrupt).
    case cannotCreate = 73
    /// Another run holds the lock, or a timeout worth retrying.
    case temporaryFailure = 75
    /// Configuration or mapping invalid.
    case config = 78

    /// How much a code outweighs another when several happen in one run:
    /// 78, 65, 66, 73, 69, 75, 3, then the rest.
    public var severity: Int {
        switch self {
        case .config: return 9
        case .data: return 8
        case .noInput: return 7
        case .cannotCreate: return 6
        case .unavailable: return 5
        case .temporaryFailure: return 4
        case .held: return 3
        case .usage: return 10
        case .differences: return 1
        case .success: return 0
        }
    }

    public static func < (a: ExitCode, b: ExitCode) -> Bool { a.severity < b.severity }

    /// The exit code an error thrown by the core stands for.
    public init(for error: Error) {
        // Every error of the core carries its code (CSV and data errors 65, a missing input 66).
        self = (error as? CodedError)?.exitCode ?? .data
    }
}

/// An error that knows its exit code.
public protocol CodedError: Error, CustomStringConvertible {
    var exitCode: ExitCode { get }
}
