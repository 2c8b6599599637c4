import Foundation

/// When a run started, in the forms that file names, run ids and reports use (UTC).
public struct RunClock: Sendable {
    public let date: Date
    /// Sortable and unique: `20261129T020000Z-19ad1f3c2b8` (UTC start time, then the real clock in ms).
    public let runId: String
    /// `{date}` in file names: yyyyMMdd.
    public let day: String
    /// `{time}` in file names: HHmmss.
    public let time: String
    /// ISO 8601, for reports and metadata.
    public let iso: String

    public init(date: Date) {
        self.date = date
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let pad = { (n: Int?, w: Int) -> String in
            let s = String(n ?? 0)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        day = pad(c.year, 4) + pad(c.month, 2) + pad(c.day, 2)
        time = pad(c.hour, 2) + pad(c.minute, 2) + pad(c.second, 2)
        iso =
            "\(pad(c.year, 4))-\(pad(c.month, 2))-\(pad(c.day, 2))T\(pad(c.hour, 2)):\(pad(c.minute, 2)):\(pad(c.second, 2))Z"
        // The suffix is the real clock in milliseconds (fixed width, hex): run ids sort in the
        // order runs happened even within one second, and even when DROPFEED_NOW fixes the time.
        let millis = String(UInt64(max(0, Date().timeIntervalSince1970 * 1000)), radix: 16)
        runId = "\(day)T\(time)Z-" + String(repeating: "0", count: max(0, 11 - millis.count)) + millis
    }

    /// Now, or the instant in `DROPFEED_NOW` (ISO 8601, e.g. `2026-11-29T02:00:00Z`) when set —
    /// for replaying a run with the names it would have had, and for tests.
    public static func now(environment: [String: String] = ProcessInfo.processInfo.environment) -> RunClock {
        if let text = environment["DROPFEED_NOW"], let date = ISO8601DateFormatter().date(from: text) {
            return RunClock(date: date)
        }
        return RunClock(date: Date())
    }
}
