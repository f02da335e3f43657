import EnclaveCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The `file-order` variation of `rebuild --vary`: a step sees copies of its inputs and of earlier steps'
/// outputs in which every directory lists its entries (readdir, `ls -f`) in the reverse of the original's
/// order. The copies live on a tmpfs (`/dev/shm`) when there is one, because a tmpfs lists a directory in
/// the order its entries were created (newest first on older kernels, oldest first on newer ones; a
/// probe tells which), while ext4 lists by name hash whatever the order of creation. Contents, modes,
/// symlinks and mtimes are copied as they are. Each source is copied once per build; ``remove()`` drops
/// them all.
///
/// ```swift
/// let copies = try ReorderedCopies(fallback: work + "/reordered")
/// let mounted = try copies.copy(of: inputDirectory)
/// ```
final class ReorderedCopies {
    let root: String
    /// Whether entries must be created in the order they should be listed (else in the reverse order).
    private let listsInCreationOrder: Bool
    private var copies: [String: String] = [:]

    init(fallback: String) throws {
        var chosen: String?
        if FileStatus.isDirectory("/dev/shm"), access("/dev/shm", W_OK) == 0 {
            chosen = try? TemporaryDirectory.make(in: "/dev/shm", prefix: "enclavekit-file-order-")
        }
        if chosen == nil {
            FileTree.removeTree(fallback)
            try FileTree.makeDirectories(fallback)
            chosen = fallback
        }
        root = chosen ?? fallback
        // Probe: two entries created as a, b; how are they listed?
        let probe = root + "/.probe"
        try FileTree.makeDirectories(probe)
        defer { FileTree.removeTree(probe) }
        for name in ["a", "b"] {
            let fd = open(probe + "/" + name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw SystemError("create", path: probe + "/" + name, errno: errno) }
            close(fd)
        }
        listsInCreationOrder = try Self.readdirOrder(probe) == [Array("a".utf8), Array("b".utf8)]
    }

    /// A copy of the directory `source` whose directories list their entries in reverse order.
    func copy(of source: String) throws -> String {
        if let known = copies[source] { return known }
        let target = root + "/\(copies.count)"
        try copyTree(source, to: target)
        copies[source] = target
        return target
    }

    func remove() { FileTree.removeTree(root) }

    /// The names in `path` in readdir's order (without `.` and `..`).
    static func readdirOrder(_ path: String) throws -> [[UInt8]] {
        guard let dir = opendir(path) else { throw SystemError("list the directory", path: path, errno: errno) }
        defer { closedir(dir) }
        var names: [[UInt8]] = []
        while let item = readdir(dir) {
            let name = FileTree.entryName(item)
            if name == [UInt8(ascii: ".")] || name == [UInt8(ascii: "."), UInt8(ascii: ".")] { continue }
            names.append(name)
        }
        return names
    }

    private func copyTree(_ source: String, to target: String) throws {
        var info = stat()
        guard lstat(source, &info) == 0 else { throw SystemError("read", path: source, errno: errno) }
        switch info.st_mode & S_IFMT {
        case S_IFDIR:
            guard mkdir(target, 0o700) == 0 else {
                throw SystemError("create the directory", path: target, errno: errno)
            }
            let wanted = Array(try Self.readdirOrder(source).reversed())
            for name in listsInCreationOrder ? wanted : wanted.reversed() {
                try copyTree(FileTree.path(source, name), to: FileTree.path(target, name))
            }
        case S_IFREG:
            try copyContents(source, to: target)
        case S_IFLNK:
            let linkTarget = try SymbolicLink.target(of: source, sizeHint: Int(info.st_size))
            let made = symlink(String(decoding: linkTarget, as: UTF8.self), target)
            guard made == 0 else { throw SystemError("create the symlink", path: target, errno: errno) }
        default:
            throw BuildRefusal(
                .unsupported, "\(source): a special file (device, fifo or socket) cannot be copied for file-order")
        }
        if info.st_mode & S_IFMT != S_IFLNK {
            guard chmod(target, info.st_mode & 0o7777) == 0 else {
                throw SystemError("chmod", path: target, errno: errno)
            }
        }
        var times = [info.st_atim, info.st_mtim]
        guard utimensat(AT_FDCWD, target, &times, AT_SYMLINK_NOFOLLOW) == 0 else {
            throw SystemError("set the time of", path: target, errno: errno)
        }
    }

    /// Creates `target` in place (no temporary name: that would change the directory's order) with the
    /// bytes of `source`.
    private func copyContents(_ source: String, to target: String) throws {
        let input = try FileInput(path: source)
        let fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw SystemError("create", path: target, errno: errno) }
        defer { close(fd) }
        try FileStream.forEachChunk(of: input, ranges: [0..<input.size]) { _, chunk in
            guard let base = chunk.baseAddress else { return }
            var offset = 0
            while offset < chunk.count {
                let n = write(fd, base + offset, chunk.count - offset)
                if n < 0, errno == EINTR { continue }
                guard n > 0 else { throw SystemError("write", path: target, errno: errno) }
                offset += n
            }
        }
    }
}
