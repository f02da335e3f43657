import Foundation
import Recipe
import Synchronization
import Testing

@testable import Builder

#if canImport(Glibc)
    import Glibc
#endif

/// `enclavekit build` of a recipe whose step runs in an environment and whose root filesystem starts
/// from one, with ``FakeAssembler`` handing out roots made by ``EnvironmentFixture`` (so no Debian archive
/// is needed) and a Nitro target with a stand-in kernel.
@Suite("EnvironmentBuild")
struct EnvironmentBuildTests {
    /// A recipe folder inside a fake repository (`.git` marks its root), with its own cache.
    final class Repository {
        let base: String
        var root: String { base + "/repo" }
        var recipe: String { root + "/Recipes/envtoy/recipe.toml" }
        var cache: String { base + "/cache" }

        init(reversed: Bool = false, restrictive: Bool = false) throws {
            base = try SandboxFixture.temporaryDirectory()
            let fm = FileManager.default
            let folder = root + "/Recipes/envtoy"
            try fm.createDirectory(atPath: root + "/.git", withIntermediateDirectories: true)
            try fm.createDirectory(atPath: folder + "/src", withIntermediateDirectories: true)
            try Data("echo envtoy\n".utf8).write(to: URL(fileURLWithPath: folder + "/src/app.sh"))
            try Data("from the recipe\n".utf8).write(to: URL(fileURLWithPath: folder + "/src/replaced.conf"))
            try Data("stand-in kernel\n".utf8).write(to: URL(fileURLWithPath: folder + "/src/kernel"))
            try Data("stand-in init\n".utf8).write(to: URL(fileURLWithPath: folder + "/src/init"))
            let pin = try TreeDigest.digest(directory: folder + "/src")
            try Data(Self.toml(pin: pin).utf8).write(to: URL(fileURLWithPath: recipe))
            try RecipeLock().save(path: folder + "/recipe.lock")
            try EnvironmentFixture.make(base + "/environments/build", reversed: reversed, restrictive: restrictive)
            try EnvironmentFixture.make(base + "/environments/runtime", reversed: reversed, restrictive: restrictive)
        }

        deinit { SandboxFixture.remove(base) }

        static func toml(pin: String) -> String {
            """
            recipe = 1
            name = "envtoy"
            version = "1.0.0"
            source-date-epoch = 1700000000

            [inputs.src]
            kind = "path"
            source = "src"
            sha256 = "\(pin)"

            [environments.build]
            suite = "bookworm"
            packages = ["busybox"]

            [environments.runtime]
            suite = "bookworm"
            packages = ["busybox"]

            [[steps]]
            name = "app"
            inputs = ["src"]
            environment = "build"
            run = ["/bin/sh", "-c", "cat /inputs/src/app.sh /etc/os-release > /build/out/app && echo \\"$PATH\\" > /build/out/path"]

            [[steps]]
            name = "second"
            inputs = ["app"]
            environment = "build"
            run = ["/bin/sh", "-c", "cp /steps/app/app /build/out/app"]

            [rootfs]
            base = "environment:runtime"
            files = [
              { path = "/usr/bin/app", from = "step:second/app", mode = "0755" },
              { path = "/usr/lib/replaced.conf", from = "input:src/replaced.conf" },
            ]
            cmd = ["/usr/bin/app"]

            [targets.nitro]
            platform = "nitro"
            kernel = "input:src/kernel"
            init = "input:src/init"
            cmdline = "console=ttyS0"

            """
        }

        func assembler(sha256: String = String(repeating: "ab", count: 32), failing: Set<String> = []) -> FakeAssembler
        {
            FakeAssembler(
                roots: ["build": base + "/environments/build", "runtime": base + "/environments/runtime"],
                sha256: ["build": sha256, "runtime": String(repeating: "cd", count: 32)], failing: failing)
        }

        func build(
            out: String, assembler: FakeAssembler, cache: String? = nil, events: BuildEventHandler? = nil
        ) async throws -> BuildReport {
            var options = BuildOptions(recipePath: recipe)
            options.outputDirectory = base + "/" + out
            options.cacheDirectory = cache ?? self.cache
            options.environmentAssembler = assembler
            options.events = events
            return try await ReleaseBuilder.build(options)
        }

