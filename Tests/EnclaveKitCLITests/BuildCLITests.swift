import EnclaveCore
import Foundation
import TestSupport
import Testing

/// `enclavekit lock`, `build` and `rebuild` end to end on a small recipe whose only tool is Debian's
/// static busybox (installed by `.ci/setup`), with a stand-in kernel, so each build takes a second.
@Suite("Build CLI", .serialized)
struct BuildCLITests {
    static let busybox = "/bin/busybox"

    /// A recipe folder inside a fake repository (`.git` marks its root).
    final class ToyRepository {
        let temp: TestDirectory
        var root: String { temp.path + "/repo" }
        var recipeDirectory: String { root + "/Recipes/toy" }
        var recipe: String { recipeDirectory + "/recipe.toml" }
        var cache: String { temp.path + "/cache" }

        init(stepScript: String = "cp /inputs/src/app.sh /build/out/app", extraTOML: String = "") throws {
            temp = try TestDirectory()
            let fm = FileManager.default
            try fm.createDirectory(atPath: root + "/.git", withIntermediateDirectories: true)
            try fm.createDirectory(atPath: recipeDirectory + "/src", withIntermediateDirectories: true)
            try fm.createDirectory(atPath: recipeDirectory + "/tools", withIntermediateDirectories: true)
            try fm.copyItem(atPath: BuildCLITests.busybox, toPath: recipeDirectory + "/tools/busybox")
            try write("src/app.sh", "#!/bin/sh\necho toy 1.0.0\n")
            try write("src/app.conf", "port=8080\n")
            try write("src/init", "not really an init\n")
            // Stand-ins: a small PE kernel, a synthetic TDVF and an AmdSev OVMF suffix (with the kernel-hashes
            // table), all from this target's fixtures.
            try fm.copyItem(atPath: Fixtures.path("tdx_pe64_kernel.efi"), toPath: recipeDirectory + "/src/kernel.bin")
            try fm.copyItem(atPath: Fixtures.path("tdx_synthetic_tdvf.bin"), toPath: recipeDirectory + "/src/tdvf.fd")
            try fm.copyItem(
                atPath: Fixtures.path("snp_ovmf_AmdSev_suffix.bin"), toPath: recipeDirectory + "/src/amdsev.fd")
            try write("recipe.toml", Self.toml(stepScript: stepScript) + extraTOML)
        }

        func write(_ name: String, _ text: String) throws {
            try Data(text.utf8).write(to: URL(fileURLWithPath: recipeDirectory + "/" + name))
        }

        static func toml(stepScript: String) -> String {
            """
            recipe = 1
            name = "toy"
            version = "1.0.0"
            source-date-epoch = 1700000000

            [inputs.busybox]
            kind = "path"
            source = "tools/busybox"

            [inputs.src]
            kind = "path"
            source = "src"

            [[steps]]
            name = "app"
            inputs = ["busybox", "src"]
            run = ["/inputs/busybox/busybox", "sh", "-c", "\(stepScript)"]

            [rootfs]
            files = [
              { path = "/bin/app", from = "step:app/app", mode = "0755" },
              { path = "/etc/app.conf", from = "input:src/app.conf" },
            ]
            cmd = ["/bin/app"]
            env = ["PATH=/bin"]

            [targets.nitro]
            platform = "nitro"
            kernel = "input:src/kernel.bin"
            init = "input:src/init"
            cmdline = "console=ttyS0"

            [targets.tdx]
            platform = "tdx"
            firmware = "input:src/tdvf.fd"
            kernel = "input:src/kernel.bin"
            init = "input:src/init"
            cmdline = "console=ttyS0"

            [targets.snp]
            platform = "sev-snp"
            firmware = "input:src/amdsev.fd"
            kernel = "input:src/kernel.bin"
            init = "input:src/init"
            cmdline = "console=ttyS0"
            vcpus = 2

            """
        }

        @discardableResult
        func lock() throws -> CLIRunner.Result {
            let r = try CLIRunner.run(["lock", recipe], environment: ["XDG_CACHE_HOME": cache])
            #expect(r.status == 0, "\(r.stderr)")
            return r
        }

        func build(
            out: String, extra: [String] = [], environment: [String: String] = [:], in directory: String? = nil,
            umask: String? = nil
        ) throws -> CLIRunner.Result {
            let args = ["build", recipe, "--out", out, "--cache", cache] + extra
            if let umask {
                let quoted = ([CLIRunner.binary] + args).map { "'\($0)'" }.joined(separator: " ")
                return try CLIRunner.run(
                    ["sh", "-c", "umask \(umask) && exec \(quoted)"], in: directory, environment: environment,
                    viaShell: true)
            }
            return try CLIRunner.run(args, in: directory, environment: environment)
        }
    }

