import DropfeedCore
import Foundation
import SFTP

/// Listens to a plan or run: draws the progress line on a terminal (refreshed in place, like
/// rclone `-P`), prints per-phase timings with `--verbose`, and writes a `phase` JSON log line
/// per phase with `--log-format json`. Never writes to stdout.
final class RunEvents: RunObserver, @unchecked Sendable {
    /// The listener of the run in progress, for the SFTP drop's per-file progress.
    nonisolated(unsafe) static var current: RunEvents?

    private let lock = NSLock()
    private let drawsProgress: Bool
    private let sourceBytes: Int64?
    /// The phases under way with their start, innermost last (`plan and write` holds each
    /// target's `plan` and `write`, which may overlap).
    private var phases: [(name: String, start: Date)] = []
    /// The file being sent, and the meter's reading when it started.
    private var file: (name: String, size: Int64, start: Date, meterAtStart: Int64)?
    private var drawn = false
    private var timer: DispatchSourceTimer?

    init(sourcePath: String?) {
        drawsProgress = OperatorFlags.showsProgress
        sourceBytes = sourcePath.flatMap {
            (try? FileManager.default.attributesOfItem(atPath: $0)[.size] as? NSNumber)?.int64Value
        }
        if drawsProgress {
            let timer = DispatchSource.makeTimerSource(queue: DispatchQueue.global())
            timer.schedule(deadline: .now() + .milliseconds(500), repeating: .milliseconds(500))
            timer.setEventHandler { [weak self] in self?.draw() }
            timer.resume()
            self.timer = timer
        }
    }

    func phaseStarted(_ phase: String) {
        lock.lock()
        phases.append((phase, Date()))
        lock.unlock()
        draw()
    }

    func phaseFinished(_ phase: String, seconds: Double) {
        lock.lock()
        if let k = phases.lastIndex(where: { $0.name == phase }) { phases.remove(at: k) }
        lock.unlock()
        clearLine()
        var fields: [(String, JSON)] = [("phase", .string(phase)), ("durationSeconds", .double(rounded(seconds)))]
        if let target = Self.target(of: phase) { fields.append(("target", .string(target))) }
        var text = "\(phase): \(String(format: "%.3f", seconds)) s"
        if phase == "read source", let bytes = sourceBytes, seconds > 0 {
            let rate = Double(bytes) / 1e6 / seconds
            fields.append(("bytes", .int(Int(bytes))))
            text += String(format: " (%.1f MB, %.1f MB/s, \(SourceMeter.rows) rows)", Double(bytes) / 1e6, rate)
            fields.append(("rows", .int(SourceMeter.rows)))
        }
        if Output.logFormat == .text { Output.detail(text) }
        Output.log(level: "info", event: "phase", fields)
    }

    /// The SFTP drop starts sending `name` (`size` bytes).
    func fileStarted(_ name: String, size: Int64) {
        lock.lock()
        file = (name, size, Date(), TransferMeter.bytes)
        lock.unlock()
        draw()
    }

    /// The SFTP drop has `name` in place.
    func fileFinished(_ name: String) {
        lock.lock()
        let done = file
        file = nil
        lock.unlock()
        if let done {
            let seconds = Date().timeIntervalSince(done.start)
            Output.detail(
                String(format: "sent %@: %d bytes in %.3f s", done.name, Int(done.size), seconds))
        }
    }

    /// Stops drawing and clears the progress line.
    func finish() {
        timer?.cancel()
        timer = nil
        clearLine()
    }

    private func draw() {
        guard drawsProgress else { return }
        lock.lock()
        guard let (phase, start) = phases.last else {
            lock.unlock()
            return
        }
        let elapsed = Date().timeIntervalSince(start)
        var text = "\(phase)… \(String(format: "%.1f", elapsed)) s"
        if phase == "read source", let bytes = sourceBytes {
            let rows = SourceMeter.rows
            text += String(format: " (%.1f MB", Double(bytes) / 1e6)
            if rows > 0 && elapsed > 0.5 {
                text += String(format: ", %d rows", rows)
                if let read = SourceMeter.bytes { text += String(format: ", %.1f MB/s", Double(read) / 1e6 / elapsed) }
            }
            text += ")"
        }
        if let file {
            // Bytes the server acknowledged for this file so far (a retry may count some twice).
            let sent = min(file.size, TransferMeter.bytes - file.meterAtStart)
            let seconds = Date().timeIntervalSince(file.start)
            text += String(
                format: " — %@ %.1f of %.1f MB", file.name, Double(sent) / 1e6, Double(file.size) / 1e6)
            if seconds > 0.5 && sent > 0 {
                let rate = Double(sent) / seconds
                text += String(format: ", %.1f MB/s, ETA %.0f s", rate / 1e6, Double(file.size - sent) / rate)
            }
        }
        drawn = true
        lock.unlock()
        Output.stderr("\r\u{1B}[K" + text)
    }

    private func clearLine() {
        guard drawsProgress else { return }
        lock.lock()
        let was = drawn
        drawn = false
        lock.unlock()
        if was { Output.stderr("\r\u{1B}[K") }
    }

    /// `deliver acme-lms` → `acme-lms` (`plan and write` names no target).
    static func target(of phase: String) -> String? {
        guard phase != "plan and write" else { return nil }
        for verb in ["deliver ", "finish ", "plan ", "write "] where phase.hasPrefix(verb) {
            return String(phase.dropFirst(verb.count))
        }
        return nil
    }

    private func rounded(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }
}
