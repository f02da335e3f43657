import Archive
import EnclaveCore
import Foundation
import Nitro
import TestSupport
import Testing

/// Parses `rootfs-spec.json` (the tar entries of a `docker export`, in order) into export entries.
/// The fixture is a copy of the shared Nitro vector inputs.
func exportEntries(fromSpec name: String) throws -> [ExportEntry] {
    let json = try JSONSerialization.jsonObject(with: Data(try Fixtures.bytes(name)))
    guard let list = json as? [[String: Any]] else { throw TestFailure("bad spec") }
    return try list.map { item in
        guard let name = item["name"] as? String, let type = item["type"] as? String,
            let modeText = item["mode"] as? String, let mode = UInt32(modeText, radix: 8),
            let uid = item["uid"] as? Int, let gid = item["gid"] as? Int, let mtime = item["mtime"] as? Int
        else { throw TestFailure("bad spec entry \(item)") }
        let data = Array(((item["data"] as? String) ?? "").utf8)
        let kind: ExportEntry.Kind
        switch type {
        case "dir": kind = .directory
        case "reg": kind = .regular
        case "symlink": kind = .symlink(target: Array(((item["linkname"] as? String) ?? "").utf8))
        case "link": kind = .hardlink(target: Array(((item["linkname"] as? String) ?? "").utf8))
        default: throw TestFailure("unknown type \(type)")
        }
        return ExportEntry(
            name: name, kind: kind, permissions: mode, uid: UInt32(uid), gid: UInt32(gid), mtime: Int64(mtime),
            size: kind == .regular ? UInt64(data.count) : 0, data: kind == .regular ? .bytes(data) : .none)
    }
}

