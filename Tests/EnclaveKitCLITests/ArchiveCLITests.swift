import EnclaveCore
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// End-to-end tests of `enclavekit eif ramdisk` on the built binary. Fixtures in `nitro-ramdisk/` are
/// copies of the shared Nitro vector inputs and the two linuxkit-format ramdisks.
@Suite struct ArchiveCLITests {
    static func fixture(_ name: String) -> String { Fixtures.path("nitro-ramdisk/" + name) }

    static func run(_ tool: String, _ args: [String], in dir: String? = nil) throws -> Int32 {
        try ToolRunner.run(tool, args, in: dir).status
    }

    static func setTime(_ path: String, _ seconds: Int) {
        var times = [timespec(tv_sec: seconds, tv_nsec: 0), timespec(tv_sec: seconds, tv_nsec: 0)]
        utimensat(AT_FDCWD, path, &times, AT_SYMLINK_NOFOLLOW)
    }

    /// A docker-archive tarball (`docker save` layout) made with GNU tar, independent of EnclaveKit's
    /// reader: one layer with a script, config with Cmd and Env.
    static func makeImage(in dir: String, cmd: [String]? = ["/bin/hello.sh"], corruptLayer: Bool = false) throws
        -> String
    {
        let fm = FileManager.default
        let root = dir + "/layer"
        try fm.createDirectory(atPath: root + "/bin", withIntermediateDirectories: true)
        try Data("#!/bin/sh\necho hello\n".utf8).write(to: URL(fileURLWithPath: root + "/bin/hello.sh"))
        chmod(root + "/bin/hello.sh", 0o755)
        let stage = dir + "/stage"
        try fm.createDirectory(atPath: stage, withIntermediateDirectories: true)
        #expect(
            try run(
                "/bin/tar",
                [
                    "--sort=name", "--owner=0", "--group=0", "--numeric-owner", "--mtime=@1700000000", "-cf",
                    stage + "/layer.tar", "-C", root, ".",
                ]) == 0)
        let layer = try FileInput.contents(of: stage + "/layer.tar")
        let diffID = "sha256:" + Digest.sha256(layer).hex
        var config: [String: Any] = ["Env": ["PATH=/bin", "GREETING=hi"]]
        if let cmd { config["Cmd"] = cmd }
        let configBytes = try JSONSerialization.data(
            withJSONObject: [
                "architecture": "amd64", "os": "linux", "config": config,
                "rootfs": ["type": "layers", "diff_ids": [diffID]],
            ], options: [.sortedKeys])
        let configName = Digest.sha256(Array(configBytes)).hex + ".json"
        try configBytes.write(to: URL(fileURLWithPath: stage + "/" + configName))
        if corruptLayer {
            var bad = layer
            bad[600] ^= 1
            try Data(bad).write(to: URL(fileURLWithPath: stage + "/layer.tar"))
        }
        let manifest = try JSONSerialization.data(withJSONObject: [
            ["Config": configName, "RepoTags": ["hello:latest"], "Layers": ["layer.tar"]]
        ])
        try manifest.write(to: URL(fileURLWithPath: stage + "/manifest.json"))
        let image = dir + "/image.tar"
        #expect(try run("/bin/tar", ["-cf", image, "-C", stage, "manifest.json", configName, "layer.tar"]) == 0)
        return image
    }

    @Test func bootstrapReproducesTheVector() throws {
        let dir = try TestDirectory()
        let out = dir.path + "/bootstrap.cpio"
        let r = try CLIRunner.run([
            "eif", "ramdisk", "bootstrap", "--init", Self.fixture("init.bin"), "--nsm", Self.fixture("nsm.ko"),
            "--output", out,
        ])
        #expect(r.status == 0)
        #expect(try FileInput.contents(of: out) == (try Fixtures.bytes("nitro-ramdisk/bootstrap-fake.cpio")))
        #expect(
            r.stdout.contains(
                "174dedd73237f89f05e0f2009c600d30f4fb8e86bc286969cddae1f7ef33e5d87a39a294541b9eaaaad38c047dd1da09"))
    }

    /// The vector's `docker export` entries laid out as a directory (running as root, so owners are 0):
    /// `--rootfs` gives the vector byte for byte.
    @Test func appFromRootfsDirectoryReproducesTheVector() throws {
        let dir = try TestDirectory()
        let root = dir.path + "/rootfs"
        let fm = FileManager.default
        try fm.createDirectory(atPath: root + "/bin", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: root + "/etc", withIntermediateDirectories: true)
        let files: [(String, String, mode_t, Int)] = [
            ("bin/hello.sh", "#!/bin/sh\nwhile true; do echo \"$HELLO\"; sleep 5; done\n", 0o755, 1_700_000_001),
            ("etc/hostname", "abcdef\n", 0o644, 1_700_000_003),
            ("etc/hosts", "127.0.0.1 localhost\n", 0o644, 1_700_000_003),
            ("etc/resolv.conf", "nameserver 8.8.8.8\n", 0o644, 1_700_000_003),
        ]
        for (name, text, mode, time) in files {
            try Data(text.utf8).write(to: URL(fileURLWithPath: root + "/" + name))
            chmod(root + "/" + name, mode)
            Self.setTime(root + "/" + name, time)
        }
        try fm.createSymbolicLink(atPath: root + "/sh", withDestinationPath: "bin/hello.sh")
        Self.setTime(root + "/sh", 1_700_000_004)
        chmod(root + "/bin", 0o755)
        chmod(root + "/etc", 0o755)
        Self.setTime(root + "/bin", 1_700_000_000)
        Self.setTime(root + "/etc", 1_700_000_002)
        let out = dir.path + "/app.cpio"
        let r = try CLIRunner.run([
            "eif", "ramdisk", "app", "--rootfs", root, "--cmd", Self.fixture("cmd"), "--env", Self.fixture("env"),
            "--output", out, "--json",
        ])
        #expect(r.status == 0)
        #expect(r.stdout.contains("\"SHA384\""))
        let expected = try Fixtures.bytes("nitro-ramdisk/customer-fake.cpio")
        var actual = try FileInput.contents(of: out)
        if getuid() != 0 {
            // Not root: the files belong to this user. Every other byte must still match.
            actual = Self.zeroingOwners(actual)
        }
        #expect(actual == expected)
        #expect(Self.zeroingOwners(expected) == expected)  // the vector's owners are all 0
    }

    /// The newc archive with every header's uid and gid fields set to "00000000".
    static func zeroingOwners(_ bytes: [UInt8]) -> [UInt8] {
        var out = bytes
        var offset = 0
        func field(_ at: Int) -> Int { Int(String(decoding: out[at..<(at + 8)], as: UTF8.self), radix: 16) ?? 0 }
        while offset + 110 <= out.count, out[offset..<(offset + 6)].elementsEqual(Array("070701".utf8)) {
            for i in (offset + 22)..<(offset + 38) { out[i] = UInt8(ascii: "0") }
            let nameSize = field(offset + 94)
            let fileSize = field(offset + 54)
            let isTrailer = out[(offset + 110)..<(offset + 110 + nameSize - 1)].elementsEqual(Array("TRAILER!!!".utf8))
            offset = (offset + 110 + nameSize + 3) & ~3
            offset = (offset + fileSize + 3) & ~3
            if isTrailer { break }
        }
        return out
    }

    @Test func appFromDockerArchiveIsDeterministicAcrossUmaskTimeZoneAndDirectory() throws {
        let dir = try TestDirectory()
        let image = try Self.makeImage(in: dir.path)
        let first = try CLIRunner.run([
            "eif", "ramdisk", "app", "--image", image, "--output", dir.path + "/a.cpio", "--json",
        ])
        #expect(first.status == 0)
        #expect(first.stdout.contains("\"Layout\": \"docker-archive\""))
        let other = try TestDirectory()
        let second = try CLIRunner.run(
            ["eif", "ramdisk", "app", "--image", image, "--output", "b.cpio"], in: other.path,
            environment: ["TZ": "Pacific/Kiritimati", "TMPDIR": other.path])
        #expect(second.status == 0)
        let a = try FileInput.contents(of: dir.path + "/a.cpio")
        #expect(a == (try FileInput.contents(of: other.path + "/b.cpio")))
        // cpio from Debian lists it, with the image's file and nitro-cli's cmd/env.
        let names = try ToolRunner.run("/usr/bin/cpio", ["-i", "-t", "--quiet", "-F", dir.path + "/a.cpio"]).stdout
        #expect(names.contains("rootfs/bin/hello.sh\n"))
        #expect(names.hasSuffix("cmd\nenv\n"))
        #expect(try other.archiveListing() == ["b.cpio"])
    }

    @Test func imageWithoutCmdFailsWithOneLineAndNoOutput() throws {
        let dir = try TestDirectory()
        let image = try Self.makeImage(in: dir.path, cmd: nil)
        let r = try CLIRunner.run(["eif", "ramdisk", "app", "--image", image, "--output", dir.path + "/out.cpio"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("neither Cmd nor Entrypoint"))
        #expect(r.stderr.contains("add CMD"), "the CLI's hint for the Archive module's error")
        #expect(r.stderr.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/out.cpio"))
    }

    @Test func corruptLayerFailsWithDigestMismatch() throws {
        let dir = try TestDirectory()
        let image = try Self.makeImage(in: dir.path, corruptLayer: true)
        let r = try CLIRunner.run(["eif", "ramdisk", "app", "--image", image, "--output", dir.path + "/out.cpio"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("does not match"))
        #expect(r.stderr.contains("image.tar"))
        #expect(r.stderr.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/out.cpio"))
    }

    @Test(arguments: [
        ["eif", "ramdisk", "app", "--output", "x.cpio"],
        ["eif", "ramdisk", "app", "--rootfs", ".", "--output", "x.cpio"],
        ["eif", "ramdisk", "app", "--image", "a.tar", "--cmd", "c", "--output", "x.cpio"],
    ])
    func badOptionCombinationsAreUsageErrors(args: [String]) throws {
        let dir = try TestDirectory()
        let r = try CLIRunner.run(args, in: dir.path)
        #expect(r.status == 64)
        #expect(r.stderr.hasPrefix("Error: "))
        #expect(try dir.archiveListing().isEmpty)
    }

    @Test func missingBlobNamesTheFile() throws {
        let dir = try TestDirectory()
        let r = try CLIRunner.run([
            "eif", "ramdisk", "bootstrap", "--init", dir.path + "/no-init", "--nsm", Self.fixture("nsm.ko"), "--output",
            dir.path + "/b.cpio",
        ])
        #expect(r.status == 1)
        #expect(r.stderr.contains("no-init"))
        #expect(r.stderr.split(separator: "\n").count == 1)
        #expect(try dir.archiveListing().isEmpty)
    }

    @Test func helpHasExamples() throws {
        for sub in [
            ["eif", "ramdisk", "--help"], ["eif", "ramdisk", "app", "--help"],
            ["eif", "ramdisk", "bootstrap", "--help"],
        ] {
            let r = try CLIRunner.run(sub)
            #expect(r.status == 0)
            #expect(r.stdout.contains("Examples:"))
        }
    }
}

extension TestDirectory {
    func archiveListing() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: path).sorted()
    }
}
