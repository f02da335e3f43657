import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// An interrupted or failing write leaves the previous file byte-identical and no temporary name
/// behind (issue #13 item 3): SIGINT and SIGTERM mid-write, SIGKILL mid-build (cleaned up by the next
/// build), a file-size limit (EFBIG) and a full tmpfs (ENOSPC).
@Suite("Interrupted and failed writes", .serialized)
struct InterruptionCLITests {
    static func names(_ directory: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    }

    static func bytes(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    /// Starts `enclavekit args` in `directory`, waits until `appears` names an entry of `watch`, sends
    /// `sig` and waits for the process to end. Returns how it ended.
    static func interrupt(
        _ args: [String], in directory: String, watch: String, appears: (String) -> Bool, after delay: Double = 0,
        signal sig: Int32, environment: [String: String] = [:]
    ) throws -> (reason: Process.TerminationReason, status: Int32) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLIRunner.binary)
        process.arguments = args
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        var env = ProcessInfo.processInfo.environment
        env["ENCLAVEKIT_NO_PROGRESS"] = "1"
        for (k, v) in environment { env[k] = v }
        process.environment = env
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while !names(watch).contains(where: appears), process.isRunning, Date() < deadline {
            usleep(1000)
        }
        #expect(process.isRunning, "the command ended before it could be interrupted")
        if delay > 0 { usleep(UInt32(delay * 1_000_000)) }
        kill(process.processIdentifier, sig)
        process.waitUntilExit()
        return (process.terminationReason, process.terminationStatus)
    }

    /// A small EIF, then a 192 MiB one over it (`--force`), interrupted while its bytes are being written. After
    /// SIGKILL (no handler runs) the next write of the same file removes the dead process's temporary.
    @Test(arguments: [SIGINT, SIGTERM, SIGKILL])
    func signalDuringEIFWriteKeepsThePreviousImage(sig: Int32) throws {
        let dir = try TestDirectory()
        try Data(repeating: 0x4b, count: 5000).write(to: URL(fileURLWithPath: dir.path + "/kernel.bin"))
        try Data(repeating: 0x52, count: 100).write(to: URL(fileURLWithPath: dir.path + "/small.cpio"))
        #expect(FileManager.default.createFile(atPath: dir.path + "/big.cpio", contents: nil))
        let big = try FileHandle(forWritingTo: URL(fileURLWithPath: dir.path + "/big.cpio"))
        try big.truncate(atOffset: 192 << 20)
        try big.close()
        let common = ["eif", "build", "--kernel", "kernel.bin", "--cmdline", "x", "--output", "image.eif"]
        let first = try CLIRunner.run(common + ["--ramdisk", "small.cpio"], in: dir.path)
        #expect(first.status == 0, "\(first.stderr)")
        let previous = try #require(Self.bytes(dir.path + "/image.eif"))

        let ended = try Self.interrupt(
            common + ["--ramdisk", "big.cpio", "--force"], in: dir.path, watch: dir.path,
            appears: { $0.hasPrefix(".image.eif.tmp-") }, signal: sig)
        #expect(ended.reason == .uncaughtSignal && ended.status == sig, "ended with \(ended)")
        #expect(Self.bytes(dir.path + "/image.eif") == previous, "the previous image is byte-identical")
        let left = Self.names(dir.path).filter { $0.hasPrefix(".") }
        if sig == SIGKILL {
            #expect(!left.isEmpty, "SIGKILL runs no handler")
            #expect(try CLIRunner.run(common + ["--ramdisk", "small.cpio", "--force"], in: dir.path).status == 0)
            #expect(Self.bytes(dir.path + "/image.eif") == previous)
            #expect(Self.names(dir.path).filter { $0.hasPrefix(".") }.isEmpty)
        } else {
            #expect(left.isEmpty, "temporary files left: \(left)")
        }
    }

    /// A build interrupted while its step runs (its sandbox /etc directory exists): the previous
    /// output stays, and no staging, work, cache staging or sandbox directory is left. After SIGKILL (no handler runs) the next build removes the leftovers.
    @Test(arguments: [SIGINT, SIGTERM, SIGKILL])
    func signalDuringBuildKeepsThePreviousOutput(sig: Int32) throws {
        let repo = try BuildCLITests.ToyRepository()
        try repo.lock()
        let out = repo.temp.path + "/out"
        #expect(try repo.build(out: out).status == 0)
        let manifest = try #require(Self.bytes(out + "/manifest.json"))
        let eif = try #require(Self.bytes(out + "/nitro/toy.eif"))

        try repo.write(
            "recipe.toml",
            BuildCLITests.ToyRepository.toml(stepScript: "sleep 3; cp /inputs/src/app.sh /build/out/app"))
        try repo.lock()
        // The sandbox's /etc directory goes to TMPDIR: a private one, to see that it is removed too.
        let tmp = repo.temp.path + "/tmp"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        let ended = try Self.interrupt(
            ["build", repo.recipe, "--out", out, "--cache", repo.cache, "--force"], in: repo.temp.path,
            watch: tmp, appears: { $0.hasPrefix("enclavekit-etc-") }, after: 0.2, signal: sig,
            environment: ["TMPDIR": tmp])
        #expect(ended.reason == .uncaughtSignal && ended.status == sig, "ended with \(ended)")
        #expect(Self.bytes(out + "/manifest.json") == manifest)
        #expect(Self.bytes(out + "/nitro/toy.eif") == eif)
        let stray = Self.names(repo.temp.path).filter { $0.hasPrefix("out.") }
        #expect(ended.reason == .uncaughtSignal, "interrupted while the step ran")
        if sig == SIGKILL {
            #expect(!stray.isEmpty, "SIGKILL runs no handler")
            // The next build (here one that fails at once) clears the dead build's staging names.
            try repo.write("recipe.toml", BuildCLITests.ToyRepository.toml(stepScript: "exit 1"))
            #expect(try repo.build(out: out).status == 1)
            #expect(Self.names(repo.temp.path).filter { $0.hasPrefix("out.") }.isEmpty)
        } else {
            #expect(stray.isEmpty, "staging left: \(stray)")
            #expect(Self.names(tmp).isEmpty, "temporary directories left: \(Self.names(tmp))")
            let cached =
                Self.names(repo.cache + "/steps").filter { $0.hasPrefix(".tmp-") }
                + Self.names(repo.cache + "/unpacked").filter { $0.hasPrefix(".tmp-") }
                + Self.names(repo.cache + "/tmp")
            #expect(cached.isEmpty, "cache staging left: \(cached)")
        }
        #expect(Self.bytes(out + "/manifest.json") == manifest)
    }

    /// `sign` and `build` under a file-size limit (`ulimit -f`, with SIGXFSZ ignored so the write gets
    /// EFBIG): one line naming the file, exit 1, the previous file intact, no temporary file.
    @Test func fileSizeLimitKeepsThePreviousFiles() throws {
        let release = try ReleaseCLITests.Release()
        try release.sign(["alice"])
        let envelope = try release.read("manifest.dsse.json")
        let quoted = [CLIRunner.binary, "sign", "manifest.json", "--key", "bob.pem"].map { "'\($0)'" }
        // dash counts ulimit -f in 512-byte blocks: 2 blocks, far below the 2-signature envelope.
        let r = try CLIRunner.run(
            ["sh", "-c", "trap '' XFSZ; ulimit -f 2; exec \(quoted.joined(separator: " "))"], in: release.path,
            viaShell: true)
        #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
        #expect(r.stderr.contains("manifest.dsse.json: cannot write"), "\(r.stderr)")
        #expect(r.stderr.contains("File too large"), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(try release.read("manifest.dsse.json") == envelope)
        #expect(Self.names(release.path).filter { $0.hasPrefix(".") }.isEmpty)

        let repo = try BuildCLITests.ToyRepository()
        try repo.lock()
        let out = repo.temp.path + "/out"
        #expect(try repo.build(out: out).status == 0)
        let manifest = try #require(Self.bytes(out + "/manifest.json"))
        try repo.write("src/app.conf", "port=1\n")
        try repo.lock()
        let args = ["build", repo.recipe, "--out", out, "--cache", repo.cache, "--force"]
        let b = try CLIRunner.run(
            [
                "sh", "-c",
                "trap '' XFSZ; ulimit -f 8; exec \(([CLIRunner.binary] + args).map { "'\($0)'" }.joined(separator: " "))",
            ], viaShell: true)
        #expect(b.status == 1, "\(b.stdout)\(b.stderr)")
        #expect(b.stderr.contains("File too large"), "\(b.stderr)")
        #expect(b.stderr.split(separator: "\n").count == 1, "\(b.stderr)")
        #expect(Self.bytes(out + "/manifest.json") == manifest)
        #expect(Self.names(repo.temp.path).filter { $0.hasPrefix("out.") }.isEmpty)
    }

    /// Whether this process may mount a tmpfs in a private mount namespace (root, or CI's container).
    static let canMountTmpfs: Bool = {
        guard
            let r = try? CLIRunner.run(
                [
                    "sh", "-c",
                    "unshare -m sh -c 'd=$(mktemp -d) && mount -t tmpfs -o size=64k tmpfs \"$d\" && echo ok'",
                ],
                viaShell: true)
        else { return false }
        return r.stdout.contains("ok")
    }()

    /// `sign` on a full disk: a 64 KiB tmpfs, filled up, in a private mount namespace.
    @Test(
        .enabled(
            if: canMountTmpfs,
            "needs 'unshare -m' and 'mount -t tmpfs' (root); the ulimit -f test covers the same path without them"))
    func fullDiskKeepsTheEnvelope() throws {
        let release = try ReleaseCLITests.Release()
        try release.sign(["alice"])
        let envelope = try release.read("manifest.dsse.json")
        let script = """
            set -e
            d=$(mktemp -d)
            mount -t tmpfs -o size=64k tmpfs "$d"
            cp manifest.json manifest.dsse.json bob.pem "$d/"
            cd "$d"
            dd if=/dev/zero of=fill bs=4k 2>/dev/null || true
            set +e
            '\(CLIRunner.binary)' sign manifest.json --key bob.pem 2>'\(release.path)/err.txt'
            echo "status=$?"
            cat '\(release.path)/err.txt'
            cmp -s manifest.dsse.json '\(release.path)/manifest.dsse.json' && echo same
            ls -a | grep '^\\.manifest' || echo clean
            """
        let r = try CLIRunner.run(["sh", "-c", "unshare -m sh -c \"$0\"", script], in: release.path, viaShell: true)
        #expect(r.stdout.contains("status=1"), "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("manifest.dsse.json: cannot write"), "\(r.stdout)")
        #expect(r.stdout.contains("No space left on device"), "\(r.stdout)")
        #expect(r.stdout.contains("same"), "the envelope is unchanged: \(r.stdout)")
        #expect(r.stdout.contains("clean"), "no temporary file: \(r.stdout)")
        #expect(try release.read("manifest.dsse.json") == envelope)
    }
}
