import EnclaveCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Options for flattening image layers.
///
/// ```swift
/// var options = FlattenOptions(); options.allowDeviceNodes = true
/// ```
public struct FlattenOptions: Sendable {
    /// Accept character/block device nodes in layers (rejected by default).
    public var allowDeviceNodes = false
    /// Add the entries that `docker create` puts in every container (Docker's init layer), as
    /// `docker export` — and therefore nitro-cli — sees them. On by default.
    public var addDockerInitLayer = true
    /// Parent directory for the temporary working directory (default: `$TMPDIR` or `/tmp`).
    public var temporaryDirectory: String?

    public init() {}
}

/// The root filesystem of a container image, flattened as `docker export` of a container created
/// from it would give it (issue 3; Nitro catalog, article "nitro-cli Ramdisks"):
///
/// - layers applied in order; a `.wh.NAME` entry deletes `NAME` from lower layers, `.wh..wh..opq` hides
///   everything lower layers put in its directory; a directory over a directory merges (the upper
///   layer's mode/owner/mtime win), anything else replaces (a file replaced by a directory and vice
///   versa);
/// - an entry whose parent path goes through a symbolic link that the same layer put there is written
///   where the link leads, inside the root filesystem (absolute and relative targets, chains, `..`,
///   clamped at the root as in a chroot), and the link stays a link, as Docker's chrooted extraction
///   does; a link from a lower layer on the way, a link that does not lead to an existing directory and
///   a link loop are refused (see `resolveDirectory`);
/// - hard links share one inode: `docker export` writes the first path of its walk as the file and the
///   others as hard links to it (also across layers: a link to a lower layer's file);
/// - modes including setuid/setgid/sticky, numeric owners, mtimes (PAX fractional times round down);
///   symbolic links always 0777, whatever their header says, as Linux stores them (`lstat(2)`);
/// - Docker's init layer on top (`dev/pts`, `dev/shm`, `proc`, `sys` directories 0755; empty 0755
///   files `.dockerenv`, `etc/resolv.conf`, `etc/hosts`, `etc/hostname`, `dev/console`; `etc/mtab` →
///   `/proc/mounts`; their parents `dev`, `etc` become 0755 root directories), whose timestamps linuxkit
///   then fixes, so the result does not depend on when the container was created;
/// - export order: the merged tree walked with each directory's names sorted bytewise, directories
///   listed with a trailing `/` before their contents.
///
/// File contents are streamed to a private temporary directory (removed when this object goes away,
/// also on failure); names from the archives are never used as paths on disk. Rejected: absolute names,
/// `..` components, hard links to missing files, device nodes unless allowed. Symlink targets are kept
/// as the layer wrote them, also one that climbs above the root (Docker keeps it too; resolving it
/// stops at the root, as in a chroot). A parent directory that a layer implies but does not list keeps the
/// lower layer's metadata (0755 root, mtime 0 when new); Docker would stamp it with the extraction time.
///
/// ```swift
/// let rootfs = try FlattenedImage(layers: [TarSource(path: "layer1.tar"), TarSource(path: "layer2.tar")])
/// try rootfs.forEachEntry { print(String(decoding: $0.name, as: UTF8.self)) }
/// ```
public final class FlattenedImage: ExportSource {

    let root: Node
    /// Holds the extracted file contents; removed (also on interruption) when the image goes away.
    private let work: TemporaryDirectory
    private var workDirectory: String { work.path }
    private var blobCounter = 0
    private let options: FlattenOptions
    /// Number of entries in the flattened tree (root excluded).
    public private(set) var entryCount = 0

    /// Flattens `layers` (bottom first). Throws on the first unsafe or malformed entry; the temporary
    /// directory is removed in that case too.
    public init(layers: [TarSource], options: FlattenOptions = FlattenOptions()) throws {
        self.options = options
        self.root = Node(
            inode: Inode(kind: .directory, permissions: 0o755, uid: 0, gid: 0, mtime: 0), isDirectory: true,
            declaredIn: -1)
        self.work = try TemporaryDirectory(in: options.temporaryDirectory, prefix: "enclavekit-flatten-")
        for (index, layer) in layers.enumerated() {
            try apply(layer: layer, index: index)
        }
        if options.addDockerInitLayer { try applyDockerInitLayer(index: layers.count) }
        entryCount = Self.count(root) - 1
    }

    // MARK: - Export

