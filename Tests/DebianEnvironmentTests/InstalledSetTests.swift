import Recipe
import Testing

@testable import DebianEnvironment

/// After an assembly, dpkg's status must list exactly the lock's closure.
@Suite("Installed set against the closure")
struct InstalledSetTests {
    static func recipe() throws -> Recipe {
        let text = """
            recipe = 1
            name = "n"
            version = "1"
            source-date-epoch = 0

            [environments.build]
            suite = "bookworm"
            packages = ["hello"]

            [[steps]]
            name = "s"
            environment = "build"
            run = ["/bin/true"]

            """
        return try Recipe(toml: text, path: "r/recipe.toml")
    }

    static func lock(_ names: [String]) -> EnvironmentLock {
        EnvironmentLock(
            suite: "bookworm", variant: .essential, arch: "amd64", packages: ["hello"],
            snapshot: "2026-11-30T02:21:41Z",
            closure: names.map {
                .init(
                    name: $0, version: "1", architecture: "amd64", sha256: String(repeating: "a", count: 64), size: 1,
                    archive: "debian", path: "pool/main/x/\($0)/\($0)_1_amd64.deb")
            })
    }

    static func status(_ entries: [(String, String)]) -> String {
        entries.map { "Package: \($0.0)\nStatus: \($0.1)\nVersion: 1\n" }.joined(separator: "\n")
    }

    @Test func exactSetPasses() throws {
        let status = Self.status([("hello", "install ok installed"), ("libc6", "install ok installed")])
        try DebianEnvironments.checkInstalled(
            status: status, lock: Self.lock(["hello", "libc6"]), environment: "build", recipe: try Self.recipe())
    }

    @Test(
        arguments: [
            // The lock holds a package that was not installed.
            ([("libc6", "install ok installed")], ["hello", "libc6"], "installed not hello, which the lock holds"),
            // A package half-installed or removed does not count.
            (
                [("hello", "deinstall ok config-files"), ("libc6", "install ok installed")], ["hello", "libc6"],
                "installed not hello, which the lock holds"
            ),
            // Installed but not locked (cannot happen with a repository of the locked files alone; checked anyway).
            (
                [
                    ("hello", "install ok installed"), ("libc6", "install ok installed"),
                    ("sed", "install ok installed"),
                ],
                ["hello", "libc6"], "installed sed, which the lock does not hold"
            ),
        ] as [([(String, String)], [String], String)])
    func mismatchIsRefused(status: [(String, String)], closure: [String], expected: String) throws {
        let recipe = try Self.recipe()
        let error = #expect(throws: EnvironmentError.self) {
            try DebianEnvironments.checkInstalled(
                status: Self.status(status), lock: Self.lock(closure), environment: "build", recipe: recipe)
        }
        #expect(error?.kind == .incompleteClosure)
        #expect(error?.message.contains(expected) == true, "\(String(describing: error))")
        #expect(error?.message.hasSuffix("run enclavekit lock r/recipe.toml") == true)
    }
}
