import Foundation

/// The run's figures in the Prometheus text exposition format, for node_exporter's textfile
/// collector: gauges only, one HELP and TYPE per family, one sample per target (and per change
/// kind), label values escaped. A target that did not run this time keeps the values of the last
/// run that did, read from the history.
public enum Metrics {
    /// The families, in the order they are written.
    static let families: [(name: String, help: String)] = [
        ("dropfeed_last_success_timestamp_seconds", "When the target last ran successfully (delivered or unchanged)."),
        ("dropfeed_last_run_timestamp_seconds", "When the target last ran, whatever the outcome."),
        ("dropfeed_run_duration_seconds", "How long the run that last ran the target took."),
        ("dropfeed_rows", "Rows the target's mapping produced in its last run."),
        ("dropfeed_changes", "Changes the target's last run found, by kind."),
        ("dropfeed_rejected_rows", "Source rows the target's mapping rejected in its last run."),
        ("dropfeed_held", "1 when a safety gate held the target in its last run, else 0."),
        ("dropfeed_bytes_sent", "Bytes delivered to the target by its last run."),
        ("dropfeed_last_exit_code", "The exit code the target's last run gave for it."),
    ]

    /// The exposition text for `targets`, from `history` (newest first, this run included).
    public static func text(targets: [String], history: [HistoryEntry]) -> String {
        var samples: [String: [String]] = [:]
        for name in targets {
            guard let last = history.first(where: { $0.target(name) != nil }), let t = last.target(name) else {
                continue
            }
            let label = "target=\"\(escape(name))\""
            let success = history.first { e in
                e.target(name).map { $0.status == "delivered" || $0.status == "unchanged" } ?? false
            }
            func add(_ family: String, _ value: Double, labels: String = label) {
                samples[family, default: []].append("\(family){\(labels)} \(format(value))")
            }
            if let success { add("dropfeed_last_success_timestamp_seconds", success.startedAtSeconds) }
            add("dropfeed_last_run_timestamp_seconds", last.startedAtSeconds)
            add("dropfeed_run_duration_seconds", last.durationSeconds)
            add("dropfeed_rows", Double(t.rows))
            for (kind, n) in [("add", t.adds), ("update", t.updates), ("delete", t.deletes)] {
                add("dropfeed_changes", Double(n), labels: label + ",kind=\"\(kind)\"")
            }
            add("dropfeed_rejected_rows", Double(t.rejected))
            add("dropfeed_held", t.status == "held" ? 1 : 0)
            add("dropfeed_bytes_sent", Double(t.bytesSent))
            add("dropfeed_last_exit_code", Double(t.exitCode))
        }
        var out = ""
        for family in families {
            guard let lines = samples[family.name] else { continue }
            out += "# HELP \(family.name) \(family.help)\n# TYPE \(family.name) gauge\n"
            out += lines.joined(separator: "\n") + "\n"
        }
        return out
    }

    /// Writes `text` to `path` atomically (a temporary file in the same folder, then rename),
    /// readable by the collector (0644).
    public static func write(_ text: String, to path: String) throws {
        try FileSystem.writeAtomically(path, Array(text.utf8), mode: 0o644)
    }

    /// A label value with `\`, `"` and line feeds escaped, as the text format requires.
    static func escape(_ value: String) -> String {
        var out = ""
        for c in value.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// A sample value: whole numbers without a fraction, others with up to three decimals.
    static func format(_ value: Double) -> String {
        if value == value.rounded() && abs(value) < 1e15 { return String(Int64(value)) }
        var s = String(format: "%.3f", value)
        while s.hasSuffix("0") { s.removeLast() }
        return s
    }
}
