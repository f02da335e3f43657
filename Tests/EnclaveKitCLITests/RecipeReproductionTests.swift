import Foundation
import TestSupport
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

/// A committed recipe with its committed, signed release.
struct CommittedRecipe: Sendable, CustomTestStringConvertible {
    var name: String
    var version: String
    /// How many artifacts its release lists.
    var artifacts: Int
    /// A line the build's summary prints (a measurement register of one of its targets).
    var summaryMarker: String

    var recipe: String { "Recipes/\(name)/recipe.toml" }
    var manifest: String { "Manifests/\(name)-\(version).json" }
    var envelope: String { "Manifests/\(name)-\(version).dsse.json" }
    var testDescription: String { name }

    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    static let all = [
        CommittedRecipe(name: "example-node", version: "0.1.0", artifacts: 8, summaryMarker: "MRENCLAVE"),
        CommittedRecipe(name: "python-node", version: "0.1.0", artifacts: 6, summaryMarker: "RTMR2"),
    ]
}

/// Each committed recipe, twice, from scratch (cold step and environment caches), under different
/// conditions: both builds must give exactly the committed manifest and the same artifact bytes, and an
/// auditor's `rebuild` of the signed release must reproduce it.
///
/// The fetched files (wheels, Debian packages, the environments' `.deb` closures) come from the user's
/// cache when the main job ran before (CI runs it first); otherwise they are fetched once by their pins.
/// The example node compiles musl's libc twice with Zig; the Python node assembles two Debian
/// environments with mmdebstrap: a few minutes each.
extension SlowEndToEnd {
    @Suite("Committed recipes reproduce", .serialized)
    struct RecipeReproductionTests {
        /// A copy of the recipe's folder in a fresh "repository" at `root`, its files written in reverse
        /// order when `reversed`.
        static func checkout(_ recipe: CommittedRecipe, at root: String, reversed: Bool) throws {
            let fm = FileManager.default
            try fm.createDirectory(atPath: root + "/.git", withIntermediateDirectories: true)
            let source = CommittedRecipe.packageRoot + "/Recipes/" + recipe.name
            var files = try fm.subpathsOfDirectory(atPath: source).sorted()
            if reversed { files.reverse() }
            for file in files {
                var isDirectory: ObjCBool = false
                _ = fm.fileExists(atPath: source + "/" + file, isDirectory: &isDirectory)
                let target = root + "/Recipes/\(recipe.name)/" + file
                try fm.createDirectory(
                    atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                if isDirectory.boolValue {
                    try fm.createDirectory(atPath: target, withIntermediateDirectories: true)
                } else {
                    try fm.copyItem(atPath: source + "/" + file, toPath: target)
                }
            }
        }

        /// A cache with the user's fetched files linked in (so nothing is downloaded twice), but no step
        /// outputs, unpacked trees or assembled environments: every step runs, every environment is
        /// assembled.
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
            "two cold builds in different places, time zones, locales, umasks and hostnames equal the committed manifest",
            arguments: CommittedRecipe.all)
        func reproducesCommittedManifest(recipe: CommittedRecipe) throws {
            let temp = try TemporaryDirectory()
            let committed = try #require(
                FileManager.default.contents(atPath: CommittedRecipe.packageRoot + "/" + recipe.manifest))
            var outputs: [String] = []
            let variants:
                [(name: String, umask: String, tz: String, locale: String, hostname: String?, reversed: Bool)] =
                    [
                        ("a", "022", "UTC", "C", nil, false),
                        ("b/deeper/build-path", "077", "Pacific/Kiritimati", "C.UTF-8", "reprotest-b", true),
                    ]
            for v in variants {
                let root = temp.path + "/" + v.name
                try Self.checkout(recipe, at: root, reversed: v.reversed)
                try Self.coldCache(at: root + "/cache")
                let out = root + "/out"
                let command = [CLIRunner.binary, "build", recipe.recipe, "--out", out, "--cache", root + "/cache"]
                    .map { "'\($0)'" }.joined(separator: " ")
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
                #expect(r.status == 0, "build \(v.name) of \(recipe.name) failed: \(r.stderr)")
                #expect(r.stdout.contains(recipe.summaryMarker), "\(r.stdout)")
                let manifest = FileManager.default.contents(atPath: out + "/manifest.json")
                #expect(manifest == committed, "build \(v.name): the manifest differs from \(recipe.manifest)")
                outputs.append(out)
            }
            let compare = try CLIRunner.run(["compare", outputs[0], outputs[1]])
            #expect(compare.status == 0, "\(compare.stdout)")

