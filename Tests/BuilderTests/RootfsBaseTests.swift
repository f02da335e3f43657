import Archive
import EnclaveCore
import Foundation
import TestSupport
import Testing

@testable import Builder

#if canImport(Glibc)
    import Glibc
#endif

/// `[rootfs] base = "environment:NAME"`: the root filesystem starts from an environment's root less the
/// drop rule, normalized, with `files` on top (`Recipes/README.md`, "The root filesystem from an
/// environment"), here from roots made by ``EnvironmentFixture``.
@Suite("RootfsBase")
struct RootfsBaseTests {
    /// The canonical initrd of `tree` (`init` and the tree below `rootfs/`), as bytes.
    static func initrd(_ tree: RootfsTree, scratch: String) throws -> [UInt8] {
        let path = scratch + "/initrd-\(UUID().uuidString).cpio"
        let output = try FileByteOutput(path: path)
        try tree.writeInitrd(
            extra: [("init", .bytes(Array("init".utf8)), 4, 0o755)], sourceDateEpoch: 5, to: output)
        try output.commit()
        return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    static func members(_ bytes: [UInt8]) throws -> [String: CPIOListing.Member] {
        var result: [String: CPIOListing.Member] = [:]
        for member in try CPIOListing.parse(bytes) { result[member.name] = member }
        return result
    }

    @Test func dropRuleNormalizationAndAFileReplacingABaseFile() throws {
        let temp = try SandboxFixture.temporaryDirectory()
        defer { SandboxFixture.remove(temp) }
        try EnvironmentFixture.make(temp + "/root")
        try Data("from the recipe\n".utf8).write(to: URL(fileURLWithPath: temp + "/replaced.conf"))
        var tree = RootfsTree()
        let summary = try tree.addBase(from: temp + "/root", environment: "runtime")
        try tree.addFile(at: "/usr/lib/replaced.conf", source: temp + "/replaced.conf", mode: nil)
        let cpio = try Self.members(try Self.initrd(tree, scratch: temp))

        // Dropped: docs but the copyright, man pages, logs, dpkg's state but its status.
        for gone in [
            "rootfs/usr/share/doc/toy/changelog.gz", "rootfs/usr/share/man", "rootfs/usr/share/man/man1/toy.1",
            "rootfs/var/log/dpkg.log", "rootfs/var/lib/dpkg/info", "rootfs/var/lib/dpkg/info/toy.list",
        ] {
            #expect(cpio[gone] == nil, "\(gone)")
        }
        #expect(summary.dropped == 4)  // changelog.gz, the man tree, dpkg.log, the dpkg info tree
        for kept in [
            "rootfs/usr/share/doc/toy/copyright", "rootfs/var/lib/dpkg/status", "rootfs/var/log", "rootfs/dev",
            "rootfs/home", "rootfs/etc/passwd", "rootfs/etc/hostname",
        ] {
            #expect(cpio[kept] != nil, "\(kept)")
        }
        // The recipe's file replaces the base's.
        #expect(cpio["rootfs/usr/lib/replaced.conf"]?.data == Array("from the recipe\n".utf8))
        // Symlinks verbatim, relative and absolute; the hard link is a second file with the same bytes.
        #expect(cpio["rootfs/bin"]?.data == Array("usr/bin".utf8))
        #expect(cpio["rootfs/bin"]?.mode == 0o120777)
        #expect(cpio["rootfs/lib"]?.data == Array("/usr/lib".utf8))
        #expect(cpio["rootfs/etc/os-release"]?.data == Array("../usr/lib/os-release".utf8))
        #expect(cpio["rootfs/usr/lib/os-release.hard"]?.data == Array("NAME=toy\n".utf8))
        #expect(cpio["rootfs/usr/lib/os-release.hard"]?.mode == 0o100644)
        // Modes: setuid dropped, executables 0755, /tmp and /var/tmp sticky 1777, other directories 0755.
        #expect(cpio["rootfs/usr/bin/tool"]?.mode == 0o100755)
        #expect(cpio["rootfs/usr/bin/busybox"]?.mode == 0o100755)
        #expect(cpio["rootfs/tmp"]?.mode == 0o41777)
        #expect(cpio["rootfs/var/tmp"]?.mode == 0o41777)
        #expect(cpio["rootfs/var"]?.mode == 0o40755)
        #expect(
            cpio.filter { $0.key != "TRAILER!!!" }.values.allSatisfy { $0.uid == 0 && $0.gid == 0 && $0.mtime == 5 })
    }

