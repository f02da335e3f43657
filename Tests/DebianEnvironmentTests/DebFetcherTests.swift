import DebianEnvironment
import EnclaveCore
import Foundation
import Recipe
import TestSupport
import Testing

@Suite("Fetching locked .deb files (offline)")
struct DebFetcherTests {
    static func setup(_ directory: TestDirectory, archive: String) throws -> (Recipe, EnvironmentLock, InputCache) {
        let text = EnvironmentRecipeText.make()
        let recipe = try Recipe(toml: text, path: try directory.write("r/recipe.toml", text))
        let cache = InputCache(root: directory.path + "/cache")
        let file = try directory.write("hello.deb", "not really a deb")
        let digest = try cache.store(copying: file)
        let lock = EnvironmentLock(
            suite: "bookworm", variant: .essential, arch: "amd64", packages: ["hello"],
            snapshot: "2026-11-30T02:21:41Z",
            closure: [
                .init(
                    name: "hello", version: "2.10-3", architecture: "amd64", sha256: digest, size: 16,
                    archive: archive, path: "pool/main/h/hello/hello_2.10-3_amd64.deb")
            ])
        return (recipe, lock, cache)
    }

    /// A cached .deb is not fetched again: a curl that cannot run is never started.
    @Test func cachedDebsAreNotFetched() async throws {
        let directory = try TestDirectory()
        let (recipe, lock, cache) = try Self.setup(directory, archive: "debian")
        var fetcher = DebFetcher(cache: cache)
        fetcher.curl = "/nonexistent/curl"
        let files = try await fetcher.fetch(
            lock, environment: "build", recipe: recipe, sources: AptSources(entries: []))
        #expect(files == [cache.inputPath(sha256: lock.closure[0].sha256)])
    }

    /// A package from an archive no apt source names: the error says what to add.
    @Test func missingArchiveSaysWhatToAdd() async throws {
        let directory = try TestDirectory()
        var (recipe, lock, cache) = try Self.setup(directory, archive: "debian-security")
        lock.closure[0].sha256 = String(repeating: "1", count: 64)
        let sources = AptSources(
            entries: [.init(uri: "http://debian.mirror.example/debian", suite: "bookworm", components: ["main"])],
            files: ["/etc/apt/sources.list.d/debian.sources"])
        let error = await #expect(throws: EnvironmentError.self) {
            try await DebFetcher(cache: cache).fetch(lock, environment: "build", recipe: recipe, sources: sources)
        }
        #expect(error?.kind == .noSource)
        #expect(
            error?.message.contains(
                "package hello=2.10-3 comes from the archive 'debian-security', which no apt source on this machine "
                    + "names") == true)
        #expect(
            error?.message.contains("'deb http://debian.mirror.example/debian-security bookworm-security main'") == true
        )
        _ = recipe
    }

    /// Without mmdebstrap the error says what to install.
    @Test func missingToolSaysWhatToInstall() async throws {
        let directory = try TestDirectory()
        let (recipe, lock, cache) = try Self.setup(directory, archive: "debian")
        var assembler = DebianEnvironments(cache: cache, sources: AptSources(entries: []))
        assembler.mmdebstrap = "/nonexistent/mmdebstrap"
        let environment = try #require(recipe.environment(named: "build"))
        let error = await #expect(throws: EnvironmentError.self) {
            try await assembler.assemble(environment, recipe: recipe, lock: RecipeLock(environments: ["build": lock]))
        }
        #expect(error?.kind == .toolMissing)
        #expect(error?.message.contains("apt-get install mmdebstrap apt-utils") == true)
    }

    /// A lock without the environment says to lock.
    @Test func unlockedEnvironmentSaysToLock() async throws {
        let directory = try TestDirectory()
        let (recipe, _, cache) = try Self.setup(directory, archive: "debian")
        let environment = try #require(recipe.environment(named: "build"))
        let error = await #expect(throws: EnvironmentError.self) {
            try await DebianEnvironments(cache: cache).assemble(environment, recipe: recipe, lock: RecipeLock())
        }
        #expect(error?.kind == .notLocked)
        #expect(
            error?.message == "environment 'build' is not in \(recipe.lockPath): run enclavekit lock \(recipe.path)")
    }
}
