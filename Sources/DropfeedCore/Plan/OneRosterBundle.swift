import Zip

#if canImport(Glibc)
    import Glibc
#endif

/// A OneRoster 1.1 CSV bundle being written: a zip holding `manifest.csv` (every file of the
/// 1.1 binding listed, as `bulk`, `delta` or `absent`), then `users.csv` (streamed) and, when
/// the mapping lists orgs, `orgs.csv` (bulk). CSV in the binding's form: comma, a header,
/// UTF-8 with CRLF line ends unless the mapping says `lineEnding: "lf"`.
struct OneRosterBundle {
    let spec: OneRosterSpec
    let zip: ZipWriter
    let stamp: ZipTimestamp
    let options: CSVWriteOptions

    /// `dateLastModified` on delta rows: the run's time, `yyyy-MM-ddTHH:mm:ss.000Z`.
    static func dateLastModified(runTime iso: String) -> String {
        iso.hasSuffix("Z") ? String(iso.dropLast()) + ".000Z" : iso
    }

    /// Starts the archive on `fd` and writes the manifest; `delta` says how users.csv is processed.
    init(spec: OneRosterSpec, fd: Int32, path: String, runTime iso: String, delta: Bool, options: CSVWriteOptions)
        throws
    {
        self.spec = spec
        zip = ZipWriter(fd: fd, path: path)
        let digits = iso.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        stamp =
            digits.count >= 6
            ? ZipTimestamp(
                year: digits[0], month: digits[1], day: digits[2], hour: digits[3], minute: digits[4], second: digits[5]
            )
            : ZipTimestamp(year: 1980, month: 1, day: 1, hour: 0, minute: 0, second: 0)
        self.options = options
        var manifest = CSVWriter(options: options)
        try manifest.write(["propertyName", "value"])
        try manifest.write(["manifest.version", "1.0"])
        try manifest.write(["oneroster.version", "1.1"])
        for file in OneRosterSpec.manifestFiles {
            let mode: String
            switch file {
            case "users": mode = delta ? "delta" : "bulk"
            case "orgs": mode = spec.orgs.isEmpty ? "absent" : "bulk"
            default: mode = "absent"
            }
            try manifest.write(["file." + file, mode])
        }
        try entry("manifest.csv", manifest.takeBytes())
    }

    private func entry(_ name: String, _ bytes: [UInt8]) throws {
        try zip.beginEntry(name, modified: stamp)
        try zip.write(bytes)
        try zip.endEntry()
    }

    /// Opens `users.csv`; its bytes follow through `write`.
    func beginUsers() throws { try zip.beginEntry("users.csv", modified: stamp) }

    func write(_ bytes: [UInt8]) throws { try zip.write(bytes) }

    /// Closes `users.csv`, adds `orgs.csv` when there are orgs, and ends the archive.
    func finish() throws {
        try zip.endEntry()
        if !spec.orgs.isEmpty {
            var orgs = CSVWriter(options: options)
            try orgs.write(OneRosterSpec.orgColumns)
            for org in spec.orgs { try orgs.write(org) }
            try entry("orgs.csv", orgs.takeBytes())
        }
        try zip.finish()
    }
}
