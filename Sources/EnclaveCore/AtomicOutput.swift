#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// An output file that appears whole or not at all: bytes go to a temporary file in the same
/// directory, which ``commit()`` renames over the destination. If the object goes away without a
/// commit (an error was thrown), the temporary file is removed, so a failure never leaves a partial
/// output file. The final mode is set explicitly, so the umask never changes the result.
///
/// ```swift
/// let out = try AtomicOutput(path: "image.eif")
/// try out.write(header)
/// try out.commit()
/// ```
public final class AtomicOutput {
    public let path: String
    public let temporaryPath: String
    private var fd: Int32
    private var committed = false
    private let mode: mode_t
    public private(set) var bytesWritten: UInt64 = 0

    public init(path: String, mode: mode_t = 0o644) throws(SystemError) {
        self.path = path
        self.mode = mode
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[..<$0]) } ?? "."
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        var template = Array("\(dir.isEmpty ? "/" : dir)/.\(base).tmp-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { buffer -> Int32 in
            guard let base = buffer.baseAddress else { return -1 }
            return mkstemp(base)
        }
        guard fd >= 0 else { throw SystemError("create a temporary file next to it", path: path, errno: errno) }
        self.fd = fd
        self.temporaryPath = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    deinit {
        if fd >= 0 { close(fd) }
        if !committed { unlink(temporaryPath) }
    }

    public func write(_ bytes: [UInt8]) throws(SystemError) {
        let result: Result<Void, SystemError> = bytes.withUnsafeBytes { buffer in
            do throws(SystemError) {
                try write(buffer)
                return .success(())
            } catch { return .failure(error) }
        }
        try result.get()
    }

    public func write(_ buffer: UnsafeRawBufferPointer) throws(SystemError) {
        try writeAll(fd, buffer, path: temporaryPath)
        bytesWritten += UInt64(buffer.count)
    }

    /// Overwrites bytes already written at `offset` (to fill in a header once the body is known).
    public func write(_ bytes: [UInt8], at offset: UInt64) throws(SystemError) {
        precondition(offset + UInt64(bytes.count) <= bytesWritten, "positional write past the written data")
        let result: Result<Void, SystemError> = bytes.withUnsafeBytes { buffer in
            do throws(SystemError) {
                try writeAll(fd, buffer, at: offset, path: temporaryPath)
                return .success(())
            } catch { return .failure(error) }
        }
        try result.get()
    }

    /// Sets the mode, flushes and renames the temporary file to `path`.
    public func commit() throws(SystemError) {
        guard fchmod(fd, mode) == 0 else { throw SystemError("set the mode of", path: temporaryPath, errno: errno) }
        guard fsync(fd) == 0 else { throw SystemError("flush", path: temporaryPath, errno: errno) }
        close(fd)
        fd = -1
        guard rename(temporaryPath, path) == 0 else { throw SystemError("rename into place", path: path, errno: errno) }
        committed = true
    }

    /// Writes `bytes` to `path` atomically.
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws(SystemError) {
        let out = try AtomicOutput(path: path, mode: mode)
        try out.write(bytes)
        try out.commit()
    }
}