    public func forEachEntry(_ body: (ExportEntry) throws -> Void) throws {
        var firstPath: [ObjectIdentifier: [UInt8]] = [:]
        var stack: [(prefix: [UInt8], names: ArraySlice<[UInt8]>, node: Node)] = [
            ([], Self.sortedNames(root), root)
        ]
        while !stack.isEmpty {
            let top = stack.count - 1
            guard let name = stack[top].names.first else {
                stack.removeLast()
                continue
            }
            stack[top].names = stack[top].names.dropFirst()
            guard let node = stack[top].node.children?[name] else { continue }
            let path = stack[top].prefix + name
            let inode = node.inode
            var entry = ExportEntry(
                name: path, kind: inode.kind, permissions: inode.permissions, uid: inode.uid, gid: inode.gid,
                mtime: inode.mtime, rdevMajor: inode.rdevMajor, rdevMinor: inode.rdevMinor)
            if node.children != nil {
                entry.name = path + [UInt8(ascii: "/")]
                try body(entry)
                stack.append((entry.name, Self.sortedNames(node), node))
                continue
            }
            if inode.links > 1 {
                let id = ObjectIdentifier(inode)
                if let first = firstPath[id] {
                    entry.kind = .hardlink(target: first)
                    try body(entry)
                    continue
                }
                firstPath[id] = path
            }
            if case .regular = inode.kind {
                entry.size = inode.size
                if let range = inode.range {
                    entry.data = .fileRange(path: range.path, offset: range.offset, length: inode.size)
                } else {
                    entry.data = inode.blob.map { .file($0) } ?? .bytes([])
                }
            }
            try body(entry)
        }
    }

    // MARK: - Applying layers

    private func apply(layer: TarSource, index: Int) throws {
        let reader = try TarReader(layer)
        let file = layer.displayName
        while let entry = try reader.next() {
            let parts = try SafePath.components(entry.path, format: "layer", file: file)
            guard let last = parts.last else { continue }  // "./": the root itself
            let parentParts = Array(parts.dropLast())
            let context = PathContext(entry: entry.pathString, layer: index, file: file)
            if last.starts(with: Self.whiteoutPrefix) {
                try reader.skipData()
                if last == Self.opaqueMarker {
                    if let dir = try resolveDirectory(parentParts, create: true, context) {
                        Self.purge(dir, below: index)
                    }
                } else if last.starts(with: Self.whiteoutMetaPrefix) {
                    continue  // other AUFS metadata (.wh..wh.plnk…): not content
                } else if let dir = try resolveDirectory(parentParts, create: false, context) {
                    let victim = Array(last.dropFirst(Self.whiteoutPrefix.count))
                    if let node = dir.children?[victim], node.declaredIn < index {
                        dir.children?[victim] = nil
                        Self.release([node])
                    }
                }
                continue
            }
            guard let parent = try resolveDirectory(parentParts, create: true, context) else { continue }
            try add(entry, name: last, parent: parent, layer: index, reader: reader, file: file)
        }
    }

    private func add(
        _ entry: TarEntry, name: [UInt8], parent: Node, layer: Int, reader: TarReader, file: String
    ) throws {
        let uid = try Self.id(entry.uid, "uid", entry, file)
        let gid = try Self.id(entry.gid, "gid", entry, file)
        let existing = parent.children?[name]
        switch entry.kind {
        case .directory:
            if let existing, existing.children != nil {
                existing.inode.permissions = entry.permissions
                existing.inode.uid = uid
                existing.inode.gid = gid
                existing.inode.mtime = entry.mtime
                existing.declaredIn = layer
                return
            }
            let inode = Inode(kind: .directory, permissions: entry.permissions, uid: uid, gid: gid, mtime: entry.mtime)
            replace(in: parent, name: name, with: Node(inode: inode, isDirectory: true, declaredIn: layer))
        case .hardlink:
            let targetName = entry.linkTarget ?? []
            let targetParts = try SafePath.components(targetName, format: "layer", file: file)
            let context = PathContext(entry: entry.pathString, layer: layer, file: file)
            let targetParent = try targetParts.last.flatMap { _ in
                try resolveDirectory(Array(targetParts.dropLast()), create: false, context)
            }
            guard let targetLast = targetParts.last, let target = targetParent?.children?[targetLast],
                target.children == nil
            else {
                throw FormatError(
                    .missing, format: "layer",
                    "\(entry.pathString): hard link to \"\(String(decoding: targetName, as: UTF8.self))\", "
                        + "which is not a file in this or a lower layer", file: file)
            }
            if target === existing { return }
            replace(in: parent, name: name, with: Node(inode: target.inode, isDirectory: false, declaredIn: layer))
        case .socket:
            try reader.skipData()
        default:
            var kind: ExportEntry.Kind = .regular
            switch entry.kind {
            case .symlink:
                // Kept verbatim, as Docker keeps it (its chrooted extraction accepts any target): the link
                // is only ever resolved here, inside the tree and clamped at its root (`resolveDirectory`),
                // and inside the enclave, in the chroot the init makes of the root filesystem.
                kind = .symlink(target: entry.linkTarget ?? [])
            case .characterDevice, .blockDevice:
                guard options.allowDeviceNodes else {
                    throw FormatError(
                        .unsupported, format: "layer",
                        "\(entry.pathString): device node in a layer (allow device nodes to accept it)", file: file)
                }
                kind = entry.kind == .characterDevice ? .characterDevice : .blockDevice
            case .fifo: kind = .fifo
            default: kind = .regular
            }
            // Linux keeps no mode for a symbolic link: lstat(2) reports 0777 whatever the layer's header
            // said, so `docker export` (and nitro-cli after it) writes 0777.
            let permissions = kind.isSymlink ? ExportEntry.symlinkPermissions : entry.permissions
            let inode = Inode(kind: kind, permissions: permissions, uid: uid, gid: gid, mtime: entry.mtime)
            inode.rdevMajor = entry.rdevMajor
            inode.rdevMinor = entry.rdevMinor
            if case .regular = kind {
                inode.size = entry.size
                if let offset = reader.currentDataOffset {
                    // Uncompressed layer: the data is copied later straight from the archive.
                    inode.range = (reader.source.path, offset)
                    try reader.skipData()
                } else if entry.size > 0 {
                    inode.blob = try storeBlob(reader, expected: entry.size, entry: entry, file: file)
                }
            }
            replace(in: parent, name: name, with: Node(inode: inode, isDirectory: false, declaredIn: layer))
        }
    }