        func manifest(_ out: String) throws -> [UInt8] {
            Array(try Data(contentsOf: URL(fileURLWithPath: base + "/" + out + "/manifest.json")))
        }
    }

    @Test func stepsRunInTheEnvironmentAndTheManifestRecordsIt() async throws {
        let repository = try Repository()
        let assembler = repository.assembler()
        let report = try await repository.build(out: "out", assembler: assembler)
        // Each environment used is assembled once, though two steps use "build".
        #expect(await assembler.calls.names == ["build", "runtime"])
        #expect(report.steps.map { $0.name } == ["app", "second"])
        #expect(report.phases.map { $0.name } == ["inputs", "environments", "steps", "pack"])
        #expect(report.environments.map(\.name) == ["build", "runtime"])

        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(try repository.manifest("out"))) as? [String: Any])
        let environments = try #require(json["environments"] as? [[String: Any]])
        #expect(environments.count == 2)
        #expect(environments.first?["name"] as? String == "build")
        #expect(environments.first?["sha256"] as? String == String(repeating: "ab", count: 32))
        #expect(environments.first?["packageCount"] as? Int == 3)

        // The step saw the environment's files and Debian's PATH (its output, from the step cache).
        let steps = try FileManager.default.contentsOfDirectory(atPath: repository.cache + "/steps")
        let outputs = try steps.compactMap { key -> String? in
            let path = repository.cache + "/steps/" + key + "/path"
            return FileManager.default.fileExists(atPath: path)
                ? try String(contentsOfFile: path, encoding: .utf8) : nil
        }
        #expect(outputs == [Sandbox.environmentPath + "\n"])
    }

    /// The builder reports its phases as events, in order (seconds set to 0 to compare): a cold build, a
    /// build from the step cache, and a no-op build of the same output.
    @Test func buildEventsComeInOrder() async throws {
        let repository = try Repository()
        let assembler = repository.assembler()
        let recorded = Mutex<[BuildEvent]>([])
        let record: BuildEventHandler = { event in recorded.withLock { $0.append(Self.withoutSeconds(event)) } }
        func take() -> [BuildEvent] {
            recorded.withLock { events in
                defer { events = [] }; return events
            }
        }
        let head: [BuildEvent] = [
            .fetchingInputs(count: 1), .fetchedInputs(count: 1, seconds: 0), .assemblingEnvironment(name: "build"),
            .assemblingEnvironment(name: "runtime"), .assembledEnvironments(count: 2, seconds: 0),
        ]
        let tail: [BuildEvent] = [.packingTargets(count: 1), .packedTargets(count: 1, seconds: 0)]

        _ = try await repository.build(out: "out", assembler: assembler, events: record)
        #expect(
            take()
                == head + [
                    .stepStarted(number: 1, of: 2, name: "app"), .stepRan(number: 1, of: 2, name: "app", seconds: 0),
                    .stepStarted(number: 2, of: 2, name: "second"),
                    .stepRan(number: 2, of: 2, name: "second", seconds: 0),
                ] + tail)

        _ = try await repository.build(out: "out-2", assembler: assembler, events: record)
        #expect(
            take()
                == head + [
                    .stepCached(number: 1, of: 2, name: "app", seconds: 0),
                    .stepCached(number: 2, of: 2, name: "second", seconds: 0),
                ] + tail)

        _ = try await repository.build(out: "out", assembler: assembler, events: record)
        #expect(take() == [.fetchingInputs(count: 1), .fetchedInputs(count: 1, seconds: 0), .upToDate])
    }

    static func withoutSeconds(_ event: BuildEvent) -> BuildEvent {
        switch event {
        case .fetchedInputs(let count, _): .fetchedInputs(count: count, seconds: 0)
        case .assembledEnvironments(let count, _): .assembledEnvironments(count: count, seconds: 0)
        case .stepCached(let number, let of, let name, _): .stepCached(number: number, of: of, name: name, seconds: 0)
        case .stepRan(let number, let of, let name, _): .stepRan(number: number, of: of, name: name, seconds: 0)
        case .packedTargets(let count, _): .packedTargets(count: count, seconds: 0)
        default: event
        }
    }

    @Test func aChangedEnvironmentRerunsItsSteps() async throws {
        let repository = try Repository()
        let first = try await repository.build(out: "one", assembler: repository.assembler())
        #expect(first.steps.map { $0.cached } == [false, false])
        let same = try await repository.build(out: "two", assembler: repository.assembler())
        #expect(same.steps.map { $0.cached } == [true, true])
        let changed = try await repository.build(
            out: "three", assembler: repository.assembler(sha256: String(repeating: "ef", count: 32)))
        #expect(changed.steps.map { $0.cached } == [false, false])
        #expect(try repository.manifest("one") == (try repository.manifest("two")))
        #expect(try repository.manifest("one") != (try repository.manifest("three")))
    }

    /// The child's time zone and locale, set whether or not this process has the variables.
    static let hostChanges = [
        ("TZ", "Pacific/Kiritimati"), ("LANG", "fr_FR.ISO-8859-1"), ("LC_ALL", "fr_FR.ISO-8859-1"),
    ]

    /// What the child's build reports: which steps came from the cache, and the manifest's bytes.
    struct ChildBuild: Codable, Sendable {
        var cached: [Bool]
        var manifest: [UInt8]
    }

    @Test func theManifestDoesNotDependOnUmaskTimeZoneLocaleOrCreationOrder() async throws {
        let one = try Repository()
        _ = try await one.build(out: "out", assembler: one.assembler())

        // Another checkout, environment roots made in another order with other modes, a cold cache, and a
        // child process (an exit test) whose umask, TZ and locale are changed: only the child's, never those of
        // this process and the tests running beside this one. A failed check in the child comes back as an
        // issue of this test; an error is recorded as one.
        let child = await #expect(processExitsWith: .success, observing: [\.standardOutputContent]) {
            do {
                let two = try Repository(reversed: true, restrictive: true)
                umask(0o077)
                for (name, value) in EnvironmentBuildTests.hostChanges { setenv(name, value, 1) }
                let report = try await two.build(out: "elsewhere/out", assembler: two.assembler())
                let built = ChildBuild(
                    cached: report.steps.map { $0.cached }, manifest: try two.manifest("elsewhere/out"))
                FileHandle.standardOutput.write(try JSONEncoder().encode(built))
            } catch {
                Issue.record(error)
            }
        }
        let two = try JSONDecoder().decode(ChildBuild.self, from: Data(try #require(child).standardOutputContent))
        #expect(two.cached == [false, false])
        #expect(try one.manifest("out") == two.manifest)
    }

    @Test func aFailingAssemblerNamesTheEnvironmentAndLeavesNothing() async throws {
        let repository = try Repository()
        await #expect {
            _ = try await repository.build(out: "out", assembler: repository.assembler(failing: ["runtime"]))
        } throws: { error in
            guard case BuildError.environmentFailed(let name, let reason) = error else { return false }
            return name == "runtime" && reason == "mmdebstrap exited with 1 (test)"
                && "\(error)" == "environment 'runtime' could not be assembled: mmdebstrap exited with 1 (test)"
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: repository.base)
        #expect(!left.contains { $0.hasPrefix("out") }, "nothing half-built: \(left)")
        #expect(left.contains("environments") && left.contains("repo"))
    }

    @Test func anAssembledRootThatIsNoDirectoryIsAnError() async throws {
        let repository = try Repository()
        let broken = FakeAssembler(
            roots: ["build": repository.base + "/environments/build", "runtime": repository.base + "/missing"])
        await #expect {
            _ = try await repository.build(out: "out", assembler: broken)
        } throws: { error in
            guard case BuildError.environmentFailed(let name, let reason) = error else { return false }
            return name == "runtime" && reason.hasSuffix("/missing is not a directory")
        }
        #expect(!FileManager.default.fileExists(atPath: repository.base + "/out"))
    }

    @Test func anAssembledDigestThatIsNoDigestIsAnError() async throws {
        let repository = try Repository()
        await #expect {
            _ = try await repository.build(out: "out", assembler: repository.assembler(sha256: "ABC"))
        } throws: { error in
            guard case BuildError.environmentFailed(let name, let reason) = error else { return false }
            return name == "build" && reason.contains("'ABC' is not 64 lowercase hex digits")
        }
    }
}
