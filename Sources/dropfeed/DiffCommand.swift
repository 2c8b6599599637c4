import DropfeedCore

/// `dropfeed diff OLD NEW --key COL[,COL...]`: a keyed CSV diff, csv-diff compatible with `--json`.
enum DiffCommand {
    static let help = """
        usage: dropfeed diff OLD.csv NEW.csv --key COL[,COL...] [--delimiter C] [--encoding E] [--json] [--exit-code]

        Compares two CSV files whose rows are matched by the key column(s). A row is changed when any
        column present in both files differs; columns added or removed are reported. Duplicate or empty
        keys are a data error (exit 65).

        options:
          --key COL[,COL...]   the column(s) identifying a row; several make a composite key
          --delimiter C        field separator of both files: , ; | or \\t (default ,)
          --encoding E         utf-8 (default), windows-1252, iso-8859-1, utf-16
          --json               print the differences as JSON, in the shape of Python csv-diff --json
          --exit-code          exit 1 when the files differ, 0 when they do not (like git diff)

        example:
          dropfeed diff yesterday.csv today.csv --key employee_id --encoding windows-1252

        exit codes: 0 ok (or no differences with --exit-code), 1 differences (with --exit-code),
        64 usage, 65 malformed CSV or bad keys, 66 a file is missing.
        """

    static func run(_ args: [String]) throws -> ExitCode {
        let a = try Arguments(
            args, command: "diff", valued: ["--key", "--delimiter", "--encoding"],
            switches: ["--json", "--exit-code"])
        guard a.positionals.count == 2 else {
            throw UsageError("diff takes two files, OLD and NEW (got \(a.positionals.count))", command: "diff")
        }
        guard let keyList = a.value("--key") else { throw UsageError("diff needs --key COL", command: "diff") }
        let key = keyList.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard !key.contains(where: \.isEmpty) else {
            throw UsageError("--key has an empty column name", command: "diff")
        }
        guard Set(key).count == key.count else { throw UsageError("--key names a column twice", command: "diff") }
        var options = CSVReadOptions()
        if let d = a.value("--delimiter") {
            guard let byte = CSVReadOptions.delimiter(named: d) else {
                throw UsageError(
                    "--delimiter must be one ASCII character such as , ; | or \\t (got `\(d)`)", command: "diff")
            }
            options.delimiter = byte
        }
        if let e = a.value("--encoding") {
            guard let encoding = TextEncoding(name: e) else {
                throw UsageError("unknown encoding `\(e)` (utf-8, windows-1252, iso-8859-1, utf-16)", command: "diff")
            }
            options.encoding = encoding
        }
        let diff: CSVDiff
        do {
            diff = try CSVDiff.compare(oldPath: a.positionals[0], newPath: a.positionals[1], key: key, options: options)
        } catch let error as CodedError where a.value("--encoding") == nil && "\(error)".contains("invalid UTF-8") {
            throw EncodingHint(underlying: error)
        }
        if a.has("--json") {
            Output.stdout(bytes: diff.jsonBytes)
        } else {
            Output.stdout(diff.text)
        }
        return a.has("--exit-code") && diff.hasDifferences ? .differences : .success
    }
}

/// An invalid UTF-8 error of `diff`, naming the option that reads another encoding.
struct EncodingHint: CodedError {
    var underlying: CodedError
    var exitCode: ExitCode { underlying.exitCode }
    var description: String {
        "\(underlying); for `dropfeed diff`, give the files' encoding with --encoding (windows-1252, iso-8859-1, utf-16)"
    }
}
