import Foundation
import Testing

/// `history.jsonl`, `runs/`, `dropfeed history`, `history show` and `state list`'s last success
/// and failure; the hooks that get the report on stdin.
@Suite struct HistoryTests {
    struct Line: Decodable {
        struct Target: Decodable {
            var name: String
            var status: String
            var adds: Int
            var deletes: Int
            var bytesSent: Int
            var gate: String?
        }
        var runId: String
        var exitCode: Int
        var durationSeconds: Double
        var targets: [Target]
    }

    /// A delivered, an unchanged and a held run.
    func threeNights(_ feed: inout MiniFeed) throws -> [String] {
        var ids: [String] = []
        for (day, people) in [("2026-04-01", 0..<20), ("2026-04-02", 0..<20), ("2026-04-03", 0..<15)] {
            feed.now = day + "T02:00:00Z"
            try feed.writeExport(people: people)
            let r = try feed.run(["run", "--json"])
            let report = try JSONSerialization.jsonObject(with: r.stdoutData) as? [String: Any]
            ids.append(try #require(report?["runId"] as? String))
        }
        return ids
    }

    @Test func historyListsADeliveredAnUnchangedAndAHeldRun() throws {
        try MiniFeed.with { feed in
            let ids = try threeNights(&feed)
            let r = try feed.run(["history", "--json"])
            #expect(r.exitCode == 0, "\(r.stderr)")
            let lines = try JSONDecoder().decode([Line].self, from: r.stdoutData)
            #expect(lines.map(\.runId) == ids.reversed(), "newest first")
            #expect(lines.map { $0.targets.first?.status } == ["held", "unchanged", "delivered"])
            #expect(lines.map(\.exitCode) == [3, 0, 0])
            #expect(lines[0].targets[0].gate == "maxDeletes" && lines[0].targets[0].deletes == 5)
            #expect(lines[2].targets[0].adds == 20 && lines[2].targets[0].bytesSent > 0)
            #expect(lines[1].targets[0].bytesSent == 0)
            let limited = try JSONDecoder().decode(
                [Line].self, from: try feed.run(["history", "--json", "--limit", "1"]).stdoutData)
            #expect(limited.map(\.runId) == [ids[2]])
            let text = try feed.run(["history"])
            #expect(
                text.stdout.contains(ids[0]) && text.stdout.contains("held") && text.stdout.contains("gate maxDeletes"))

            // history show: the full report, byte for byte what --json printed.
            let shown = try feed.run(["history", "show", ids[1]])
            #expect(shown.exitCode == 0)
            let report = try JSONSerialization.jsonObject(with: shown.stdoutData) as? [String: Any]
            #expect(report?["runId"] as? String == ids[1])
            let missing = try feed.run(["history", "show", "../../etc/passwd"])
            #expect(missing.exitCode == 66)

            // state list: last success and last failure.
            let listed = try feed.run(["state", "list", "--json"])
            let targets = try JSONSerialization.jsonObject(with: listed.stdoutData) as? [[String: Any]]
            let lms = try #require(targets?.first)
            #expect((lms["lastSuccess"] as? [String: Any])?["runId"] as? String == ids[1])
            #expect((lms["lastFailure"] as? [String: Any])?["status"] as? String == "held")

            // Private files, no link followed.
            let history = feed.path("state/history.jsonl")
            let mode = try FileManager.default.attributesOfItem(atPath: history)[.posixPermissions] as? Int
            #expect(mode == 0o600)
            #expect(try FileManager.default.contentsOfDirectory(atPath: feed.path("state/runs")).count == 3)
            try FileManager.default.removeItem(atPath: history)
            try FileManager.default.createSymbolicLink(atPath: history, withDestinationPath: feed.path("elsewhere"))
            let linked = try feed.run(["run", "-q"])
            #expect(linked.exitCode == 73 && linked.stderr.contains("symbolic link"), "\(linked.stderr)")
            #expect(!FileManager.default.fileExists(atPath: feed.path("elsewhere")))
        }
    }

    @Test func runPlanIsRecordedAsAnAppliedPlan() throws {
        try MiniFeed.with { feed in
            let saved = try feed.run(["plan", "--save", "tonight.plan"])
            try #require(saved.exitCode == 0, "\(saved.stderr)")
            #expect(!FileManager.default.fileExists(atPath: feed.path("state/history.jsonl")), "a plan is not a run")
            let applied = try feed.run(["run", "--plan", "tonight.plan", "-q"])
            #expect(applied.exitCode == 0, "\(applied.stderr)")
            struct Applied: Decodable {
                var appliedPlan: Bool
                var exitCode: Int
            }
            let lines = try JSONDecoder().decode([Applied].self, from: try feed.run(["history", "--json"]).stdoutData)
            #expect(lines.count == 1 && lines[0].appliedPlan && lines[0].exitCode == 0)
        }
    }

    @Test func onFailureGetsTheReportOnStdinAndNotInItsArguments() throws {
        try MiniFeed.with { feed in
            // A hook that records its arguments and its standard input.
            let script = feed.root.file("hook.sh")
            try feed.root.write(
                "hook.sh",
                "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$1.argv\"\ncat > \"$1.stdin\"\necho \"$DROPFEED_STATUS $DROPFEED_EXIT_CODE\" > \"$1.env\"\nexit 7\n"
            )
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
            let out = feed.path("got")
            // A failing run: the export is missing.
            try FileManager.default.removeItem(at: feed.root.file("export.csv"))
            let r = try feed.run([
                "run", "--on-failure", "\(script.path) \(out) 'two words'", "--on-success", "/bin/false",
            ])
            #expect(r.exitCode == 66, "the hook's exit 7 does not change the run's code: \(r.stderr)")
            #expect(r.stderr.contains("the --on-failure hook failed") && r.stderr.contains("exited 7"))
            let stdin = try Data(contentsOf: URL(fileURLWithPath: out + ".stdin"))
            let report = try JSONSerialization.jsonObject(with: stdin) as? [String: Any]
            #expect(report?["exitCode"] as? Int == 66)
            let argv = try String(contentsOf: URL(fileURLWithPath: out + ".argv"), encoding: .utf8)
            #expect(argv == "\(out)\ntwo words\n", "arguments as given, no report: \(argv)")
            #expect(!argv.contains("exitCode") && !argv.contains("{"))
            let env = try String(contentsOf: URL(fileURLWithPath: out + ".env"), encoding: .utf8)
            #expect(env == "failure 66\n")
            // A hook that does not finish is stopped; a hook that cannot start is reported.
            let slow = try feed.run(["run", "--on-failure", "/bin/sleep 300", "--hook-timeout", "0.5"])
            #expect(slow.exitCode == 66 && slow.stderr.contains("did not finish within"), "\(slow.stderr)")
            let missing = try feed.run(["run", "--on-failure", "/no/such/hook"])
            #expect(missing.exitCode == 66 && missing.stderr.contains("cannot start /no/such/hook"))
        }
    }
}
