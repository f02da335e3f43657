import Foundation
import Testing

extension Tag {
    /// Cold end-to-end builds of the committed recipes: minutes each.
    @Tag static var slow: Self
}

/// The suites that build the committed recipes from cold caches. They take minutes, so a developer's
/// `swift test` leaves them out; `ENCLAVEKIT_SLOW_TESTS=1 swift test --filter SlowEndToEnd` runs them,
/// and CI runs them as a stage of their own (the README's test command runs both).
@Suite(
    "Slow end-to-end builds", .tags(.slow),
    .enabled(
        if: ProcessInfo.processInfo.environment["ENCLAVEKIT_SLOW_TESTS"] == "1",
        "cold builds of the committed recipes: set ENCLAVEKIT_SLOW_TESTS=1 (CI does)"))
enum SlowEndToEnd {}

/// The README's main job, twice, from scratch (cold step caches), under different conditions: both
/// must give exactly the committed `Manifests/example-node-0.1.0.json` and the same artifact bytes.
///
/// The inputs (Zig wheel, Debian kernel and OVMF packages) come from the user's cache when the main job
/// ran before (CI runs it first); otherwise they are fetched once from Debian and PyPI by their pins.
/// Each build compiles musl's libc twice with Zig, so this suite takes a few minutes.
extension SlowEndToEnd {
    @Suite("Example node")
    struct ExampleNodeCLITests {
        static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path

        /// A copy of the example recipe in a fresh "repository" at `root`, its files written in `order`.
        static func checkout(at root: String, reversed: Bool) throws {
            let fm = FileManager.default
            try fm.createDirectory(atPath: root + "/.git", withIntermediateDirectories: true)
            let source = packageRoot + "/Recipes/example-node"
            var files = try fm.subpathsOfDirectory(atPath: source).sorted()
            if reversed { files.reverse() }
            for file in files {
                var isDirectory: ObjCBool = false
                _ = fm.fileExists(atPath: source + "/" + file, isDirectory: &isDirectory)
                let target = root + "/Recipes/example-node/" + file
                try fm.createDirectory(
                    atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                if isDirectory.boolValue {
                    try fm.createDirectory(atPath: target, withIntermediateDirectories: true)
                } else {
                    try fm.copyItem(atPath: source + "/" + file, toPath: target)
                }
            }
        }

        /// A cache with the user's fetched inputs linked in (so nothing is downloaded twice), but no step
        /// outputs and no unpacked trees: every step runs.
        static func coldCache(at path: String) throws {
            let fm = FileManager.default
            let inputs = path + "/inputs/sha256"
            try fm.createDirectory(atPath: inputs, withIntermediateDirectories: true)
            let env = ProcessInfo.processInfo.environment
            let userCache =
                (env["XDG_CACHE_HOME"].map { $0 + "/enclavekit" } ?? (NSHomeDirectory() + "/.cache/enclavekit"))
                + "/inputs/sha256"
            for name in (try? fm.contentsOfDirectory(atPath: userCache)) ?? [] where name.count == 64 {
                try? fm.linkItem(atPath: userCache + "/" + name, toPath: inputs + "/" + name)
            }
        }

        @Test(
            "two cold builds in different places, time zones, locales, umasks and hostnames equal the committed manifest"
        )
        func reproducesCommittedManifest() throws {
            let temp = try TemporaryDirectory()
            let committed = try #require(
                FileManager.default.contents(atPath: Self.packageRoot + "/Manifests/example-node-0.1.0.json"))
            var outputs: [String] = []
            let variants:
                [(name: String, umask: String, tz: String, locale: String, hostname: String?, reversed: Bool)] =
                    [
                        ("a", "022", "UTC", "C", nil, false),
                        ("b/deeper/build-path", "077", "Pacific/Kiritimati", "C.UTF-8", "reprotest-b", true),
                    ]
            for v in variants {
                let root = temp.path + "/" + v.name
                try Self.checkout(at: root, reversed: v.reversed)
                try Self.coldCache(at: root + "/cache")
                let out = root + "/out"
                let command = [
                    CLIRunner.binary, "build", "Recipes/example-node/recipe.toml", "--out", out, "--cache",
                    root + "/cache",
                ].map { "'\($0)'" }.joined(separator: " ")
                // A different hostname needs a new UTS namespace (root, as in CI); without it the rest still varies.
                var script = "umask \(v.umask) && "
                if let host = v.hostname, getuid() == 0 {
                    script += "exec unshare --uts sh -c \"hostname \(host) && exec \(command)\""
                } else {
                    script += "exec \(command)"
                }
                let r = try CLIRunner.run(
                    ["sh", "-c", script], in: root,
                    environment: ["TZ": v.tz, "LC_ALL": v.locale, "LANG": v.locale, "HOME": root], viaShell: true)
                #expect(r.status == 0, "build \(v.name) failed: \(r.stderr)")
                #expect(r.stdout.contains("MRENCLAVE"), "\(r.stdout)")
                let manifest = FileManager.default.contents(atPath: out + "/manifest.json")
                #expect(
                    manifest == committed,
                    "build \(v.name): the manifest differs from Manifests/example-node-0.1.0.json")
                outputs.append(out)
            }
            let compare = try CLIRunner.run(["compare", outputs[0], outputs[1]])
            #expect(compare.status == 0, "\(compare.stdout)")

            // An auditor's rebuild of the signed release from checkout "a" (its steps are cached by now).
            let rebuild = try CLIRunner.run([
                "rebuild", Self.packageRoot + "/Manifests/example-node-0.1.0.dsse.json", "--source", temp.path + "/a",
                "--cache", temp.path + "/a/cache", "--out", temp.path + "/rebuild", "--artifacts", outputs[0],
            ])
            #expect(rebuild.status == 0, "\(rebuild.stdout)\(rebuild.stderr)")
            #expect(rebuild.stdout.contains("reproduced: example-node 0.1.0, 8 artifacts"), "\(rebuild.stdout)")
        }
    }

}

/// The committed signed releases (fast: no build).
@Suite("Committed releases")
struct CommittedReleaseTests {
    @Test("the committed signed release verifies against the committed policy and carries the committed manifest")
    func signedRelease() throws {
        let manifests = SlowEndToEnd.ExampleNodeCLITests.packageRoot + "/Manifests/"
        let verify = try CLIRunner.run([
            "verify", manifests + "example-node-0.1.0.dsse.json", manifests + "example-node-0.1.0.sigstore.json",
            "--policy", manifests + "policy.json",
        ])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        #expect(verify.stdout.contains("threshold: 3 trusted keys signed, 2 required (alice, carol, bob): met"))
        for document in ["example-node-0.1.0.dsse.json", "example-node-0.1.0.sigstore.json"] {
            let same = try CLIRunner.run(["compare", manifests + "example-node-0.1.0.json", manifests + document])
            #expect(same.status == 0, "\(document): \(same.stdout)")
        }
    }
}
