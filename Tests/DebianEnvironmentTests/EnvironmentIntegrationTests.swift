import DebianEnvironment
import EnclaveCore
import Foundation
import Recipe
import TestSupport
import Testing

/// Real locks and assemblies against Debian's archive (this machine's apt sources) with mmdebstrap: a
/// small environment (variant essential + hello).
@Suite("Debian environments: lock and assemble (network, mmdebstrap)", .serialized)
struct EnvironmentIntegrationTests {
    static func recipe(in directory: TestDirectory, packages: [String] = ["hello"]) throws -> Recipe {
        let text = EnvironmentRecipeText.make(name: "env-test", epoch: 1_700_000_000, packages: packages)
        let path = try directory.write("recipe/recipe.toml", text)
        return try Recipe(toml: text, path: path)
    }

    static func leftovers(_ cache: InputCache) throws -> [String] {
        let directory = cache.root + "/environments"
        guard FileManager.default.fileExists(atPath: directory) else { return [] }
        return try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix(".tmp-") }
    }

    @Test func lockFetchAssembleReproduce() async throws {
        let directory = try TestDirectory()
        let recipe = try Self.recipe(in: directory)
        let cacheA = InputCache(root: directory.path + "/cache-a")

        // Lock: the closure, every .deb in the cache with its sha256.
        var locker = Locker(recipe: recipe, cache: cacheA)
        locker.environmentLocker = DebianEnvironmentLocker(cache: cacheA)
        let report = try await locker.lock()
        #expect(report.environments.count == 1 && report.environments[0].kept == false)
        let entry = try #require(report.lock.environments["build"])
        let names = entry.closure.map(\.name)
        #expect(names.contains("hello") && names.contains("libc6") && names.contains("dpkg"))
        #expect(entry.closure.count > 50)
        #expect(EnvironmentLock.isSnapshotTime(entry.snapshot))
        #expect(entry.closure.contains { $0.archive == "debian" })
        for package in entry.closure {
            #expect(try cacheA.lookup(sha256: package.sha256) != nil, "\(package.name) is not in the cache")
        }
        // Locking again keeps the entry and the bytes.
        let bytes = try String(contentsOfFile: recipe.lockPath, encoding: .utf8)
        let again = try await locker.lock()
        #expect(again.environments[0].kept && !again.environments[0].changed)
        #expect(try String(contentsOfFile: recipe.lockPath, encoding: .utf8) == bytes)
        let lock = try RecipeLock.load(path: recipe.lockPath)
        let environment = try #require(recipe.environment(named: "build"))

        // Assemble.
        let first = try await DebianEnvironments(cache: cacheA).assemble(environment, recipe: recipe, lock: lock)
        #expect(first.packageCount == entry.closure.count)
        #expect(FileManager.default.isExecutableFile(atPath: first.root + "/usr/bin/hello"))
        #expect(FileManager.default.fileExists(atPath: first.root + "/var/lib/dpkg/status"))
        let tmp = try FileManager.default.attributesOfItem(atPath: first.root + "/tmp")
        #expect((tmp[.posixPermissions] as? Int) == 0o1777)

        // The tree is the tar as GNU tar extracts it (paths, modes, owners, times, types, link targets), but
        // for the device nodes under /dev, which are skipped.
        let reference = try directory.directory("reference")
        try Self.shell("tar --numeric-owner -xpf '\(first.root)/../archive.tar' -C '\(reference)'")
        let listing = "find . ! -path './dev/*' -printf '%p %m %U %G %T@ %y %l\\n' | LC_ALL=C sort"
        let expected = try Self.shell("cd '\(reference)' && \(listing)")
        #expect(expected.split(separator: "\n").count > 1000)
        #expect(try Self.shell("cd '\(first.root)' && \(listing)") == expected)

        // A second build of the same closure runs no mmdebstrap (a launcher that fails would be noticed).
        var cachedAssembler = DebianEnvironments(cache: cacheA)
        cachedAssembler.launcher = ["/bin/false"]
        let cached = try await cachedAssembler.assemble(environment, recipe: recipe, lock: lock)
        #expect(cached == first)

        // Another cache, caller umask 077 and another time zone: the same bytes.
        let cacheB = InputCache(root: directory.path + "/cache-b")
        var other = DebianEnvironments(cache: cacheB)
        other.launcher = ["/bin/sh", "-c", "umask 077 && TZ=Pacific/Chatham LANG=de_DE.UTF-8 exec \"$0\" \"$@\""]
        let second = try await other.assemble(environment, recipe: recipe, lock: lock)
        #expect(second.sha256 == first.sha256)
        #expect(second.root != first.root)

        // A .deb whose bytes differ from the lock stops the build, naming the package and both digests.
        var tampered = lock
        let helloIndex = try #require(entry.closure.firstIndex { $0.name == "hello" })
        let fake = Digest.sha256(Array("not hello".utf8)).hex
        tampered.environments["build"]?.closure[helloIndex].sha256 = fake
        let mismatch = await #expect(throws: EnvironmentError.self) {
            try await DebianEnvironments(cache: cacheA).assemble(environment, recipe: recipe, lock: tampered)
        }
        #expect(mismatch?.kind == .pinMismatch)
        let real = entry.closure[helloIndex].sha256
        #expect(mismatch?.message.contains("package hello=") == true, "\(String(describing: mismatch))")
        #expect(mismatch?.message.contains("expected sha256 \(fake), got \(real)") == true)

        // A closure that lacks a package apt needs: one line naming it.
        var incomplete = lock
        incomplete.environments["build"]?.closure.removeAll { $0.name == "libc6" }
        let missing = await #expect(throws: EnvironmentError.self) {
            try await DebianEnvironments(cache: cacheA).assemble(environment, recipe: recipe, lock: incomplete)
        }
        #expect(missing?.kind == .incompleteClosure)
        #expect(missing?.message.contains("lacks libc6") == true, "\(String(describing: missing))")
        #expect(try Self.leftovers(cacheA).isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: cacheA.root + "/environments").count == 1)

        // A lock without the environment, or made for other packages.
        let stale = try Self.recipe(in: directory, packages: ["hello", "sed"])
        let staleEnvironment = try #require(stale.environment(named: "build"))
        let notLocked = await #expect(throws: EnvironmentError.self) {
            try await DebianEnvironments(cache: cacheA).assemble(staleEnvironment, recipe: stale, lock: lock)
        }
        #expect(notLocked?.kind == .notLocked)
        #expect(notLocked?.message.contains("run enclavekit lock") == true)
    }

    /// Runs `/bin/sh -c command` and returns its standard output; throws when it fails.
    @discardableResult
    static func shell(_ command: String) throws -> String {
        let result = try ToolRunner.run("/bin/sh", ["-c", command])
        guard result.status == 0 else { throw ShellFailed(command: command) }
        return result.stdout
    }

    struct ShellFailed: Error { var command: String }

    @Test func unknownPackageIsNamed() async throws {
        let directory = try TestDirectory()
        let recipe = try Self.recipe(in: directory, packages: ["pyhton3"])
        let cache = InputCache(root: directory.path + "/cache")
        let environment = try #require(recipe.environment(named: "build"))
        let error = await #expect(throws: EnvironmentError.self) {
            try await DebianEnvironmentLocker(cache: cache).resolve(environment, recipe: recipe)
        }
        #expect(error?.kind == .unknownPackage)
        #expect(
            error?.message
                == "environment 'build': package 'pyhton3' is not in bookworm (bookworm, bookworm-updates, "
                + "bookworm-security): check the name with apt-cache policy pyhton3")
        #expect(!FileManager.default.fileExists(atPath: recipe.lockPath))
    }

    @Test func suiteWithoutSource() async throws {
        let directory = try TestDirectory()
        let recipe = try Self.recipe(in: directory)
        let environment = try #require(recipe.environment(named: "build"))
        let sources = AptSources(entries: [
            .init(uri: "http://debian.mirror.example/debian", suite: "trixie", components: ["main"])
        ])
        let error = await #expect(throws: EnvironmentError.self) {
            try await DebianEnvironmentLocker(cache: InputCache(root: directory.path + "/c"), sources: sources)
                .resolve(environment, recipe: recipe)
        }
        #expect(error?.kind == .noSource)
        #expect(error?.message.contains("no apt source names suite bookworm") == true)
    }
}
