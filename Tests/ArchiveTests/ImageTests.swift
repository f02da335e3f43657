import Archive
import EnclaveCore
import Foundation
import Nitro
import TestSupport
import Testing

@Suite struct ImageTests {
    static let base = TestTar([
        TestTar.dir("bin"), TestTar.file("bin/app", "#!/bin/sh\necho hi\n", mode: 0o755), TestTar.dir("etc"),
        TestTar.file("etc/os-release", "ID=test\n"), TestTar.file("etc/hosts", "10.0.0.1 image\n"),
    ])
    static let top = TestTar([TestTar.dir("etc"), TestTar.file("etc/.wh.os-release", ""), TestTar.file("data", "d")])

    func write(_ bytes: [UInt8], in dir: TestDirectory, _ name: String = "image.tar") throws -> String {
        try dir.write(name, bytes)
        return dir.path + "/" + name
    }

    @Test func dockerArchiveToAppRamdisk() throws {
        let dir = try TestDirectory()
        let image = TestImage(layers: [Self.base.bytes, Self.top.bytes], cmd: ["/bin/app", "--flag"])
        let path = try write(image.dockerArchive(), in: dir)
        let opened = try ContainerImage.open(path: path)
        #expect(opened.layout == .dockerArchive)
        #expect(opened.layers.count == 2)
        #expect(opened.config.architecture == "amd64")
        let out = dir.path + "/app.cpio"
        try LinuxKitRamdisk.writeApp(image: opened, to: out)
        let members = try CPIOListing.parse(try FileInput.contents(of: out))
        #expect(
            members.map(\.name) == [
                "rootfs", "rootfs/bin/", "rootfs/bin/app", "rootfs/data", "rootfs/dev/", "rootfs/dev/pts/",
                "rootfs/dev/shm/", "rootfs/etc/", "rootfs/etc/hosts", "rootfs/etc/mtab", "rootfs/etc/resolv.conf",
                "rootfs/proc/", "rootfs/sys/", "rootfs", "rootfs/dev", "rootfs/run", "rootfs/sys", "rootfs/var",
                "rootfs/proc", "rootfs/tmp", "cmd", "env", "TRAILER!!!",
            ])
        let byName = Dictionary(members.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        #expect(byName["cmd"]?.data == Array("/bin/app\n--flag\n".utf8))
        #expect(byName["env"]?.data == Array("PATH=/usr/bin:/bin\n".utf8))
        #expect(byName["rootfs/bin/app"]?.mtime == 1_700_000_000)
        #expect(byName["rootfs/etc/hosts"]?.data == LinuxKitRamdisk.hostsFile)
        #expect(byName["rootfs/etc/hosts"]?.mode == 0o100755)  // Docker's init-layer file mode
        #expect(byName["rootfs/etc/mtab"]?.mode == 0o120777)
        #expect(byName["rootfs/etc/resolv.conf"]?.mode == 0o120755)
        // Same input, same bytes.
        let again = dir.path + "/again.cpio"
        try LinuxKitRamdisk.writeApp(image: try ContainerImage.open(path: path), to: again)
        #expect(try FileInput.contents(of: again) == (try FileInput.contents(of: out)))
    }

    @Test(arguments: [
        (["/c"] as [String]?, ["/e"] as [String]?, "/c\n"), (nil, ["/e", "x y"], "/e\nx y\n"), ([], ["/e"], ""),
    ])
    func cmdIsCmdElseEntrypoint(cmd: [String]?, entrypoint: [String]?, expected: String) throws {
        let dir = try TestDirectory()
        let image = TestImage(layers: [Self.base.bytes], cmd: cmd, entrypoint: entrypoint, env: nil)
        let opened = try ContainerImage.open(path: try write(image.dockerArchive(), in: dir))
        #expect(try opened.config.cmdFile() == Array(expected.utf8))
        #expect(opened.config.envFile() == [])
    }

