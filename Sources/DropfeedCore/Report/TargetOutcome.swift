/// A safety gate that tripped, with the figures (`{"name": "maxDeletePercent", "limit": 5, "actual": 37.5}`).
public struct GateTrip: Codable, Sendable, Equatable {
    public var name: String
    public var limit: Double
    public var actual: Double
    /// The default delete gate of a mapping that sets none (see `TargetGates`).
    public var isDefault = false
    /// The flag that approves this run, such as `--allow-deletes 12`.
    public var approval = ""

    public init(name: String, limit: Double, actual: Double, isDefault: Bool = false) {
        self.name = name
        self.limit = limit
        self.actual = actual
        self.isDefault = isDefault
    }

    public static func == (a: GateTrip, b: GateTrip) -> Bool {
        a.name == b.name && a.limit == b.limit && a.actual == b.actual && a.isDefault == b.isDefault
    }

    var json: JSON {
        var fields: [(String, JSON)] = [
            ("name", .string(name)), ("limit", .double(limit)), ("actual", .double((actual * 100).rounded() / 100)),
        ]
        if isDefault { fields.append(("default", .bool(true))) }
        if !approval.isEmpty { fields.append(("approve", .string(approval))) }
        return .object(fields)
    }

    /// "maxDeletePercent: 37.5% deleted, limit 20%; approve this run with --allow-deletes 30".
    public var text: String {
        let actual = formatNumber((self.actual * 100).rounded() / 100)
        let verb = name == "maxUpdatePercent" ? "updated" : "deleted"
        var line =
            name == "maxDeletes"
            ? "\(name): \(actual) \(verb), limit \(formatNumber(limit))"
            : "\(name): \(actual)% \(verb), limit \(formatNumber(limit))%"
        if isDefault { line += " (the default when the mapping sets no delete gate)" }
        if !approval.isEmpty { line += "; approve this run with \(approval)" }
        return line
    }
}

/// A source row a target could not map, and why.
public struct Rejection: Codable, Sendable, Equatable {
    public var line: Int
    public var key: String
    public var reason: String
}

/// A delivery that an interrupted run left unfinished: its run and the files still to send.
public struct PendingDelivery: Codable, Sendable, Equatable {
    public var runId: String
    public var remaining: [String]
    public var files: [String]

    var json: JSON {
        .object([
            ("runId", .string(runId)), ("remaining", .array(remaining.map(JSON.string))),
            ("files", .array(files.map(JSON.string))),
        ])
    }
}

/// A lookup that found no row, as the report lists it.
public struct LookupMissReport: Codable, Sendable, Equatable {
    /// The output key of the row (or its source key when it was not mapped).
    public var key: String
    public var column: String
    public var value: String
}

/// What happened to one target in a plan or a run — one element of the report's `targets`.
public struct TargetOutcome: Codable, Sendable {
    public enum Status: String, Codable, Sendable {
        case planned, delivered, unchanged, held, failed
    }

    public var name: String
    public var status: Status
    public var destination: String
    public var rows = 0
    public var adds = 0
    public var updates = 0
    public var deletes = 0
    public var unchanged = 0
    public var rejected = 0
    public var files: [FileRecord] = []
    public var gate: GateTrip?
    public var error: String?
    /// The exit code this target alone would give.
    public var exitCode: ExitCode = .success
    /// The first rejected rows (at most 20), with reasons.
    public var rejections: [Rejection] = []
    /// Lookups that found no row (a warning, not a rejection).
    public var lookupMisses = 0
    /// The first of them (at most 20): the row's key, the output column and the value looked up.
    public var lookupMissList: [LookupMissReport] = []
    /// A delivery an earlier run left unfinished (`plan` reports it; `run` finishes it first).
    public var pending: PendingDelivery?
    /// How many rejections and lookup misses a report lists.
    public static let keptRejections = 20
    /// Deletes kept pending by `onExceed: "hold-deletes"`.
    public var heldDeletes = 0
    /// Rows last delivered whose source row was rejected this run: kept as they were, not deleted.
    public var keptRejected = 0
    /// Files of an earlier, interrupted run finished before this run's changes.
    public var recovered: [String] = []

    public init(name: String, status: Status, destination: String) {
        self.name = name
        self.status = status
        self.destination = destination
    }

    var json: JSON {
        .object([
            ("name", .string(name)),
            ("status", .string(status.rawValue)),
            ("rows", .int(rows)),
            ("adds", .int(adds)),
            ("updates", .int(updates)),
            ("deletes", .int(deletes)),
            ("unchanged", .int(unchanged)),
            ("rejected", .int(rejected)),
            (
                "files",
                .array(
                    files.map { f in
                        .object([
                            ("name", .string(f.name)), ("kind", .string(f.kind)), ("rows", .int(f.rows)),
                            ("bytes", .int(f.bytes)), ("sha256", .string(f.sha256)),
                        ])
                    })
            ),
            ("gate", gate?.json ?? .null),
            ("error", error.map(JSON.string) ?? .null),
            ("destination", .string(destination)),
            ("heldDeletes", .int(heldDeletes)),
            ("keptRejected", .int(keptRejected)),
            ("lookupMisses", .int(lookupMisses)),
            (
                "lookupMissExamples",
                .array(
                    lookupMissList.map {
                        .object([("key", .string($0.key)), ("column", .string($0.column)), ("value", .string($0.value))])
                    })
            ),
            ("pending", pending?.json ?? .null),
            ("recovered", .array(recovered.map(JSON.string))),
            (
                "rejections",
                .array(
                    rejections.map {
                        .object([("line", .int($0.line)), ("key", .string($0.key)), ("reason", .string($0.reason))])
                    })
            ),
        ])
    }
}