    static func bytes(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    /// Nothing half-written: neither the output directory nor a staging directory next to it.
    static func noOutput(_ out: String) -> Bool {
        let parent = (out as NSString).deletingLastPathComponent
        let base = (out as NSString).lastPathComponent
        let names = (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []
        return !names.contains { $0 == base || $0.hasPrefix(base + ".") }
    }

    @Test("lock pins the path inputs; build writes the EIF and a canonical manifest, then reuses the step")
    func buildToy() throws {
        let repo = try ToyRepository()
        let locked = try repo.lock()
        #expect(locked.stdout.contains("src"))
        let out = repo.temp.path + "/out"
        let first = try repo.build(out: out)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("PCR0"))
        #expect(first.stdout.contains("nitro/toy.eif"))
        let manifest = try #require(Self.bytes(out + "/manifest.json"))
        let text = String(decoding: manifest, as: UTF8.self)
        #expect(text.hasSuffix("}\n"))
        #expect(!text.contains("\n "), "canonical JSON has no indentation")
        #expect(text.contains("\"path\":\"Recipes/toy/recipe.toml\""))
        #expect(!text.contains(repo.temp.path), "no machine path in the manifest")
        #expect(FileManager.default.fileExists(atPath: out + "/nitro/toy.eif"))

        // The EIF's measurements are what `measure` computes from the file itself.
        let measured = try CLIRunner.run(["measure", out + "/nitro/toy.eif", "--expect", out + "/manifest.json"])
        #expect(measured.status == 0, "\(measured.stdout)\(measured.stderr)")

        let second = try repo.build(out: out, extra: ["--json"])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdout.contains("\"cached\": true"), "\(second.stdout)")
        #expect(Self.bytes(out + "/manifest.json") == manifest)
        #expect(second.stdout.contains("\"upToDate\": true"), "\(second.stdout)")

        // A tampered artifact is not up to date: the build runs again and writes the original bytes.
        let eif = out + "/nitro/toy.eif"
        let original = try #require(Self.bytes(eif))
        var tampered = original
        tampered[tampered.count - 1] ^= 1
        try tampered.write(to: URL(fileURLWithPath: eif))
        let third = try repo.build(out: out, extra: ["--json"])
        #expect(third.status == 0, "\(third.stderr)")
        #expect(third.stdout.contains("\"upToDate\": false"), "\(third.stdout)")
        #expect(Self.bytes(eif) == original)
    }

    @Test("two builds under different time zone, locale, umask, directories and cache give the same bytes")
    func deterministic() throws {
        let a = try ToyRepository()
        let b = try ToyRepository()
        try a.lock()
        try b.lock()
        let outA = a.temp.path + "/out-a"
        let outB = b.temp.path + "/elsewhere/out-b"
        let ra = try a.build(out: outA, environment: ["TZ": "UTC", "LC_ALL": "C"], in: a.temp.path, umask: "022")
        let rb = try b.build(
            out: outB, environment: ["TZ": "Pacific/Kiritimati", "LC_ALL": "C.UTF-8", "HOME": b.temp.path],
            in: "/", umask: "077")
        #expect(ra.status == 0, "\(ra.stderr)")
        #expect(rb.status == 0, "\(rb.stderr)")
        for name in ["manifest.json", "nitro/toy.eif", "tdx/initrd.cpio", "snp/initrd.cpio"] {
            let x = Self.bytes(outA + "/" + name)
            #expect(x != nil)
            #expect(x == Self.bytes(outB + "/" + name), "\(name) differs")
        }
    }

