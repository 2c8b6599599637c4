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
        /// CSV, config and mappings, diff, snapshots, gates, plan, report. Foundation only.
        .target(name: "DropfeedCore"),
        /// The executable: argument parsing, wiring, exit codes, printing.
        .executableTarget(name: "dropfeed", dependencies: ["DropfeedCore", "SFTP"]),
        /// Uploads one file through the SFTP module; `make bench` races it against OpenSSH `sftp`.
        .executableTarget(name: "dropfeed-sftp-bench", dependencies: ["SFTP"], path: "bench/sftp-upload"),

        .testTarget(name: "DropfeedCoreTests", dependencies: ["DropfeedCore"]),
        .testTarget(name: "SFTPTests", dependencies: ["SFTP"]),
        .testTarget(name: "EndToEndTests", dependencies: ["DropfeedCore"]),
    ],
    swiftLanguageModes: [.v6]
)
