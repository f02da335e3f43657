import Archive
import EnclaveCore
import Foundation
import TestSupport
import Testing

@testable import Builder

@Suite("RootfsTree")
struct RootfsTreeTests {
    @Test("docker export order: each directory's names sorted, a directory before its contents")
    func exportOrder() throws {
        let s = try TestDirectory()
        var tree = RootfsTree()
        try tree.addFile(at: "/a-b", source: try s.write("1", "x"), mode: nil)
        try tree.addFile(at: "/a/b", source: try s.write("2", "y", mode: 0o755), mode: nil)
        try tree.addFile(at: "/etc/node.conf", source: try s.write("3", "z"), mode: 0o600)
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
        let s = try TestDirectory()
        let source = try s.write("f", "data")
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
        let s = try TestDirectory()
        var tree = RootfsTree()
        #expect(throws: BuildRefusal.self) { try tree.addFile(at: path, source: try s.write("f", "x"), mode: nil) }
    }

    /// The initrd equals `CanonicalCPIO` (itself checked against GNU cpio --reproducible) of the same
    /// tree laid out on disk, whatever the files' owners, times and creation order on disk.
    @Test("initrd bytes equal the canonical cpio of the same tree on disk")
    func initrdMatchesCanonicalCPIO() throws {
        let s = try TestDirectory()
        let node = try s.write("src/node", "#!binary", mode: 0o755)
        let conf = try s.write("src/node.conf", "port=8080\n")
        let initFile = try s.write("src/init", "init-binary", mode: 0o755)
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
        _ = try s.write("disk/rootfs/etc/node.conf", "port=8080\n")
        _ = try s.write("disk/init", "init-binary", mode: 0o755)
        _ = try s.write("disk/rootfs/bin/node", "#!binary", mode: 0o755)
        _ = try s.write("disk/env", "PATH=/bin\n")
        _ = try s.write("disk/cmd", "/bin/node\n")
        let reference = MemoryByteOutput()
        try CanonicalCPIO.write(directory: disk, sourceDateEpoch: 1_700_000_000, to: reference)
        #expect(out.bytes == reference.bytes)
    }

    @Test("a tree added from a directory keeps symlinks and refuses special files")
    func addTree() throws {
        let s = try TestDirectory()
        _ = try s.write("dir/bin/tool", "t", mode: 0o755)
        try FileManager.default.createSymbolicLink(atPath: s.path + "/dir/bin/alias", withDestinationPath: "tool")
        var tree = RootfsTree()
        try tree.addTree(at: "/opt/app", from: s.path + "/dir", mode: nil)
        let names = tree.exportEntries(sourceDateEpoch: 0).map { String(decoding: $0.name, as: UTF8.self) }
        #expect(names == ["opt/", "opt/app/", "opt/app/bin/", "opt/app/bin/alias", "opt/app/bin/tool"])
        #expect(mkfifo(s.path + "/dir/fifo", 0o644) == 0)
        var other = RootfsTree()
        #expect(throws: BuildRefusal.self) { try other.addTree(at: "/x", from: s.path + "/dir", mode: nil) }
    }
}
