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

    public init(final: String) throws {
        self.final = final
        let parent = Self.parent(of: final)
        try FileTree.makeDirectories(parent)
        path = final + ".partial-\(getpid())"
        FileTree.removeTree(path)
        guard mkdir(path, 0o755) == 0 else { throw SystemError("create the directory", path: path, errno: errno) }
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
    public func commit() throws {
        let old = final + ".old-\(getpid())"
        FileTree.removeTree(old)
        var st = stat()
        let hadOld = lstat(final, &st) == 0
        if hadOld {
            guard (st.st_mode & S_IFMT) == S_IFDIR else {
                throw UsageError("\(final) exists and is not a directory", hint: "remove it or choose another --out")
            }
            guard rename(final, old) == 0 else { throw SystemError("move aside", path: final, errno: errno) }
        }
        guard rename(path, final) == 0 else {
            let code = errno
            if hadOld { rename(old, final) }
            throw SystemError("move into place", path: final, errno: code)
        }
        committed = true
        if hadOld { FileTree.removeTree(old) }
    }

    deinit {
        if !committed { FileTree.removeTree(path) }
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
