import Foundation
import Testing

@testable import DropfeedCore

/// SHA-256 against the FIPS 180-4 / NIST example vectors, and incremental feeding.
struct SHA256Tests {
    struct Vector: Sendable, CustomTestStringConvertible {
        var label: String
        var message: [UInt8]
        var digest: String
        var testDescription: String { label }
    }

    static let vectors: [Vector] = [
        Vector(
            label: "empty", message: [],
            digest: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        Vector(
            label: "abc", message: Array("abc".utf8),
            digest: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        Vector(
            label: "448 bits", message: Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8),
            digest: "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        Vector(
            label: "896 bits",
            message: Array(
                "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"
                    .utf8),
            digest: "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
        Vector(
            label: "one million a", message: [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000),
            digest: "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
    ]

    @Test(arguments: vectors)
    func knownVector(_ vector: Vector) {
        #expect(SHA256.hex(vector.message) == vector.digest)
    }

    @Test(arguments: vectors)
    func knownVectorThroughTheRawBufferAPI(_ vector: Vector) {
        var hasher = SHA256()
        vector.message.withUnsafeBytes { hasher.update($0) }
        #expect(hexString(hasher.finalize()) == vector.digest)
    }

    /// The one-million-`a` message fed in uneven chunks that straddle block boundaries.
    @Test func millionAInUnevenChunks() {
        var hasher = SHA256()
        let chunkSizes = [1, 63, 64, 65, 127, 1000, 4095]
        var left = 1_000_000
        var k = 0
        while left > 0 {
            let n = min(chunkSizes[k % chunkSizes.count], left)
            hasher.update([UInt8](repeating: UInt8(ascii: "a"), count: n))
            left -= n
            k += 1
        }
        #expect(hexString(hasher.finalize()) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    static let message200: [UInt8] = (0..<200).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }

    /// Splitting a 200-byte message in two at any offset gives the one-shot digest.
    @Test func splitAtEveryOffsetEqualsOneShot() {
        let whole = SHA256.hex(Self.message200)
        for split in 0...Self.message200.count {
            var hasher = SHA256()
            hasher.update(Self.message200[..<split])
            hasher.update(Self.message200[split...])
            #expect(hexString(hasher.finalize()) == whole, "split at \(split)")
        }
    }

    /// Three pieces, at every pair of offsets, through the raw-buffer API.
    @Test func threeWaySplitsEqualOneShot() {
        let whole = SHA256.hex(Self.message200)
        let message = Self.message200
        for a in stride(from: 0, through: message.count, by: 7) {
            for b in a...message.count {
                var hasher = SHA256()
                message.withUnsafeBytes { raw in
                    hasher.update(UnsafeRawBufferPointer(rebasing: raw[0..<a]))
                    hasher.update(UnsafeRawBufferPointer(rebasing: raw[a..<b]))
                    hasher.update(UnsafeRawBufferPointer(rebasing: raw[b...]))
                }
                #expect(hexString(hasher.finalize()) == whole, "split at \(a), \(b)")
            }
        }
    }

    /// Every length around the padding boundaries (55, 56, 63, 64 bytes…) against Python's hashlib
    /// would need Python; instead, lengths 0…130 must all differ and be stable through both APIs.
    @Test func paddingBoundaryLengthsAreConsistent() {
        var seen = Set<String>()
        for n in 0...130 {
            let message = [UInt8](repeating: 0x61, count: n)
            let one = SHA256.hex(message)
            var hasher = SHA256()
            for byte in message { hasher.update([byte]) }
            #expect(hexString(hasher.finalize()) == one, "length \(n)")
            #expect(seen.insert(one).inserted, "length \(n) collides")
            #expect(one.count == 64)
        }
    }

    @Test func fileDigestMatchesInMemoryDigest() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("dropfeed-sha-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("m.bin").path
        let message = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try Data(message).write(to: URL(fileURLWithPath: path))
        #expect(try sha256(ofFile: path) == SHA256.hex(message))
    }

    @Test func hexStringIsLowercaseTwoDigitsPerByte() {
        #expect(hexString([0x00, 0x0F, 0xA0, 0xFF]) == "000fa0ff")
        #expect(hexString([]) == "")
    }
}
