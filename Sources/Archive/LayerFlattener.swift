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
    final class Inode {
        var kind: ExportEntry.Kind
        var permissions: UInt32
        var uid: UInt32
        var gid: UInt32
        var mtime: Int64
        var size: UInt64 = 0
        var blob: String?
        /// The data in place in an uncompressed layer: file and offset.
        var range: (path: String, offset: UInt64)?
        var rdevMajor: UInt32 = 0
        var rdevMinor: UInt32 = 0
        var links = 0

        init(kind: ExportEntry.Kind, permissions: UInt32, uid: UInt32, gid: UInt32, mtime: Int64) {
            self.kind = kind
            self.permissions = permissions
            self.uid = uid
            self.gid = gid
            self.mtime = mtime
        }
    }

    final class Node {
        let inode: Inode
        var children: [[UInt8]: Node]?
        /// The last layer in which this path existed in the layer's own tree (overlay "upper").
        var declaredIn: Int

        init(inode: Inode, isDirectory: Bool, declaredIn: Int) {
            self.inode = inode
            self.children = isDirectory ? [:] : nil
            self.declaredIn = declaredIn
            inode.links += 1
        }
    }

    private let root: Node
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
                        release(node)
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

    // MARK: - Tree helpers

    /// The directory at `parts`, creating missing parents (0755 root) or replacing non-directories when
    /// `create`; `nil` when it does not exist and `create` is false.
    private func directory(at parts: [[UInt8]], layer: Int, create: Bool, file: String) throws -> Node? {
        var node = root
        for part in parts {
            if let child = node.children?[part], child.children != nil {
                if create { child.declaredIn = max(child.declaredIn, layer) }
                node = child
                continue
            }
            guard create else { return nil }
            let inherited = node.children?[part]
            let inode = Inode(kind: .directory, permissions: 0o755, uid: 0, gid: 0, mtime: 0)
            let child = Node(inode: inode, isDirectory: true, declaredIn: layer)
            if inherited != nil { replace(in: node, name: part, with: child) } else { node.children?[part] = child }
            node = child
        }
        return node
    }

    /// Where a path being resolved comes from, for error messages and the same-layer rule.
    struct PathContext {
        var entry: String
        var layer: Int
        var file: String
    }

    /// Linux's `MAXSYMLINKS`: the kernel gives up with `ELOOP` after following this many links in one
    /// path walk, and so does Docker's extraction.
    static let maxSymlinkFollows = 40

    /// The directory that an entry's parent path `parts` names, walked as Docker's chrooted extraction
    /// walks it (moby `pkg/chrootarchive`, containerd `fs.RootPath`):
    ///
    /// - a symbolic link on the way is followed inside the root filesystem: an absolute target starts
    ///   again at the root, a relative one at the link's directory, `..` goes to the parent of the
    ///   directory reached so far, and `..` at the root stays at the root (as in a chroot), so nothing
    ///   resolves outside the tree; chains are followed up to ``maxSymlinkFollows`` links (a loop is an
    ///   error, as `ELOOP` is for Docker);
    /// - the link itself stays a link, and whatever is written through it lands in the directory it leads
    ///   to;
    /// - a missing directory on the entry's own path is created (0755 root, see the type's notes) and a
    ///   non-directory there is replaced by a directory, when `create`; with `create` false (a whiteout),
    ///   the result is `nil` instead;
    /// - refused with ``FormatError``: a link whose target does not lead to an existing directory (Docker's
    ///   storage drivers disagree there: overlay2 fails, containerd creates the directories), and a link
    ///   that a lower layer put there. Docker applies each layer to its own overlay directory, so a link
    ///   from a lower layer is not seen while a layer is extracted: overlay2 and containerd hide the link
    ///   behind a new directory stamped with the time of the pull, the vfs driver writes through it; no
    ///   one answer is Docker's, and none is reproducible.
    private func resolveDirectory(_ parts: [[UInt8]], create: Bool, _ context: PathContext) throws -> Node? {
        var trail: [Node] = []  // the directories above `current`, root first
        var current = root
        var pending = Array(parts.reversed())  // components still to walk; the next one is last
        var ownLeft = parts.count  // how many of `pending` (at its bottom) are the entry's own components
        var walked: [[UInt8]] = []  // the resolved path so far, for messages
        var follows = 0
        while let part = pending.popLast() {
            let own = pending.count < ownLeft
            if own { ownLeft -= 1 }
            if part.elementsEqual([UInt8(ascii: ".")]) { continue }
            if part.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")]) {
                if let parent = trail.popLast() {
                    current = parent
                    walked.removeLast()
                }
                continue
            }
            let child = current.children?[part]
            if let child, child.children != nil {
                if create { child.declaredIn = max(child.declaredIn, context.layer) }
                trail.append(current)
                current = child
                walked.append(part)
                continue
            }
            if let child, case .symlink(let target) = child.inode.kind {
                let linkPath = SafePath.text(walked + [part])
                let targetText = String(decoding: target, as: UTF8.self)
                guard child.declaredIn >= context.layer else {
                    throw FormatError(
                        .unsupported, format: "layer",
                        "\(context.entry): its parent path goes through the symbolic link \(linkPath) -> "
                            + "\(targetText) from a lower layer; Docker's result depends on its storage driver "
                            + "(overlay2 hides the link behind a new directory, vfs writes through it); rebuild "
                            + "the image so this layer names the path the link leads to (docker build does)",
                        file: context.file)
                }
                follows += 1
                guard follows <= Self.maxSymlinkFollows else {
                    throw FormatError(
                        .unsafePath, format: "layer",
                        "\(context.entry): too many levels of symbolic links (more than "
                            + "\(Self.maxSymlinkFollows), last \(linkPath) -> \(targetText)); a link loop",
                        file: context.file)
                }
                if target.first == UInt8(ascii: "/") {
                    trail.removeAll()
                    current = root
                    walked.removeAll()
                }
                let targetParts = target.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true)
                pending.append(contentsOf: targetParts.reversed().map { Array($0) })
                continue
            }
            guard own else {
                // Inside a link's target: it must lead to an existing directory.
                guard create else { return nil }
                let what = child == nil ? "does not exist" : "is not a directory"
                throw FormatError(
                    .missing, format: "layer",
                    "\(context.entry): its parent path goes through a symbolic link to "
                        + "\(SafePath.text(walked + [part])), which \(what) in this or a lower layer; Docker's "
                        + "storage drivers disagree on such a layer (overlay2 refuses it); add the directory "
                        + "before the entries written through the link",
                    file: context.file)
            }
            guard create else { return nil }
            let inode = Inode(kind: .directory, permissions: 0o755, uid: 0, gid: 0, mtime: 0)
            let created = Node(inode: inode, isDirectory: true, declaredIn: context.layer)
            if child != nil {
                replace(in: current, name: part, with: created)
            } else {
                current.children?[part] = created
            }
            trail.append(current)
            current = created
            walked.append(part)
        }
        return current
    }

    private func replace(in parent: Node, name: [UInt8], with node: Node) {
        if let old = parent.children?[name] { release(old) }
        parent.children?[name] = node
    }

    /// Drops a node (and its subtree); a file's blob is deleted when its last link goes.
    private func release(_ node: Node) {
        var stack = [node]
        while let current = stack.popLast() {
            current.inode.links -= 1
            if current.inode.links == 0, let blob = current.inode.blob {
                unlink(blob)
                current.inode.blob = nil
            }
            if let children = current.children { stack.append(contentsOf: children.values) }
        }
    }

    /// Opaque directory: removes everything lower layers put under `dir`, keeping this layer's entries.
    private static func purge(_ dir: Node, below layer: Int) {
        var stack = [dir]
        var released: [Node] = []
        while let current = stack.popLast() {
            guard let children = current.children else { continue }
            for (name, child) in children {
                if child.declaredIn < layer {
                    current.children?[name] = nil
                    released.append(child)
                } else if child.children != nil {
                    stack.append(child)
                }
            }
        }
        var drop = released
        while let current = drop.popLast() {
            current.inode.links -= 1
            if current.inode.links == 0, let blob = current.inode.blob {
                unlink(blob)
                current.inode.blob = nil
            }
            if let children = current.children { drop.append(contentsOf: children.values) }
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

    private static func sortedNames(_ node: Node) -> ArraySlice<[UInt8]> {
        (node.children?.keys.sorted { $0.lexicographicallyPrecedes($1) } ?? [])[...]
    }

    private static func count(_ node: Node) -> Int {
        var total = 0
        var stack = [node]
        while let current = stack.popLast() {
            total += 1
            if let children = current.children { stack.append(contentsOf: children.values) }
        }
        return total
    }
}
