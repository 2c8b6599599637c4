import Foundation
import Testing

@testable import DropfeedCore

/// Python's `csv` module as an oracle: it reads what CSVWriter writes, and CSVReader reads what it writes.
///
/// Python gets only paths on its command line: a JSON manifest (jobs, dialects, rows) and the file
/// to write its JSON answer to.
@Suite("CSV against Python's csv module")
struct CSVOracleTests {
    static let filesPerDialect = 12

    /// Reads each job's file with csv.reader and answers the rows.
    static let readScript = """
        import csv, json, sys
        jobs = json.load(open(sys.argv[1], encoding='utf-8'))
        out = []
        for job in jobs:
            with open(job['path'], newline='', encoding=job['encoding']) as f:
                out.append(list(csv.reader(f, delimiter=job['delimiter'])))
        with open(sys.argv[2], 'w', encoding='utf-8') as f:
            json.dump(out, f, ensure_ascii=True)
        """

    /// Writes each job's rows with csv.writer, then answers what csv.reader reads back from that file.
    static let writeScript = """
        import csv, json, sys
        jobs = json.load(open(sys.argv[1], encoding='utf-8'))
        out = []
        for job in jobs:
            quoting = csv.QUOTE_ALL if job['quoting'] == 'all' else csv.QUOTE_MINIMAL
            with open(job['path'], 'w', newline='', encoding=job['encoding']) as f:
                csv.writer(f, delimiter=job['delimiter'], quoting=quoting,
                           lineterminator=job['lineterminator']).writerows(job['rows'])
            with open(job['path'], newline='', encoding=job['encoding']) as f:
                out.append(list(csv.reader(f, delimiter=job['delimiter'])))
        with open(sys.argv[2], 'w', encoding='utf-8') as f:
            json.dump(out, f, ensure_ascii=True)
        """

    struct ReadJob: Encodable {
        var path: String
        var delimiter: String
        var encoding: String
    }

    struct WriteJob: Encodable {
        var path: String
        var delimiter: String
        var encoding: String
        var quoting: String
        var lineterminator: String
        var rows: [[String]]
    }

