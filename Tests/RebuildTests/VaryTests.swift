import Builder
import EnclaveCore
import Foundation
import Recipe
import Release
import TestSupport
import Testing

@testable import Rebuild

/// `rebuild --vary` on a tiny recipe (no Debian environment: Debian's static busybox as a path input, one
/// shell step, a Nitro target with a stand-in kernel) whose step writes one probe into the image. Each probe
/// depends on exactly one variation, so `--vary` with every variation must name exactly that one; a probe
/// that depends on none passes them all. Needs bubblewrap and busybox-static (`.ci/setup`); the clock
/// probe runs the host's dynamically linked `date` (with its loader and libc copied into an input) under
/// libfaketime (`faketime`, `.ci/setup`).
@Suite("RebuildVary", .serialized)
struct VaryTests {
    static let busybox = "/bin/busybox"
    static let sh = "/inputs/tools/busybox sh -c"

    /// Each probe and the variation it must be named by (nil: reproducible under every variation).
    static let probes: [(String, BuildVariation?)] = [
        ("echo steady; /inputs/tools/busybox cat /inputs/data/b", nil),
        ("echo \"$TZ\"; date +%Z", .timeZone),
        ("echo \"$LANG\"", .locale),
        ("umask", .umask),
        ("hostname", .hostname),
        ("id -un", .user),
        ("find /inputs/data -mindepth 1", .fileOrder),
        ("/inputs/sys/ld.so --library-path /inputs/sys /inputs/sys/date -u +%Y", .clock),
        ("nproc", .cpus),
        ("grep ' /build/out ' /proc/self/mountinfo | cut -d ' ' -f 4", .buildPath),
    ]

    /// A fake repository (`.git` marks its root) holding the recipe, its lock and inputs, and a cache.
    final class Repository {
        let scratch: TestDirectory
        var base: String { scratch.path }
        var root: String { base + "/repo" }
        var folder: String { root + "/Recipes/vary" }
        var recipe: String { folder + "/recipe.toml" }
        var cache: String { base + "/cache" }

        init(probe: String) throws {
            scratch = try TestDirectory(prefix: "enclavekit-vary")
            let fm = FileManager.default
            for dir in [root + "/.git", folder + "/tools", folder + "/data", folder + "/sys"] {
                try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
            }
            try fm.copyItem(
                atPath: URL(fileURLWithPath: VaryTests.busybox).resolvingSymlinksInPath().path,
                toPath: folder + "/tools/busybox")
            // Enough entries that a readdir order cannot be mistaken for another by chance.
            for name in ["a", "b", "c", "d", "e", "f", "g", "h"] {
                try Data("entry \(name)\n".utf8).write(to: URL(fileURLWithPath: folder + "/data/" + name))
            }
            try Data("stand-in kernel\n".utf8).write(to: URL(fileURLWithPath: folder + "/data/kernel"))
            for (source, name) in [
                ("/usr/bin/date", "date"), ("/lib64/ld-linux-x86-64.so.2", "ld.so"),
                ("/lib/x86_64-linux-gnu/libc.so.6", "libc.so.6"), ("/lib/x86_64-linux-gnu/libm.so.6", "libm.so.6"),
            ] {
                let file = URL(fileURLWithPath: source).resolvingSymlinksInPath().path
                try fm.copyItem(atPath: file, toPath: folder + "/sys/" + name)
            }
            var pins: [String: String] = [:]
            for input in ["tools", "data", "sys"] {
                pins[input] = try TreeDigest.digest(directory: folder + "/" + input)
            }
            try Data(Self.toml(probe: probe, pins: pins).utf8).write(to: URL(fileURLWithPath: recipe))
            try RecipeLock().save(path: folder + "/recipe.lock")
        }

        static func toml(probe: String, pins: [String: String]) -> String {
            let script = "\(probe) > /build/out/probe"
                .replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            let inputs = ["tools", "data", "sys"].map { name in
                """
                [inputs.\(name)]
                kind = "path"
                source = "\(name)"
                sha256 = "\(pins[name] ?? "")"

                """
            }.joined(separator: "\n")
            return """
                recipe = 1
                name = "vary"
                version = "1.0.0"
                source-date-epoch = 1700000000

                \(inputs)
                [[steps]]
                name = "probe"
                inputs = ["tools", "data", "sys"]
                run = ["/inputs/tools/busybox", "sh", "-c", "\(script)"]

                [rootfs]
                files = [{ path = "/probe", from = "step:probe/probe", mode = "0644" }]
                cmd = ["/probe"]

                [targets.nitro]
                platform = "nitro"
                kernel = "input:data/kernel"
                init = "input:tools/busybox"
                cmdline = "console=ttyS0"

                """
        }

        /// Builds the release (the published manifest) and returns its path.
        func release() async throws -> String {
            var options = BuildOptions(recipePath: recipe)
            options.outputDirectory = base + "/release"
            options.cacheDirectory = cache
            return try await ReleaseBuilder.build(options).manifestPath
        }

