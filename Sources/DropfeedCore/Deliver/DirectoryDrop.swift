import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Delivers into a local folder: copy to a hidden temporary name in the same folder, fsync,
/// rename to the final name, fsync the folder. A file is never visible half-written.
public final class DirectoryDrop: FileDrop {
    public let folder: String

    public init(folder: String) { self.folder = folder }

    public var location: String { folder }

    public func open() throws {
        do { try FileSystem.makeDirectory(folder, mode: 0o755) } catch let error as StateError {
            throw FileDropError(error.message)
        }
        guard access(folder, W_OK) == 0 else {
            throw FileDropError("cannot write into \(folder): \(FileSystem.errnoText())")
        }
    }

    public func size(of name: String) throws -> Int64? {
        var st = stat()
        guard stat(folder + "/" + name, &st) == 0 else { return nil }
        return Int64(st.st_size)
    }

    public func put(localPath: String, as name: String) throws {
        let final = folder + "/" + name
        if FileManager.default.fileExists(atPath: final) {
            throw FileDropError(
                "\(final) already exists; it is not replaced (put {seq} or {time} in output.file to give every run its own name)"
            )
        }
        let temp = folder + "/.\(name).part-\(getpid())"
        let input = Glibc.open(localPath, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw FileDropError("cannot read \(localPath): \(FileSystem.errnoText())") }
        defer { Glibc.close(input) }
        let output = Glibc.open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw FileDropError("cannot write into \(folder): \(FileSystem.errnoText())") }
        do {
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress!, $0.count) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw FileDropError("cannot read \(localPath): \(FileSystem.errnoText())")
                }
                if n == 0 { break }
                do { try FileSystem.writeAll(output, Array(buffer[0..<n]), path: temp) } catch let error as StateError {
                    throw FileDropError(error.message)
                }
            }
            guard fsync(output) == 0 else { throw FileDropError("cannot sync \(temp): \(FileSystem.errnoText())") }
            guard Glibc.close(output) == 0 else {
                throw FileDropError("cannot close \(temp): \(FileSystem.errnoText())")
            }
        } catch {
            Glibc.close(output)
            unlink(temp)
            throw error
        }
        // link + unlink refuses to replace a file that appeared meanwhile, unlike rename.
        guard link(temp, final) == 0 else {
            let text = FileSystem.errnoText()
            unlink(temp)
            throw FileDropError("cannot move \(temp) to \(final): \(text)")
        }
        unlink(temp)
        FileSystem.syncDirectory(folder)
    }

    public func close() throws {}
}
