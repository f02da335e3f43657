import Archive
import EnclaveCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The node's root filesystem as a value: paths, types, modes and where each file's bytes are. Owners
/// and times are not kept at all: every entry is written with owner 0:0 and mtime SOURCE_DATE_EPOCH,
/// so nothing of the build machine (user, umask, clock, directory order) reaches the archives.
///
/// ```swift
/// var tree = RootfsTree()
/// try tree.addFile(at: "/bin/node", source: "out/node", mode: nil)
/// let entries = tree.exportEntries(sourceDateEpoch: 1_700_000_000)
/// ```
public struct RootfsTree: Sendable {
    /// One member.
    public enum Node: Sendable, Equatable {
        case directory(mode: UInt32)
        case file(source: String, size: UInt64, mode: UInt32)
        case symlink(target: [UInt8])
    }

    /// Members by relative path (no leading or trailing `/`).
    public private(set) var nodes: [[UInt8]: Node] = [:]
    /// The members that came from the base environment (``addBase(from:environment:)``) and have not been
    /// replaced: a `files` entry may replace one of them (not a directory).
    private var fromBase: Set<[UInt8]> = []

    public init() {}

    /// Adds a regular file from the host; parents are created as directories 0755.
    /// The mode is `mode` if given, else 0755 when the source is executable by its owner and 0644 if not.
    public mutating func addFile(at path: String, source: String, mode: UInt32?) throws {
        let components = try Self.components(path)
        var st = stat()
        guard lstat(source, &st) == 0 else { throw SystemError("read", path: source, errno: errno) }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw BuildRefusal(.rootfs, "rootfs \(path): \(source) is not a regular file")
        }
        let chosen = mode ?? ((st.st_mode & 0o100) != 0 ? 0o755 : 0o644)
        try insert(components, .file(source: source, size: UInt64(st.st_size), mode: chosen & 0o7777), origin: path)
    }

    /// Adds the contents of a host directory below `path` (the directory itself becomes `path`).
    /// Files keep 0755/0644 by their owner-execute bit unless `mode` is given; symlinks stay links.
    public mutating func addTree(at path: String, from directory: String, mode: UInt32?) throws {
        let base = try Self.components(path)
        if !base.isEmpty { try insert(base, .directory(mode: 0o755), origin: path) }
        try DirectoryExport(root: directory).forEachEntry { entry in
            var name = entry.name
            if name.last == UInt8(ascii: "/") { name.removeLast() }
            let parts = base + name.split(separator: UInt8(ascii: "/")).map(Array.init)
            let shown = "/" + String(decoding: Self.join(parts), as: UTF8.self)
            switch entry.kind {
            case .directory:
                try insert(parts, .directory(mode: 0o755), origin: shown)
            case .regular:
                let chosen = mode ?? ((entry.permissions & 0o100) != 0 ? 0o755 : 0o644)
                guard case .file(let source) = entry.data else { return }
                try insert(parts, .file(source: source, size: entry.size, mode: chosen), origin: shown)
            case .symlink(let target):
                try insert(parts, .symlink(target: target), origin: shown)
            case .hardlink(let target):
                let source = directory + "/" + String(decoding: target, as: UTF8.self)
                let size = try FileInput(path: source).size
                let chosen = mode ?? ((entry.permissions & 0o100) != 0 ? 0o755 : 0o644)
                try insert(parts, .file(source: source, size: size, mode: chosen), origin: shown)
            case .characterDevice, .blockDevice, .fifo:
                throw BuildRefusal(.rootfs, "rootfs \(shown): special files are not allowed in a root filesystem")
            }
        }
    }

    private mutating func insert(_ components: [[UInt8]], _ node: Node, origin: String) throws {
        guard !components.isEmpty else { throw BuildRefusal(.rootfs, "rootfs: \(origin) names the root itself") }
        for depth in 1..<components.count {
            let parent = Self.join(Array(components[0..<depth]))
            switch nodes[parent] {
            case nil: nodes[parent] = .directory(mode: 0o755)
            case .directory: break
            case .symlink(let target) where fromBase.contains(parent):
                let shown = String(decoding: parent, as: UTF8.self)
                throw BuildRefusal(
                    .rootfs,
                    "rootfs: \(origin) needs /\(shown) to be a directory, but the base environment has a symlink "
                        + "there (/\(shown) -> \(String(decoding: target, as: UTF8.self)))",
                    remedy: "place the file below the link's target instead")
            default:
                throw BuildRefusal(
                    .rootfs,
                    "rootfs: \(origin) needs /\(String(decoding: parent, as: UTF8.self)) to be a directory, "
                        + "but a file is placed there")
            }
        }
        let key = Self.join(components)
        if let existing = nodes[key] {
            if case .directory = existing, case .directory = node { return }
            if fromBase.contains(key) {
                // A file or symlink of `files` replaces the base's file or symlink; a directory never silently
                // replaces (or is replaced by) something else.
                if case .directory = node {
                    throw BuildRefusal(
                        .rootfs,
                        "rootfs: \(origin) is a directory, but the base environment has a file or symlink there",
                        remedy: "place the files elsewhere, or replace the base's entry with a file entry")
                }
                if case .directory = existing {
                    throw BuildRefusal(
                        .rootfs,
                        "rootfs: \(origin) would replace a directory of the base environment",
                        remedy: "place the file below that directory or at another path")
                }
                fromBase.remove(key)
                nodes[key] = node
                return
            }
            throw BuildRefusal(
                .rootfs,
                "rootfs: \(origin) is placed twice", remedy: "each rootfs path may come from one `files` entry only")
        }
        nodes[key] = node
    }

    // MARK: Base environment

    /// What ``addBase(from:environment:)`` took from an environment.
    public struct BaseSummary: Sendable, Equatable {
        /// Entries kept (directories, files and symlinks).
        public var kept: Int
        /// Entries the drop rule removed (a dropped directory counts once: it is not read).
        public var dropped: Int
    }

    /// Directories below which the base rule drops everything, the directory itself included.
    static let droppedTrees: [[[UInt8]]] = ["usr/share/man", "usr/share/info", "usr/share/lintian", "usr/share/locale"]
        .map { $0.split(separator: "/").map { Array($0.utf8) } }
    /// Directories the base rule keeps, empty: their contents are dropped.
    static let emptiedDirectories: [[[UInt8]]] = [
        "dev", "proc", "sys", "tmp", "var/cache", "var/log", "var/tmp", "var/lib/apt",
    ].map { $0.split(separator: "/").map { Array($0.utf8) } }
    /// Directories that keep the sticky, world-writable mode 1777 (as Debian ships them); every other
    /// directory of the base is 0755.
    static let stickyDirectories: Set<[UInt8]> = [Array("tmp".utf8), Array("var/tmp".utf8)]

    /// Whether the base rule (`Recipes/README.md`, "The root filesystem from an environment") drops the
    /// entry at `components` (relative to the environment's root).
    static func baseDrops(_ components: [[UInt8]]) -> Bool {
        for tree in droppedTrees where components.starts(with: tree) { return true }
        for directory in emptiedDirectories
        where components.count > directory.count && components.starts(with: directory) {
            return true
        }
        let doc: [[UInt8]] = [Array("usr".utf8), Array("share".utf8), Array("doc".utf8)]
        if components.count > 4, components.starts(with: doc) {
            // usr/share/doc/PACKAGE/copyright stays (the licences go with the binaries); the rest goes.
            return !(components.count == 5 && components[4] == Array("copyright".utf8))
        }
        let dpkg: [[UInt8]] = [Array("var".utf8), Array("lib".utf8), Array("dpkg".utf8)]
        if components.count > 3, components.starts(with: dpkg) {
            // var/lib/dpkg/status stays: the package inventory that image scanners read.
            return !(components.count == 4 && components[3] == Array("status".utf8))
        }
        return false
    }

    /// Starts the tree from an assembled environment's root directory (`[rootfs] base = "environment:NAME"`),
    /// less what ``baseDrops(_:)`` removes, with every entry normalized as the rest of the root filesystem:
    /// directories 0755 (``stickyDirectories`` 1777), files 0755 when their owner may execute them and 0644
    /// otherwise (setuid, setgid and sticky bits dropped), symlinks kept verbatim (relative or absolute),
    /// each name of a hard link stored as a regular file with the same bytes; owners, times and the order in
    /// which the directory lists its names are never used. Call it before adding `files`, which may then
    /// replace a base file or symlink at the same path. A device, fifo or socket in the environment is an
    /// error naming the environment, and so is a name that is not UTF-8. Only paths and sizes are held; the
    /// bytes stay in the environment's files until an archive is written. A dropped directory is not read.
    @discardableResult
    public mutating func addBase(from root: String, environment: String) throws -> BaseSummary {
        guard nodes.isEmpty else {
            throw BuildRefusal(.rootfs, "rootfs: the base environment '\(environment)' must be added before any file")
        }
        guard FileStatus.isDirectory(root) else {
            throw BuildRefusal(.rootfs, "rootfs: the root of environment '\(environment)', \(root), is not a directory")
        }
        var summary = BaseSummary(kept: 0, dropped: 0)
        // Depth first with an explicit stack of (components, host path), so deep trees cannot overflow.
        var pending: [([[UInt8]], String)] = [([], root)]
        while let (directory, hostDirectory) = pending.popLast() {
            for name in try FileTree.sortedNames(hostDirectory) {
                let parts = directory + [name]
                if Self.baseDrops(parts) {
                    summary.dropped += 1
                    continue
                }
                let key = Self.join(parts)
                guard let text = String(validating: name, as: UTF8.self) else {
                    throw BuildRefusal(
                        .rootfs,
                        "rootfs: environment '\(environment)' has a name that is not UTF-8: "
                            + "/\(String(decoding: key, as: UTF8.self))")
                }
                let host = hostDirectory + "/" + text
                var info = stat()
                guard lstat(host, &info) == 0 else { throw SystemError("read", path: host, errno: errno) }
                let node: Node
                switch info.st_mode & S_IFMT {
                case S_IFDIR:
                    node = .directory(mode: Self.stickyDirectories.contains(key) ? 0o1777 : 0o755)
                    pending.append((parts, host))
                case S_IFREG:
                    node = .file(
                        source: host, size: UInt64(info.st_size), mode: (info.st_mode & 0o100) != 0 ? 0o755 : 0o644)
                case S_IFLNK:
                    node = .symlink(target: try SymbolicLink.target(of: host, sizeHint: Int(info.st_size)))
                default:
                    throw BuildRefusal(
                        .rootfs,
                        "rootfs: environment '\(environment)' holds the special file "
                            + "/\(String(decoding: key, as: UTF8.self)) (device, fifo or socket); a root filesystem "
                            + "may hold only files, directories and symlinks",
                        remedy: "the environment's assembly should leave no device nodes: assemble it again")
                }
                nodes[key] = node
                fromBase.insert(key)
                summary.kept += 1
            }
        }
        return summary
    }

    /// The entries as `docker export` lists a tree (each directory's names sorted bytewise, a directory
    /// before its contents, directory names ending in `/`), for linuxkit's app ramdisk.
    public func exportEntries(sourceDateEpoch: Int64) -> [ExportEntry] {
        var children: [[UInt8]: [[UInt8]]] = [:]
        for key in nodes.keys {
            let parts = key.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
            let parent = parts.count > 1 ? Self.join(parts.dropLast().map(Array.init)) : []
            children[parent, default: []].append(key)
        }
        var result: [ExportEntry] = []
        func visit(_ directory: [UInt8]) {
            for key in (children[directory] ?? []).sorted(by: { $0.lexicographicallyPrecedes($1) }) {
                guard let node = nodes[key] else { continue }
                switch node {
                case .directory(let mode):
                    result.append(
                        ExportEntry(
                            name: key + [UInt8(ascii: "/")], kind: .directory, permissions: mode,
                            mtime: sourceDateEpoch))
                    visit(key)
                case .file(let source, let size, let mode):
                    result.append(
                        ExportEntry(
                            name: key, kind: .regular, permissions: mode, mtime: sourceDateEpoch,
                            size: size, data: .file(source)))
                case .symlink(let target):
                    result.append(
                        ExportEntry(
                            name: key, kind: .symlink(target: target), permissions: 0o777,
                            mtime: sourceDateEpoch))
                }
            }
        }
        visit([])
        return result
    }

    /// Writes a canonical newc initrd (sorted by path bytes, owner 0:0, mtime SOURCE_DATE_EPOCH,
    /// inodes renumbered, devices 0) holding `extra` top-level files (`init`, `cmd`, `env`) and this tree
    /// below `rootfs/`: the same layout as nitro-cli's app ramdisk, so one init serves every target.
    public func writeInitrd(
        extra: [(name: String, data: CPIOData, size: UInt64, mode: UInt32)], sourceDateEpoch: Int64,
        to output: any ByteOutput
    ) throws {
        var all: [(path: [UInt8], node: Node)] = [(Array("rootfs".utf8), .directory(mode: 0o755))]
        for (key, node) in nodes { all.append((Array("rootfs/".utf8) + key, node)) }
        var extraData: [[UInt8]: CPIOData] = [:]
        for item in extra {
            let key = Array(item.name.utf8)
            all.append((key, .file(source: "", size: item.size, mode: item.mode)))
            extraData[key] = item.data
        }
        all.sort { $0.path.lexicographicallyPrecedes($1.path) }
        var subdirs: [[UInt8]: UInt32] = [:]
        for item in all {
            if case .directory = item.node, let slash = item.path.lastIndex(of: UInt8(ascii: "/")) {
                subdirs[Array(item.path[..<slash]), default: 0] += 1
            }
        }
        let cpio = CPIOWriter(output: output, profile: .canonical)
        for item in all {
            switch item.node {
            case .directory(let mode):
                try cpio.append(
                    CPIOEntry(
                        name: item.path, type: .directory, permissions: mode, uid: 0, gid: 0, mtime: sourceDateEpoch,
                        size: 0, rdevMajor: 0, rdevMinor: 0, nlink: 2 + subdirs[item.path, default: 0]))
            case .file(let source, let size, let mode):
                try cpio.append(
                    CPIOEntry(
                        name: item.path, type: .regular, permissions: mode, uid: 0, gid: 0, mtime: sourceDateEpoch,
                        size: size, rdevMajor: 0, rdevMinor: 0, nlink: 1),
                    data: extraData[item.path] ?? .file(source))
            case .symlink(let target):
                try cpio.append(
                    CPIOEntry(
                        name: item.path, type: .symlink, permissions: 0o777, uid: 0, gid: 0, mtime: sourceDateEpoch,
                        size: UInt64(target.count), rdevMajor: 0, rdevMinor: 0, nlink: 1),
                    data: .bytes(target))
            }
        }
        try cpio.finish()
    }

    static func components(_ path: String) throws -> [[UInt8]] {
        let bytes = Array(path.utf8)
        guard bytes.first == UInt8(ascii: "/") else {
            throw BuildRefusal(.rootfs, "rootfs path \"\(path)\" must be absolute (start with /)")
        }
        var parts: [[UInt8]] = []
        for part in bytes.split(separator: UInt8(ascii: "/")) {
            guard part != [UInt8(ascii: ".")], part != [UInt8(ascii: "."), UInt8(ascii: ".")], !part.contains(0)
            else { throw BuildRefusal(.rootfs, "rootfs path \"\(path)\" may not contain . or .. components") }
            parts.append(Array(part))
        }
        return parts
    }

    static func join(_ parts: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = []
        for (i, p) in parts.enumerated() {
            if i > 0 { out.append(UInt8(ascii: "/")) }
            out += p
        }
        return out
    }
}
