import Archive
import EnclaveCore
import Foundation
import Testing

@testable import Builder

@Suite("RootfsTree")
struct RootfsTreeTests {
    /// A scratch directory removed when the test ends.
    final class Scratch {
        let path: String
        init() throws {
            path = NSTemporaryDirectory() + "rootfs-tree-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        deinit { try? FileManager.default.removeItem(atPath: path) }

        func file(_ name: String, _ text: String, mode: Int = 0o644) throws -> String {
            let full = path + "/" + name
            try FileManager.default.createDirectory(
                atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: URL(fileURLWithPath: full))
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: full)
            return full
        }
    }

    @Test("docker export order: each directory's names sorted, a directory before its contents")
    func exportOrder() throws {
        let s = try Scratch()
        var tree = RootfsTree()
        try tree.addFile(at: "/a-b", source: try s.file("1", "x"), mode: nil)
        try tree.addFile(at: "/a/b", source: try s.file("2", "y", mode: 0o755), mode: nil)
        try tree.addFile(at: "/etc/node.conf", source: try s.file("3", "z"), mode: 0o600)
        let names = tree.exportEntries(sourceDateEpoch: 5).map { String(decoding: $0.name, as: UTF8.self) }
        #expect(names == ["a/", "a/b", "a-b", "etc/", "etc/node.conf"])
        let modes = tree.exportEntries(sourceDateEpoch: 5).map(\.permissions)
        #expect(modes == [0o755, 0o755, 0o644, 0o755, 0o600])
        #expect(tree.exportEntries(sourceDateEpoch: 5).allSatisfy { $0.mtime == 5 && $0.uid == 0 && $0.gid == 0 })
    }

    @Test(
        "conflicting placements are errors",
        arguments: [
            (["/bin/node", "/bin/node"], "placed twice"),
            (["/bin", "/bin/node"], "to be a directory"),
        ])
    func conflicts(paths: [String], message: String) throws {
        let s = try Scratch()
        let source = try s.file("f", "data")
        var tree = RootfsTree()
        try tree.addFile(at: paths[0], source: source, mode: nil)
        #expect {
            try tree.addFile(at: paths[1], source: source, mode: nil)
        } throws: { error in
            String(describing: error).contains(message)
        }
    }

    @Test("bad rootfs paths", arguments: ["bin/node", "/bin/../etc", "/./x", "/"])
    func badPaths(path: String) throws {
        let s = try Scratch()
        var tree = RootfsTree()
        #expect(throws: UsageError.self) { try tree.addFile(at: path, source: try s.file("f", "x"), mode: nil) }
    }

    /// The initrd equals `CanonicalCPIO` (itself checked against GNU cpio --reproducible) of the same
    /// tree laid out on disk, whatever the files' owners, times and creation order on disk.
    @Test("initrd bytes equal the canonical cpio of the same tree on disk")
    func initrdMatchesCanonicalCPIO() throws {
        let s = try Scratch()
        let node = try s.file("src/node", "#!binary", mode: 0o755)
        let conf = try s.file("src/node.conf", "port=8080\n")
        let initFile = try s.file("src/init", "init-binary", mode: 0o755)
        var tree = RootfsTree()
        try tree.addFile(at: "/etc/node.conf", source: conf, mode: nil)
        try tree.addFile(at: "/bin/node", source: node, mode: nil)
        let cmd = Array("/bin/node\n".utf8)
        let env = Array("PATH=/bin\n".utf8)
        let out = MemoryByteOutput()
        try tree.writeInitrd(
            extra: [
                ("cmd", .bytes(cmd), UInt64(cmd.count), 0o644), ("env", .bytes(env), UInt64(env.count), 0o644),
                ("init", .file(initFile), 11, 0o755),
            ], sourceDateEpoch: 1_700_000_000, to: out)

        // The same layout on disk, created in another order, with later mtimes.
        let disk = s.path + "/disk"
        _ = try s.file("disk/rootfs/etc/node.conf", "port=8080\n")
        _ = try s.file("disk/init", "init-binary", mode: 0o755)
        _ = try s.file("disk/rootfs/bin/node", "#!binary", mode: 0o755)
        _ = try s.file("disk/env", "PATH=/bin\n")
        _ = try s.file("disk/cmd", "/bin/node\n")
        let reference = MemoryByteOutput()
        try CanonicalCPIO.write(directory: disk, sourceDateEpoch: 1_700_000_000, to: reference)
        #expect(out.bytes == reference.bytes)
    }

    @Test("a tree added from a directory keeps symlinks and refuses special files")
    func addTree() throws {
        let s = try Scratch()
        _ = try s.file("dir/bin/tool", "t", mode: 0o755)
        try FileManager.default.createSymbolicLink(atPath: s.path + "/dir/bin/alias", withDestinationPath: "tool")
        var tree = RootfsTree()
        try tree.addTree(at: "/opt/app", from: s.path + "/dir", mode: nil)
        let names = tree.exportEntries(sourceDateEpoch: 0).map { String(decoding: $0.name, as: UTF8.self) }
        #expect(names == ["opt/", "opt/app/", "opt/app/bin/", "opt/app/bin/alias", "opt/app/bin/tool"])
        #expect(mkfifo(s.path + "/dir/fifo", 0o644) == 0)
        var other = RootfsTree()
        #expect(throws: UsageError.self) { try other.addTree(at: "/x", from: s.path + "/dir", mode: nil) }
    }
}
