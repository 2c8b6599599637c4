import Foundation
import Testing

/// `run --metrics FILE`: the Prometheus text exposition format, checked by a strict parser of it
/// written here (and by `promtool check metrics` when it is installed), with the right values.
@Suite struct MetricsTests {
    struct Sample: Hashable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    struct FormatError: Error, CustomStringConvertible {
        var description: String
    }

    /// Parses the text format strictly: UTF-8, `\n` line ends and a final `\n`; one HELP then one
    /// TYPE per family, before its samples, families not interleaved; only gauges; metric and label
    /// names as the format allows; label values quoted with only `\\`, `\"` and `\n` escapes; no
    /// duplicate series; values that are numbers; no timestamps.
    static func parse(_ data: Data) throws -> [Sample] {
        guard let text = String(data: data, encoding: .utf8) else { throw FormatError(description: "not UTF-8") }
        guard text.hasSuffix("\n"), !text.contains("\r") else { throw FormatError(description: "line ends") }
        var samples: [Sample] = []
        var helped = Set<String>()
        var typed = Set<String>()
        var finished = Set<String>()
        var current: String?
        var series = Set<String>()
        func isName(_ s: Substring, colons: Bool) -> Bool {
            guard let first = s.utf8.first, !(0x30...0x39).contains(first) else { return false }
            return s.utf8.allSatisfy {
                (0x61...0x7A).contains($0) || (0x41...0x5A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x5F
                    || (colons && $0 == 0x3A)
            }
        }
        for (n, line) in text.dropLast().split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let where_ = "line \(n + 1): `\(line)`"
            if line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
                guard parts.count == 4, isName(parts[2], colons: true) else { throw FormatError(description: where_) }
                let family = String(parts[2])
                if let current, current != family { finished.insert(current) }
                guard !finished.contains(family) else {
                    throw FormatError(description: "\(where_): family interleaved")
                }
                current = family
                if parts[1] == "HELP" {
                    guard helped.insert(family).inserted, !typed.contains(family) else {
                        throw FormatError(description: "\(where_): HELP twice or after TYPE")
                    }
                } else {
                    guard parts[3] == "gauge" else { throw FormatError(description: "\(where_): not a gauge") }
                    guard typed.insert(family).inserted else { throw FormatError(description: "\(where_): TYPE twice") }
                }
                continue
            }
            guard !line.hasPrefix("#"), !line.isEmpty else { throw FormatError(description: "\(where_): stray line") }
            // name{labels} value
            guard let brace = line.firstIndex(of: "{"), let space = line.lastIndex(of: " "), brace < space else {
                throw FormatError(description: "\(where_): no labels or value")
            }
            let name = line[..<brace]
            guard isName(name, colons: true), String(name) == current, typed.contains(String(name)),
                helped.contains(String(name))
            else { throw FormatError(description: "\(where_): sample outside its family") }
            let labelText = line[line.index(after: brace)..<space]
            guard labelText.hasSuffix("}") else { throw FormatError(description: "\(where_): labels") }
            var labels: [String: String] = [:]
            var rest = labelText.dropLast()[...]
            while !rest.isEmpty {
                guard let eq = rest.firstIndex(of: "=") else { throw FormatError(description: "\(where_): label") }
                let key = rest[..<eq]
                guard isName(key, colons: false), !key.hasPrefix("__") else {
                    throw FormatError(description: "\(where_): label name")
                }
                rest = rest[rest.index(after: eq)...]
                guard rest.first == "\"" else { throw FormatError(description: "\(where_): unquoted label value") }
                rest = rest.dropFirst()
                var value = ""
                var closed = false
                while let c = rest.first {
                    rest = rest.dropFirst()
                    if c == "\\" {
                        guard let e = rest.first else { throw FormatError(description: "\(where_): escape") }
                        rest = rest.dropFirst()
                        switch e {
                        case "\\": value.append("\\")
                        case "\"": value.append("\"")
                        case "n": value.append("\n")
                        default: throw FormatError(description: "\(where_): bad escape \\\(e)")
                        }
                    } else if c == "\"" {
                        closed = true
                        break
                    } else if c == "\n" {
                        throw FormatError(description: "\(where_): raw newline")
                    } else {
                        value.append(c)
                    }
                }
                guard closed, labels.updateValue(value, forKey: String(key)) == nil else {
                    throw FormatError(description: "\(where_): label value or duplicate label")
                }
                if rest.first == "," {
                    rest = rest.dropFirst()
                } else if !rest.isEmpty {
                    throw FormatError(description: "\(where_): after a label")
                }
            }
            let valueText = line[line.index(after: space)...]
            guard let value = Double(valueText), !valueText.contains(" ") else {
                throw FormatError(description: "\(where_): value (no timestamps)")
            }
            let key =
                "\(name)|" + labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            guard series.insert(key).inserted else { throw FormatError(description: "\(where_): duplicate series") }
            samples.append(Sample(name: String(name), labels: labels, value: value))
        }
        return samples
    }

    @Test func theParserRefusesWhatTheFormatForbids() {
        let good = "# HELP a_b x\n# TYPE a_b gauge\na_b{t=\"1\"} 2\n"
        #expect((try? Self.parse(Data(good.utf8)))?.count == 1)
        for bad in [
            "# TYPE a_b gauge\n# HELP a_b x\na_b{t=\"1\"} 2\n",  // TYPE before HELP
            "# HELP a_b x\n# TYPE a_b counter\na_b{t=\"1\"} 2\n",  // not a gauge
            "# HELP a_b x\n# TYPE a_b gauge\na_b{t=\"1\"} 2",  // no final newline
            "# HELP a_b x\n# TYPE a_b gauge\na_b{t=\"1\"} 2 1700000000\n",  // a timestamp
            "# HELP a_b x\n# TYPE a_b gauge\na_b{t=\"a\\tb\"} 2\n",  // a bad escape
            "# HELP a_b x\n# TYPE a_b gauge\na_b{t=\"1\"} 2\na_b{t=\"1\"} 3\n",  // a duplicate series
        ] {
            #expect((try? Self.parse(Data(bad.utf8))) == nil, "accepted: \(bad)")
        }
    }

    @Test func metricsCarryEachTargetsFiguresAndKeepThoseOfATargetThatDidNotRun() throws {
        var feed = try MiniFeed(
            extraTargets: "\n    { name: \"badges\", mapping: \"mapping.json\", deliver: { directory: \"outbox2\" } },")
        defer { feed.remove() }
        let prom = feed.path("textfile/dropfeed.prom")
        try FileManager.default.createDirectory(atPath: feed.path("textfile"), withIntermediateDirectories: true)
        feed.now = "2026-04-01T02:00:00Z"
        let first = try feed.run(["run", "--metrics", prom])
        #expect(first.exitCode == 0, "\(first.stderr)")
        // The next night: three people leave (held by maxDeletes 2), for lms only.
        try feed.writeExport(people: 0..<17)
        feed.now = "2026-04-02T02:00:00Z"
        let second = try feed.run(["run", "--metrics", prom, "--target", "lms"])
        #expect(second.exitCode == 3)
        let data = try Data(contentsOf: URL(fileURLWithPath: prom))
        let samples = try Self.parse(data)
        func value(_ name: String, _ target: String, kind: String? = nil) -> Double? {
            samples.first { $0.name == name && $0.labels["target"] == target && $0.labels["kind"] == kind }?.value
        }
        let day1 = ISO8601DateFormatter().date(from: "2026-04-01T02:00:00Z")!.timeIntervalSince1970
        let day2 = day1 + 86_400
        #expect(value("dropfeed_held", "lms") == 1)
        #expect(value("dropfeed_last_exit_code", "lms") == 3)
        #expect(value("dropfeed_last_run_timestamp_seconds", "lms") == day2)
        #expect(value("dropfeed_last_success_timestamp_seconds", "lms") == day1)
        #expect(value("dropfeed_changes", "lms", kind: "delete") == 3)
        #expect(value("dropfeed_bytes_sent", "lms") == 0)
        #expect(value("dropfeed_rows", "lms") == 17)
        // The other target did not run tonight: it keeps night one's figures.
        let other = "badges"
        #expect(value("dropfeed_changes", other, kind: "add") == 20)
        #expect(value("dropfeed_held", other) == 0)
        #expect(value("dropfeed_last_run_timestamp_seconds", other) == day1)
        #expect((value("dropfeed_bytes_sent", other) ?? 0) > 0)
        #expect(value("dropfeed_rejected_rows", other) == 0)
        #expect((value("dropfeed_run_duration_seconds", other) ?? -1) >= 0)
        // Written atomically: no temporary file is left beside it, and the collector can read it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: feed.path("textfile")) == ["dropfeed.prom"])
        if let promtool = ["/usr/bin/promtool", "/usr/local/bin/promtool"].first(where: {
            FileManager.default.isExecutableFile(atPath: $0)
        }) {
            let r = try DropfeedProcess.runProgram(URL(fileURLWithPath: promtool), ["check", "metrics"], stdin: data)
            #expect(r.exitCode == 0, "promtool: \(r.stdout) \(r.stderr)")
        }
    }
}
