import Foundation
import Testing

/// `format: "oneroster"`: the samples' staff as OneRoster 1.1 CSV bundles, bulk and delta,
/// checked by an independent reading of the 1.1 CSV binding (Python, its own zipfile module).
@Suite struct OneRosterBundleTests {
    /// Reads a bundle the way a OneRoster 1.1 consumer would and prints what is wrong with it, as
    /// JSON: `{"problems": [...], "modes": {...}, "rows": {...}, "sha256": {member: hex}}`.
    static let checker = #"""
        import csv, hashlib, io, json, re, sys, zipfile
        FILES = ["academicSessions", "categories", "classes", "classResources", "courses", "courseResources",
                 "demographics", "enrollments", "lineItems", "orgs", "resources", "results", "users"]
        COLUMNS = {
            "users": ["sourcedId", "status", "dateLastModified", "enabledUser", "orgSourcedIds", "role", "username",
                      "userIds", "givenName", "familyName", "middleName", "identifier", "email", "sms", "phone",
                      "agentSourcedIds", "grades", "password"],
            "orgs": ["sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId"],
            "enrollments": ["sourcedId", "status", "dateLastModified", "classSourcedId", "schoolSourcedId",
                            "userSourcedId", "role", "primary", "beginDate", "endDate"],
        }
        REQUIRED = {"users": ["sourcedId", "enabledUser", "orgSourcedIds", "role", "username", "givenName", "familyName"],
                    "orgs": ["sourcedId", "name", "type"],
                    "enrollments": ["sourcedId", "classSourcedId", "schoolSourcedId", "userSourcedId", "role"]}
        ROLES = {"administrator", "aide", "guardian", "parent", "proctor", "relative", "student", "teacher"}
        ENROLLMENT_ROLES = {"administrator", "proctor", "student", "teacher"}
        ORG_TYPES = {"department", "school", "district", "local", "state", "national"}
        DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$")
        DATE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")
        problems, rows, digests, tables = [], {}, {}, {}
        z = zipfile.ZipFile(sys.argv[1])
        if z.testzip() is not None: problems.append("bad CRC in " + z.testzip())
        names = z.namelist()
        if len(names) != len(set(names)): problems.append("a member twice")
        for info in z.infolist():
            if info.compress_type != zipfile.ZIP_DEFLATED: problems.append(info.filename + " not deflated")
            if "/" in info.filename: problems.append(info.filename + " in a folder")
            digests[info.filename] = hashlib.sha256(z.read(info.filename)).hexdigest()
        manifest = list(csv.reader(io.StringIO(z.read("manifest.csv").decode("utf-8"), newline="")))
        if manifest[0] != ["propertyName", "value"]: problems.append("manifest header %r" % manifest[0])
        props = dict(manifest[1:])
        if len(props) != len(manifest) - 1: problems.append("a manifest property twice")
        if props.get("manifest.version") != "1.0": problems.append("manifest.version")
        if props.get("oneroster.version") != "1.1": problems.append("oneroster.version")
        modes = {f: props.get("file." + f) for f in FILES}
        for f, mode in modes.items():
            if mode not in ("absent", "bulk", "delta"): problems.append("file.%s = %r" % (f, mode))
            present = (f + ".csv") in names
            if present != (mode in ("bulk", "delta")): problems.append("%s.csv present=%s but manifest says %s" % (f, present, mode))
        for name in names:
            if name != "manifest.csv" and modes.get(name[:-4]) in (None, "absent"): problems.append(name + " not in the manifest")
        orgs, org_types, users = set(), {}, set()
        for f in ("orgs", "users", "enrollments"):
            if f + ".csv" not in names: continue
            raw = z.read(f + ".csv")
            text = raw.decode("utf-8")
            table = list(csv.reader(io.StringIO(text, newline="")))
            if table[0] != COLUMNS[f]: problems.append("%s.csv header %r" % (f, table[0]))
            records = [dict(zip(table[0], r)) for r in table[1:]]
            rows[f] = len(records)
            tables[f] = table[1:]
            ids = [r["sourcedId"] for r in records]
            if len(ids) != len(set(ids)): problems.append(f + ".csv: sourcedId twice")
            for n, r in enumerate(records, 2):
                if len(r) != len(COLUMNS[f]): problems.append("%s.csv line %d: %d fields" % (f, n, len(r)))
                if any("\r" in v or "\n" in v for v in r.values()): problems.append("%s.csv line %d: a line break in a field" % (f, n))
                if modes[f] == "delta":
                    if r["status"] not in ("active", "tobedeleted"): problems.append("%s.csv line %d: status %r" % (f, n, r["status"]))
                    if not DATETIME.match(r["dateLastModified"]): problems.append("%s.csv line %d: dateLastModified %r" % (f, n, r["dateLastModified"]))
                else:
                    if r["status"] or r["dateLastModified"]: problems.append("%s.csv line %d: status/dateLastModified in bulk" % (f, n))
                for c in REQUIRED[f]:
                    if not r[c] and r.get("status") != "tobedeleted": problems.append("%s.csv line %d: %s empty" % (f, n, c))
                if f == "orgs":
                    orgs.add(r["sourcedId"])
                    org_types[r["sourcedId"]] = r["type"]
                    if r["type"] not in ORG_TYPES: problems.append("orgs.csv line %d: type %r" % (n, r["type"]))
                elif f == "enrollments":
                    if r["role"] not in ENROLLMENT_ROLES: problems.append("enrollments.csv line %d: role %r" % (n, r["role"]))
                    if r["primary"] not in ("", "true", "false"): problems.append("enrollments.csv line %d: primary %r" % (n, r["primary"]))
                    for c in ("beginDate", "endDate"):
                        if r[c] and not DATE.match(r[c]): problems.append("enrollments.csv line %d: %s %r" % (n, c, r[c]))
                    if orgs and org_types.get(r["schoolSourcedId"]) != "school": problems.append("enrollments.csv line %d: school %r is not a school org" % (n, r["schoolSourcedId"]))
                    if modes[f] == "bulk" and r["userSourcedId"] not in users: problems.append("enrollments.csv line %d: user %r not in users.csv" % (n, r["userSourcedId"]))
                else:
                    users.add(r["sourcedId"])
                    if r["enabledUser"] not in ("true", "false"): problems.append("users.csv line %d: enabledUser %r" % (n, r["enabledUser"]))
                    if r["role"] not in ROLES: problems.append("users.csv line %d: role %r" % (n, r["role"]))
                    if orgs and any(o not in orgs for o in r["orgSourcedIds"].split(",")): problems.append("users.csv line %d: unknown org %r" % (n, r["orgSourcedIds"]))
            if f == "users":
                rows["statuses"] = sorted(set(r["status"] for r in records))
                rows["dates"] = sorted(set(r["dateLastModified"] for r in records))
        print(json.dumps({"problems": problems, "modes": modes, "rows": rows, "sha256": digests, "names": names, "tables": tables}))
        """#

    struct Check: Decodable {
        var problems: [String]
        var modes: [String: String]
        var rows: Rows
        var sha256: [String: String]
        var names: [String]
        /// Each file's rows (without the header), as Python's csv reads them.
        var tables: [String: [[String]]]

        struct Rows: Decodable {
            var users: Int
            var orgs: Int?
            var enrollments: Int?
            var statuses: [String]
            var dates: [String]
        }

        /// users.csv's `sourcedId` → `status`.
        var userStatuses: [String: String] {
            Dictionary((tables["users"] ?? []).map { ($0[0], $0[1]) }, uniquingKeysWith: { a, _ in a })
        }
    }

    static func check(_ zip: URL, in dir: TemporaryDirectory) throws -> Check {
        let script = try dir.write("check_oneroster.py", checker)
        let r = try DropfeedProcess.runProgram(URL(fileURLWithPath: "/usr/bin/python3"), [script.path, zip.path])
        #expect(r.exitCode == 0, "\(r.stderr)")
        return try JSONDecoder().decode(Check.self, from: r.stdoutData)
    }

    static func sha256(_ data: Data) throws -> String {
        let r = try DropfeedProcess.runProgram(URL(fileURLWithPath: "/usr/bin/sha256sum"), ["-"], stdin: data)
        return String(r.stdout.prefix(64))
    }

    @Test func theSamplesMakeBulkAndDeltaBundlesThatPassTheSpecCheck() throws {
        let dir = try TemporaryDirectory(prefix: "dropfeed-oneroster")
        defer { dir.remove() }
        let root = DropfeedProcess.packageRoot
        let bulkMapping = root.appendingPathComponent("mappings/oneroster-users.json")
        let text = try String(contentsOf: bulkMapping, encoding: .utf8)
        #expect(text.contains("mode: \"full\""))
        try dir.write("delta.json", text.replacingOccurrences(of: "mode: \"full\"", with: "mode: \"delta\""))
        func night(_ export: String, _ now: String) throws -> ProcessResult {
            try Data(contentsOf: root.appendingPathComponent("samples/\(export)")).write(to: dir.file("export.csv"))
            try dir.write(
                "dropfeed.json",
                """
                { version: 1, source: { path: "export.csv", key: "employee_id" }, stateDir: "state",
                  targets: [
                    { name: "bulk", mapping: "\(bulkMapping.path)", deliver: { directory: "out/bulk" } },
                    { name: "delta", mapping: "delta.json", deliver: { directory: "out/delta" } },
                  ] }
                """)
            var env = ProcessInfo.processInfo.environment
            env["DROPFEED_NOW"] = now
            return try DropfeedProcess.run(
                ["run", "--config", "dropfeed.json", "--json"], cwd: dir.url, environment: env)
        }

        let first = try night("hr_export.csv", "2026-03-02T02:00:00Z")
        #expect(first.exitCode == 0, "\(first.stderr)")
        let bulkZip = dir.file("out/bulk/oneroster_20260302_0001.zip")
        let bulk = try Self.check(bulkZip, in: dir)
        #expect(bulk.problems == [])
        #expect(bulk.modes["users"] == "bulk" && bulk.modes["orgs"] == "bulk" && bulk.modes["enrollments"] == "absent")
        #expect(Set(bulk.names) == ["manifest.csv", "users.csv", "orgs.csv"])
        #expect(bulk.rows.users == 360 && bulk.rows.orgs == 7)
        #expect(bulk.rows.statuses == [""] && bulk.rows.dates == [""])

        // Python's zipfile gives back exactly the users table dropfeed wrote (state export is the
        // same rows through the plain CSV writer), and the report's checksum is the zip's.
        let exported = try DropfeedProcess.run(["state", "export", "bulk", "--config", "dropfeed.json"], cwd: dir.url)
        #expect(exported.exitCode == 0, "\(exported.stderr)")
        #expect(bulk.sha256["users.csv"] == (try Self.sha256(exported.stdoutData)))
        let report = try #require(try JSONSerialization.jsonObject(with: first.stdoutData) as? [String: Any])
        let targets = try #require(report["targets"] as? [[String: Any]])
        let bulkFile = try #require(
            (targets.first { $0["name"] as? String == "bulk" }?["files"] as? [[String: Any]])?.first)
        let zipBytes = try Data(contentsOf: bulkZip)
        #expect(bulkFile["sha256"] as? String == (try Self.sha256(zipBytes)))
        #expect(bulkFile["bytes"] as? Int == zipBytes.count)
        #expect(bulkFile["rows"] as? Int == 360)

        let firstDelta = try Self.check(dir.file("out/delta/oneroster_20260302_0001.zip"), in: dir)
        #expect(firstDelta.problems == [])
        #expect(firstDelta.modes["users"] == "delta")
        #expect(firstDelta.rows.statuses == ["active"] && firstDelta.rows.dates == ["2026-03-02T02:00:00.000Z"])

        // The next night: changed and removed staff only, each with its status and the run's time.
        let second = try night("hr_export_next.csv", "2026-03-03T02:00:00Z")
        #expect(second.exitCode == 0, "\(second.stderr)")
        let delta = try Self.check(dir.file("out/delta/oneroster_20260303_0002.zip"), in: dir)
        #expect(delta.problems == [])
        #expect(delta.rows.users > 0 && delta.rows.users < 20, "\(delta.rows)")
        #expect(delta.rows.statuses.contains("tobedeleted"), "\(delta.rows)")
        #expect(delta.rows.dates == ["2026-03-03T02:00:00.000Z"])
        let summary = try #require(try JSONSerialization.jsonObject(with: second.stdoutData) as? [String: Any])
        let deltaTarget = try #require(
            (summary["targets"] as? [[String: Any]])?.first { $0["name"] as? String == "delta" })
        #expect(
            delta.rows.users
                == (deltaTarget["adds"] as? Int ?? -1) + (deltaTarget["updates"] as? Int ?? -1)
                + (deltaTarget["deletes"] as? Int ?? -1))
    }

    @Test func aMappingThatIsNotUsersCsvIsRefused() throws {
        let r = try validateMapping(
            #"""
            { version: 1, key: "id", columns: [{ name: "id", from: "id" }],
              output: { file: "r_{seq}.zip", format: "oneroster", mode: "both", delimiter: ";", action: false,
                        deletes: { set: { id: "gone" } },
                        oneroster: { orgs: [{ sourcedId: "o", name: "O", type: "campus" }] } } }
            """#)
        #expect(r.exitCode == 78)
        let text = r.stdout + r.stderr
        for expected in [
            "columns: format \"oneroster\": the columns must be users.csv's, in this order: sourcedId, status,",
            "output.mode: format \"oneroster\" writes one bundle a run",
            "output.action: OneRoster delta rows carry status",
            "output: OneRoster CSV files are comma separated UTF-8 with a header",
            "output.oneroster.orgs[0].type: must be one of department, school, district",
            "output.deletes: format \"oneroster\" sends a deleted user with status tobedeleted",
        ] {
            #expect(text.contains(expected), "missing \(expected) in:\n\(text)")
        }
    }
}