    @Test func archivesDoNotDependOnCreationOrderModesOrPath() throws {
        let temp = try SandboxFixture.temporaryDirectory()
        defer { SandboxFixture.remove(temp) }
        try EnvironmentFixture.make(temp + "/one/root")
        try EnvironmentFixture.make(temp + "/second-place/root", reversed: true, restrictive: true)
        var first = RootfsTree()
        try first.addBase(from: temp + "/one/root", environment: "runtime")
        var second = RootfsTree()
        try second.addBase(from: temp + "/second-place/root", environment: "runtime")
        let a = try Self.initrd(first, scratch: temp)
        #expect(a == (try Self.initrd(second, scratch: temp)))
        #expect(a.count > 1 << 20)  // busybox is in it
        let listing = { (tree: RootfsTree) in
            tree.exportEntries(sourceDateEpoch: 5).map { "\($0.name) \($0.kind) \($0.permissions) \($0.size)" }
        }
        #expect(listing(first) == listing(second))
    }

    @Test func aFileBelowABaseSymlinkIsAnErrorThatSaysWhere() throws {
        let temp = try SandboxFixture.temporaryDirectory()
        defer { SandboxFixture.remove(temp) }
        try EnvironmentFixture.make(temp + "/root")
        try Data("x".utf8).write(to: URL(fileURLWithPath: temp + "/app"))
        var tree = RootfsTree()
        try tree.addBase(from: temp + "/root", environment: "runtime")
        #expect {
            try tree.addFile(at: "/bin/app", source: temp + "/app", mode: nil)
        } throws: { error in
            "\(error)".contains("/bin/app needs /bin to be a directory, but the base environment has a symlink there")
        }
        // A file where the base has a directory would drop that directory's contents: an error too.
        #expect {
            try tree.addFile(at: "/usr/lib", source: temp + "/app", mode: nil)
        } throws: { error in
            "\(error)".contains("/usr/lib would replace a directory of the base environment")
        }
        // Below the link's target is fine.
        try tree.addFile(at: "/usr/bin/app", source: temp + "/app", mode: nil)
        // Only once: two `files` entries at one path are still an error, base or not.
        #expect(throws: BuildRefusal.self) { try tree.addFile(at: "/usr/bin/app", source: temp + "/app", mode: nil) }
    }

    @Test func aSpecialFileInTheBaseNamesTheEnvironment() throws {
        let temp = try SandboxFixture.temporaryDirectory()
        defer { SandboxFixture.remove(temp) }
        try FileManager.default.createDirectory(atPath: temp + "/root/run", withIntermediateDirectories: true)
        try #require(mkfifo(temp + "/root/run/initctl", 0o600) == 0)
        var tree = RootfsTree()
        #expect {
            try tree.addBase(from: temp + "/root", environment: "runtime")
        } throws: { error in
            "\(error)".contains("environment 'runtime' holds the special file /run/initctl")
        }
    }

    @Test(arguments: [
        ("usr/share/doc/p/copyright", false), ("usr/share/doc/p", false), ("usr/share/doc/p/NEWS.gz", true),
        ("usr/share/doc/p/examples/a", true), ("usr/share/man", true), ("usr/share/locale/de/LC_MESSAGES/x.mo", true),
        ("usr/share/info/dir", true), ("usr/share/lintian/overrides/p", true), ("var/cache", false),
        ("var/cache/debconf/config.dat", true), ("var/lib/apt/lists/x", true), ("var/lib/apt", false),
        ("var/lib/dpkg/status", false), ("var/lib/dpkg/status-old", true), ("var/lib/dpkg", false), ("tmp", false),
        ("tmp/x", true), ("usr/share/python3/runtime.d", false), ("usr/lib/locale/C.utf8/LC_CTYPE", false),
        ("usr/share/common-licenses/GPL-3", false),
    ])
    func dropRule(path: String, dropped: Bool) {
        #expect(RootfsTree.baseDrops(path.split(separator: "/").map { Array($0.utf8) }) == dropped)
    }
}
