import Archive
import EnclaveCore
import Foundation
import Nitro
import TestSupport
import Testing

/// A compact view of one export entry for comparisons.
struct Seen: Equatable, CustomStringConvertible {
    var name: String
    var kind: String
    var mode: UInt32
    var uid: UInt32 = 0
    var gid: UInt32 = 0
    var mtime: Int64 = 1_700_000_000
    var content: String = ""

    var description: String { "\(name) \(kind) \(String(mode, radix: 8)) \(uid):\(gid) \(mtime) \(content)" }
}

func exported(_ source: some ExportSource) throws -> [Seen] {
    var out: [Seen] = []
    try source.forEachEntry { e in
        var seen = Seen(
            name: String(decoding: e.name, as: UTF8.self), kind: "", mode: e.permissions, uid: e.uid, gid: e.gid,
            mtime: e.mtime)
        switch e.kind {
        case .directory: seen.kind = "dir"
        case .regular:
            seen.kind = "file"
            switch e.data {
            case .bytes(let b): seen.content = String(decoding: b, as: UTF8.self)
            case .file(let p): seen.content = String(decoding: (try? FileInput.contents(of: p)) ?? [], as: UTF8.self)
            case .fileRange(let p, let offset, let length):
                let bytes = (try? FileInput(path: p).read(at: offset, count: Int(length), format: "test")) ?? []
                seen.content = String(decoding: bytes, as: UTF8.self)
            case .none: break
            }
        case .symlink(let t): seen.kind = "symlink"; seen.content = String(decoding: t, as: UTF8.self)
        case .hardlink(let t): seen.kind = "hardlink"; seen.content = String(decoding: t, as: UTF8.self)
        case .characterDevice: seen.kind = "char"
        case .blockDevice: seen.kind = "block"
        case .fifo: seen.kind = "fifo"
        }
        out.append(seen)
    }
    return out
}

/// Flattens layers with Docker's init layer turned off, so each rule is seen alone.
func flattenLayers(_ layers: [TestTar], initLayer: Bool = false) throws -> [Seen] {
    let dir = try TestDirectory()
    var sources: [TarSource] = []
    for (i, layer) in layers.enumerated() {
        try dir.write("layer\(i).tar", layer.bytes)
        sources.append(TarSource(path: dir.path + "/layer\(i).tar"))
    }
    var options = FlattenOptions()
    options.addDockerInitLayer = initLayer
    options.temporaryDirectory = dir.path
    let image = try FlattenedImage(layers: sources, options: options)
    return try exported(image)
}

@Suite struct FlattenTests {
    let t = 1_700_000_000

    @Test func exportOrderIsALexicalWalkWithTrailingSlashes() throws {
        let layer = TestTar([
            TestTar.file("a.b", "x"), TestTar.dir("a"), TestTar.file("a/z", "z"), TestTar.file("a/b", "b"),
            TestTar.file("A", "upper"),
        ])
        let names = try flattenLayers([layer]).map(\.name)
        // Go's filepath.Walk: each directory's names sorted, then descended into ("a/" before "a.b").
        #expect(names == ["A", "a/", "a/b", "a/z", "a.b"])
    }

    @Test func whiteoutDeletesFromLowerLayers() throws {
        let lower = TestTar([TestTar.dir("etc"), TestTar.file("etc/a", "1"), TestTar.file("etc/b", "2")])
        let upper = TestTar([TestTar.dir("etc"), TestTar.file("etc/.wh.a", "")])
        #expect(try flattenLayers([lower, upper]).map(\.name) == ["etc/", "etc/b"])
    }

    @Test func whiteoutOfADirectoryRemovesItsSubtree() throws {
        let lower = TestTar([TestTar.dir("d"), TestTar.dir("d/e"), TestTar.file("d/e/f", "1"), TestTar.file("k", "")])
        let upper = TestTar([TestTar.file(".wh.d", "")])
        #expect(try flattenLayers([lower, upper]).map(\.name) == ["k"])
    }

