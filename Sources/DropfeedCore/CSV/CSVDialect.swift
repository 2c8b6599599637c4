import Foundation

/// A text encoding Dropfeed reads sources in and writes vendor files in.
public enum TextEncoding: String, Sendable, Codable, CaseIterable {
    /// UTF-8; a byte-order mark is stripped on read.
    case utf8 = "utf-8"
    /// Windows code page 1252 (Western European), a superset of ISO-8859-1's printable range.
    case windows1252 = "windows-1252"
    /// ISO-8859-1 (Latin-1): each byte is the code point of the same number.
    case iso88591 = "iso-8859-1"
    /// UTF-16 with a byte-order mark (little- or big-endian; written little-endian).
    case utf16 = "utf-16"

    /// Parses the names people write: `utf8`, `UTF-8`, `cp1252`, `latin1`, `utf16le`…
    public init?(name: String) {
        switch name.lowercased().replacingOccurrences(of: "_", with: "-") {
        case "utf-8", "utf8": self = .utf8
        case "windows-1252", "cp1252", "win-1252": self = .windows1252
        case "iso-8859-1", "latin1", "latin-1", "iso8859-1": self = .iso88591
        case "utf-16", "utf16", "utf-16le", "utf-16be": self = .utf16
        default: return nil
        }
    }
}

/// How a source CSV is read.
public struct CSVReadOptions: Sendable, Equatable {
    /// The field separator, one ASCII byte: `,` `;` tab `|`.
    public var delimiter: UInt8
    /// The source encoding; everything is converted to UTF-8 on read.
    public var encoding: TextEncoding
    /// The size and width a record may have; larger input is an error, never held in memory.
    public var limits: CSVLimits
    /// Reject NUL bytes and a byte-order mark after the start, as an error with the line: neither
    /// is ever data in an HR export (one means a binary file, the other two files joined), and
    /// passed on they end up in vendor files and keys. Set for sources; vendor files Dropfeed
    /// reads back hold exactly what was written.
    public var textOnly: Bool

    public init(
        delimiter: UInt8 = UInt8(ascii: ","), encoding: TextEncoding = .utf8, limits: CSVLimits = .init(),
        textOnly: Bool = false
    ) {
        self.delimiter = delimiter
        self.encoding = encoding
        self.limits = limits
        self.textOnly = textOnly
    }

    /// Parses a delimiter as written in a config or on the command line (`,` `;` `\t` `tab` `|`).
    public static func delimiter(named name: String) -> UInt8? {
        switch name {
        case "\\t", "\t", "tab", "TAB": return 0x09
        default:
            let bytes = Array(name.utf8)
            guard bytes.count == 1, bytes[0] < 0x80, bytes[0] != UInt8(ascii: "\""),
                bytes[0] != 0x0A, bytes[0] != 0x0D
            else { return nil }
            return bytes[0]
        }
    }
}

/// The bounds a CSV input must stay within (README "Limits").
///
/// They bound the reader's memory: it holds one record at a time, so it never needs much more
/// than `maxRecordBytes` however large or hostile the file. Each is checked before the buffer
/// grows past it, and going over is a `CSVError` naming the file, line and column.
public struct CSVLimits: Sendable, Equatable {
    /// The largest field, in UTF-8 bytes (quotes not counted): 16 MiB.
    public static let defaultMaxFieldBytes = 16 << 20
    /// The most fields a record (the header included) may have: 16,384.
    public static let defaultMaxColumns = 16_384
    /// The largest record, in bytes, line break included: 64 MiB.
    public static let defaultMaxRecordBytes = 64 << 20

    public var maxFieldBytes: Int
    public var maxColumns: Int
    public var maxRecordBytes: Int

    public init(
        maxFieldBytes: Int = CSVLimits.defaultMaxFieldBytes, maxColumns: Int = CSVLimits.defaultMaxColumns,
        maxRecordBytes: Int = CSVLimits.defaultMaxRecordBytes
    ) {
        self.maxFieldBytes = maxFieldBytes
        self.maxColumns = maxColumns
        self.maxRecordBytes = max(maxRecordBytes, maxFieldBytes)
    }
}

/// When the writer puts quotes around a field.
public enum QuotePolicy: String, Sendable, Codable {
    /// Only where needed: the delimiter, a quote, CR or LF, a leading/trailing space, a leading
    /// U+FEFF, or a record's only field when it is empty.
    case minimal
    /// Around every field.
    case always
}

/// The line ending written after every record.
public enum LineEnding: String, Sendable, Codable {
    case crlf
    case lf

    var bytes: [UInt8] { self == .crlf ? [0x0D, 0x0A] : [0x0A] }
}

/// A vendor's CSV dialect: everything that decides the bytes of a written file.
public struct CSVWriteOptions: Sendable, Equatable {
    public var delimiter: UInt8
    public var quote: QuotePolicy
    public var lineEnding: LineEnding
    /// Write a byte-order mark first (UTF-8 and UTF-16 only; UTF-16 always has one).
    public var bom: Bool
    public var header: Bool
    public var encoding: TextEncoding

    public init(
        delimiter: UInt8 = UInt8(ascii: ","), quote: QuotePolicy = .minimal, lineEnding: LineEnding = .crlf,
        bom: Bool = false, header: Bool = true, encoding: TextEncoding = .utf8
    ) {
        self.delimiter = delimiter
        self.quote = quote
        self.lineEnding = lineEnding
        self.bom = bom
        self.header = header
        self.encoding = encoding
    }
}
