#if canImport(Glibc)
    import Glibc
#endif

/// Where a UTF-8 CSV file can be cut into stretches that each start at a record, so that
/// several readers parse it at once.
///
/// In RFC 4180 a quote character appears only around a quoted field or doubled inside one, so
/// a position is outside every quoted field exactly when an even number of quotes precede it,
/// and a line feed there ends a record. The cuts are found by one pass that counts quotes over
/// the bytes before the last cut. A file that breaks the rules can give a cut inside a field;
/// then the reader of the stretch before it fails (its last field is never closed), and the
/// caller reads the file again in one piece to report the real error (`SourceTable`).
enum CSVSplit {
    /// Up to `parts - 1` file offsets, increasing, each just after a line feed preceded by an
    /// even number of quotes and near `size * k / parts`. Fewer when the file has no such line
    /// feed in a part (a file with lone CR line ends, one huge record).
    static func cuts(path: String, size: Int64, parts: Int) throws -> [Int64] {
        guard parts > 1, size > 0 else { return [] }
        let fd: Int32
        do { fd = try openRegularFile(path).fd } catch { throw InputFileError(path: path, reason: error.reason) }
        defer { close(fd) }
        let blockSize = 1 << 22
        let block = UnsafeMutablePointer<UInt8>.allocate(capacity: blockSize)
        defer { block.deallocate() }
        var cuts: [Int64] = []
        var offset: Int64 = 0
        var quotes = 0
        var aim = size / Int64(parts)
        var seeking = false
        while cuts.count < parts - 1 && offset < size {
            let n = pread(fd, block, blockSize, off_t(offset))
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw InputFileError.errno(path) }
            if n == 0 { break }
            var k = 0
            while k < n && cuts.count < parts - 1 {
                if !seeking {
                    // Count quotes up to the aim a word at a time, then look for the line feed.
                    let stop = Int(min(Int64(n), aim - offset))
                    quotes += countQuotes(block + k, max(0, stop - k))
                    k = max(k, stop)
                    if k < n { seeking = true }
                    continue
                }
                let b = block[k]
                k += 1
                if b == 0x22 {
                    quotes += 1
                } else if b == 0x0A && quotes & 1 == 0 {
                    let cut = offset + Int64(k)
                    if cut < size { cuts.append(cut) }
                    seeking = false
                    aim = max(cut, size * Int64(cuts.count + 1) / Int64(parts))
                    if cut >= size { return cuts }
                }
            }
            offset += Int64(n)
        }
        return cuts
    }

    /// How many bytes of `p[0..<count]` are `"`, eight at a time.
    static func countQuotes(_ p: UnsafePointer<UInt8>, _ count: Int) -> Int {
        var total = 0
        var k = 0
        let low7: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
        while k + 8 <= count {
            let x = UnsafeRawPointer(p + k).loadUnaligned(as: UInt64.self) ^ 0x2222_2222_2222_2222
            // A byte's top bit is set exactly when the byte is zero, i.e. was a quote.
            let zero = ~(((x & low7) &+ low7) | x | low7)
            total += zero.nonzeroBitCount
            k += 8
        }
        while k < count {
            if p[k] == 0x22 { total += 1 }
            k += 1
        }
        return total
    }
}
