import Foundation
import Testing
import Zip

#if canImport(Glibc)
    import Glibc
#endif

/// The zip writer against Python's zipfile: entries larger than zlib's output buffer, an empty
/// entry, incompressible bytes and a UTF-8 name come back byte for byte with their CRCs.
@Suite struct ZipWriterTests {
    @Test func pythonReadsBackEveryEntryExactly() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("zip-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let noise = (0..<(3 << 19)).map { _ -> UInt8 in  // xorshift: bytes deflate cannot shrink
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return UInt8(truncatingIfNeeded: state >> 24)
        }
        let text = Array(String(repeating: "sourcedId,status,dateLastModified,Zoë\r\n", count: 200_000).utf8)
        let entries: [(String, [UInt8])] = [("noise.bin", noise), ("empty.csv", []), ("größe/users.csv", text)]
        let path = folder.appendingPathComponent("t.zip").path
        let fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0o600)
        #expect(fd >= 0)
        let zip = ZipWriter(fd: fd, path: path)
        let stamp = ZipTimestamp(year: 2026, month: 3, day: 2, hour: 2, minute: 0, second: 58)
        for (name, bytes) in entries {
            try zip.beginEntry(name, modified: stamp)
            var offset = 0
            while offset < bytes.count {  // in uneven pieces, as the CSV writer flushes
                let end = min(bytes.count, offset + 700_001)
                try zip.write(Array(bytes[offset..<end]))
                offset = end
            }
            try zip.endEntry()
        }
        let size = try zip.finish()
        close(fd)
        #expect(size == UInt64((try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? -1))
        for (k, entry) in entries.enumerated() {
            try Data(entry.1).write(to: folder.appendingPathComponent("expected-\(k)"))
        }
        let script = """
            import sys, zipfile
            z = zipfile.ZipFile(sys.argv[1])
            assert z.testzip() is None
            names = [i.filename for i in z.infolist()]
            assert names == ["noise.bin", "empty.csv", "größe/users.csv"], names
            for k, n in enumerate(names):
                info = z.getinfo(n)
                assert info.compress_type == zipfile.ZIP_DEFLATED
                assert info.date_time == (2026, 3, 2, 2, 0, 58), info.date_time
                assert z.read(n) == open(sys.argv[2] + "/expected-%d" % k, "rb").read(), n
            print("ok")
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script, path, folder.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(output)")
        #expect(output == "ok\n")
    }
}
