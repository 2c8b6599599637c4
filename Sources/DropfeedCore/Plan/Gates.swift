/// The safety gates of one target, with what the operator approved for this run.
///
/// `maxDeletes`, `maxDeletePercent` and `maxUpdatePercent` come from the mapping's `safety`.
/// A mapping that sets neither delete gate gets the default one: a run that would delete more
/// than `defaultMaxDeletePercent` of the rows last delivered (and more than
/// `defaultDeleteFloor` rows), or every one of them, is held. Setting either delete gate
/// replaces the default (`maxDeletePercent: 100` turns it off).
struct TargetGates {
    let safety: Safety
    /// `--allow-deletes N`: releases the delete gates when there are at most N deletes.
    let allowDeletes: Int?
    /// `--allow-updates N`: releases the update gate when there are at most N updates.
    let allowUpdates: Int?

    /// The share of a target's rows one run may delete when its mapping sets no delete gate.
    static let defaultMaxDeletePercent = 20.0
    /// Below this many deletes the default gate lets a run through (small feeds), unless the
    /// run would delete every row.
    static let defaultDeleteFloor = 10

    /// The gates that trip, in the order maxDeletes, maxDeletePercent, maxUpdatePercent.
    func trips(deletes: Int, updates: Int, previousRows: Int) -> [GateTrip] {
        var trips: [GateTrip] = []
        let percent = { (n: Int) in previousRows == 0 ? 0 : Double(n) * 100 / Double(previousRows) }
        if !(allowDeletes.map { deletes <= $0 } ?? false) {
            if let limit = safety.maxDeletes, deletes > limit {
                trips.append(GateTrip(name: "maxDeletes", limit: Double(limit), actual: Double(deletes)))
            }
            if let limit = safety.maxDeletePercent, percent(deletes) > limit {
                trips.append(GateTrip(name: "maxDeletePercent", limit: limit, actual: percent(deletes)))
            }
            if safety.maxDeletes == nil, safety.maxDeletePercent == nil, deletes > 0,
                percent(deletes) > TargetGates.defaultMaxDeletePercent,
                deletes > TargetGates.defaultDeleteFloor || deletes == previousRows
            {
                trips.append(
                    GateTrip(
                        name: "maxDeletePercent", limit: TargetGates.defaultMaxDeletePercent,
                        actual: percent(deletes), isDefault: true))
            }
        }
        if let limit = safety.maxUpdatePercent, percent(updates) > limit, !(allowUpdates.map { updates <= $0 } ?? false)
        {
            trips.append(GateTrip(name: "maxUpdatePercent", limit: limit, actual: percent(updates)))
        }
        for k in trips.indices {
            trips[k].approval = trips[k].name == "maxUpdatePercent" ? "--allow-updates \(updates)" : "--allow-deletes \(deletes)"
        }
        return trips
    }
}

/// The source gates: the export's row count against `minRows` (by default, an empty export
/// never goes out) and against the last run's count (`maxShrinkPercent`). A gate that fails
/// stops the run before anything is written (exit 65) unless `--allow-shrink` approved it.
struct SourceGates {
    let source: SourceConfig
    /// `--allow-shrink`.
    let approved: Bool

    func check(rows: Int, last: Int?) throws {
        guard !approved else { return }
        let approve = "approve this run with --allow-shrink"
        if let minRows = source.minRows, rows < minRows {
            throw DataError(
                "source gate minRows: \(source.displayPath) has \(rows) rows, fewer than \(minRows); nothing was sent (\(approve))"
            )
        }
        if source.minRows == nil, rows == 0 {
            throw DataError(
                "source gate minRows: \(source.displayPath) has no rows; an empty export would delete every account, so nothing was sent (\(approve), or set source.minRows to 0)"
            )
        }
        if let limit = source.maxShrinkPercent, let last, last > 0 {
            let shrink = Double(last - rows) * 100 / Double(last)
            if shrink > limit {
                throw DataError(
                    "source gate maxShrinkPercent: \(source.displayPath) shrank from \(last) to \(rows) rows "
                        + "(\(formatNumber((shrink * 10).rounded() / 10))%, limit \(formatNumber(limit))%); nothing was sent (\(approve))"
                )
            }
        }
    }
}