    @Test func noCmdAndNoEntrypointIsAnErrorAndWritesNothing() throws {
        let dir = try TestDirectory()
        let image = TestImage(layers: [Self.base.bytes], cmd: nil, entrypoint: nil)
        let opened = try ContainerImage.open(path: try write(image.dockerArchive(), in: dir))
        let error = #expect(throws: ArchiveError.self) {
            try LinuxKitRamdisk.writeApp(image: opened, to: dir.path + "/out.cpio")
        }
        #expect(error?.kind == .noCommand)
        #expect(try dir.list() == ["image.tar"])
    }

    @Test func gzipAndZstdLayersAreReadAndCheckedAgainstDiffIDs() throws {
        let dir = try TestDirectory()
        try dir.write("l0.tar", Self.base.bytes)
        try dir.write("l1.tar", Self.top.bytes)
        #expect(try ToolRunner.run("/bin/gzip", ["-n", "-k", dir.path + "/l0.tar"]).status == 0)
        let zstd = FileManager.default.isExecutableFile(atPath: "/usr/bin/zstd")
        if zstd { #expect(try ToolRunner.run("/usr/bin/zstd", ["-q", dir.path + "/l1.tar"]).status == 0) }
        let l0 = try FileInput.contents(of: dir.path + "/l0.tar.gz")
        let l1 = zstd ? try FileInput.contents(of: dir.path + "/l1.tar.zst") : Self.top.bytes
        let image = TestImage(layers: [Self.base.bytes, Self.top.bytes])
        let bytes = image.dockerArchive { members, _ in
            members[1].1 = l0
            members[2].1 = l1
        }
        let opened = try ContainerImage.open(path: try write(bytes, in: dir))
        let plain = try ContainerImage.open(path: try write(image.dockerArchive(), in: dir, "plain.tar"))
        #expect(try exported(try opened.flatten()) == (try exported(try plain.flatten())))
    }

    @Test func layerDigestMismatchIsRejected() throws {
        let dir = try TestDirectory()
        let image = TestImage(layers: [Self.base.bytes])
        let bytes = image.dockerArchive { members, _ in
            members[1].1 = TestTar([TestTar.file("evil", "x")]).bytes
        }
        #expect { try ContainerImage.open(path: try write(bytes, in: dir)) } throws: {
            ($0 as? FormatError)?.kind == .digestMismatch
        }
    }

    @Test func configDigestMismatchIsRejected() throws {
        let dir = try TestDirectory()
        let image = TestImage(layers: [Self.base.bytes])
        let bytes = image.dockerArchive { members, _ in
            members[0].1 += Array(" ".utf8)
        }
        #expect { try ContainerImage.open(path: try write(bytes, in: dir)) } throws: {
            ($0 as? FormatError)?.kind == .digestMismatch
        }
    }

    @Test func missingLayerIsRejected() throws {
        let dir = try TestDirectory()
        let bytes = TestImage(layers: [Self.base.bytes]).dockerArchive { members, _ in members.remove(at: 1) }
        #expect { try ContainerImage.open(path: try write(bytes, in: dir)) } throws: {
            ($0 as? FormatError)?.kind == .missing
        }
    }

    @Test(arguments: ["../outside/layer.tar", "/etc/passwd"])
    func manifestPointingOutsideTheArchiveIsRejected(layerPath: String) throws {
        let dir = try TestDirectory()
        let bytes = TestImage(layers: [Self.base.bytes]).dockerArchive { _, manifest in
            manifest["Layers"] = [layerPath]
        }
        #expect { try ContainerImage.open(path: try write(bytes, in: dir)) } throws: {
            ($0 as? FormatError)?.kind == .unsafePath
        }
    }

    @Test func truncatedTarballIsRejected() throws {
        let dir = try TestDirectory()
        let bytes = TestImage(layers: [Self.base.bytes]).dockerArchive()
        let path = try write(Array(bytes.prefix(bytes.count - 3000)), in: dir)
        let error = #expect(throws: FormatError.self) { try ContainerImage.open(path: path) }
        #expect(error?.kind == .truncated, "\(String(describing: error))")
        #expect(error?.file == path, "\(String(describing: error))")
    }

    @Test func layerWithUnsafeEntryFailsWithoutOutput() throws {
        let dir = try TestDirectory()
        let bad = TestTar([TestTar.file("ok", "1"), TestTar.file("../../../etc/shadow", "x")])
        let image = TestImage(layers: [Self.base.bytes, bad.bytes])
        let opened = try ContainerImage.open(path: try write(image.dockerArchive(), in: dir))
        #expect { try LinuxKitRamdisk.writeApp(image: opened, to: dir.path + "/out.cpio") } throws: {
            ($0 as? FormatError)?.kind == .unsafePath
        }
        #expect(try dir.list() == ["image.tar"])
    }

    @Test func ociLayoutDirectoryAndTarball() throws {
        let dir = try TestDirectory()
        let layout = dir.path + "/layout"
        try FileManager.default.createDirectory(atPath: layout + "/blobs/sha256", withIntermediateDirectories: true)
        func blob(_ bytes: [UInt8]) throws -> [String: Any] {
            let hex = Digest.sha256(bytes).hex
            try Data(bytes).write(to: URL(fileURLWithPath: layout + "/blobs/sha256/" + hex))
            return ["mediaType": "application/octet-stream", "digest": "sha256:" + hex, "size": bytes.count]
        }
        let image = TestImage(layers: [Self.base.bytes, Self.top.bytes], entrypoint: ["/bin/app"])
        let config = image.configJSON(diffIDs: image.layers.map { "sha256:" + Digest.sha256($0).hex })
        let manifest: [String: Any] = [
            "schemaVersion": 2, "config": try blob(config), "layers": try image.layers.map { try blob($0) },
        ]
        let manifestBytes = Array(try JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys]))
        var manifestDescriptor = try blob(manifestBytes)
        manifestDescriptor["platform"] = ["os": "linux", "architecture": "amd64"]
        let index: [String: Any] = ["schemaVersion": 2, "manifests": [manifestDescriptor]]
        try JSONSerialization.data(withJSONObject: index).write(to: URL(fileURLWithPath: layout + "/index.json"))
        try Data(#"{"imageLayoutVersion":"1.0.0"}"#.utf8).write(to: URL(fileURLWithPath: layout + "/oci-layout"))

        let fromDir = try ContainerImage.open(path: layout)
        #expect(fromDir.layout == .ociLayout)
        let docker = try ContainerImage.open(path: try write(image.dockerArchive(), in: dir))
        #expect(try exported(try fromDir.flatten()) == (try exported(try docker.flatten())))

        #expect(try ToolRunner.run("/bin/tar", ["-cf", dir.path + "/oci.tar", "-C", layout, "."]).status == 0)
        let fromTar = try ContainerImage.open(path: dir.path + "/oci.tar")
        #expect(try exported(try fromTar.flatten()) == (try exported(try docker.flatten())))

        // A corrupted layer blob is caught by its descriptor digest.
        let layerHex = Digest.sha256(Self.top.bytes).hex
        try Data(Self.base.bytes).write(to: URL(fileURLWithPath: layout + "/blobs/sha256/" + layerHex))
        #expect { try ContainerImage.open(path: layout) } throws: { ($0 as? FormatError)?.kind == .digestMismatch }
    }
}

