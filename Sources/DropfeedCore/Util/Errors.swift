/// The errors the core throws, each with the exit code it stands for (see `ExitCode(for:)`).

/// Bad data that is not a CSV syntax error: a missing column, an empty or duplicate key (exit 65).
public struct DataError: CodedError, Sendable {
    public var exitCode: ExitCode { .data }
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

/// The state directory cannot be written, or holds something unreadable (exit 73).
public struct StateError: CodedError {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var exitCode: ExitCode { .cannotCreate }
    public var description: String { message }
}
