import Foundation

/// A file's physical lines, read a megabyte at a time: each without its LF (and a CR before it),
/// numbered from 1.
final class LineReader {
    private let file: FileByteSource
    private let displayName: String
    private var buffer: [UInt8] = []
    private var position = 0
    private var atEnd = false
    /// The number of the line `next` returned last.
    private(set) var lineNumber = 0
    /// A line longer than this is refused (a folded LDIF value is many lines, each short).
    static let maxLineBytes = 64 << 20

    private let chunk = UnsafeMutablePointer<UInt8>.allocate(capacity: LineReader.chunkSize)
    private static let chunkSize = 1 << 20

    init(path: String, displayName: String) throws {
        file = try FileByteSource(path: path)
        self.displayName = displayName
    }

    deinit { chunk.deallocate() }

    /// The next line, or nil at the end of the file (a last line without LF counts).
    func next() throws -> ArraySlice<UInt8>? {
        while true {
            if let lf = buffer[position...].firstIndex(of: 0x0A) {
                var end = lf
                if end > position && buffer[end - 1] == 0x0D { end -= 1 }
                let line = buffer[position..<end]
                position = lf + 1
                lineNumber += 1
                if lineNumber == 1, line.starts(with: [0xEF, 0xBB, 0xBF]) { return line.dropFirst(3) }
                return line
            }
            if atEnd {
                guard position < buffer.count else { return nil }
                var end = buffer.count
                if buffer[end - 1] == 0x0D { end -= 1 }
                let line = buffer[position..<end]
                position = buffer.count
                lineNumber += 1
                return line
            }
            try fill()
        }
    }

    /// Whether the next line starts with a space (a continuation line); nothing is consumed.
    func nextStartsWithSpace() throws -> Bool {
        while position == buffer.count {
            if atEnd { return false }
            try fill()
        }
        return buffer[position] == 0x20
    }

    private func fill() throws {
        if position > 0 {
            buffer.removeSubrange(0..<position)
            position = 0
        }
        if buffer.count > LineReader.maxLineBytes {
            throw SourceFormatError(
                file: displayName, line: lineNumber + 1, "a line longer than \(LineReader.maxLineBytes >> 20) MiB")
        }
        let n = try file.read(into: chunk, capacity: LineReader.chunkSize)
        buffer.append(contentsOf: UnsafeBufferPointer(start: chunk, count: n))
        if n == 0 { atEnd = true }
    }
}
