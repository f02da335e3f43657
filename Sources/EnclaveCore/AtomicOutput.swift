#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// An output file that appears whole or not at all: bytes go to a temporary file in the same
/// directory (`.NAME.tmp-PID-XXXXXX`), which ``commit()`` renames over the destination. If the object goes
/// away without a commit (an error was thrown, e.g. a full disk), the temporary file is removed and the
/// previous file is left as it was; SIGINT, SIGTERM and SIGHUP remove it too (``Interruption``), and
/// the next write of the same file removes those of processes that were killed outright (SIGKILL). A
/// failed write names the destination. The final mode is set explicitly, so the umask never changes
/// the result.
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
    private var cleanup: Interruption.Token?
    public private(set) var bytesWritten: UInt64 = 0

    public init(path: String, mode: mode_t = 0o644) throws(SystemError) {
        self.path = path
        self.mode = mode
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[..<$0]) } ?? "."
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let directory = dir.isEmpty ? "/" : dir
        Self.removeStale(directory: directory, base: base)
        var template = Array("\(directory)/.\(base).tmp-\(getpid())-XXXXXX".utf8CString)
        // Created and registered for removal in one step, so an interruption never leaves it behind.
        let (fd, code, token) = Interruption.critical { () -> (Int32, Int32, Interruption.Token?) in
            let fd = template.withUnsafeMutableBufferPointer { buffer -> Int32 in
                guard let base = buffer.baseAddress else { return -1 }
                return mkstemp(base)
            }
            guard fd >= 0 else { return (fd, errno, nil) }
            let made = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return (fd, 0, Interruption.register { _ = unlink(made) })
        }
        guard fd >= 0 else { throw SystemError("create a temporary file next to it", path: path, errno: code) }
        self.fd = fd
        self.cleanup = token
        self.temporaryPath = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Removes `.BASE.tmp-PID-XXXXXX` files in `directory` left by processes that no longer exist
    /// (killed with SIGKILL, or a power loss: no handler ran). Only this destination's names are touched.
    static func removeStale(directory: String, base: String) {
        let prefix = Array(".\(base).tmp-".utf8)
        guard let dir = opendir(directory) else { return }
        var stale: [String] = []
        while let item = readdir(dir) {
            let name = FileTree.entryName(item)
            guard name.starts(with: prefix) else { continue }
            let rest = name.dropFirst(prefix.count)
            let digits = rest.prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
            guard !digits.isEmpty, rest.dropFirst(digits.count).first == UInt8(ascii: "-"),
                let pid = Int32(String(decoding: digits, as: UTF8.self)), pid != getpid()
            else { continue }
            if kill(pid, 0) != 0, errno == ESRCH { stale.append(String(decoding: name, as: UTF8.self)) }
        }
        closedir(dir)
        for name in stale { unlink(directory + "/" + name) }
    }

    deinit {
        if fd >= 0 { close(fd) }
        if !committed { unlink(temporaryPath) }
        if let cleanup { Interruption.unregister(cleanup) }
    }

    /// The same failure, attributed to the destination (the temporary name means nothing to a user).
    private func failure(_ error: SystemError, _ operation: String) -> SystemError {
        SystemError("\(operation) (the previous file, if any, is unchanged)", path: path, errno: error.errno)
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
        do {
            try writeAll(fd, buffer, path: temporaryPath)
        } catch {
            throw failure(error, "write")
        }
        bytesWritten += UInt64(buffer.count)
    }

    /// Overwrites bytes already written at `offset` (to fill in a header once the body is known).
    public func write(_ bytes: [UInt8], at offset: UInt64) throws(SystemError) {
        precondition(offset + UInt64(bytes.count) <= bytesWritten, "positional write past the written data")
        let result: Result<Void, SystemError> = bytes.withUnsafeBytes { buffer in
            do throws(SystemError) {
                try writeAll(fd, buffer, at: offset, path: temporaryPath)
                return .success(())
            } catch { return .failure(failure(error, "write")) }
        }
        try result.get()
    }

    /// Sets the mode, flushes and renames the temporary file to `path`.
    public func commit() throws(SystemError) {
        guard fchmod(fd, mode) == 0 else { throw SystemError("set the mode of", path: temporaryPath, errno: errno) }
        guard fsync(fd) == 0 else {
            throw SystemError("flush (the previous file is unchanged)", path: path, errno: errno)
        }
        let closed = close(fd)
        let closeError = errno
        fd = -1
        // Some file systems (NFS) report a full disk only at close.
        guard closed == 0 else {
            throw SystemError("write (the previous file is unchanged)", path: path, errno: closeError)
        }
        let code = Interruption.critical { () -> Int32 in
            guard rename(temporaryPath, path) == 0 else { return errno }
            committed = true
            if let cleanup { Interruption.unregister(cleanup) }
            cleanup = nil
            return 0
        }
        guard code == 0 else { throw SystemError("rename into place", path: path, errno: code) }
    }

    /// Writes `bytes` to `path` atomically.
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws(SystemError) {
        let out = try AtomicOutput(path: path, mode: mode)
        try out.write(bytes)
        try out.commit()
    }
}
