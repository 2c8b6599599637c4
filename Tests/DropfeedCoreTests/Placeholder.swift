import Testing
@testable import DropfeedCore

@Test func smoke() throws {
    let input = Array("id,name\r\n1,\"a,\"\"b\"\"\nc\"\n\n2,x\r3,\"\"".utf8)
    let r = try CSVReader(bytes: input)
    #expect(r.header == ["id", "name"])
    var rows: [[String]] = []
    try r.forEach { rows.append($0.strings) }
    #expect(rows == [["1", "a,\"b\"\nc"], ["2", "x"], ["3", ""]])
    do { _ = try CSVReader(bytes: Array("a,b\n1,\"x".utf8)).forEach { _ in } ; Issue.record("no error") } catch let e as CSVError { #expect(e.description == "unterminated quoted field at <input>:2:3") }
    do { _ = try CSVReader(bytes: Array("a,b\n1,2,3\n".utf8)).forEach { _ in } ; Issue.record("no error") } catch let e as CSVError { #expect(e.description == "3 fields where the header has 2 at <input>:2:5") }
    do { _ = try CSVReader(bytes: [0x61, 0x0A, 0xC3, 0x28, 0x0A]).forEach { _ in } ; Issue.record("no error") } catch let e as CSVError { #expect(e.description.hasPrefix("invalid UTF-8 at <input>:2:1")) }
    var w = CSVWriter(options: .init())
    try w.write(["a b", " x", "q\"", "ok"])
    #expect(String(decoding: w.bytes, as: UTF8.self) == "a b,\" x\",\"q\"\"\",ok\r\n")
}
