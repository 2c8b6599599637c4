import Foundation

/// What can be learnt from a private key file without decrypting it: its algorithm and whether it
/// is encrypted. Used to explain failures that libssh2 reports with one vague code.
struct PrivateKeyFile {
    let path: String
    /// `ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`, `ssh-dss`, `ecdsa`, or nil when unknown.
    private(set) var algorithm: String?
    private(set) var isEncrypted = false
    /// The OpenSSH-format cipher (`aes256-ctr`), when encrypted.
    private(set) var cipher: String?

    var isRSA: Bool { algorithm == "ssh-rsa" }

    /// Reads the file's header.
    /// - Throws: `SFTPError` of kind `.privateKey` when the file is missing, unreadable, a public
    ///   key, a PuTTY key, or encrypted with a cipher libssh2 1.10 lacks.
    init(path: String) throws {
        self.path = path
        let bytes: [UInt8]
        do {
            bytes = try readSmallFile(path, limit: 256 << 10)
        } catch {
            let reason = error.code == ENOENT ? "it does not exist" : error.message.lowercased()
            throw SFTPError(
                .privateKey, "cannot read identity file \(path): \(reason)", operation: "open", message: error.message)
        }
        let text = String(decoding: bytes, as: UTF8.self)
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        guard let first = lines.first else {
            throw SFTPError(.privateKey, "identity file \(path) is empty", operation: "read")
        }
        if first.hasPrefix("PuTTY-User-Key-File") {
            throw SFTPError(
                .privateKey,
                "identity file \(path) is a PuTTY key, which libssh2 cannot read; convert it with "
                    + "`puttygen \(path) -O private-openssh -o KEYFILE`",
                operation: "read")
        }
        if first.hasPrefix("ssh-") || first.hasPrefix("ecdsa-") {
            throw SFTPError(
                .privateKey, "identity file \(path) is a public key; give the private key file", operation: "read")
        }
        let body =
            Data(
                base64Encoded: lines.drop { !$0.hasPrefix("-----BEGIN ") }.dropFirst()
                    .prefix { !$0.hasPrefix("-----END ") }.filter { !$0.contains(":") }.joined()) ?? Data()
        switch first {
        case "-----BEGIN OPENSSH PRIVATE KEY-----": readOpenSSH([UInt8](body))
        case "-----BEGIN RSA PRIVATE KEY-----": algorithm = "ssh-rsa"
        case "-----BEGIN EC PRIVATE KEY-----": algorithm = "ecdsa"
        case "-----BEGIN DSA PRIVATE KEY-----": algorithm = "ssh-dss"
        case "-----BEGIN PRIVATE KEY-----": algorithm = Self.pkcs8Algorithm([UInt8](body))
        case "-----BEGIN ENCRYPTED PRIVATE KEY-----": isEncrypted = true
        default: break
        }
        if lines.contains("Proc-Type: 4,ENCRYPTED") { isEncrypted = true }
        if let cipher, Self.unsupportedCiphers.contains(cipher) {
            throw SFTPError(
                .privateKey,
                "identity file \(path) is encrypted with \(cipher), which libssh2 1.10 cannot decrypt; "
                    + "re-encrypt it with `ssh-keygen -p -Z aes256-ctr -f \(path)`",
                operation: "read")
        }
    }

    /// Ciphers `ssh-keygen -Z` offers that libssh2 1.10 has not.
    private static let unsupportedCiphers: Set<String> = [
        "aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "chacha20-poly1305@openssh.com",
    ]

    /// `openssh-key-v1\0`, cipher, kdf, kdf options, key count, then the public key in the clear.
    private mutating func readOpenSSH(_ blob: [UInt8]) {
        var reader = WireReader(blob)
        guard reader.skip(literal: Array("openssh-key-v1\0".utf8)), let cipher = reader.string(),
            reader.string() != nil, reader.string() != nil, reader.uint32() != nil, let publicKey = reader.string()
        else { return }
        let name = String(decoding: cipher, as: UTF8.self)
        isEncrypted = name != "none"
        self.cipher = isEncrypted ? name : nil
        var inner = WireReader(publicKey)
        algorithm = inner.string().map { String(decoding: $0, as: UTF8.self) }
    }

    /// The algorithm of a PKCS#8 key, from the object identifier in its DER encoding.
    private static func pkcs8Algorithm(_ der: [UInt8]) -> String? {
        let identifiers: [(oid: [UInt8], name: String)] = [
            ([0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01], "ssh-rsa"),
            ([0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01], "ecdsa"),
            ([0x06, 0x03, 0x2B, 0x65, 0x70], "ssh-ed25519"),
            ([0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x38, 0x04, 0x01], "ssh-dss"),
        ]
        let head = der.prefix(64)
        return identifiers.first { entry in
            head.indices.contains { head[$0...].starts(with: entry.oid) }
        }?.name
    }
}

/// Reads SSH wire-format fields (RFC 4251 §5): `uint32` and length-prefixed `string`s.
struct WireReader {
    private let data: [UInt8]
    private var offset = 0

    init(_ data: [UInt8]) { self.data = data }

    mutating func skip(literal: [UInt8]) -> Bool {
        guard data[offset...].starts(with: literal) else { return false }
        offset += literal.count
        return true
    }

    mutating func uint32() -> UInt32? {
        guard data.count - offset >= 4 else { return nil }
        defer { offset += 4 }
        return data[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
    }

    mutating func string() -> [UInt8]? {
        guard let length = uint32().map(Int.init), data.count - offset >= length else { return nil }
        defer { offset += length }
        return Array(data[offset..<offset + length])
    }
}
