import Zip

#if canImport(Glibc)
    import Glibc
#endif

/// A OneRoster 1.1 CSV bundle being written: a zip holding `manifest.csv` (every file of the
/// 1.1 binding listed, as `bulk`, `delta` or `absent`), then `users.csv` (streamed), when the
/// mapping lists orgs `orgs.csv` (bulk), and when it maps enrollments `enrollments.csv`
/// (streamed, processed as users.csv is). CSV in the binding's form: comma, a header, UTF-8
/// with CRLF line ends unless the mapping says `lineEnding: "lf"`.
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
            case "enrollments": mode = spec.enrollments == nil ? "absent" : delta ? "delta" : "bulk"
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

    /// Closes `users.csv`, adds `orgs.csv` when there are orgs, and opens `enrollments.csv` when
    /// enrollments are mapped (its bytes follow through `write`).
    func endUsers() throws {
        try zip.endEntry()
        if !spec.orgs.isEmpty {
            var orgs = CSVWriter(options: options)
            try orgs.write(OneRosterSpec.orgColumns)
            for org in spec.orgs { try orgs.write(org) }
            try entry("orgs.csv", orgs.takeBytes())
        }
        if spec.enrollments != nil { try zip.beginEntry("enrollments.csv", modified: stamp) }
    }

    /// Closes `enrollments.csv`, when open, and ends the archive.
    func finish() throws {
        if spec.enrollments != nil { try zip.endEntry() }
        try zip.finish()
    }

    /// A user's enrollments.csv rows in a delta, by class: a class only `old` has is sent with
    /// status tobedeleted (its values as last delivered), one only `new` has as active, one in
    /// both as active only when a value of it changed (role, school, primary, dates). `old` and
    /// `new` are sorted by class, as `EnrollmentSpec.enrollments(of:)` gives them.
    static func enrollmentChanges(old: [Enrollment], new: [Enrollment]) -> [(enrollment: Enrollment, deleted: Bool)] {
        var out: [(Enrollment, Bool)] = []
        var i = 0
        var j = 0
        while i < old.count || j < new.count {
            if j == new.count || (i < old.count && old[i].classId < new[j].classId) {
                out.append((old[i], true))
                i += 1
            } else if i == old.count || new[j].classId < old[i].classId {
                out.append((new[j], false))
                j += 1
            } else {
                if old[i] != new[j] { out.append((new[j], false)) }
                i += 1
                j += 1
            }
        }
        return out
    }
}
