/// A place a target's files are delivered to: a local directory, or an SFTP server.
///
/// The core decides *what* to deliver and in which order; a `FileDrop` only knows how to put
/// one finished local file under its final name, atomically as far as the place allows.
/// The executable plugs in the implementation (the core never imports the SFTP module).
/// One drop is opened per target per run and reused for all of that target's files.
public protocol FileDrop: AnyObject {
    /// A short description for messages, such as `sftp://acme@sftp.acme.example:22/inbound`.
    var location: String { get }

    /// Connects (or checks the directory); called once before any other call.
    func open() throws

    /// The size of the delivered file `name`, or `nil` when there is no such file.
    ///
    /// Used to recognise a file that already arrived when a failed run is finished.
    func size(of name: String) throws -> Int64?

    /// Delivers the local file at `localPath` under `name`, never leaving a partial file
    /// under `name`; throws `FileDropError` (or the implementation's own error) on failure.
    func put(localPath: String, as name: String) throws

    /// Releases the connection; throws when the close itself reports an error.
    func close() throws
}

/// A delivery failure, as an operator should read it.
public struct FileDropError: CodedError, Sendable {
    /// What failed, lowercase, naming the remote path and the reason.
    public var message: String
    /// Whether trying again (a new connection) may help.
    public var isTransient: Bool

    public init(_ message: String, isTransient: Bool = false) {
        self.message = message
        self.isTransient = isTransient
    }

    public var description: String { message }
    public var exitCode: ExitCode { .unavailable }
}
