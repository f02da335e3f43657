import EnclaveCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The in-memory tree of a ``FlattenedImage``: inodes (shared by hard links), the nodes that name them,
/// and the operations that replace, drop and purge subtrees as layers are applied.
extension FlattenedImage {
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

    func replace(in parent: Node, name: [UInt8], with node: Node) {
        if let old = parent.children?[name] { Self.release([old]) }
        parent.children?[name] = node
    }

    /// Drops nodes (and their subtrees); a file's blob is deleted when its last link goes.
    static func release(_ nodes: [Node]) {
        var stack = nodes
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
    static func purge(_ dir: Node, below layer: Int) {
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
        release(released)
    }

    static func sortedNames(_ node: Node) -> ArraySlice<[UInt8]> {
        (node.children?.keys.sorted { $0.lexicographicallyPrecedes($1) } ?? [])[...]
    }

    static func count(_ node: Node) -> Int {
        var total = 0
        var stack = [node]
        while let current = stack.popLast() {
            total += 1
            if let children = current.children { stack.append(contentsOf: children.values) }
        }
        return total
    }
}