    /// Runs `script` with python3 on a manifest of `jobs`; returns its JSON answer, one table per job.
    static func python<Job: Encodable>(_ script: String, _ jobs: [Job], in dir: TemporaryDirectory) throws
        -> [[[String]]]
    {
        let manifest = dir.url.appendingPathComponent("manifest.json")
        let answer = dir.url.appendingPathComponent("answer.json")
        try JSONEncoder().encode(jobs).write(to: manifest)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, manifest.path, answer.path]
        let stderr = Pipe()
        process.standardError = stderr
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "python3 failed: \(String(decoding: message, as: UTF8.self))")
        return try JSONDecoder().decode([[[String]]].self, from: Data(contentsOf: answer))
    }

    static func pythonEncoding(_ options: CSVWriteOptions) -> String {
        switch options.encoding {
        case .utf8: return options.bom ? "utf-8-sig" : "utf-8"
        case .utf16: return "utf-16"
        case .windows1252: return "cp1252"
        case .iso88591: return "latin-1"
        }
    }

    /// The property dialects, with windows-1252 limited to what Python's cp1252 codec knows.
    static var dialects: [Dialect] {
        propertyDialects.map { d in
            var d = d
            if case .windows1252 = d.repertoire { d.repertoire = .windows1252(pythonSafe: true) }
            return d
        }
    }

    @Test func pythonReadsWhatCSVWriterWrites() throws {
        let dir = try TemporaryDirectory()
        var jobs: [ReadJob] = []
        var written: [(dialect: String, rows: [[String]])] = []
        for dialect in Self.dialects {
            var g = SplitMix64(seed: stableSeed("oracle-read " + dialect.testDescription))
            for k in 0..<Self.filesPerDialect {
                let rows = dialect.repertoire.rows(&g, header: false)
                var writer = CSVWriter(options: dialect.options)
                for row in rows { try writer.write(row) }
                let path = try dir.write(writer.bytes, to: "w\(jobs.count).csv")
                jobs.append(
                    ReadJob(
                        path: path, delimiter: String(UnicodeScalar(dialect.options.delimiter)),
                        encoding: Self.pythonEncoding(dialect.options)))
                written.append(("\(dialect.testDescription) #\(k)", rows))
            }
        }
        let answers = try Self.python(Self.readScript, jobs, in: dir)
        try #require(answers.count == written.count)
        for (answer, w) in zip(answers, written) {
            #expect(
                sameRows(answer, w.rows),
                "\(w.dialect): wrote \(w.rows.debugDescription), Python read \(answer.debugDescription)")
        }
    }

    @Test func csvReaderReadsWhatPythonWrites() throws {
        let dir = try TemporaryDirectory()
        let encodings: [(python: String, ours: TextEncoding, repertoire: Repertoire)] = [
            ("utf-8", .utf8, .unicode), ("utf-8-sig", .utf8, .unicode), ("utf-16", .utf16, .unicode),
            ("cp1252", .windows1252, .windows1252(pythonSafe: true)), ("latin-1", .iso88591, .latin1),
        ]
        var jobs: [WriteJob] = []
        var readOptions: [CSVReadOptions] = []
        for delimiter in [",", ";", "\t", "|"] {
            for quoting in ["minimal", "all"] {
                for terminator in ["\r\n", "\n"] {
                    for encoding in encodings {
                        let name = "oracle-write \(delimiter) \(quoting) \(terminator.count) \(encoding.python)"
                        var g = SplitMix64(seed: stableSeed(name))
                        for _ in 0..<3 {
                            var rows = encoding.repertoire.rows(&g, header: false)
                            // Python before 3.12 quotes only what is in its lineterminator, so a lone CR
                            // would be written bare with "\n" (and Python itself reads it back wrong).
                            if quoting == "minimal" && terminator == "\n" {
                                rows = rows.map {
                                    $0.map {
                                        String(
                                            String.UnicodeScalarView($0.unicodeScalars.map { $0 == "\r" ? "\n" : $0 }))
                                    }
                                }
                            }
                            // Python does not quote a leading U+FEFF; a file starting with those bytes
                            // has a byte-order mark, which CSVReader strips (documented).
                            if rows[0][0].unicodeScalars.first == "\u{FEFF}" { rows[0][0] = "x" + rows[0][0] }
                            let path = dir.url.appendingPathComponent("p\(jobs.count).csv").path
                            jobs.append(
                                WriteJob(
                                    path: path, delimiter: delimiter, encoding: encoding.python,
                                    quoting: quoting, lineterminator: terminator, rows: rows))
                            readOptions.append(
                                CSVReadOptions(
                                    delimiter: UInt8(ascii: Unicode.Scalar(delimiter)!),
                                    encoding: encoding.ours))
                        }
                    }
                }
            }
        }
        let answers = try Self.python(Self.writeScript, jobs, in: dir)
        try #require(answers.count == jobs.count)
        for (k, job) in jobs.enumerated() {
            let context =
                "\(job.delimiter.debugDescription) \(job.quoting) \(job.lineterminator.debugDescription) "
                + "\(job.encoding): rows \(job.rows.debugDescription)"
            // Python agrees with itself, so it is a fair oracle for this file.
            #expect(sameRows(answers[k], job.rows), "Python read back \(answers[k].debugDescription); \(context)")
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: job.path)))
            let expected = ReadOutcome.table(header: [], rows: answers[k])
            #expect(readOutcome(bytes, options: readOptions[k], hasHeader: false) == expected, "\(context)")
            #expect(
                readOutcome(path: job.path, bufferSize: 16, options: readOptions[k], hasHeader: false) == expected,
                "bufferSize 16; \(context)")
        }
    }
}
