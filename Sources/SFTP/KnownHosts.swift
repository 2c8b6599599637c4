internal import CLibSSH2
import Foundation

/// An OpenSSH known_hosts file loaded into libssh2 (`libssh2_knownhost_*`); owns the collection.
///
/// Lines are fed one at a time (`libssh2_knownhost_readline`) so that a line libssh2 cannot parse
/// is skipped instead of ending the load, as `libssh2_knownhost_readfile` would. `@revoked` keys
/// are kept aside and refused; other `@` markers (`@cert-authority`) are not supported and skipped.
final class KnownHosts {
    enum Verdict {
        case match, mismatch, notFound, revoked
    }

    let path: String
    /// Whether the file existed; a missing file reads as an empty one.
    let fileExists: Bool
    private let handle: OpaquePointer
    private var revokedKeys: Set<String> = []

    /// Loads `path` into a collection bound to `session`, which must outlive it.
    init(session: OpaquePointer, path: String) throws {
        var contents: [UInt8] = []
        do {
            contents = try readSmallFile(path, limit: 16 << 20)
            fileExists = true
        } catch  where error.code == ENOENT {
            fileExists = false
        } catch {
            throw SFTPError(
                .hostKeyUnknown, "cannot read known_hosts file \(path): \(error.message)", operation: "open",
                message: error.message)
        }
        guard let handle = libssh2_knownhost_init(session) else {
            throw SFTPError(
                .hostKeyUnknown, "cannot allocate a known_hosts collection", operation: "libssh2_knownhost_init")
        }
        self.handle = handle
        self.path = path
        for line in contents.split(separator: UInt8(ascii: "\n")) {
            load(line: line)
        }
    }

    deinit { libssh2_knownhost_free(handle) }

    /// The algorithms known_hosts lists for `host` and `port`, in OpenSSH's preference order.
    ///
    /// This is how the key-type trap is avoided: libssh2 matches a key only against entries of the
    /// same type, and it would negotiate ECDSA before Ed25519 whatever the file holds. Checking a
    /// dummy key with each type's bits answers MISMATCH exactly when an entry of that type exists,
    /// for plain and hashed (`|1|`) names alike, before the handshake.
    func algorithms(host: String, port: Int) -> [HostKeyAlgorithm] {
        let dummy: [CChar] = [0]
        return HostKeyAlgorithm.all.filter { algorithm in
            libssh2_knownhost_checkp(
                handle, host, Int32(port), dummy, dummy.count,
                LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | algorithm.knownHostBits, nil)
                == LIBSSH2_KNOWNHOST_CHECK_MISMATCH
        }
    }

    /// Checks the server's raw key blob (`libssh2_knownhost_checkp`).
    func check(host: String, port: Int, key: [UInt8], algorithm: HostKeyAlgorithm) -> Verdict {
        if revokedKeys.contains(Data(key).base64EncodedString()) { return .revoked }
        let rc = key.withUnsafeBufferPointer { blob in
            blob.withMemoryRebound(to: CChar.self) { blob in
                libssh2_knownhost_checkp(
                    handle, host, Int32(port), blob.baseAddress, blob.count,
                    LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | algorithm.knownHostBits, nil)
            }
        }
        switch rc {
        case LIBSSH2_KNOWNHOST_CHECK_MATCH: return .match
        case LIBSSH2_KNOWNHOST_CHECK_MISMATCH: return .mismatch
        default: return .notFound
        }
    }

    private func load(line: ArraySlice<UInt8>) {
        var text = line.drop { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
        if text.last == UInt8(ascii: "\r") { text = text.dropLast() }
        if text.first == UInt8(ascii: "@") {
            let fields = text.split(whereSeparator: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") })
            if fields.count >= 4, fields[0].elementsEqual("@revoked".utf8) {
                revokedKeys.insert(String(decoding: fields[3], as: UTF8.self))
            }
            return
        }
        let characters = text.map { CChar(bitPattern: $0) } + [0]
        // A line libssh2 cannot parse (an unknown key type, say) is skipped; the rest still count.
        _ = libssh2_knownhost_readline(
            handle, characters, characters.count - 1, LIBSSH2_KNOWNHOST_FILE_OPENSSH)
    }
}
