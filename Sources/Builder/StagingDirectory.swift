import EnclaveCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// An output directory that appears whole or not at all: everything is written into a fresh sibling
/// (`DIR.partial-PID`), and ``commit()`` swaps it into place. A failed build leaves the previous
/// output untouched and removes its staging directory, so no half-written artifact or manifest remains.
///
/// ```swift
/// let staging = try StagingDirectory(final: "out/example-node-0.1.0")
/// try AtomicOutput.write(bytes, to: staging.path + "/a")
/// try staging.commit()
/// ```
public final class StagingDirectory {
    public let final: String
    public let path: String
    private var committed = false
    private var cleanup: Interruption.Token?

    /// Creates `FINAL.partial-PID`. Leftovers of builds that were killed (SIGKILL, power loss) are
    /// cleaned up first: `FINAL.partial-N`, `FINAL.partial-N.work` of processes that no longer exist are
    /// removed, and `FINAL.old-N` is moved back when `FINAL` itself is missing. SIGINT, SIGTERM and
    /// SIGHUP remove the staging and work directories at once (``Interruption``).
    public init(final: String) throws {
        self.final = final
        let parent = Self.parent(of: final)
        try FileTree.makeDirectories(parent)
        Self.removeStale(final: final)
        let path = final + ".partial-\(getpid())"
        self.path = path
        FileTree.removeTree(path)
        let (made, code, token) = Interruption.critical { () -> (Bool, Int32, Interruption.Token?) in
            guard mkdir(path, 0o755) == 0 else { return (false, errno, nil) }
            return (
                true, 0,
                Interruption.register {
                    FileTree.removeTree(path)
                    FileTree.removeTree(path + ".work")
                }
            )
        }
        guard made else { throw SystemError("create the directory", path: path, errno: code) }
        cleanup = token
    }

    /// Removes the staging leftovers of dead processes next to `final` (see ``init(final:)``).
    static func removeStale(final: String) {
        let parent = parent(of: final)
        let base = final.lastIndex(of: "/").map { String(final[final.index(after: $0)...]) } ?? final
        let names = ((try? FileTree.sortedNames(parent)) ?? []).map { String(decoding: $0, as: UTF8.self) }
        for name in names where name.hasPrefix(base + ".") {
            let rest = name.dropFirst(base.count + 1)
            for kind in ["partial-", "old-"] where rest.hasPrefix(kind) {
                let digits = rest.dropFirst(kind.count).prefix { $0.isASCII && $0.isNumber }
                let suffix = rest.dropFirst(kind.count + digits.count)
                guard let pid = Int32(digits), suffix.isEmpty || suffix == ".work", pid != getpid(),
                    kill(pid, 0) != 0, errno == ESRCH
                else { continue }
                let stale = parent + "/" + name
                if kind == "old-", FileStatus(final) == nil {
                    rename(stale, final)
                } else {
                    FileTree.removeTree(stale)
                }
            }
        }
    }

    /// Gives every entry below the staged directory (and itself) the mtime `sourceDateEpoch`, and every
    /// directory mode 0755, so two builds' output trees are identical in their metadata too, whatever the
    /// umask and the clock (files already get an explicit mode when written).
    public func normalizeMetadata(sourceDateEpoch: Int64) throws {
        var times = [
            timespec(tv_sec: Int(sourceDateEpoch), tv_nsec: 0), timespec(tv_sec: Int(sourceDateEpoch), tv_nsec: 0),
        ]
        func visit(_ path: String) throws {
            guard let status = FileStatus(path) else { throw SystemError("read", path: path, errno: errno) }
            if status.type == .directory {
                guard chmod(path, 0o755) == 0 else { throw SystemError("chmod", path: path, errno: errno) }
                for name in try FileTree.sortedNames(path) { try visit(FileTree.path(path, name)) }
            }
            guard utimensat(AT_FDCWD, path, &times, AT_SYMLINK_NOFOLLOW) == 0 else {
                throw SystemError("set the time of", path: path, errno: errno)
            }
        }
        try visit(path)
    }

    /// Replaces `final` with the staged directory.
    /// Replaces `final` with the staged directory. Both renames run in ``Interruption/critical(_:)``,
    /// so a signal never leaves `final` moved aside and missing.
    public func commit() throws {
        let old = final + ".old-\(getpid())"
        FileTree.removeTree(old)
        var st = stat()
        let hadOld = lstat(final, &st) == 0
        if hadOld {
            guard (st.st_mode & S_IFMT) == S_IFDIR else {
                throw BuildRefusal(.outputNotDirectory, "\(final) exists and is not a directory", remedy: "remove it")
            }
        }
        try Interruption.critical {
            if hadOld {
                guard rename(final, old) == 0 else { throw SystemError("move aside", path: final, errno: errno) }
            }
            guard rename(path, final) == 0 else {
                let code = errno
                if hadOld { rename(old, final) }
                throw SystemError("move into place", path: final, errno: code)
            }
            committed = true
            if let cleanup { Interruption.unregister(cleanup) }
            cleanup = nil
        }
        if hadOld { FileTree.removeTree(old) }
    }

    deinit {
        if !committed { FileTree.removeTree(path) }
        if let cleanup { Interruption.unregister(cleanup) }
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
