/// A malformed CSV input, with the place a person should look at.
///
/// `description` reads like `unterminated quoted field at hr.csv:1042:17`: the file as the user
/// named it, the physical line (1-based, counting line breaks inside quoted fields) and the column
/// (1-based, in Unicode scalars of that line: `e` and a combining accent count as two).
public struct CSVError: CodedError, Equatable, Sendable {
    public var exitCode: ExitCode { .data }
    public enum Kind: Equatable, Sendable {
        case unterminatedQuote
        case textAfterClosingQuote
        case bareQuote
        case tooManyFields(expected: Int, actual: Int)
        case tooFewFields(expected: Int, actual: Int)
        case duplicateHeader(String)
        case emptyHeader(column: Int)
        case invalidUTF8
        case invalidUTF16
        case emptyFile
        case nulByte
        case byteOrderMarkInside
        case fieldTooLarge(limit: Int)
        case recordTooLarge(limit: Int)
        case tooManyColumns(limit: Int)
    }

    public var kind: Kind
    public var file: String
    public var line: Int
    public var column: Int

    public init(_ kind: Kind, file: String, line: Int, column: Int) {
        self.kind = kind
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String {
        let place = "\(file):\(line):\(column)"
        switch kind {
        case .unterminatedQuote: return "unterminated quoted field at \(place)"
        case .textAfterClosingQuote: return "text after a closing quote at \(place)"
        case .bareQuote:
            return "quote inside an unquoted field at \(place) (quote the whole field and double the quote)"
        case .tooManyFields(let expected, let actual):
            return "\(actual) fields where the header has \(expected) at \(place)"
        case .tooFewFields(let expected, let actual):
            return "\(actual) field\(actual == 1 ? "" : "s") where the header has \(expected) at \(place)"
        case .duplicateHeader(let name):
            return "duplicate header name `\(name.escapingControlCharacters())` at \(place)"
        case .emptyHeader(let column): return "empty header name (column \(column)) at \(place)"
        case .invalidUTF8: return "invalid UTF-8 at \(place) (set the source encoding if the file is not UTF-8)"
        case .invalidUTF16: return "invalid UTF-16 at \(place)"
        case .emptyFile: return "no header row in \(file)"
        case .nulByte: return "NUL byte at \(place) (a binary file, or not a CSV export?)"
        case .byteOrderMarkInside:
            return "byte-order mark (U+FEFF) in the middle of the file at \(place) (two files joined together?)"
        case .fieldTooLarge(let limit):
            return "field longer than the limit of \(byteCount(limit)) at \(place) (source.maxFieldBytes)"
        case .recordTooLarge(let limit): return "record longer than the limit of \(byteCount(limit)) at \(place)"
        case .tooManyColumns(let limit): return "more than \(limit) fields (the limit) at \(place)"
        }
    }
}

/// `16 MiB`, `512 KiB` or `100 bytes`, for limits in messages.
func byteCount(_ n: Int) -> String {
    if n >= 1 << 20 && n % (1 << 20) == 0 { return "\(n >> 20) MiB" }
    if n >= 1 << 10 && n % (1 << 10) == 0 { return "\(n >> 10) KiB" }
    return "\(n) bytes"
}
