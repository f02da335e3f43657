import Foundation
import TestSupport
import Testing

/// `enclavekit lock` on a recipe with a Debian environment.
@Suite("enclavekit lock: environments")
struct LockEnvironmentCLITests {
    func makeRecipe(_ tmp: TestDirectory, packages: String) throws -> String {
        let dir = tmp.path + "/env"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let recipe = """
            recipe = 1
            name = "env"
            version = "0.1.0"
            source-date-epoch = 1700000000

            [environments.build]
            suite = "bookworm"
            packages = [\(packages)]

            [[steps]]
            name = "s"
            environment = "build"
            run = ["/bin/true"]

            """
        try Data(recipe.utf8).write(to: URL(fileURLWithPath: dir + "/recipe.toml"))
        return dir
    }

    /// ENCLAVEKIT_APT_SOURCES replaces the host's sources; a suite none of them names is one line.
    @Test func sourcesOverrideWithoutTheSuite() throws {
        let tmp = try TestDirectory()
        let dir = try makeRecipe(tmp, packages: "\"hello\"")
        let sources = tmp.path + "/trixie.list"
        try Data("deb http://debian.mirror.example/debian trixie main\n".utf8).write(to: URL(fileURLWithPath: sources))
        let result = try CLIRunner.run(
            ["lock", dir + "/recipe.toml"],
            environment: ["XDG_CACHE_HOME": tmp.path + "/cache", "ENCLAVEKIT_APT_SOURCES": sources])
        #expect(result.status == 1)
        #expect(
            result.stderr.hasPrefix("Error: environment 'build': no apt source names suite bookworm (read \(sources))"))
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: dir + "/recipe.lock"))
    }

    /// A real resolution against the host's archive (network): the JSON report lists the environment.
    @Test func jsonReportsEnvironments() throws {
        let tmp = try TestDirectory()
        let dir = try makeRecipe(tmp, packages: "\"hello\"")
        let env = ["XDG_CACHE_HOME": tmp.path + "/cache"]
        let result = try CLIRunner.run(["lock", dir + "/recipe.toml", "--json"], environment: env)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains(#""name": "build""#))
        #expect(result.stdout.contains(#""pin": "resolved""#))
        let again = try CLIRunner.run(["lock", dir + "/recipe.toml"], environment: env)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("environment build: "))
        #expect(again.stdout.contains("(kept from the lock)"))
    }
}