@Suite struct DockerArchiveLayoutTests {
    /// Older `docker save` links identical layers with a symlink member; kaniko names the config
    /// `sha256:<hex>`. Both resolve inside the archive, and the config digest is still checked.
    @Test func symlinkedLayerAndDigestNamedConfig() throws {
        let dir = try TestDirectory()
        let layer = ImageTests.base.bytes
        let diff = "sha256:" + Digest.sha256(layer).hex
        let image = TestImage(layers: [layer, layer])
        let config = image.configJSON(diffIDs: [diff, diff])
        let configName = "sha256:" + Digest.sha256(config).hex
        let manifest = try JSONSerialization.data(withJSONObject: [
            ["Config": configName, "Layers": ["one/layer.tar", "two/layer.tar"]]
        ])
        var outer = TestTar()
        outer.bytes = []
        outer.append(TestTar.Entry(name: configName, data: config))
        outer.append(TestTar.Entry(name: "one/layer.tar", data: layer))
        outer.append(TestTar.symlink("two/layer.tar", "../one/layer.tar"))
        outer.append(TestTar.Entry(name: "manifest.json", data: Array(manifest)))
        outer.finish()
        try dir.write("image.tar", outer.bytes)
        let opened = try ContainerImage.open(path: dir.path + "/image.tar")
        #expect(opened.layers.count == 2)
        #expect(try exported(try opened.flatten()).contains { $0.name == "bin/app" })

        // The same archive with a config whose bytes do not match its name.
        var tampered = TestTar()
        tampered.bytes = []
        tampered.append(TestTar.Entry(name: configName, data: config + Array(" ".utf8)))
        tampered.append(TestTar.Entry(name: "one/layer.tar", data: layer))
        tampered.append(TestTar.symlink("two/layer.tar", "../../outside.tar"))
        tampered.append(TestTar.Entry(name: "manifest.json", data: Array(manifest)))
        tampered.finish()
        try dir.write("bad.tar", tampered.bytes)
        #expect { try ContainerImage.open(path: dir.path + "/bad.tar") } throws: {
            ($0 as? FormatError)?.kind == .digestMismatch
        }
    }

    @Test func linkLeavingTheArchiveIsRejected() throws {
        let dir = try TestDirectory()
        let layer = ImageTests.base.bytes
        let diff = "sha256:" + Digest.sha256(layer).hex
        let config = TestImage(layers: [layer]).configJSON(diffIDs: [diff])
        let manifest = try JSONSerialization.data(withJSONObject: [["Config": "c.json", "Layers": ["l/layer.tar"]]])
        var outer = TestTar()
        outer.bytes = []
        outer.append(TestTar.Entry(name: "c.json", data: config))
        outer.append(TestTar.symlink("l/layer.tar", "../../etc/passwd"))
        outer.append(TestTar.Entry(name: "manifest.json", data: Array(manifest)))
        outer.finish()
        try dir.write("image.tar", outer.bytes)
        #expect { try ContainerImage.open(path: dir.path + "/image.tar") } throws: {
            ($0 as? FormatError)?.kind == .unsafePath
        }
    }
}