            // An auditor's rebuild of the signed release from checkout "a" (it runs every step afresh).
            let rebuild = try CLIRunner.run([
                "rebuild", CommittedRecipe.packageRoot + "/" + recipe.envelope, "--source", temp.path + "/a",
                "--cache", temp.path + "/a/cache", "--out", temp.path + "/rebuild", "--artifacts", outputs[0],
            ])
            #expect(rebuild.status == 0, "\(rebuild.stdout)\(rebuild.stderr)")
            #expect(
                rebuild.stdout.contains("reproduced: \(recipe.name) \(recipe.version), \(recipe.artifacts) artifacts"),
                "\(rebuild.stdout)")
        }
    }
}

/// The committed signed releases (fast: no build).
@Suite("Committed releases")
struct CommittedReleaseTests {
    static let manifests = CommittedRecipe.packageRoot + "/Manifests/"

    @Test("the example node's signed release verifies against the policy and carries the committed manifest")
    func exampleNode() throws {
        let verify = try CLIRunner.run([
            "verify", Self.manifests + "example-node-0.1.0.dsse.json",
            Self.manifests + "example-node-0.1.0.sigstore.json", "--policy", Self.manifests + "policy.json",
        ])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        #expect(verify.stdout.contains("threshold: 3 trusted keys signed, 2 required (alice, carol, bob): met"))
        for document in ["example-node-0.1.0.dsse.json", "example-node-0.1.0.sigstore.json"] {
            let same = try CLIRunner.run([
                "compare", Self.manifests + "example-node-0.1.0.json", Self.manifests + document,
            ])
            #expect(same.status == 0, "\(document): \(same.stdout)")
        }
    }

    @Test("the Python node's signed release verifies against the policy and carries the committed manifest")
    func pythonNode() throws {
        let verify = try CLIRunner.run([
            "verify", Self.manifests + "python-node-0.1.0.dsse.json", "--policy", Self.manifests + "policy.json",
        ])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        #expect(verify.stdout.contains("threshold: 2 trusted keys signed, 2 required (dave, erin): met"))
        let same = try CLIRunner.run([
            "compare", Self.manifests + "python-node-0.1.0.json", Self.manifests + "python-node-0.1.0.dsse.json",
        ])
        #expect(same.status == 0, "\(same.stdout)")
    }

    @Test("the example release's reproduction attestation (the test suite's rebuilder key) meets a 1-of-1 quorum")
    func exampleReproductionAttestation() throws {
        let dir = try TemporaryDirectory()
        let fm = FileManager.default
        for name in ["alice", "bob", "carol"] {
            try fm.copyItem(atPath: Self.manifests + "keys/\(name).pub.pem", toPath: dir.path + "/\(name).pub.pem")
        }
        let fixtures = CommittedRecipe.packageRoot + "/Tests/EnclaveKitCLITests/Fixtures/keys/"
        try fm.copyItem(atPath: fixtures + "test-rebuilder.pub.pem", toPath: dir.path + "/test-rebuilder.pub.pem")
        let policy = """
            {"policyVersion": 1, "threshold": 2, "keys": [
              {"name": "alice", "publicKeyFile": "alice.pub.pem"}, {"name": "bob", "publicKeyFile": "bob.pub.pem"},
              {"name": "carol", "publicKeyFile": "carol.pub.pem"}],
             "rebuilders": {"threshold": 1, "keys": [{"name": "test-rebuilder", "publicKeyFile": "test-rebuilder.pub.pem"}]}}
            """
        try Data(policy.utf8).write(to: URL(fileURLWithPath: dir.path + "/policy.json"))
        let verify = try CLIRunner.run([
            "verify", Self.manifests + "example-node-0.1.0.dsse.json",
            Self.manifests + "example-node-0.1.0.sigstore.json",
            "--policy", dir.path + "/policy.json", "--attestations",
            Self.manifests + "example-node-0.1.0.reproduction.dsse.json",
        ])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        #expect(
            verify.stdout.contains("rebuilder quorum: 1 trusted rebuilder reproduced, 1 required, 0 failed: met"),
            "\(verify.stdout)")
    }
}
