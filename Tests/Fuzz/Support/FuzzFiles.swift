// Shared by the fuzz targets that go through files (compiled into each target by scripts/fuzz.sh).
import Foundation

/// A private scratch folder for this fuzzing process.
func fuzzFolder(_ name: String) -> String {
    let path = NSTemporaryDirectory() + "dropfeed-fuzz-\(name)-\(getpid())"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Writes `bytes` to `path` with plain POSIX calls (FileManager's atomic write is slow per input).
func writeFile(_ path: String, _ bytes: [UInt8]) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    precondition(fd >= 0, "cannot write \(path)")
    bytes.withUnsafeBytes { _ = write(fd, $0.baseAddress, $0.count) }
    close(fd)
}
