// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Dropfeed",
    products: [
        .executable(name: "dropfeed", targets: ["dropfeed"]),
    ],
    targets: [
        /// Debian's libssh2 1.10 (OpenSSL 3 backend), seen through a module map and a shim header.
        .systemLibrary(
            name: "CLibSSH2",
            pkgConfig: "libssh2",
            providers: [.apt(["libssh2-1-dev"])]
        ),
        /// The only module that imports CLibSSH2; its public API has no C types.
        .target(name: "SFTP", dependencies: ["CLibSSH2"]),
        /// OpenSSL's libcrypto, which libssh2-1-dev brings (libssl-dev): its EVP digests.
        .systemLibrary(
            name: "CLibCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        /// The only module that imports CLibCrypto: SHA-256 for file checksums.
        .target(name: "Digest", dependencies: ["CLibCrypto"]),
        /// zlib (zlib1g-dev, which libssh2-1-dev brings): raw deflate and CRC-32.
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        /// The only module that imports CZlib: writes standard zip archives (OneRoster bundles).
        .target(name: "Zip", dependencies: ["CZlib"]),
        /// CSV, config and mappings, diff, snapshots, gates, plan, report. Foundation, Digest, Zip.
        .target(name: "DropfeedCore", dependencies: ["Digest", "Zip"]),
        /// The executable: argument parsing, wiring, exit codes, printing.
        .executableTarget(name: "dropfeed", dependencies: ["DropfeedCore", "SFTP"]),
        /// Uploads one file through the SFTP module; `make bench` races it against OpenSSH `sftp`.
        .executableTarget(name: "dropfeed-sftp-bench", dependencies: ["SFTP"], path: "bench/sftp-upload"),

        .testTarget(name: "DropfeedCoreTests", dependencies: ["DropfeedCore"]),
        .testTarget(name: "SFTPTests", dependencies: ["SFTP"]),
        .testTarget(name: "EndToEndTests", dependencies: ["DropfeedCore"], exclude: ["Fixtures"]),
    ],
    swiftLanguageModes: [.v6]
)
