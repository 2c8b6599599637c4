import Foundation

/// How much of the export the source reader has read so far in this process, for progress
/// displays: rows, and for a CSV export its bytes (updated every 16,384 rows or about every
/// megabyte of kept values, and when the read ends).
public enum SourceMeter {
    nonisolated(unsafe) private static var counts: (rows: Int, bytes: Int64?) = (0, nil)
    private static let lock = NSLock()

    static func set(rows: Int, bytes: Int64? = nil) {
        lock.lock()
        counts = (rows, bytes ?? counts.bytes)
        lock.unlock()
    }

    /// Rows read by the source reader so far.
    public static var rows: Int {
        lock.lock()
        defer { lock.unlock() }
        return counts.rows
    }

    /// Bytes of a CSV export read so far (nil for the other formats).
    public static var bytes: Int64? {
        lock.lock()
        defer { lock.unlock() }
        return counts.bytes
    }
}