    @Test func opaqueDirectoryHidesLowerContentButKeepsItsOwn() throws {
        let lower = TestTar([
            TestTar.dir("d"), TestTar.file("d/old", "1"), TestTar.dir("d/sub"), TestTar.file("d/sub/x", ""),
        ])
        let upper = TestTar([
            TestTar.dir("d", mode: 0o700, mtime: t + 5), TestTar.file("d/.wh..wh..opq", ""), TestTar.file("d/new", "2"),
        ])
        let seen = try flattenLayers([lower, upper])
        #expect(seen.map(\.name) == ["d/", "d/new"])
        #expect(seen[0].mode == 0o700)
        #expect(seen[0].mtime == Int64(t + 5))
    }

    @Test func hardLinkAcrossLayersFirstInWalkOrderIsTheFile() throws {
        let lower = TestTar([TestTar.dir("z"), TestTar.file("z/data", "payload", mode: 0o640, uid: 5, gid: 6)])
        let upper = TestTar([TestTar.dir("a"), TestTar.hardlink("a/link", "z/data")])
        let seen = try flattenLayers([lower, upper])
        #expect(
            seen == [
                Seen(name: "a/", kind: "dir", mode: 0o755),
                Seen(name: "a/link", kind: "file", mode: 0o640, uid: 5, gid: 6, content: "payload"),
                Seen(name: "z/", kind: "dir", mode: 0o755),
                Seen(name: "z/data", kind: "hardlink", mode: 0o640, uid: 5, gid: 6, content: "a/link"),
            ])
    }

    @Test func replacingOneNameOfAHardLinkPairBreaksThePair() throws {
        let lower = TestTar([TestTar.file("a", "one"), TestTar.hardlink("b", "a")])
        let upper = TestTar([TestTar.file("a", "two")])
        let seen = try flattenLayers([lower, upper])
        #expect(seen.map(\.kind) == ["file", "file"])
        #expect(seen.map(\.content) == ["two", "one"])
    }

    @Test func symlinksModesOwnersAndTimes() throws {
        var setuid = TestTar.file("bin/su", "x", mode: 0o4755, uid: 0, gid: 0)
        setuid.pax = [("mtime", "1700000123.75")]
        let layer = TestTar([
            TestTar.dir("bin"), setuid, TestTar.file("bin/sg", "y", mode: 0o2711, uid: 1000, gid: 50),
            TestTar.dir("tmp", mode: 0o1777), TestTar.symlink("sh", "bin/su"),
            TestTar.symlink("abs", "/etc/alternatives/x"),
        ])
        let seen = try flattenLayers([layer])
        #expect(
            seen == [
                Seen(name: "abs", kind: "symlink", mode: 0o777, content: "/etc/alternatives/x"),
                Seen(name: "bin/", kind: "dir", mode: 0o755),
                Seen(name: "bin/sg", kind: "file", mode: 0o2711, uid: 1000, gid: 50, content: "y"),
                Seen(name: "bin/su", kind: "file", mode: 0o4755, mtime: 1_700_000_123, content: "x"),
                Seen(name: "sh", kind: "symlink", mode: 0o777, content: "bin/su"),
                Seen(name: "tmp/", kind: "dir", mode: 0o1777),
            ])
    }

    /// Issue 13 item 7: Linux has no mode for a symbolic link (`lstat` says 0777), so `docker export` and
    /// nitro-cli's ramdisk show 0777 whatever the layer's header said.
    @Test(arguments: [UInt32(0o755), 0o644, 0o700, 0o777])
    func symlinkModeIs0777InTheAppRamdiskWhateverTheHeaderSays(headerMode: UInt32) throws {
        var link = TestTar.symlink("bin/sh", "busybox")
        link.mode = headerMode
        let layer = TestTar([TestTar.dir("bin"), TestTar.file("bin/busybox", "x", mode: 0o755), link])
        let dir = try TestDirectory()
        try dir.write("layer.tar", layer.bytes)
        var options = FlattenOptions()
        options.temporaryDirectory = dir.path
        let rootfs = try FlattenedImage(layers: [TarSource(path: dir.path + "/layer.tar")], options: options)
        let out = MemoryByteOutput()
        try LinuxKitRamdisk.writeApp(export: rootfs, cmd: Array("sh\n".utf8), env: [], to: out)
        let members = try CPIOListing.parse(out.bytes)
        let member = try #require(members.first { $0.name == "rootfs/bin/sh" })
        #expect(member.mode == 0o120777)
        #expect(member.data == Array("busybox".utf8))
        #expect(members.first { $0.name == "rootfs/bin/busybox" }?.mode == 0o100755)
    }

    /// Issue 13 item 8: `esc -> /` then `esc/tmp/file` in the same layer: Docker's chrooted extraction
    /// writes `tmp/file` and keeps `esc` a link (before the fix, `esc` became a directory).
    @Test func entryThroughSameLayerLinkLandsWhereTheLinkLeadsAndTheLinkStays() throws {
        let layer = TestTar([
            TestTar.dir("tmp", mode: 0o1777), TestTar.symlink("esc", "/"), TestTar.file("esc/tmp/file", "through"),
        ])
        let seen = try flattenLayers([layer])
        #expect(
            seen == [
                Seen(name: "esc", kind: "symlink", mode: 0o777, content: "/"),
                Seen(name: "tmp/", kind: "dir", mode: 0o1777),
                Seen(name: "tmp/file", kind: "file", mode: 0o644, content: "through"),
            ])
    }

    /// Relative targets, chains, `..` (clamped at the root as in a chroot) and missing directories after
    /// the link, all inside the root filesystem.
    @Test(arguments: [
        // (link entries, written name, where it lands)
        ([("lib", "usr/lib")], "lib/x/so", "usr/lib/x/so"),
        ([("a/up", "../usr")], "a/up/lib/so", "usr/lib/so"),
        ([("a/up", "/../../../usr")], "a/up/so", "usr/so"),
        ([("one", "two"), ("two", "/usr/./lib/../lib")], "one/so", "usr/lib/so"),
        ([("a/deep", "../../../../usr/lib")], "a/deep/so", "usr/lib/so"),
        ([("cur", ".")], "cur/cur/usr/so", "usr/so"),
    ])
    func linksAreResolvedInsideTheRoot(links: [(String, String)], name: String, lands: String) throws {
        var entries = [TestTar.dir("a"), TestTar.dir("usr"), TestTar.dir("usr/lib")]
        entries += links.map { TestTar.symlink($0.0, $0.1) }
        entries.append(TestTar.file(name, "payload"))
        let flattened = try flattenLayers([TestTar(entries)])
        #expect(flattened.filter { $0.kind == "file" }.map(\.name) == [lands])
        #expect(flattened.filter { $0.kind == "symlink" }.map(\.name).sorted() == links.map(\.0).sorted())
    }

    /// A link of this layer may lead into directories of lower layers (containerd resolves links in the
    /// merged tree and creates the missing directories below them, keeping the lower ones' metadata).
    @Test func sameLayerLinkIntoALowerLayerDirectory() throws {
        let lower = TestTar([
            TestTar.dir("usr", mode: 0o755, mtime: t + 1), TestTar.dir("usr/lib", mode: 0o750, uid: 3),
            TestTar.file("usr/lib/old.so", "o"),
        ])
        let upper = TestTar([TestTar.symlink("lib", "usr/lib"), TestTar.file("lib/x/new.so", "n")])
        #expect(
            try flattenLayers([lower, upper]) == [
                Seen(name: "lib", kind: "symlink", mode: 0o777, content: "usr/lib"),
                Seen(name: "usr/", kind: "dir", mode: 0o755, mtime: Int64(t + 1)),
                Seen(name: "usr/lib/", kind: "dir", mode: 0o750, uid: 3),
                Seen(name: "usr/lib/old.so", kind: "file", mode: 0o644, content: "o"),
                Seen(name: "usr/lib/x/", kind: "dir", mode: 0o755, mtime: 0),
                Seen(name: "usr/lib/x/new.so", kind: "file", mode: 0o644, content: "n"),
            ])
    }

    /// A whiteout or an opaque marker through a link of the same layer removes at the link's target.
    @Test func whiteoutsThroughASameLayerLinkActOnTheTarget() throws {
        let lower = TestTar([
            TestTar.dir("data"), TestTar.file("data/old", "1"), TestTar.file("data/keep", "2"), TestTar.dir("opq"),
            TestTar.file("opq/gone", "3"),
        ])
        let upper = TestTar([
            TestTar.symlink("d", "data"), TestTar.file("d/.wh.old", ""), TestTar.symlink("o", "/opq"),
            TestTar.file("o/.wh..wh..opq", ""), TestTar.file("o/new", "4"),
        ])
        #expect(
            try flattenLayers([lower, upper]).map(\.name) == ["d", "data/", "data/keep", "o", "opq/", "opq/new"])
    }

    /// A link from a lower layer on an entry's parent path: Docker's storage drivers disagree (overlay2
    /// hides the link behind a new directory stamped with the pull time, vfs writes through it), so the
    /// layer is refused instead of silently turning the link into a directory; whiteouts too.
    @Test(arguments: ["esc/tmp/file", "esc/tmp/.wh.old", "esc/.wh..wh..opq", "esc/tmp/"])
    func entryThroughALowerLayerLinkIsRefused(name: String) throws {
        let lower = TestTar([TestTar.dir("tmp"), TestTar.file("tmp/old", ""), TestTar.symlink("esc", "/")])
        let upper = TestTar([name.hasSuffix("/") ? TestTar.dir(name) : TestTar.file(name, "")])
        #expect {
            try flattenLayers([lower, upper])
        } throws: { error in
            guard let error = error as? FormatError else { return false }
            return error.kind == .unsupported && "\(error)".contains("symbolic link esc -> / from a lower layer")
        }
    }

    /// Loops end with an error (the kernel's ELOOP), dangling links and links to files are refused.
    @Test(arguments: [
        ([("a", "b"), ("b", "a")], "a/file", FormatError.Kind.unsafePath),
        ([("self", "self")], "self/x/file", .unsafePath),
        ([("gone", "/nowhere")], "gone/file", .missing),
        ([("f", "file")], "f/x", .missing),
    ])
    func linkLoopsAndDeadEndsAreRefused(links: [(String, String)], name: String, kind: FormatError.Kind) throws {
        let layer = TestTar(
            [TestTar.file("file", "")] + links.map { TestTar.symlink($0.0, $0.1) } + [TestTar.file(name, "")])
        #expect {
            try flattenLayers([layer])
        } throws: { error in
            (error as? FormatError)?.kind == kind
        }
    }

    @Test func fileReplacedByDirectoryAndDirectoryByFile() throws {
        let lower = TestTar([TestTar.file("x", "file"), TestTar.dir("y"), TestTar.file("y/inner", "")])
        let upper = TestTar([
            TestTar.dir("x", mode: 0o750), TestTar.file("x/child", "c"), TestTar.file("y", "now a file"),
        ])
        let seen = try flattenLayers([lower, upper])
        #expect(seen.map(\.name) == ["x/", "x/child", "y"])
        #expect(seen[0].mode == 0o750)
        #expect(seen[2].content == "now a file")
    }

    @Test func directoryReappearingMergesAndTakesUpperMetadata() throws {
        let lower = TestTar([TestTar.dir("opt", mode: 0o755, uid: 1), TestTar.file("opt/a", "a")])
        let upper = TestTar([TestTar.dir("opt", mode: 0o700, uid: 2, mtime: t + 9), TestTar.file("opt/b", "b")])
        let seen = try flattenLayers([lower, upper])
        #expect(seen.map(\.name) == ["opt/", "opt/a", "opt/b"])
        #expect(seen[0] == Seen(name: "opt/", kind: "dir", mode: 0o700, uid: 2, mtime: Int64(t + 9)))
    }

    @Test func dockerInitLayerEntries() throws {
        let layer = TestTar([
            TestTar.dir("etc", mode: 0o700, uid: 9), TestTar.file("etc/hosts", "image hosts"), TestTar.file("app", ""),
        ])
        let seen = try flattenLayers([layer], initLayer: true)
        #expect(
            seen.map(\.name) == [
                ".dockerenv", "app", "dev/", "dev/console", "dev/pts/", "dev/shm/", "etc/", "etc/hostname", "etc/hosts",
                "etc/mtab", "etc/resolv.conf", "proc/", "sys/",
            ])
        let byName = Dictionary(seen.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        #expect(byName["etc/"]?.mode == 0o755)
        #expect(byName["etc/"]?.uid == 0)
        #expect(byName["etc/hosts"]?.content == "")
        #expect(byName["etc/hosts"]?.mode == 0o755)
        #expect(byName["etc/mtab"]?.content == "/proc/mounts")
    }

    @Test(arguments: [
        ("../evil", FormatError.Kind.unsafePath), ("/etc/passwd", .unsafePath), ("a/../../b", .unsafePath),
    ])
    func unsafeNamesAreRejected(name: String, kind: FormatError.Kind) throws {
        let layer = TestTar([TestTar.file(name, "x")])
        #expect {
            try flattenLayers([layer])
        } throws: { error in
            (error as? FormatError)?.kind == kind
        }
    }

    @Test func escapingSymlinkIsKeptAndDanglingHardLinkAndDevicesAreRejected() throws {
        // Docker's chrooted extraction keeps such a link; resolving it stops at the root.
        let escaping = TestTar([TestTar.dir("a"), TestTar.symlink("a/up", "../../etc")])
        #expect(
            try flattenLayers([escaping]).last == Seen(name: "a/up", kind: "symlink", mode: 0o777, content: "../../etc")
        )
        let dangling = TestTar([TestTar.hardlink("b", "missing")])
        #expect { try flattenLayers([dangling]) } throws: { ($0 as? FormatError)?.kind == .missing }
        let escapingHardlink = TestTar([TestTar.file("a", "1"), TestTar.hardlink("b", "../a")])
        #expect { try flattenLayers([escapingHardlink]) } throws: { ($0 as? FormatError)?.kind == .unsafePath }
        let device = TestTar([TestTar.Entry(name: "dev/null", kind: .char, mode: 0o666, devMajor: 1, devMinor: 3)])
        #expect { try flattenLayers([device]) } throws: { ($0 as? FormatError)?.kind == .unsupported }
    }

    @Test func truncatedLayerIsAnError() throws {
        let layer = TestTar([TestTar.file("big", String(repeating: "x", count: 5000))])
        let cut = TestTar(bytes: Array(layer.bytes.prefix(2048)))
        let error = #expect(throws: FormatError.self) { try flattenLayers([cut]) }
        #expect(error?.kind == .truncated)
        #expect(error?.format == "tar")
        #expect(error?.message.contains("Truncated input") == true)
    }

    @Test func temporaryDirectoryIsRemovedOnSuccessAndFailure() throws {
        let dir = try TestDirectory()
        try dir.write("good.tar", TestTar([TestTar.file("a", "1")]).bytes)
        try dir.write("bad.tar", TestTar([TestTar.file("b", "2"), TestTar.file("../c", "3")]).bytes)
        var options = FlattenOptions()
        options.temporaryDirectory = dir.path
        do {
            let image = try FlattenedImage(layers: [TarSource(path: dir.path + "/good.tar")], options: options)
            #expect(try dir.list().count == 3)
            _ = image
        }
        #expect(try dir.list() == ["bad.tar", "good.tar"])
        let error = #expect(throws: FormatError.self) {
            try FlattenedImage(
                layers: [TarSource(path: dir.path + "/good.tar"), TarSource(path: dir.path + "/bad.tar")],
                options: options)
        }
        #expect(error?.kind == .unsafePath)
        #expect(error?.file?.hasSuffix("/bad.tar") == true)
        #expect(error?.message.contains("\"../c\"") == true)
        #expect(try dir.list() == ["bad.tar", "good.tar"])
    }
}

