import Foundation
import Testing

/// Checks shared by the feed end-to-end tests.
enum FeedChecks {
    /// The report's counts for one target equal the oracle's figures.
    static func expectCounts(
        _ target: FeedReport.Target, _ figures: FeedOracle.Figures, _ what: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let got = [target.rows, target.adds, target.updates, target.deletes, target.unchanged, target.rejected]
        let want = [figures.rows, figures.adds, figures.updates, figures.deletes, figures.unchanged, figures.rejected]
        #expect(
            got == want, "\(target.name) \(what): rows/adds/updates/deletes/unchanged/rejected",
            sourceLocation: sourceLocation)
    }

    /// Every file the report lists for `target` is in `folder` with the stated size, SHA-256 and
    /// row count (read back with Python's csv in the target's dialect), and nothing else is there.
    /// Returns the data files read, by name.
    @discardableResult
    static func expectFiles(
        of target: FeedReport.Target, in folder: URL, alsoThere: Set<String> = [],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> [String: CSVFile] {
        let dialect = try #require(SampleDialects.byTarget[target.name], sourceLocation: sourceLocation)
        let present = Set((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
        #expect(
            present == Set(target.files.map(\.name)).union(alsoThere), "\(target.name): the folder holds exactly the reported files",
            sourceLocation: sourceLocation)
        var read: [String: CSVFile] = [:]
        for file in target.files {
            let url = folder.appendingPathComponent(file.name)
            guard present.contains(file.name) else { continue }
            let isData = file.kind == nil || file.kind == "full" || file.kind == "delta"
            let csv = try CSVFile.read(url, isData ? dialect : CSVFile.Dialect())
            #expect(csv.bytes == file.bytes, "\(file.name): bytes", sourceLocation: sourceLocation)
            #expect(csv.sha256 == file.sha256, "\(file.name): sha256", sourceLocation: sourceLocation)
            if isData {
                #expect(csv.records.count == file.rows, "\(file.name): data rows", sourceLocation: sourceLocation)
                read[file.name] = csv
            }
        }
        // A checksum sidecar names its data file's SHA-256.
        for sidecar in target.files where sidecar.name.hasSuffix(".sha256") {
            let dataName = String(sidecar.name.dropLast(".sha256".count))
            let text = (try? String(contentsOf: folder.appendingPathComponent(sidecar.name), encoding: .utf8)) ?? ""
            if let data = target.files.first(where: { $0.name == dataName }) {
                #expect(
                    text.contains(data.sha256), "\(sidecar.name) holds the SHA-256 of \(dataName)",
                    sourceLocation: sourceLocation)
            }
        }
        return read
    }

    /// The data file of kind `kind` among `files`, read.
    static func dataFile(
        _ kind: String, of target: FeedReport.Target, in read: [String: CSVFile],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> CSVFile {
        let file = try #require(
            target.files.first { $0.kind == kind }, "\(target.name) sent no \(kind) file",
            sourceLocation: sourceLocation)
        return try #require(read[file.name], "\(file.name) was not read", sourceLocation: sourceLocation)
    }

    /// The (action, user_id) pairs of an acme-lms delta file, as `A:E10001`.
    static func actionKeys(_ delta: CSVFile, sourceLocation: SourceLocation = #_sourceLocation) -> Set<String> {
        #expect(delta.header?.first == "action", "the action column comes first", sourceLocation: sourceLocation)
        return Set(delta.rows.map { "\($0["action"] ?? "?"):\($0["user_id"] ?? "?")" })
    }

    /// What an acme-lms delta must hold for the oracle's keys.
    static func actionKeys(_ keys: FeedOracle.Keys) -> Set<String> {
        Set(keys.adds.map { "A:\($0)" } + keys.updates.map { "U:\($0)" } + keys.deletes.map { "D:\($0)" })
    }
}
