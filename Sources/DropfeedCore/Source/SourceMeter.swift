import Foundation

/// How much of the export the source reader has read so far in this process, for progress
/// displays: rows, and for a CSV export its bytes (updated every 16,384 rows or about every
/// megabyte of kept values, and when the read ends).
public enum SourceMeter {
    /// Per stretch of the export being read (one, or one per reading thread): rows and bytes.
    nonisolated(unsafe) private static var counts: [(rows: Int, bytes: Int64?)] = [(0, nil)]
    private static let lock = NSLock()

    /// Starts counting a new read.
    static func reset() {
        lock.lock()
        counts = [(0, nil)]
        lock.unlock()
    }

    /// What the reader of stretch `part` has read so far.
    static func set(part: Int = 0, rows: Int, bytes: Int64? = nil) {
        lock.lock()
        while counts.count <= part { counts.append((0, nil)) }
        counts[part] = (rows, bytes ?? counts[part].bytes)
        lock.unlock()
    }

    /// Rows read by the source reader so far.
    public static var rows: Int {
        lock.lock()
        defer { lock.unlock() }
        return counts.reduce(0) { $0 + $1.rows }
    }

    /// Bytes of a CSV export read so far (nil for the other formats).
    public static var bytes: Int64? {
        lock.lock()
        defer { lock.unlock() }
        return counts.reduce(nil as Int64?) { sum, part in part.bytes.map { (sum ?? 0) + $0 } ?? sum }
    }
}
