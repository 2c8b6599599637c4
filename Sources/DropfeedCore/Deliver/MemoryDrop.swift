import Foundation

/// A `FileDrop` that keeps delivered files in memory and can be told to fail at any call — for
/// tests of the failure paths (a connection refused, the third file's upload cut off, a close
/// that reports an error) without a server.
public final class MemoryDrop: FileDrop, @unchecked Sendable {
    /// The calls a `MemoryDrop` can be told to fail.
    public enum Call: String, Sendable, CaseIterable { case open, size, put, close }

    public let location: String
    private let lock = NSLock()
    private var stored: [String: [UInt8]] = [:]
    private var failures: [Call: Int] = [:]
    private var counts: [Call: Int] = [:]
    private var log: [String] = []

    public init(location: String = "memory:") { self.location = location }

    /// Makes the `nth` call (1-based, counted from now) of kind `call` throw a `FileDropError`.
    public func fail(_ call: Call, at nth: Int = 1) {
        lock.withLock { failures[call] = (counts[call] ?? 0) + nth }
    }

    /// The delivered files, by name.
    public var files: [String: [UInt8]] { lock.withLock { stored } }

    /// Every call made, in order (`open`, `size NAME`, `put NAME`, `close`).
    public var calls: [String] { lock.withLock { log } }

    private func enter(_ call: Call, _ detail: String = "") throws {
        try lock.withLock {
            counts[call, default: 0] += 1
            log.append(detail.isEmpty ? call.rawValue : call.rawValue + " " + detail)
            if let at = failures[call], counts[call] == at {
                failures[call] = nil
                throw FileDropError("\(location): \(call.rawValue)\(detail.isEmpty ? "" : " " + detail) failed (injected)")
            }
        }
    }

    public func open() throws { try enter(.open) }

    public func size(of name: String) throws -> Int64? {
        try enter(.size, name)
        return lock.withLock { stored[name].map { Int64($0.count) } }
    }

    public func put(localPath: String, as name: String) throws {
        try enter(.put, name)
        guard let bytes = try FileSystem.read(localPath) else {
            throw FileDropError("\(location): cannot read \(localPath)")
        }
        lock.withLock { stored[name] = bytes }
    }

    public func close() throws { try enter(.close) }
}

/// Hands every target the same `MemoryDrop` per target name (made on first use).
public final class MemoryDropProvider: DropProvider, @unchecked Sendable {
    private let lock = NSLock()
    private var drops: [String: MemoryDrop] = [:]

    public init() {}

    /// The drop of target `name`.
    public func drop(named name: String) -> MemoryDrop {
        lock.withLock {
            if let d = drops[name] { return d }
            let d = MemoryDrop(location: "memory:\(name)")
            drops[name] = d
            return d
        }
    }

    public func drop(for target: TargetConfig) throws -> FileDrop { drop(named: target.name) }
}
