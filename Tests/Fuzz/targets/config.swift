// libFuzzer target: the JSON5 reader and the mapping loader. Invariant: any bytes give a value
// or problems with their path, never a trap, and parsing is deterministic.
import Foundation

@testable import DropfeedCore

private let folder = fuzzFolder("config")

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