extension TestTar {
    init(bytes: [UInt8]) {
        self.init()
        self.bytes = bytes
    }
}

@Suite struct TarNameTests {
    /// PAX UTF-8 names (Go's archive/tar writes them for non-ASCII names) come out as their UTF-8 bytes,
    /// and raw non-UTF-8 ustar names as their raw bytes, whatever the process locale.
    @Test func nonASCIINamesKeepTheirBytes() throws {
        var pax = TestTar.file("ignored", "1")
        pax.pax = [("path", "café/ünï.txt")]
        var raw = TestTar()
        raw.bytes = []
        raw.append(pax)
        raw.append(TestTar.file("plain", "2"))
        raw.finish()
        // Patch the second header's name to a Latin-1 byte (0xE9), fixing its checksum.
        var bytes = raw.bytes
        let header = bytes.count - 1024 - 1024
        bytes[header] = 0xE9
        var sum = 0
        for i in header..<(header + 512) { sum += (148..<156).contains(i - header) ? 32 : Int(bytes[i]) }
        let octal = Array((String(repeating: "0", count: 6 - String(sum, radix: 8).count) + String(sum, radix: 8)).utf8)
        for (i, b) in octal.enumerated() { bytes[header + 148 + i] = b }
        let reader = try TarReader(TarSource(bytes: bytes))
        var names: [[UInt8]] = []
        while let entry = try reader.next() { names.append(entry.path) }
        #expect(names == [Array("café/ünï.txt".utf8), [0xE9] + Array("lain".utf8)])
    }
}

