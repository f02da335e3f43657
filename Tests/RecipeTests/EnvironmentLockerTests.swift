import Foundation
import Recipe
import TestSupport
import Testing

/// `Locker` and environments, with a stand-in resolver (the real one, with apt, is tested in
/// DebianEnvironmentTests).
@Suite("Locker: environments")
struct EnvironmentLockerTests {
    /// Resolves every environment to a one-package closure whose sha256 is `digest`, and counts calls.
    final class FakeResolver: EnvironmentLocking, @unchecked Sendable {
        // @unchecked: the tests call it from one task at a time.
        var calls: [String] = []
        var digest = String(repeating: "a", count: 64)

        func resolve(_ environment: RecipeEnvironment, recipe: Recipe) async throws -> EnvironmentLock {
            calls.append(environment.name)
            return EnvironmentLock(
                suite: environment.suite, variant: environment.variant, arch: environment.arch,
                packages: environment.packages, snapshot: "2026-11-30T02:21:41Z",
                closure: [
                    .init(
                        name: "hello", version: "2.10-3", architecture: "amd64", sha256: digest, size: 1,
                        archive: "debian", path: "pool/main/h/hello/hello_2.10-3_amd64.deb")
                ])
        }
    }

    static func recipe(_ directory: TestDirectory, packages: String) throws -> Recipe {
        let text = """
            recipe = 1
            name = "n"
            version = "1"
            source-date-epoch = 0

            [environments.build]
            suite = "bookworm"
            packages = [\(packages)]

            [[steps]]
            name = "s"
            environment = "build"
            run = ["/bin/true"]

            """
        return try Recipe(toml: text, path: try directory.write("recipe.toml", text))
    }

    @Test func resolvesKeepsAndRenews() async throws {
        let directory = try TestDirectory()
        let cache = InputCache(root: directory.path + "/cache")
        let fake = FakeResolver()
        var locker = Locker(recipe: try Self.recipe(directory, packages: "\"hello\""), cache: cache)
        locker.environmentLocker = fake

        let first = try await locker.lock()
        #expect(fake.calls == ["build"])
        #expect(first.environments.map(\.kept) == [false])
        #expect(first.environments[0].packageCount == 1 && !first.environments[0].changed)
        let bytes = try String(contentsOfFile: directory.path + "/recipe.lock", encoding: .utf8)
        #expect(bytes.contains("\"environments\""))

        // Same ask: kept, not resolved again, same bytes.
        fake.digest = String(repeating: "b", count: 64)
        let second = try await locker.lock()
        #expect(fake.calls == ["build"])
        #expect(second.environments.map(\.kept) == [true])
        #expect(try String(contentsOfFile: directory.path + "/recipe.lock", encoding: .utf8) == bytes)

        // Another package list: resolved again, and the closure changed.
        locker = Locker(recipe: try Self.recipe(directory, packages: "\"hello\", \"sed\""), cache: cache)
        locker.environmentLocker = fake
        let third = try await locker.lock()
        #expect(fake.calls == ["build", "build"])
        #expect(third.environments.map(\.kept) == [false])
        #expect(third.environments[0].changed)
        let lock = try RecipeLock.load(path: directory.path + "/recipe.lock")
        #expect(lock.environments["build"]?.packages == ["hello", "sed"])
    }

    @Test func withoutResolverAnUnlockedEnvironmentIsAnError() async throws {
        let directory = try TestDirectory()
        let locker = Locker(
            recipe: try Self.recipe(directory, packages: "\"hello\""), cache: InputCache(root: directory.path + "/c"))
        let error = await #expect(throws: RecipeError.self) { try await locker.lock() }
        #expect(error?.description.contains("environment 'build' has no current lock entry") == true)
        #expect(!FileManager.default.fileExists(atPath: directory.path + "/recipe.lock"))
    }
}
