/// `output.encrypt`: each data file is encrypted (and optionally signed) with OpenPGP through the
/// system `gpg`, and the encrypted bytes are what is delivered, checksummed and journaled.
public struct EncryptionSpec: Sendable, Equatable {
    /// The recipient's public key file (armored or binary), absolute.
    public var recipientKey: String
    /// ASCII armor (`NAME.asc`) instead of binary OpenPGP (`NAME.pgp`).
    public var armor: Bool
    /// A secret key file to sign with, absolute; nil: no signature.
    public var signWith: String?
    /// The environment variable holding the signing key's passphrase.
    public var passphraseEnv: String?

    public init(recipientKey: String, armor: Bool = false, signWith: String? = nil, passphraseEnv: String? = nil) {
        self.recipientKey = recipientKey
        self.armor = armor
        self.signWith = signWith
        self.passphraseEnv = passphraseEnv
    }

    /// What the delivered file's name gets appended.
    public var suffix: String { armor ? ".asc" : ".pgp" }
}

/// gpg is missing, a key cannot be used, or encrypting failed (exit 78: the target's
/// encryption settings need fixing; nothing was delivered).
public struct EncryptionError: CodedError {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var exitCode: ExitCode { .config }
    public var description: String { message }
}