    @Test(
        "bad recipes: one clear error, non-zero exit, nothing written",
        arguments: [
            ("syntax", "name = \"toy\"\n[inputs.x\n", "recipe.toml"),
            ("unknown key", "recipe = 1\nname = \"t\"\nversion = \"1\"\nsource-date-epoch = 1\nkernal = 1\n", "kernal"),
            (
                "escape",
                ToyRepository.toml(stepScript: "true").replacingOccurrences(
                    of: "source = \"src\"", with: "source = \"../outside\""), "outside"
            ),
            (
                "missing kernel",
                ToyRepository.toml(stepScript: "true").replacingOccurrences(
                    of: "kernel = \"input:src/kernel.bin\"\n", with: ""), "kernel"
            ),
        ])
    func badRecipe(label: String, toml: String, mention: String) throws {
        let repo = try ToyRepository()
        try FileManager.default.createDirectory(
            atPath: repo.root + "/Recipes/outside", withIntermediateDirectories: true)
        try repo.write("recipe.toml", toml)
        let out = repo.temp.path + "/out"
        let r = try repo.build(out: out)
        #expect(r.status == 1, "\(label)")
        #expect(r.stderr.contains(mention), "\(label): \(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count <= 3, "\(label): \(r.stderr)")
        #expect(Self.noOutput(out))
    }

    @Test("an unpinned input asks for lock; a wrong pin names the input and both digests")
    func pins() throws {
        let repo = try ToyRepository()
        let out = repo.temp.path + "/out"
        let unpinned = try repo.build(out: out)
        #expect(unpinned.status == 1)
        #expect(unpinned.stderr.contains("enclavekit lock"), "\(unpinned.stderr)")
        #expect(Self.noOutput(out))

        try repo.lock()
        try repo.write("src/app.conf", "port=9090\n")
        let wrong = try repo.build(out: out)
        #expect(wrong.status == 1)
        #expect(wrong.stderr.contains("input 'src'"), "\(wrong.stderr)")
        #expect(wrong.stderr.contains("expected sha256"), "\(wrong.stderr)")
        #expect(Self.noOutput(out))
    }

    @Test(
        "steps that break the sandbox's rules fail with their name, status and output",
        arguments: [
            ("writes outside /build/out", "echo evil > /inputs/src/evil", "Read-only"),
            ("reaches the network", "/inputs/busybox/busybox nc 127.0.0.1 22 </dev/null", "app"),
            ("fails", "echo 'compiler says no' >&2; exit 3", "compiler says no"),
        ])
    func badSteps(label: String, script: String, mention: String) throws {
        let repo = try ToyRepository(stepScript: script)
        try repo.lock()
        let out = repo.temp.path + "/out"
        let r = try repo.build(out: out)
        #expect(r.status == 1, "\(label)")
        #expect(r.stderr.contains("app"), "\(label): \(r.stderr)")
        #expect(r.stderr.contains(mention), "\(label): \(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: repo.recipeDirectory + "/src/evil"))
        #expect(Self.noOutput(out))
    }

    @Test("rebuild reproduces a release, and after a one-byte change names the input, artifact, entry and PCR")
    func rebuild() throws {
        let repo = try ToyRepository()
        try repo.lock()
        let release = repo.temp.path + "/release"
        let built = try repo.build(out: release)
        #expect(built.status == 0, "\(built.stderr)")
        let manifest = release + "/manifest.json"

        let same = try CLIRunner.run(
            ["rebuild", manifest, "--out", repo.temp.path + "/rebuild-1", "--cache", repo.cache], in: repo.root)
        #expect(same.status == 0, "\(same.stdout)\(same.stderr)")
        #expect(same.stdout.contains("reproduced"))

        try repo.write("src/app.conf", "port=8081\n")
        let changed = try CLIRunner.run(
            [
                "rebuild", manifest, "--out", repo.temp.path + "/rebuild-2", "--cache", repo.cache, "--artifacts",
                release,
            ], in: repo.root)
        #expect(changed.status == 3, "\(changed.stdout)\(changed.stderr)")
        for mention in ["src", "nitro/toy.eif", "rootfs/etc/app.conf", "PCR2", "-port=8080", "+port=8081"] {
            #expect(changed.stdout.contains(mention), "missing \(mention) in:\n\(changed.stdout)")
        }
    }

