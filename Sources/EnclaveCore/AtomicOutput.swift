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
/// A file the user named is never replaced unasked: with ``ExistingFile/refuse`` an existing destination is
/// refused when the output is created (before any work) and again at ``commit()``, where a hard link puts
/// the file in place only if the name is still free, so a file another process made in between is kept.
///
/// ```swift
/// let out = try AtomicOutput(path: "image.eif", existing: .refuse)
/// try out.write(header)
/// try out.commit()
/// ```
public final class AtomicOutput {
    public let path: String
    public let temporaryPath: String
    private var fd: Int32
    private var committed = false
    private let mode: mode_t
    private let existing: ExistingFile
    private var cleanup: Interruption.Token?
    public private(set) var bytesWritten: UInt64 = 0

    public init(path: String, mode: mode_t = 0o644, existing: ExistingFile = .replace) throws(SystemError) {
        if existing == .refuse { try Self.checkAbsent(path) }
        self.path = path
        self.mode = mode
        self.existing = existing
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
        let result = Interruption.critical { () -> Result<Void, SystemError> in
            do throws(SystemError) {
                try Self.move(temporaryPath, to: path, existing: existing)
            } catch { return .failure(error) }
            committed = true
            if let cleanup { Interruption.unregister(cleanup) }
            cleanup = nil
            return .success(())
        }
        try result.get()
    }

    /// Writes `bytes` to `path` atomically.
    public static func write(
        _ bytes: [UInt8], to path: String, mode: mode_t = 0o644, existing: ExistingFile = .replace
    ) throws(SystemError) {
        let out = try AtomicOutput(path: path, mode: mode, existing: existing)
        try out.write(bytes)
        try out.commit()
    }
}

extension AtomicOutput {
    /// What putting a finished file in place does when its destination exists.
    public enum ExistingFile: Sendable {
        /// Replace it: files the program owns (caches, a build's outputs in its own folder).
        case replace
        /// Keep it and fail with ``refusal(_:)``: files a user named, unless they asked for replacement.
        case refuse
    }

    /// The operation ``refusal(_:)`` names: the command line recognizes it to add its `--force` advice.
    public static let refusedOperation = "replace the existing file (nothing was written)"

    /// The error for a destination that exists while ``ExistingFile/refuse`` is asked (errno `EEXIST`).
    public static func refusal(_ path: String) -> SystemError {
        SystemError(refusedOperation, path: path, errno: EEXIST)
    }

    /// Throws ``refusal(_:)`` when `path` names anything, a dangling symbolic link included.
    public static func checkAbsent(_ path: String) throws(SystemError) {
        var info = stat()
        if lstat(path, &info) == 0 { throw refusal(path) }
    }

    /// Moves the finished file `source` to `destination` in the same file system: a rename for
    /// ``ExistingFile/replace``; for ``ExistingFile/refuse`` a hard link, which fails when the name exists
    /// (so a file made by another process since the last check is kept), then `source` is unlinked. On a
    /// file system without hard links the refusal falls back to a check and a rename.
    public static func move(_ source: String, to destination: String, existing: ExistingFile) throws(SystemError) {
        if existing == .refuse {
            if link(source, destination) == 0 {
                unlink(source)
                return
            }
            let code = errno
            switch code {
            case EEXIST: throw refusal(destination)
            case EPERM, EXDEV, EMLINK, EOPNOTSUPP: try checkAbsent(destination)
            default: throw SystemError("link into place", path: destination, errno: code)
            }
        }
        guard rename(source, destination) == 0 else {
            throw SystemError("rename into place", path: destination, errno: errno)
        }
    }
}
