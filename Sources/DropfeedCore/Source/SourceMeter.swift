import Foundation

/// How many export rows the source reader has read so far in this process, for progress
/// displays (updated about every megabyte of kept values, and when the read ends).
public enum SourceMeter {
    nonisolated(unsafe) private static var total = 0
    private static let lock = NSLock()

    static func set(rows: Int) {
        lock.lock()
        total = rows
        lock.unlock()
    }

    /// Rows read by the source reader so far.
    public static var rows: Int {
        lock.lock()
        defer { lock.unlock() }
        return total
    }
}