@Suite struct LinuxKitRamdiskTests {
    @Test func bootstrapVectorByteForByte() throws {
        let out = MemoryByteOutput()
        try LinuxKitRamdisk.writeBootstrap(
            initPath: Fixtures.path("init.bin"), nsmPath: Fixtures.path("nsm.ko"), to: out)
        let expected = try Fixtures.bytes("bootstrap-fake.cpio")
        #expect(out.bytes == expected)
        // sha384 published in the vectors README, computed independently of this writer.
        #expect(
            Digest.sha384(out.bytes).hex
                == "174dedd73237f89f05e0f2009c600d30f4fb8e86bc286969cddae1f7ef33e5d87a39a294541b9eaaaad38c047dd1da09")
    }

    @Test func appVectorByteForByte() throws {
        let out = MemoryByteOutput()
        try LinuxKitRamdisk.writeApp(
            export: ExportList(try exportEntries(fromSpec: "rootfs-spec.json")), cmd: try Fixtures.bytes("cmd"),
            env: try Fixtures.bytes("env"), to: out)
        #expect(out.bytes == (try Fixtures.bytes("customer-fake.cpio")))
        #expect(
            Digest.sha384(out.bytes).hex
                == "236556e08d2186a8ce75e5862397f82987316dea80e8225c23006bb53daf6cde48be4a5f5e9035f88f04fec1dd74d19e")
    }

    @Test func bootstrapFileOutputIsAtomicAndMatches() throws {
        let dir = try TestDirectory()
        let path = dir.path + "/bootstrap.cpio"
        try LinuxKitRamdisk.writeBootstrap(
            initPath: Fixtures.path("init.bin"), nsmPath: Fixtures.path("nsm.ko"), to: path)
        #expect(try FileInput.contents(of: path) == (try Fixtures.bytes("bootstrap-fake.cpio")))
        // A missing blob: an error naming it and no output file.
        let missing = dir.path + "/missing.cpio"
        let error = #expect(throws: SystemError.self) {
            try LinuxKitRamdisk.writeBootstrap(
                initPath: dir.path + "/nope", nsmPath: Fixtures.path("nsm.ko"), to: missing)
        }
        #expect(error?.errno == ENOENT)
        #expect(error?.path == dir.path + "/nope")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["bootstrap.cpio"])
    }

    /// linuxkit's rules one by one: drops, replacements, touch list, hard links as relative symlinks.
    @Test func linuxkitRulesOnASyntheticExport() throws {
        let t: Int64 = 1_600_000_000
        let entries: [ExportEntry] = [
            ExportEntry(name: ".dockerenv", kind: .regular, permissions: 0o755, mtime: t),
            ExportEntry(name: "Dockerfile", kind: .regular, permissions: 0o644, mtime: t),
            ExportEntry(name: "dev/", kind: .directory, permissions: 0o755, mtime: t),
            ExportEntry(name: "dev/console", kind: .regular, permissions: 0o755, mtime: t),
            ExportEntry(name: "dev/pts/", kind: .directory, permissions: 0o755, mtime: t),
            ExportEntry(name: "etc/hosts", kind: .regular, permissions: 0o755, uid: 7, gid: 8, mtime: t),
            ExportEntry(
                name: "etc/mtab", kind: .symlink(target: Array("/proc/mounts".utf8)), permissions: 0o777, mtime: t),
            ExportEntry(name: "proc/", kind: .directory, permissions: 0o555, mtime: t),
            ExportEntry(
                name: "usr/bin/a", kind: .regular, permissions: 0o4755, uid: 1, gid: 2, mtime: t, size: 3,
                data: .bytes([1, 2, 3])),
            ExportEntry(
                name: "usr/bin/b", kind: .hardlink(target: Array("usr/bin/a".utf8)), permissions: 0o4755, mtime: t),
            ExportEntry(
                name: "usr/lib/c", kind: .hardlink(target: Array("usr/bin/a".utf8)), permissions: 0o644, mtime: t),
            ExportEntry(name: "z", kind: .hardlink(target: Array("usr/bin/a".utf8)), permissions: 0o644, mtime: t),
        ]
        let out = MemoryByteOutput()
        try LinuxKitRamdisk.writeApp(export: ExportList(entries), cmd: [], env: [], to: out)
        let members = try CPIOListing.parse(out.bytes)
        let names = members.map(\.name)
        #expect(
            names == [
                "rootfs", "rootfs/dev/", "rootfs/dev/pts/", "rootfs/etc/hosts", "rootfs/etc/mtab", "rootfs/proc/",
                "rootfs/usr/bin/a", "rootfs/usr/bin/b", "rootfs/usr/lib/c", "rootfs/z",
                // touch entries the export lacked, sorted by key
                "rootfs/dev/shm", "rootfs/etc", "rootfs/etc/resolv.conf", "rootfs/sys",
                "rootfs", "rootfs/dev", "rootfs/run", "rootfs/sys", "rootfs/var", "rootfs/proc", "rootfs/tmp", "cmd",
                "env",
                "TRAILER!!!",
            ])
        let byName = Dictionary(members.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        #expect(byName["rootfs/dev/"]?.mtime == 1_492_533_000)
        #expect(byName["rootfs/proc/"]?.mode == 0o040555)
        #expect(byName["rootfs/etc/hosts"]?.data == LinuxKitRamdisk.hostsFile)
        #expect(byName["rootfs/etc/hosts"]?.mode == 0o100755)
        #expect(byName["rootfs/etc/hosts"]?.uid == 7)
        #expect(byName["rootfs/usr/bin/a"]?.mtime == UInt32(t))
        #expect(byName["rootfs/usr/bin/a"]?.mode == 0o104755)
        #expect(byName["rootfs/usr/bin/b"]?.data == Array("a".utf8))
        #expect(byName["rootfs/usr/bin/b"]?.mode == 0o124755)
        #expect(byName["rootfs/usr/lib/c"]?.data == Array("../bin/a".utf8))
        #expect(byName["rootfs/z"]?.data == Array("usr/bin/a".utf8))
        #expect(byName["rootfs/etc/resolv.conf"]?.data == LinuxKitRamdisk.resolvConfTarget)
        #expect(byName["rootfs/etc/resolv.conf"]?.mode == 0o120644)
        #expect(out.bytes.count % 512 == 0)
        #expect(members.map(\.inode) == Array(721..<(721 + UInt32(members.count))))
    }
}