@Suite struct InPlaceDataTests {
    /// Uncompressed layers are read in place (data offsets from libarchive): GNU long names and PAX
    /// headers before a member must not shift its data. Compared with the same layer gzip-compressed,
    /// whose data goes through libarchive's own reading.
    @Test(arguments: ["gnu", "pax", "ustar"])
    func offsetsMatchLibarchiveReading(format: String) throws {
        let dir = try TestDirectory()
        let root = dir.path + "/root"
        let long = String(repeating: "n", count: 120)
        try FileManager.default.createDirectory(atPath: root + "/d", withIntermediateDirectories: true)
        for (i, name) in ["a", "d/" + (format == "ustar" ? "b" : long), "d/c"].enumerated() {
            let text = String(repeating: "\(i)", count: 700 * (i + 1))
            try Data(text.utf8).write(to: URL(fileURLWithPath: root + "/" + name))
        }
        let tar = dir.path + "/l.tar"
        #expect(
            try ToolRunner.run("/bin/tar", ["--format=\(format)", "--sort=name", "-cf", tar, "-C", root, "."]).status
                == 0)
        #expect(try ToolRunner.run("/bin/gzip", ["-k", "-n", tar]).status == 0)
        var options = FlattenOptions()
        options.addDockerInitLayer = false
        let plain = try FlattenedImage(layers: [TarSource(path: tar)], options: options)
        let packed = try FlattenedImage(layers: [TarSource(path: tar + ".gz")], options: options)
        var ranges = 0
        try plain.forEachEntry { if case .fileRange = $0.data { ranges += 1 } }
        #expect(ranges == 3)
        let a = try exported(plain).map { Seen(name: $0.name, kind: $0.kind, mode: $0.mode, content: $0.content) }
        let b = try exported(packed).map { Seen(name: $0.name, kind: $0.kind, mode: $0.mode, content: $0.content) }
        #expect(a == b)
        #expect(a.contains { $0.content == String(repeating: "2", count: 2100) })
    }
}

@Suite struct TarReaderErrorTests {
    /// Found by mutation fuzzing: a failed open freed the libarchive handle twice.
    @Test(arguments: [[UInt8](repeating: 0x41, count: 700), [0x1F, 0x8B, 0x08, 0x00], []])
    func unrecognizedInputThrows(bytes: [UInt8]) {
        let error = #expect(throws: FormatError.self) {
            let reader = try TarReader(TarSource(bytes: bytes))
            while try reader.next() != nil {}
        }
        #expect(error?.kind == .badMagic)
        #expect(error?.format == "tar")
        #expect(error?.message.contains("Unrecognized archive format") == true)
    }
}
