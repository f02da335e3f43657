import EnclaveCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The few POSIX file operations the Recipe module needs, in one place: EINTR retried, descriptors
/// closed on every path, failures as ``SystemError`` with the path.
enum FileSystem {
    enum FileType { case regular, directory, symlink, other }

    static func type(of mode: mode_t) -> FileType {
        switch mode & S_IFMT {
        case S_IFREG: .regular
        case S_IFDIR: .directory
        case S_IFLNK: .symlink
        default: .other
        }
    }

    /// `lstat`, or nil when the path does not exist.
    static func lstatIfPresent(_ path: String) throws -> stat? {
        var st = stat()
        if lstat(path, &st) == 0 { return st }
        if errno == ENOENT || errno == ENOTDIR { return nil }
        throw SystemError("stat", path: path, errno: errno)
    }

    static func readFile(_ path: String, limit: UInt64) throws -> [UInt8] {
        try FileInput.contents(of: path, limit: limit)
    }

    static func realPath(_ path: String) throws -> String {
        guard let resolved = realpath(path, nil) else { throw SystemError("resolve", path: path, errno: errno) }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Creates a symlink at `path` pointing to `target` (raw bytes).
    static func makeSymlink(target: [UInt8], at path: String) throws {
        let status = (target + [0]).withUnsafeBufferPointer { buffer in
            buffer.baseAddress.map { base in
                base.withMemoryRebound(to: CChar.self, capacity: buffer.count) { symlink($0, path) }
            } ?? -1
        }
        guard status == 0 else { throw SystemError("create the symlink", path: path, errno: errno) }
    }

    /// Copies a regular file's bytes to a new file `to` (which must not exist) with `mode`.
    static func copyFile(from: String, to: String, mode: mode_t) throws {
        let input = try FileInput(path: from)
        let fd = open(to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SystemError("create", path: to, errno: errno) }
        defer { close(fd) }
        try FileStream.forEachChunk(of: input, ranges: [0..<input.size]) { _, chunk in
            try writeAll(fd, chunk, path: to)
        }
        guard fchmod(fd, mode) == 0 else { throw SystemError("set the mode of", path: to, errno: errno) }
    }

    /// Copies a tree (directories, regular files with their permission bits, symlinks as symlinks) to
    /// `to`, which must not exist. Other file types are an error.
    static func copyTree(from: String, to: String) throws {
        guard let st = try lstatIfPresent(from) else { throw SystemError("read", path: from, errno: ENOENT) }
        let permissions = mode_t(st.st_mode & 0o777)
        switch type(of: st.st_mode) {
        case .directory:
            guard mkdir(to, 0o700) == 0 else { throw SystemError("create the directory", path: to, errno: errno) }
            for name in try FileTree.sortedNames(from) {
                try copyTree(from: FileTree.path(from, name), to: FileTree.path(to, name))
            }
            guard chmod(to, permissions | 0o700) == 0 else {
                throw SystemError("set the mode of", path: to, errno: errno)
            }
        case .regular:
            try copyFile(from: from, to: to, mode: permissions)
        case .symlink:
            try makeSymlink(target: try SymbolicLink.target(of: from), at: to)
        case .other:
            throw RecipeError(
                .io, file: from,
                "is a special file (device, fifo or socket); only files, directories "
                    + "and symlinks can be copied")
        }
    }
}