/// The result of `plan` or `run`: printed with `--json`, written with `--report`.
public struct RunReport: Sendable {
    public var command: String
    public var runId: String
    public var startedAt: String
    public var sourcePath: String
    public var sourceRows: Int?
    public var sourceSHA256: String?
    public var targets: [TargetOutcome] = []
    /// A failure before any target could be planned (bad source, lock, config).
    public var error: String?
    /// `plan --explain`: one row's story.
    public var explanation: String?
    public var errorCode: ExitCode?

    public init(command: String, runId: String, startedAt: String, sourcePath: String) {
        self.command = command
        self.runId = runId
        self.startedAt = startedAt
        self.sourcePath = sourcePath
    }

    /// `plan --exit-code`: whether anything would be sent — a planned target with files or
    /// changes, or a pending delivery the next run would finish.
    public var wouldSend: Bool {
        targets.contains { t in
            t.pending != nil || (t.status == .planned && (!t.files.isEmpty || t.adds + t.updates + t.deletes > 0))
        }
    }

    /// The most severe exit code of the run.
    public var exitCode: ExitCode {
        var worst = errorCode ?? .success
        for t in targets where t.exitCode > worst { worst = t.exitCode }
        return worst
    }

    public var json: JSON {
        .object([
            ("command", .string(command)),
            ("ok", .bool(exitCode == .success)),
            ("exitCode", .int(Int(exitCode.rawValue))),
            ("runId", .string(runId)),
            ("startedAt", .string(startedAt)),
            (
                "source",
                .object([
                    ("path", .string(sourcePath)),
                    ("rows", sourceRows.map(JSON.int) ?? .null),
                    ("sha256", sourceSHA256.map(JSON.string) ?? .null),
                ])
            ),
            ("targets", .array(targets.map(\.json))),
            ("error", error.map(JSON.string) ?? .null),
        ])
    }

    /// The summary for people (stderr).
    public var text: String {
        var lines: [String] = []
        if let rows = sourceRows { lines.append("source \(sourcePath): \(rows) rows") }
        if let error { lines.append("error: \(error)") }
        for t in targets {
            var line = "\(t.name): \(t.status.rawValue)"
            if t.status != .failed || t.rows > 0 {
                line +=
                    " — \(t.rows) rows: +\(t.adds) added, ~\(t.updates) updated, -\(t.deletes) deleted, \(t.unchanged) unchanged"
                if t.rejected > 0 { line += ", \(t.rejected) rejected" }
            }
            lines.append(line)
            if !t.recovered.isEmpty {
                lines.append("    finished an interrupted delivery: \(t.recovered.joined(separator: ", "))")
            }
            if let p = t.pending {
                lines.append(
                    "    a delivery of run \(p.runId) is pending (\(p.remaining.isEmpty ? "every file arrived; its snapshot is not committed yet" : "not sent yet: " + p.remaining.joined(separator: ", "))); the next run finishes it first — see `dropfeed state pending \(t.name)`"
                )
            }
            for f in t.files { lines.append("    \(f.name)  \(f.rows) rows, \(f.bytes) bytes") }
            if let gate = t.gate {
                lines.append("    gate \(gate.text)" + (t.heldDeletes > 0 ? "; \(t.heldDeletes) deletes held" : ""))
            }
            if let error = t.error { lines.append("    error: \(error.escapingControlCharacters(keepingLineBreaks: true))") }
            for r in t.rejections.prefix(5) {
                let key = r.key.isEmpty ? "no key" : r.key.escapingControlCharacters()
                lines.append("    rejected line \(r.line) (\(key)): \(r.reason.escapingControlCharacters())")
            }
            if t.rejected > 5 { lines.append("    … \(t.rejected - 5) more rejected (see --json)") }
            if t.lookupMisses > 0 {
                let examples = t.lookupMissList.prefix(3).map {
                    "\($0.column) `\($0.value)` for \($0.key)".escapingControlCharacters()
                }
                lines.append(
                    "    warning: \(t.lookupMisses) lookups found no row"
                        + (examples.isEmpty ? "" : " (e.g. " + examples.joined(separator: "; ") + ")"))
            }
            if t.keptRejected > 0 {
                lines.append("    kept \(t.keptRejected) delivered rows whose source row was rejected (not deleted)")
            }
        }
        lines.append("exit \(exitCode.rawValue)")
        return lines.joined(separator: "\n")
    }
}
