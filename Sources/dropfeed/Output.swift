#if canImport(Glibc)
import Glibc
#endif

/// Where the executable writes: results and `--json` to stdout, everything for people to stderr.
enum Output {
    /// Writes `text` to stdout as it is.
    static func stdout(_ text: String) {
        write(1, text)
    }

    /// Writes a line for people to stderr.
    static func note(_ text: String) {
        write(2, text.hasSuffix("\n") ? text : text + "\n")
    }

    private static func write(_ fd: Int32, _ text: String) {
        var text = text
        text.withUTF8 { bytes in
            var done = 0
            while done < bytes.count {
                let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    return
                }
                done += n
            }
        }
    }
}
