// libFuzzer target: the JSON5 reader and the mapping loader. Invariant: any bytes give a value
// or problems with their path, never a trap, and parsing is deterministic.
import Foundation

@testable import DropfeedCore

private let folder: String = {
    let path = NSTemporaryDirectory() + "dropfeed-fuzz-config-\(getpid())"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}()

/// Writes `bytes` to `path` with plain POSIX calls (FileManager's atomic write is slow per input).
private func writeFile(_ path: String, _ bytes: [UInt8]) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    precondition(fd >= 0, "cannot write \(path)")
    bytes.withUnsafeBytes { _ = write(fd, $0.baseAddress, $0.count) }
    close(fd)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var first = JSON5Parser(bytes)
    var second = JSON5Parser(bytes)
    let a = Result { try first.parse() }
    let b = Result { try second.parse() }
    switch (a, b) {
    case (.success, .success), (.failure, .failure): break
    default: fatalError("the JSON5 reader is not deterministic")
    }
    // The whole loader, through a file as dropfeed reads it, once the syntax is right (else it
    // reports the same syntax error).
    guard case .success = a else { return 0 }
    let path = folder + "/input.json"
    writeFile(path, bytes)
    let log = ProblemLog(file: "input.json")
    let mapping = MappingLoader.load(path: path, displayName: "input.json", log: log)
    if mapping == nil && log.problems.isEmpty { fatalError("no mapping and no problem") }
    _ = log.problems.map(\.description)
    _ = try? FeedConfig.load(path: path)
    return 0
}