/// Writes an OCI image layout directory for `image` with the ref name `test`.
func writeOCILayout(_ image: TestImage, at layout: String) throws {
    try FileManager.default.createDirectory(atPath: layout + "/blobs/sha256", withIntermediateDirectories: true)
    func blob(_ bytes: [UInt8], _ mediaType: String) throws -> [String: Any] {
        let hex = Digest.sha256(bytes).hex
        try Data(bytes).write(to: URL(fileURLWithPath: layout + "/blobs/sha256/" + hex))
        return ["mediaType": mediaType, "digest": "sha256:" + hex, "size": bytes.count]
    }
    let config = image.configJSON(diffIDs: image.layers.map { "sha256:" + Digest.sha256($0).hex })
    let manifest: [String: Any] = [
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": try blob(config, "application/vnd.oci.image.config.v1+json"),
        "layers": try image.layers.map { try blob($0, "application/vnd.oci.image.layer.v1.tar") },
    ]
    let manifestBytes = Array(try JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys]))
    var descriptor = try blob(manifestBytes, "application/vnd.oci.image.manifest.v1+json")
    descriptor["annotations"] = ["org.opencontainers.image.ref.name": "test"]
    let index: [String: Any] = ["schemaVersion": 2, "manifests": [descriptor]]
    try JSONSerialization.data(withJSONObject: index).write(to: URL(fileURLWithPath: layout + "/index.json"))
    try Data(#"{"imageLayoutVersion":"1.0.0"}"#.utf8).write(to: URL(fileURLWithPath: layout + "/oci-layout"))
}

