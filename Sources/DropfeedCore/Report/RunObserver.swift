/// Told when each phase of a plan or run starts and ends: `read source`, `plan and write`,
/// `finish TARGET` (an interrupted delivery), `deliver TARGET`. Progress displays, JSON logs
/// and `--verbose` timings listen; the pipeline does not wait for them.
public protocol RunObserver: Sendable {
    func phaseStarted(_ phase: String)
    func phaseFinished(_ phase: String, seconds: Double)
}
