import EnclaveCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Path resolution in a ``FlattenedImage`` while a layer is applied: the directory an entry's parent path
/// names, following symbolic links inside the root filesystem as Docker's chrooted extraction does.
extension FlattenedImage {
    /// The directory at `parts`, creating missing parents (0755 root) or replacing non-directories when
    /// `create`; `nil` when it does not exist and `create` is false.
    func directory(at parts: [[UInt8]], layer: Int, create: Bool, file: String) throws -> Node? {
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
    func resolveDirectory(_ parts: [[UInt8]], create: Bool, _ context: PathContext) throws -> Node? {
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
}
