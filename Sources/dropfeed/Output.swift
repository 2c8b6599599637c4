#if canImport(Glibc)
    import Glibc
#endif

/// Where the executable writes: results and `--json` to stdout, everything for people to stderr.
enum Output {
    /// Writes `text` to stdout as it is.
    static func stdout(_ text: String) {
        write(1, text)
    }

    /// Writes `bytes` to stdout as they are.
    static func stdout(bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { write(1, $0) }
    }

    /// Writes a line for people to stderr.
    static func note(_ text: String) {
        write(2, text.hasSuffix("\n") ? text : text + "\n")
    }

    private static func write(_ fd: Int32, _ text: String) {
        var text = text
        text.withUTF8 { write(fd, $0) }
    }

    private static func write(_ fd: Int32, _ bytes: UnsafeBufferPointer<UInt8>) {
        guard let base = bytes.baseAddress else { return }
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, base + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                return
            }
            done += n
        }
    }
}