@Suite struct UmociCrossCheckTests {
    /// The flattened tree equals what Debian's umoci (an independent OCI layer applier) unpacks, walked the
    /// way `docker export` walks a directory: names, order, types, modes, owners, mtimes of non-directories,
    /// contents, symlink targets and hard links.
    @Test func flatteningMatchesUmociUnpack() throws {
        let dir = try TestDirectory()
        let l1 = TestTar([
            TestTar.dir("app"), TestTar.file("app/keep", "k", mode: 0o640, uid: 10, gid: 20),
            TestTar.file("app/gone", "g"), TestTar.dir("app/sub"), TestTar.file("app/sub/x", "x"),
            TestTar.dir("opaque"), TestTar.file("opaque/old", "o"), TestTar.file("opaque/old2", "o2"),
            TestTar.file("was-file", "f"), TestTar.dir("was-dir"), TestTar.file("was-dir/in", "i"),
            TestTar.file("bin-a", "hard", mode: 0o4755), TestTar.hardlink("bin-b", "bin-a"),
            TestTar.dir("tmp", mode: 0o1777), TestTar.symlink("link", "app/keep"),
        ])
        let l2 = TestTar([
            TestTar.dir("app"), TestTar.file("app/.wh.gone", ""), TestTar.file("app/new", "n", mode: 0o2755),
            TestTar.dir("opaque", mode: 0o700), TestTar.file("opaque/.wh..wh..opq", ""),
            TestTar.file("opaque/fresh", "f"),
            TestTar.dir("was-file"), TestTar.file("was-file/child", "c"), TestTar.file("was-dir", "now file"),
            TestTar.hardlink("app/bin-c", "bin-a"),
        ])
        let image = TestImage(layers: [l1.bytes, l2.bytes])
        let layout = dir.path + "/layout"
        try writeOCILayout(image, at: layout)
        let rootfs = dir.path + "/umoci-rootfs"
        #expect(
            try ToolRunner.run("/usr/bin/umoci", ["raw", "unpack", "--image", layout + ":test", rootfs]).status == 0)

        var options = FlattenOptions()
        options.addDockerInitLayer = false
        let ours = try exported(try ContainerImage.open(path: layout).flatten(options: options))
        var theirs = try exported(DirectoryExport(root: rootfs))
        // umoci restores directory mtimes only where it can; compare directories without them.
        for i in theirs.indices where theirs[i].kind == "dir" {
            theirs[i].mtime = ours.first { $0.name == theirs[i].name }?.mtime ?? 0
        }
        #expect(ours == theirs)
        #expect(ours.contains { $0.name == "opaque/" && $0.mode == 0o700 })
        #expect(ours.filter { $0.kind == "hardlink" }.count == 2)
    }

    /// Entries written through links of the same layer (absolute, relative, chained, `..` above the root)
    /// land where umoci's in-root resolution (`securejoin`) puts them, and the links stay links.
    @Test func writingThroughSameLayerLinksMatchesUmoci() throws {
        let dir = try TestDirectory()
        let layer = TestTar([
            TestTar.dir("tmp", mode: 0o1777), TestTar.dir("usr"), TestTar.dir("usr/lib"), TestTar.dir("a"),
            TestTar.symlink("esc", "/"), TestTar.file("esc/tmp/file", "through"),
            TestTar.symlink("lib", "usr/lib"), TestTar.file("lib/libx.so", "x"),
            TestTar.symlink("a/up", "../../../usr"), TestTar.file("a/up/lib/liby.so", "y"),
            TestTar.symlink("chain", "lib"), TestTar.file("chain/libz.so", "z"),
        ])
        let layout = dir.path + "/layout"
        try writeOCILayout(TestImage(layers: [layer.bytes]), at: layout)
        let rootfs = dir.path + "/umoci-rootfs"
        #expect(
            try ToolRunner.run("/usr/bin/umoci", ["raw", "unpack", "--image", layout + ":test", rootfs]).status == 0)
        var options = FlattenOptions()
        options.addDockerInitLayer = false
        let ours = try exported(try ContainerImage.open(path: layout).flatten(options: options))
        var theirs = try exported(DirectoryExport(root: rootfs))
        for i in theirs.indices where theirs[i].kind == "dir" {
            theirs[i].mtime = ours.first { $0.name == theirs[i].name }?.mtime ?? 0
        }
        #expect(ours == theirs)
        #expect(ours.filter { $0.kind == "symlink" }.map(\.name) == ["a/up", "chain", "esc", "lib"])
        #expect(ours.contains { $0.name == "usr/lib/liby.so" && $0.content == "y" })
    }
}

