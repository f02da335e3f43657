#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// What `lstat` (or `stat`) says of a path: the type, the permission bits and the size; nil when the
/// call fails (a missing path, most often).
///
/// ```swift
/// if FileStatus("out/manifest.json")?.type == .regular { … }
/// ```
public struct FileStatus: Sendable {
    public enum FileType: Sendable { case regular, directory, symlink, other }

    public var type: FileType
    public var permissions: UInt32
    public var size: UInt64

    public init?(_ path: String, followLinks: Bool = false) {
        var st = stat()
        guard (followLinks ? stat(path, &st) : lstat(path, &st)) == 0 else { return nil }
        switch st.st_mode & S_IFMT {
        case S_IFREG: type = .regular
        case S_IFDIR: type = .directory
        case S_IFLNK: type = .symlink
        default: type = .other
        }
        permissions = UInt32(st.st_mode & 0o7777)
        size = UInt64(st.st_size)
    }

    /// Whether `path` is a directory, following symlinks.
    public static func isDirectory(_ path: String) -> Bool {
        FileStatus(path, followLinks: true)?.type == .directory
    }
}

/// The directory-tree primitives shared by the archive reader, the recipe cache and the builder.
///
/// ```swift
/// try FileTree.makeDirectories("out/nitro")
/// FileTree.removeTree("out.partial-42")
/// ```
public enum FileTree {
    /// `mkdir -p` with mode 0755 (parents that exist are left as they are).
    public static func makeDirectories(_ path: String) throws {
        if FileStatus.isDirectory(path) { return }
        if let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            try makeDirectories(String(path[..<slash]))
        }
        if mkdir(path, 0o755) != 0, errno != EEXIST {
            throw SystemError("create the directory", path: path, errno: errno)
        }
    }

    /// The name of a directory entry that `readdir` returned, read through the pointer up to its NUL.
    /// `item.pointee.d_name` would copy the whole 256-byte field, and a short entry at the end of the
    /// kernel's buffer does not have that many bytes: libFuzzer hit that read as a SEGV.
    public static func entryName(_ item: UnsafeMutablePointer<dirent>) -> [UInt8] {
        guard let offset = MemoryLayout<dirent>.offset(of: \dirent.d_name) else { return [] }
        let start = (UnsafeRawPointer(item) + offset).assumingMemoryBound(to: CChar.self)
        return Array(UnsafeRawBufferPointer(start: UnsafeRawPointer(start), count: strlen(start)))
    }

    /// The names in a directory (without `.` and `..`), sorted by bytes, never readdir's order.
    public static func sortedNames(_ path: String) throws -> [[UInt8]] {
        guard let dir = opendir(path) else { throw SystemError("list the directory", path: path, errno: errno) }
        defer { closedir(dir) }
        var names: [[UInt8]] = []
        while let item = readdir(dir) {
            let name = entryName(item)
            if name == [UInt8(ascii: ".")] || name == [UInt8(ascii: "."), UInt8(ascii: ".")] { continue }
            names.append(name)
        }
        names.sort { $0.lexicographicallyPrecedes($1) }
        return names
    }

    /// `parent/name` for a raw directory entry name.
    public static func path(_ parent: String, _ name: [UInt8]) -> String {
        parent + "/" + String(decoding: name, as: UTF8.self)
    }

    /// Removes a file or a whole tree, without following symlinks; missing paths are fine. Directories
    /// are made writable first (a sandboxed step may leave read-only ones).
    public static func removeTree(_ path: String) {
        guard let status = FileStatus(path) else { return }
        if status.type == .directory {
            chmod(path, 0o700)
            for name in (try? sortedNames(path)) ?? [] { removeTree(self.path(path, name)) }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}