    /// Issue #13 item 4: a rebuild runs every step in the sandbox even when the step cache holds them all;
    /// a changed cache entry neither stands in for the step nor gets replaced; `--reuse-steps` takes the
    /// cache and the report says so, naming the steps.
    @Test("rebuild runs every step afresh; --reuse-steps uses the step cache and says which steps came from it")
    func rebuildRunsStepsAfresh() throws {
        let repo = try ToyRepository()
        try repo.lock()
        let release = repo.temp.path + "/release"
        let built = try repo.build(out: release)
        #expect(built.status == 0, "\(built.stderr)")
        let manifest = release + "/manifest.json"
        func rebuild(_ name: String, _ extra: [String] = []) throws -> CLIRunner.Result {
            try CLIRunner.run(
                ["rebuild", manifest, "--out", repo.temp.path + "/" + name, "--cache", repo.cache] + extra,
                in: repo.root)
        }

        // The cache is warm: still, the step ran.
        let fresh = try rebuild("rebuild-1", ["--json"])
        #expect(fresh.status == 0, "\(fresh.stdout)\(fresh.stderr)")
        let json = try JSONParser.parse(fresh.stdout)
        #expect(json["reproduced"] == .bool(true))
        #expect(json["stepCache"] == .string("not used"))
        #expect(json["cachedSteps"] == .array([]))
        guard case .array(let steps)? = json["rebuild"]?["steps"] else {
            Issue.record("no steps in \(fresh.stdout)")
            return
        }
        #expect(steps.count == 1)
        #expect(steps.first?["cached"] == .bool(false), "\(fresh.stdout)")

        // Change the cached output of the step: a rebuild does not use it (and says that the cache differs),
        // and does not overwrite it.
        let stepsDirectory = repo.cache + "/steps"
        let keys = try FileManager.default.contentsOfDirectory(atPath: stepsDirectory).filter { $0.count == 64 }
        #expect(keys.count == 1)
        let cachedApp = stepsDirectory + "/" + (keys.first ?? "") + "/app"
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: cachedApp)
        try Data("#!/bin/sh\necho poisoned\n".utf8).write(to: URL(fileURLWithPath: cachedApp))
        let honest = try rebuild("rebuild-2")
        #expect(honest.status == 0, "\(honest.stdout)\(honest.stderr)")
        #expect(
            honest.stdout.contains("step cache: not used; all 1 steps ran afresh in the sandbox"), "\(honest.stdout)")
        #expect(honest.stdout.contains("note: step app: the fresh output"), "\(honest.stdout)")
        #expect(Self.bytes(cachedApp) == Data("#!/bin/sh\necho poisoned\n".utf8))

        // --reuse-steps takes the (changed) cache entry: not reproduced, and the report names the step.
        let reused = try rebuild("rebuild-3", ["--reuse-steps"])
        #expect(reused.status == 3, "\(reused.stdout)\(reused.stderr)")
        #expect(
            reused.stdout.contains(
                "step cache: REUSED (--reuse-steps): 1 of 1 steps came from the cache and did not run: app"),
            "\(reused.stdout)")
        let reusedJSON = try rebuild("rebuild-4", ["--reuse-steps", "--json"])
        let parsed = try JSONParser.parse(reusedJSON.stdout)
        #expect(parsed["stepCache"] == .string("reused"))
        #expect(parsed["cachedSteps"] == .array([.string("app")]))
    }

    /// Issue #13 item 11: with stderr not a terminal (a CI log), build prints one line per phase and step
    /// with its time.
    @Test("build logs each step with its time when stderr is not a terminal")
    func progressLinesInALog() throws {
        let repo = try ToyRepository()
        try repo.lock()
        let first = try repo.build(out: repo.temp.path + "/out-1", environment: ["ENCLAVEKIT_NO_PROGRESS": ""])
        #expect(first.status == 0, "\(first.stderr)")
        let lines = first.stderr.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.wholeMatch(of: /fetched 2 inputs: \d+\.\d s/) != nil }, "\(first.stderr)")
        #expect(lines.contains { $0.wholeMatch(of: /step 1\/1 app: \d+\.\d s/) != nil }, "\(first.stderr)")
        #expect(
            lines.contains { $0.wholeMatch(of: /packed and measured 3 targets: \d+\.\d s/) != nil }, "\(first.stderr)")
        #expect(!first.stderr.contains("\u{1B}["), "no terminal escapes in a log")

        let second = try repo.build(out: repo.temp.path + "/out-2", environment: ["ENCLAVEKIT_NO_PROGRESS": ""])
        #expect(second.stderr.contains("step 1/1 app: cached ("), "\(second.stderr)")
        // ENCLAVEKIT_NO_PROGRESS=1 (as scripts and the other tests set it) keeps stderr quiet.
        let quiet = try repo.build(out: repo.temp.path + "/out-3")
        #expect(quiet.stderr == "", "\(quiet.stderr)")
    }

    /// Issue #13 item 5: the lock records the tree listing of each directory input, so a rebuild from a
    /// changed tree names the files that changed (from the lock alone: a fresh cache), and `compare` of the
    /// two outputs names them too.
    @Test("rebuild and compare name the source files that changed, were added, or changed mode")
    func rebuildNamesChangedSourceFiles() throws {
        let repo = try ToyRepository()
        try repo.lock()
        let lockText = try String(contentsOfFile: repo.recipeDirectory + "/recipe.lock", encoding: .utf8)
        let sha = { (text: String) in Digest.sha256(Array(text.utf8)).hex }
        #expect(lockText.contains("\"f 0644 10 \(sha("port=8080\n")) app.conf\""), "\(lockText)")
        let release = repo.temp.path + "/release"
        let built = try repo.build(out: release)
        #expect(built.status == 0, "\(built.stderr)")

        try repo.write("src/app.conf", "port=8081\n")
        try repo.write("src/extra.txt", "new\n")
        try FileManager.default.setAttributes(
            [.posixPermissions: 0o755], ofItemAtPath: repo.recipeDirectory + "/src/init")
        let freshCache = repo.temp.path + "/other-cache"
        let out = repo.temp.path + "/rebuild"
        let r = try CLIRunner.run(
            ["rebuild", release + "/manifest.json", "--out", out, "--cache", freshCache], in: repo.root)
        #expect(r.status == 3, "\(r.stdout)\(r.stderr)")
        let changes = [
            "input src: file app.conf changed (sha256 \(sha("port=8080\n")) → \(sha("port=8081\n")))",
            "input src: file extra.txt added (sha256 \(sha("new\n")), mode 0644)",
            "input src: file init changed (mode 0644 → 0755)",
        ]
        let lines = r.stdout.split(separator: "\n").map(String.init)
        for change in changes { #expect(lines.contains(change), "missing \(change) in:\n\(r.stdout)") }
        #expect(r.stdout.contains("      file app.conf changed (sha256 "), "the comparison's detail: \(r.stdout)")

        let json = try CLIRunner.run(
            ["rebuild", release + "/manifest.json", "--out", out + "-json", "--cache", freshCache, "--json"],
            in: repo.root)
        let parsed = try JSONParser.parse(json.stdout)
        #expect(parsed["sourceChanges"] == .array(changes.map { .string($0) }), "\(json.stdout)")

        // compare of the two output directories, with the cache that saw both trees.
        let compared = try CLIRunner.run(["compare", release, out, "--cache", freshCache])
        #expect(compared.status == 3)
        #expect(compared.stdout.hasPrefix("input src\n  sha256: expected "), "\(compared.stdout)")
        #expect(compared.stdout.contains("      file extra.txt added (sha256 "), "\(compared.stdout)")
    }

    /// Issue #13 item 5, for a lock written before listings existed (as the committed example-node one):
    /// the release build keeps the tree's listing in its cache, so a rebuild with that cache still names
    /// the changed files; with another cache it says why it cannot.
    @Test("a lock without listings: the changed files come from the cache, or the report says they cannot")
    func oldLockWithoutListing() throws {
        let repo = try ToyRepository()
        try repo.lock()
        let lockPath = repo.recipeDirectory + "/recipe.lock"
        let withFiles = try String(contentsOfFile: lockPath, encoding: .utf8)
        let old = withFiles.replacing(/"files": \[[^\]]*\],\s*/, with: "")
        #expect(old != withFiles)
        #expect(!old.contains("files"))
        try Data(old.utf8).write(to: URL(fileURLWithPath: lockPath))
        let release = repo.temp.path + "/release"
        let built = try repo.build(out: release)
        #expect(built.status == 0, "\(built.stderr)")

        try repo.write("src/app.conf", "port=8081\n")
        let sha = { (text: String) in Digest.sha256(Array(text.utf8)).hex }
        let same = try CLIRunner.run(
            ["rebuild", release + "/manifest.json", "--out", repo.temp.path + "/rb-1", "--cache", repo.cache],
            in: repo.root)
        #expect(same.status == 3)
        #expect(
            same.stdout.contains(
                "input src: file app.conf changed (sha256 \(sha("port=8080\n")) → \(sha("port=8081\n")))\n"),
            "\(same.stdout)")
        let other = try CLIRunner.run(
            [
                "rebuild", release + "/manifest.json", "--out", repo.temp.path + "/rb-2", "--cache",
                repo.temp.path + "/empty-cache",
            ], in: repo.root)
        #expect(other.status == 3)
        #expect(
            other.stdout.contains(
                "input src: the changed files cannot be named: neither the lock nor this machine's cache (--cache) "
                    + "has the file listing of the expected tree"), "\(other.stdout)")
    }
}
