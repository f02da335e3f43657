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
        try makeDirectory(parent)
        path = final + ".partial-\(getpid())"
        removeTree(path)
        guard mkdir(path, 0o755) == 0 else { throw SystemError("create the directory", path: path, errno: errno) }
    }

    /// Replaces `final` with the staged directory.
    public func commit() throws {
        let old = final + ".old-\(getpid())"
        removeTree(old)
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
        if hadOld { removeTree(old) }
    }

    deinit {
        if !committed { removeTree(path) }
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
