import Archive
import EnclaveCore
import Foundation
import Nitro
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct CanonicalCPIOTests {
    static let sde: Int64 = 1_600_000_000

    /// Builds the same tree in a different creation order, with the modes a given umask gives and an mtime.
    ///
    /// The modes are set with chmod rather than by changing the process's umask: tests run in parallel in one
    /// process, and a umask set here would leak into files other tests create at the same moment (and theirs
    /// into these: seen once as a 0600 file in `matchesGNUCpioReproducible`).
    func makeTree(_ root: String, reversed: Bool, umask newMask: mode_t, mtime: Int) throws {
        let fm = FileManager.default
        var steps: [() throws -> Void] = [
            { try fm.createDirectory(atPath: root + "/usr/bin", withIntermediateDirectories: true) },
            { try Data("payload".utf8).write(to: URL(fileURLWithPath: root + "/usr/bin/tool")) },
            { try fm.createDirectory(atPath: root + "/etc", withIntermediateDirectories: true) },
            { try Data("a=b\n".utf8).write(to: URL(fileURLWithPath: root + "/etc/conf")) },
            { try fm.createSymbolicLink(atPath: root + "/etc/link", withDestinationPath: "conf") },
            { try Data().write(to: URL(fileURLWithPath: root + "/empty")) },
        ]
        if reversed { steps = [steps[0], steps[2]] + steps.dropFirst(3).reversed() + [steps[1]] }
        try fm.createDirectory(atPath: root, withIntermediateDirectories: true)
        for step in steps { try step() }
        for directory in ["", "/usr", "/usr/bin", "/etc"] { chmod(root + directory, 0o777 & ~newMask) }
        for file in ["/etc/conf", "/empty"] { chmod(root + file, 0o666 & ~newMask) }
        chmod(root + "/usr/bin/tool", 0o700 & ~newMask)
        // Set every mtime (symlinks too) at or above SOURCE_DATE_EPOCH.
        for path in ["usr/bin/tool", "usr/bin", "usr", "etc/conf", "etc/link", "etc", "empty"] {
            var times = [timespec(tv_sec: mtime, tv_nsec: 0), timespec(tv_sec: mtime, tv_nsec: 0)]
            utimensat(AT_FDCWD, root + "/" + path, &times, AT_SYMLINK_NOFOLLOW)
        }
    }

    @Test func sameTreeSameBytesWhateverOrderUmaskAndLaterMtimes() throws {
        let dir = try TestDirectory()
        try makeTree(dir.path + "/a", reversed: false, umask: 0o022, mtime: Int(Self.sde) + 10)
        try makeTree(dir.path + "/b", reversed: true, umask: 0o077, mtime: Int(Self.sde) + 999_999)
        let a = MemoryByteOutput()
        let b = MemoryByteOutput()
        try CanonicalCPIO.write(directory: dir.path + "/a", sourceDateEpoch: Self.sde, to: a)
        try CanonicalCPIO.write(directory: dir.path + "/b", sourceDateEpoch: Self.sde, to: b)
        #expect(a.bytes == b.bytes)
        let members = try CPIOListing.parse(a.bytes)
        #expect(
            members.map(\.name) == [
                "empty", "etc", "etc/conf", "etc/link", "usr", "usr/bin", "usr/bin/tool", "TRAILER!!!",
            ])
        #expect(members.dropLast().allSatisfy { $0.mtime == UInt32(Self.sde) && $0.uid == 0 && $0.gid == 0 })
        #expect(members.map(\.inode) == [0, 1, 2, 3, 4, 5, 6, 0])
        #expect(members.first { $0.name == "usr/bin/tool" }?.mode == 0o100755)
        #expect(members.first { $0.name == "etc/conf" }?.mode == 0o100644)
        #expect(a.bytes.count % 4 == 0)
    }

    @Test func earlierMtimesAreKept() throws {
        let dir = try TestDirectory()
        try makeTree(dir.path + "/t", reversed: false, umask: 0o022, mtime: 1_000)
        let out = MemoryByteOutput()
        try CanonicalCPIO.write(directory: dir.path + "/t", sourceDateEpoch: Self.sde, to: out)
        #expect(try CPIOListing.parse(out.bytes).dropLast().allSatisfy { $0.mtime == 1_000 })
    }

    /// Cross-check with Debian's GNU cpio 2.13 on the normalized tree: identical bytes, apart from GNU's
    /// padding of the output to a 512-byte block.
    @Test func matchesGNUCpioReproducible() throws {
        let dir = try TestDirectory()
        let root = dir.path + "/t"
        try makeTree(root, reversed: false, umask: 0o022, mtime: Int(Self.sde) - 5)
        let ours = MemoryByteOutput()
        try CanonicalCPIO.write(directory: root, sourceDateEpoch: Self.sde, to: ours)
        // Normalize the tree on disk the way the writer does (the tool was created 0700).
        chmod(root + "/usr/bin/tool", 0o755)
        let list = try ToolRunner.run("/usr/bin/find", [".", "-mindepth", "1", "-printf", "%P\\n"], in: root).stdout
        let names = list.split(separator: "\n").map(String.init)
            .sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        let gnu = try ToolRunner.run(
            "/usr/bin/cpio", ["-o", "-H", "newc", "-R", "0:0", "--reproducible"], in: root,
            stdin: Array((names.joined(separator: "\n") + "\n").utf8))
        #expect(gnu.status == 0)
        let gnuBytes = gnu.stdoutBytes
        #expect(gnuBytes.count % 512 == 0)
        #expect(gnuBytes.count >= ours.bytes.count)
        #expect(Array(gnuBytes.prefix(ours.bytes.count)) == ours.bytes)
        #expect(gnuBytes.dropFirst(ours.bytes.count).allSatisfy { $0 == 0 })
    }

    @Test func gnuCpioExtractsTheLinuxKitVectorToTheSameNames() throws {
        let listing = try ToolRunner.run(
            "/usr/bin/cpio", ["-i", "-t", "--quiet"], stdin: try Fixtures.bytes("customer-fake.cpio"))
        #expect(listing.status == 0)
        let gnuNames = listing.stdout.split(separator: "\n").map(String.init)
        let ours = try CPIOListing.parse(try Fixtures.bytes("customer-fake.cpio")).map(\.name).dropLast()
        #expect(gnuNames == Array(ours))
    }

    @Test(arguments: [
        (Array("070702".utf8) + Array(repeating: UInt8(ascii: "0"), count: 104), FormatError.Kind.badMagic),
        (Array("070701".utf8) + Array(repeating: UInt8(ascii: "g"), count: 104), .badValue),
        (Array("0707010000".utf8), .truncated),
    ])
    func listingRejectsBadArchives(bytes: [UInt8], kind: FormatError.Kind) {
        #expect { try CPIOListing.parse(bytes) } throws: {
            ($0 as? FormatError)?.kind == kind
        }
    }

    @Test func writerRejectsValuesThatDoNotFit() {
        let cpio = CPIOWriter(output: MemoryByteOutput(), profile: .linuxkit)
        let mtime = #expect(throws: FormatError.self) {
            try cpio.append(CPIOEntry(name: "old", type: .regular, permissions: 0o644, mtime: -1))
        }
        #expect(mtime?.kind == .unsupported)
        #expect(mtime?.message.contains("mtime -1 does not fit") == true)
        let short = #expect(throws: FormatError.self) {
            try cpio.append(
                CPIOEntry(name: "x", type: .regular, permissions: 0o644, mtime: 0, size: 3), data: .bytes([1]))
        }
        #expect(short?.kind == .badValue)
        #expect(short?.message.contains("header size 3 but 1 bytes of data") == true)
    }
}

