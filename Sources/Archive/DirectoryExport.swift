import EnclaveCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A directory walked the way `docker export` walks a container's root filesystem (moby
/// `pkg/archive`, `filepath.Walk`): the root itself is not listed; each directory's names are sorted
/// bytewise and a directory is listed before its contents; directory names end in `/`; a non-directory
/// with more than one link is written in full the first time its inode is met and as a hard link to
/// that first name afterwards; sockets are skipped. Every entry keeps its own permission bits
/// (setuid/setgid/sticky included), uid, gid and mtime (whole seconds); a symbolic link's mode is
/// 0777, as on Linux, also where the host file system keeps other bits.
///
/// ```swift
/// try DirectoryExport(root: "rootfs").forEachEntry { print(String(decoding: $0.name, as: UTF8.self)) }
/// ```
public struct DirectoryExport: ExportSource, Sendable {
    public let root: String

    public init(root: String) { self.root = root }

    public func forEachEntry(_ body: (ExportEntry) throws -> Void) throws {
        var rootStat = stat()
        guard stat(root, &rootStat) == 0 else { throw SystemError("read the directory", path: root, errno: errno) }
        guard (rootStat.st_mode & S_IFMT) == S_IFDIR else {
            throw ArchiveError(.notADirectory, path: root, "is not a directory; expected a root filesystem directory")
        }
        var seen: [InodeKey: [UInt8]] = [:]
        // Explicit stack of (relative directory, sorted remaining names), so deep trees cannot overflow.
        var stack: [(dir: [UInt8], names: ArraySlice<[UInt8]>)] = [([], try FileTree.sortedNames(root)[...])]
        while !stack.isEmpty {
            guard let name = stack[stack.count - 1].names.first else {
                stack.removeLast()
                continue
            }
            stack[stack.count - 1].names = stack[stack.count - 1].names.dropFirst()
            let relative = stack[stack.count - 1].dir + name
            guard let relativeText = String(validating: relative, as: UTF8.self) else {
                throw ArchiveError(
                    .nameNotUTF8, path: root, "the name \(String(decoding: relative, as: UTF8.self)) is not valid UTF-8"
                )
            }
            let full = root + "/" + relativeText
            var st = stat()
            guard lstat(full, &st) == 0 else { throw SystemError("stat", path: full, errno: errno) }
            let fileType = st.st_mode & S_IFMT
            var entry = ExportEntry(
                name: relative, kind: .regular, permissions: UInt32(st.st_mode & 0o7777), uid: UInt32(st.st_uid),
                gid: UInt32(st.st_gid), mtime: Int64(st.st_mtim.tv_sec))
            switch fileType {
            case S_IFDIR:
                entry.kind = .directory
                entry.name = relative + [UInt8(ascii: "/")]
                try body(entry)
                stack.append((entry.name, try FileTree.sortedNames(full)[...]))
                continue
            case S_IFSOCK:
                continue
            case S_IFREG:
                entry.size = UInt64(st.st_size)
                entry.data = .file(full)
            case S_IFLNK:
                entry.kind = .symlink(target: try SymbolicLink.target(of: full, sizeHint: Int(st.st_size)))
                // Linux always reports 0777; other systems (macOS `lchmod`) can keep other bits, which a
                // container's root filesystem on Linux never shows.
                entry.permissions = ExportEntry.symlinkPermissions
            case S_IFCHR, S_IFBLK:
                entry.kind = fileType == S_IFCHR ? .characterDevice : .blockDevice
                entry.rdevMajor = Self.major(UInt64(st.st_rdev))
                entry.rdevMinor = Self.minor(UInt64(st.st_rdev))
            case S_IFIFO:
                entry.kind = .fifo
            default:
                continue
            }
            if st.st_nlink > 1 {
                let key = InodeKey(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
                if let first = seen[key] {
                    entry.kind = .hardlink(target: first)
                    entry.size = 0
                    entry.data = .none
                } else {
                    seen[key] = relative
                }
            }
            try body(entry)
        }
    }

    /// glibc's `gnu_dev_major`/`gnu_dev_minor` (macros Swift cannot import).
    static func major(_ dev: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: ((dev >> 8) & 0xFFF) | ((dev >> 32) & ~UInt64(0xFFF)))
    }

    static func minor(_ dev: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: (dev & 0xFF) | ((dev >> 12) & ~UInt64(0xFF)))
    }

    struct InodeKey: Hashable {
        var device: UInt64
        var inode: UInt64
    }

}
