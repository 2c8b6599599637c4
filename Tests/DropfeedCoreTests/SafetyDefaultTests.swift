import Foundation
import Testing

@testable import DropfeedCore

/// The safety nets that hold without any configuration: an empty export never goes out, and a
/// target whose mapping sets no delete gate is held when a run would delete a large share of it.
struct SafetyDefaultTests {
    typealias People = FeedRunnerTests.People

    /// A delivered feed of `n` people whose mapping sets no safety at all and whose config has no
    /// source gates.
    static func ungatedFeed(_ n: Int) throws -> (FeedWorkspace, People) {
        let w = try FeedRunnerTests.feed()
        let people = FeedRunnerTests.people(n)
        try FeedRunnerTests.writeSource(w, people)
        let first = try w.execute()
        try #require(first.exitCode == .success && first.target("lms")?.status == .delivered)
        return (w, people)
    }

    @Test func aHeaderOnlyExportStopsTheRunUnlessApproved() throws {
        let (w, people) = try Self.ungatedFeed(40)
        try FeedRunnerTests.writeSource(w, [:])
        let before = try w.state("lms").currentRunId()

        let stopped = try w.execute()
        #expect(stopped.exitCode == .data)
        #expect(stopped.error?.contains("has no rows") == true)
        #expect(stopped.error?.contains("--allow-shrink") == true)
        #expect(w.files(in: "outbox/lms") == ["lms_0001_delta.csv"])
        #expect(try w.state("lms").currentRunId() == before)

        // Approving the empty export is not enough: deleting every row trips the default delete gate.
        let held = try w.execute(allowShrink: true)
        let lms = try #require(held.target("lms"))
        #expect(held.exitCode == .held && lms.status == .held)
        #expect(lms.gate == GateTrip(name: "maxDeletePercent", limit: 20, actual: 100, isDefault: true))
        #expect(lms.gate?.approval == "--allow-deletes 40")
        #expect(lms.gate?.text.contains("100% deleted, limit 20%") == true)
        #expect(w.files(in: "outbox/lms") == ["lms_0001_delta.csv"])

        let sent = try w.execute(allowDeletes: 40, allowShrink: true)
        #expect(sent.exitCode == .success && sent.target("lms")?.deletes == 40)
        #expect(
            try w.readCSV("outbox/lms/lms_0002_delta.csv")
                == FeedRunnerTests.expectedDelta(old: people, new: [:]))
    }

    @Test func minRowsZeroTurnsTheEmptyExportDefaultOff() throws {
        let w = try FeedRunnerTests.feed(safety: "maxDeletePercent: 100", sourceExtra: "minRows: 0,")
        try FeedRunnerTests.writeSource(w, FeedRunnerTests.people(5))
        #expect(try w.execute().exitCode == .success)
        try FeedRunnerTests.writeSource(w, [:])
        let report = try w.execute()
        #expect(report.exitCode == .success)
        #expect(report.target("lms")?.deletes == 5)
    }

    @Test func theDefaultDeleteGateHoldsALargeShareAndAnExplicitGateReplacesIt() throws {
        let (w, people) = try Self.ungatedFeed(100)
        var fewer = people
        for i in 1...30 { fewer["\(i)"] = nil }
        try FeedRunnerTests.writeSource(w, fewer)
        let held = try w.execute()
        #expect(held.target("lms")?.status == .held)
        #expect(held.target("lms")?.gate?.isDefault == true)
        #expect(held.target("lms")?.gate?.actual == 30)

        // The same change with an explicit gate that allows it.
        try w.write("mappings/lms.json", FeedRunnerTests.usersMapping(safety: "maxDeletePercent: 100"))
        let sent = try w.execute()
        #expect(sent.target("lms")?.status == .delivered && sent.target("lms")?.deletes == 30)
    }

    struct DefaultCase: Sendable, CustomTestStringConvertible {
        var deletes: Int
        var previous: Int
        var trips: Bool
        var testDescription: String { "\(deletes) of \(previous) deleted" }
    }

    /// 20% and more than ten rows, or every row.
    @Test(arguments: [
        DefaultCase(deletes: 20, previous: 100, trips: false),
        DefaultCase(deletes: 21, previous: 100, trips: true),
        DefaultCase(deletes: 10, previous: 30, trips: false),
        DefaultCase(deletes: 11, previous: 30, trips: true),
        DefaultCase(deletes: 3, previous: 3, trips: true),
        DefaultCase(deletes: 1, previous: 1, trips: true),
        DefaultCase(deletes: 2, previous: 3, trips: false),
        DefaultCase(deletes: 0, previous: 0, trips: false),
    ])
    func defaultDeleteGate(_ c: DefaultCase) {
        let gates = TargetGates(safety: .none, allowDeletes: nil, allowUpdates: nil)
        let trips = gates.trips(deletes: c.deletes, updates: 0, previousRows: c.previous)
        #expect(!trips.isEmpty == c.trips)
        #expect(trips.allSatisfy { $0.isDefault && $0.name == "maxDeletePercent" })
        // An explicit delete gate replaces the default.
        let explicit = TargetGates(
            safety: Safety(maxDeletes: 1000, maxDeletePercent: nil, maxUpdatePercent: nil, onExceed: .hold),
            allowDeletes: nil, allowUpdates: nil)
        #expect(explicit.trips(deletes: c.deletes, updates: 0, previousRows: c.previous).isEmpty)
        // --allow-deletes N releases it when N covers the deletes.
        let approved = TargetGates(safety: .none, allowDeletes: c.deletes, allowUpdates: nil)
        #expect(approved.trips(deletes: c.deletes, updates: 0, previousRows: c.previous).isEmpty)
    }

    @Test func allowUpdatesReleasesTheUpdateGateOnly() throws {
        let (w, _, _) = try FeedRunnerTests.gatedFeed(
            FeedRunnerTests.GateCase(safety: "maxUpdatePercent: 10", deletes: 0, updates: 2, gate: "", actual: 0))
        let held = try w.execute(allowUpdates: 1)
        #expect(held.target("lms")?.status == .held)
        #expect(held.target("lms")?.gate?.approval == "--allow-updates 2")
        #expect(held.target("lms")?.gate?.text.contains("20% updated, limit 10%") == true)
        #expect(try w.execute(allowUpdates: 2).target("lms")?.status == .delivered)

        let (d, _, _) = try FeedRunnerTests.gatedFeed(
            FeedRunnerTests.GateCase(safety: "maxDeletes: 2", deletes: 3, updates: 0, gate: "", actual: 0))
        #expect(try d.execute(allowUpdates: 100).target("lms")?.status == .held)
    }

    @Test func allowShrinkReleasesTheSourceGates() throws {
        let w = try FeedRunnerTests.feed(sourceExtra: "minRows: 8, maxShrinkPercent: 10,")
        try FeedRunnerTests.writeSource(w, FeedRunnerTests.people(10))
        #expect(try w.execute().exitCode == .success)
        try FeedRunnerTests.writeSource(w, FeedRunnerTests.people(7))
        let stopped = try w.execute()
        #expect(stopped.exitCode == .data && stopped.error?.contains("--allow-shrink") == true)
        let report = try w.execute(allowShrink: true)
        #expect(report.exitCode == .success && report.target("lms")?.deletes == 3)
    }
}