        func vary(_ variations: [BuildVariation] = BuildVariation.allCases) async throws -> VariedRebuildResult {
            var options = RebuildOptions(release: try await release())
            options.checkout = root
            options.cacheDirectory = cache
            options.outputDirectory = base + "/rebuild"
            return try await Rebuilder.rebuildVaried(options, variations: variations)
        }
    }

    @Test(arguments: probes)
    func varyNamesExactlyTheVariationAProbeDependsOn(probe: String, variation: BuildVariation?) async throws {
        let repository = try Repository(probe: probe)
        let result = try await repository.vary()
        // The release was built in another host directory: a probe of the build path sees that too.
        #expect(result.rebuild.reproduced == (variation != .buildPath), "\(result.rebuild.comparison.render())")
        let skipped = Set(result.notApplied.map(\.variation))
        #expect(result.applied.count + skipped.count == BuildVariation.allCases.count)
        guard let variation, !skipped.contains(variation) else {
            // Nothing this probe depends on was varied: every build matches.
            #expect(result.reproducibleUnderVariations, "\(result.combined.render())")
            #expect(result.single.isEmpty)
            #expect(result.breaking.isEmpty)
            if let variation { #expect(variation == .cpus || variation == .clock) }
            return
        }
        #expect(!result.reproducibleUnderVariations)
        #expect(result.breaking == [variation], "\(result.single.map { ($0.variation, $0.comparison.render()) })")
        #expect(result.single.map(\.variation) == result.applied)
        // The drill-down reaches the probe inside the image's ramdisk.
        let outcome = try #require(result.single.first { $0.variation == variation })
        let rendered = outcome.comparison.render()
        #expect(rendered.contains("probe"), "\(rendered)")
        #expect(outcome.outputDirectory.map { FileManager.default.fileExists(atPath: $0) } == true)
        // Builds that match are not kept; the control build is the rebuild's output.
        let listed = try FileManager.default.contentsOfDirectory(atPath: repository.base + "/rebuild.vary")
        #expect(listed.contains(".enclavekit-vary"), "the folder's marker: \(listed)")
        let kept = listed.filter { $0 != ".enclavekit-vary" }.sorted()
        #expect(kept == ["all", variation.rawValue].sorted())
        #expect(FileManager.default.fileExists(atPath: repository.base + "/rebuild/manifest.json"))
        #expect(result.rebuild.build.manifestPath == repository.base + "/rebuild/manifest.json")
        // The attestation records what was varied and what broke.
        let attestation = ReproductionAttestation(
            varied: result, environment: .init(kernel: "k", bubblewrap: "b", cpu: "c"), time: "2026-12-02T03:00:00Z")
        let parsed = try ReproductionAttestation(payload: attestation.payload, format: "test")
        #expect(parsed.environment.variations == result.applied.map(\.rawValue))
        #expect(parsed.environment.variationsBreaking == [variation.rawValue])
        #expect(parsed.reproduced == result.rebuild.reproduced)
    }

    /// OUT.vary is replaced only when an earlier --vary run made it; a folder of the user's there is refused
    /// with an error naming it, and kept as it was.
    @Test func aForeignVaryFolderIsRefusedAndKept() async throws {
        let repository = try Repository(probe: "true")
        let foreign = repository.base + "/rebuild.vary"
        try FileManager.default.createDirectory(atPath: foreign, withIntermediateDirectories: true)
        try Data("mine\n".utf8).write(to: URL(fileURLWithPath: foreign + "/notes.txt"))
        let error = await #expect(throws: RebuildError.self) { _ = try await repository.vary([.timeZone]) }
        #expect(error?.message.contains("\(foreign) exists and was not made by rebuild --vary") == true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: foreign) == ["notes.txt"])
        // A second run replaces the folder the first one made.
        try FileManager.default.removeItem(atPath: foreign)
        _ = try await repository.vary([.timeZone])
        _ = try await repository.vary([.timeZone])
        #expect(FileManager.default.fileExists(atPath: foreign + "/.enclavekit-vary"))
    }

    @Test func theClockAndCPUVariationsApplyOnThisHost() {
        // CI installs faketime and has two cores; a host without them says so instead of varying nothing.
        let (variations, notApplied) = SandboxVariations.resolve([.clock, .cpus])
        for (variation, reason) in notApplied { Issue.record("\(variation.rawValue) not applied: \(reason)") }
        #expect(variations.fakeTimeLibrary != nil && variations.cpuList != nil)
    }

    @Test(arguments: [
        ("all", BuildVariation.allCases), ("tz,hostname", [.timeZone, .hostname]),
        ("hostname,tz,tz", [.timeZone, .hostname]), ("file-order,build-path", [.buildPath, .fileOrder]),
    ])
    func variationListsParse(text: String, expected: [BuildVariation]) throws {
        #expect(try BuildVariation.parseList(text) == expected)
    }

    @Test(arguments: ["", "tz,", "timezone", "TZ"])
    func unknownVariationsAreRejected(text: String) {
        #expect(throws: BuildRefusal.self) { try BuildVariation.parseList(text) }
    }
}
