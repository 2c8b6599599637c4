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
        case .duplicateHeader(let name): return "duplicate header name `\(name)` at \(place)"
        case .emptyHeader(let column): return "empty header name (column \(column)) at \(place)"
        case .invalidUTF8: return "invalid UTF-8 at \(place) (set the source encoding if the file is not UTF-8)"
        case .invalidUTF16: return "invalid UTF-16 at \(place)"
        case .emptyFile: return "no header row in \(file)"
        }
    }
}