@Suite struct DirectoryExportTests {
    /// A root that is a file, and a name that is not UTF-8, are the module's own typed errors naming the
    /// root (the command line adds the hint naming --rootfs or --image).
    @Test func notADirectoryAndNonUTF8NamesAreArchiveErrors() throws {
        let dir = try TestDirectory()
        try Data("x".utf8).write(to: URL(fileURLWithPath: dir.path + "/file"))
        let file = #expect(throws: ArchiveError.self) {
            try DirectoryExport(root: dir.path + "/file").forEachEntry { _ in }
        }
        #expect(file?.kind == .notADirectory)
        #expect(file?.description == "\(dir.path)/file: is not a directory; expected a root filesystem directory")

        let root = dir.path + "/root"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: false)
        // A file named "b" followed by the byte 0xFF, which no Swift String can spell.
        let touch = try ToolRunner.run("/bin/sh", ["-c", "touch \"$1$(printf '\\377')\"", "sh", root + "/b"])
        #expect(touch.status == 0)
        let name = #expect(throws: ArchiveError.self) { try DirectoryExport(root: root).forEachEntry { _ in } }
        #expect(name?.kind == .nameNotUTF8)
    }

    /// `--rootfs DIR` walks like `docker export`: sorted names per directory, directories first with a
    /// trailing slash, the first name of a hard-linked file in walk order is the file, sockets skipped.
    @Test func walkOrderHardLinksAndOwnModes() throws {
        let dir = try TestDirectory()
        let root = dir.path + "/root"
        let fm = FileManager.default
        try fm.createDirectory(atPath: root + "/b", withIntermediateDirectories: true)
        try Data("data".utf8).write(to: URL(fileURLWithPath: root + "/z"))
        chmod(root + "/z", 0o4750)
        #expect(link(root + "/z", root + "/b/first") == 0)
        try Data().write(to: URL(fileURLWithPath: root + "/b.txt"))
        #expect(mkfifo(root + "/fifo", 0o600) == 0)
        let seen = try exported(DirectoryExport(root: root))
        #expect(seen.map(\.name) == ["b/", "b/first", "b.txt", "fifo", "z"])
        #expect(seen[1].kind == "file")
        #expect(seen[1].content == "data")
        #expect(seen[1].mode == 0o4750)
        #expect(seen[4].kind == "hardlink")
        #expect(seen[4].content == "b/first")
        #expect(seen[3].kind == "fifo")
        let out = MemoryByteOutput()
        try LinuxKitRamdisk.writeApp(export: DirectoryExport(root: root), cmd: [], env: [], to: out)
        let z = try CPIOListing.parse(out.bytes).first { $0.name == "rootfs/z" }
        #expect(z?.mode == 0o124750)
        #expect(z?.data == Array("b/first".utf8))
    }
}