    /// Docker's init layer (moby `daemon/initlayer`), applied above the image's layers.
    private func applyDockerInitLayer(index: Int) throws {
        let dirs = ["dev", "dev/pts", "dev/shm", "proc", "sys", "etc"]
        for dir in dirs {
            let parts = dir.split(separator: "/").map { Array($0.utf8) }
            guard let parent = try directory(at: Array(parts.dropLast()), layer: index, create: true, file: "init")
            else {
                continue
            }
            let inode = Inode(kind: .directory, permissions: 0o755, uid: 0, gid: 0, mtime: 0)
            if let existing = parent.children?[parts[parts.count - 1]], existing.children != nil {
                existing.inode.permissions = 0o755
                existing.inode.uid = 0
                existing.inode.gid = 0
                existing.declaredIn = index
            } else {
                replace(
                    in: parent, name: parts[parts.count - 1],
                    with: Node(inode: inode, isDirectory: true, declaredIn: index))
            }
        }
        let files: [(String, ExportEntry.Kind)] = [
            (".dockerenv", .regular), ("etc/resolv.conf", .regular), ("etc/hosts", .regular),
            ("etc/hostname", .regular), ("dev/console", .regular),
            ("etc/mtab", .symlink(target: Array("/proc/mounts".utf8))),
        ]
        for (path, kind) in files {
            let parts = path.split(separator: "/").map { Array($0.utf8) }
            guard let parent = try directory(at: Array(parts.dropLast()), layer: index, create: true, file: "init")
            else {
                continue
            }
            let isLink = kind != .regular
            let inode = Inode(kind: kind, permissions: isLink ? 0o777 : 0o755, uid: 0, gid: 0, mtime: 0)
            replace(
                in: parent, name: parts[parts.count - 1],
                with: Node(inode: inode, isDirectory: false, declaredIn: index))
        }
    }

    private func storeBlob(_ reader: TarReader, expected: UInt64, entry: TarEntry, file: String) throws -> String {
        blobCounter += 1
        let path = "\(workDirectory)/\(blobCounter)"
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SystemError("create a temporary file", path: path, errno: errno) }
        defer { close(fd) }
        var total: UInt64 = 0
        try reader.forEachChunk { chunk in
            try writeAll(fd, chunk, path: path)
            total += UInt64(chunk.count)
        }
        guard total == expected else {
            throw FormatError(
                .truncated, format: "layer", "\(entry.pathString): \(total) bytes of data, header says \(expected)",
                file: file)
        }
        return path
    }

    static let whiteoutPrefix = Array(".wh.".utf8)
    static let whiteoutMetaPrefix = Array(".wh..wh.".utf8)
    static let opaqueMarker = Array(".wh..wh..opq".utf8)

    private static func id(_ value: Int64, _ what: String, _ entry: TarEntry, _ file: String) throws -> UInt32 {
        guard let id = UInt32(exactly: value) else {
            throw FormatError(
                .badValue, format: "layer", "\(entry.pathString): \(what) \(value) out of range", file: file)
        }
        return id
    }
}