/// Image JSON goes through the strict parser: a duplicate key (which two readers could resolve to
/// different commands) and malformed JSON are errors with the byte offset, not a silent choice.
@Suite struct ImageJSONStrictnessTests {
    @Test(arguments: [
        (#"{"config":{"Cmd":["/a"],"Cmd":["/b"]}}"#, FormatError.Kind.badValue, UInt64(24)),
        (#"{"architecture":"amd64","architecture":"arm64"}"#, .badValue, 24),
        (#"{"config":{"Cmd":["/a"]}"#, .truncated, 24),
        (#"{"config":{"Cmd":["/a",]}}"#, .badValue, 23),
    ])
    func imageConfigRefusesDuplicatesAndMalformedJSON(json: String, kind: FormatError.Kind, offset: UInt64) {
        #expect(throws: FormatError(kind, format: "image config", offset: offset, "")) {
            try ImageConfig(json: Array(json.utf8), file: "config.json")
        }
    }

    @Test func imageConfigErrorNamesTheFile() {
        do {
            _ = try ImageConfig(json: Array(#"{"os":"linux","os":"linux"}"#.utf8), file: "config.json")
            Issue.record("a duplicate key was accepted")
        } catch {
            #expect("\(error)".contains("config.json"), "\(error)")
        }
    }

    @Test(
        arguments: [
            (#"[{"Config":"c.json","Layers":["l.tar"],"Layers":["m.tar"]}]"#, 39, #"duplicate object key "Layers""#),
            (#"[{"Config":"c.json"}]"#, nil, "entry lacks Config or Layers"),
            (#"{"Config":"c.json","Layers":[]}"#, nil, "is not a JSON list of images"),
            (#"[1]"#, nil, "is not a JSON list of images"),
        ] as [(String, UInt64?, String)])
    func dockerArchiveManifestIsStrict(json: String, offset: UInt64?, message: String) {
        let error = #expect(throws: FormatError.self) {
            try DockerArchiveManifest(json: Array(json.utf8), file: "manifest.json")
        }
        #expect(error?.kind == .badValue)
        #expect(error?.offset == offset)
        #expect(error?.file == "manifest.json")
        #expect(error?.message.contains(message) == true, "\(String(describing: error))")
    }

    @Test func configValuesAreRead() throws {
        let json =
            #"{"architecture":"amd64","os":"linux","config":{"Cmd":null,"Entrypoint":["/e"],"Env":["A=1"]},"#
            + #""rootfs":{"type":"layers","diff_ids":["sha256:00"]}}"#
        let config = try ImageConfig(json: Array(json.utf8))
        #expect(config.cmd == nil)
        #expect(config.entrypoint == ["/e"])
        #expect(config.env == ["A=1"])
        #expect(config.diffIDs == ["sha256:00"])
        #expect(config.architecture == "amd64" && config.os == "linux")
    }
}
