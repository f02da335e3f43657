import ArgumentParser
import DebianEnvironment
import EnclaveCore
import Recipe

struct LockCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lock",
        abstract: "Pin a recipe's inputs: fetch and hash every input without a pin and write recipe.lock.",
        discussion: """
            Reads RECIPE (recipe format v1, see Recipes/README.md) and writes recipe.lock next to it. \
            Inputs pinned in the recipe (sha256 = …) are left alone; path inputs are re-hashed (a \
            directory by its tree digest, with its file listing recorded under "files", so that \
            'enclavekit rebuild' can name the files that changed); an input whose lock entry still has the same kind and source \
            keeps its pin; every other input is fetched (apt-get download, pip download, or an HTTP GET \
            with curl) into the cache ($XDG_CACHE_HOME/enclavekit, default ~/.cache/enclavekit) and \
            hashed. To re-pin a fetched input, delete its entry from recipe.lock and run lock again. \
            'enclavekit build' never fetches anything unpinned.

            Each [environments.NAME] whose lock entry is missing or was made for other packages, suite, \
            variant or arch is resolved with apt (a private apt state over this machine's sources for \
            SUITE, SUITE-updates and SUITE-security; ENCLAVEKIT_APT_SOURCES=FILE overrides them): the \
            whole closure is written to recipe.lock under "environments" with each .deb's sha256 and the \
            archive's snapshot time, and every .deb is fetched into the cache and checked.

            Examples:
              enclavekit lock Recipes/example-node/recipe.toml
              enclavekit lock Recipes/example-node/recipe.toml --json
            """)

    @Argument(help: "The recipe file (recipe.toml).")
    var recipe: String

    @OptionGroup var jsonOutput: JSONOutputOption
    var json: Bool { jsonOutput.json }

    func validate() throws {
        guard !recipe.isEmpty else { throw ValidationError("give the recipe file, e.g. Recipes/NAME/recipe.toml") }
    }

    func run() throws {
        let parsed = try Recipe.load(path: recipe)
        let cache = InputCache.default()
        var configured = Locker(recipe: parsed, cache: cache)
        configured.environmentLocker = DebianEnvironmentLocker(cache: cache)
        let locker = configured
        let report = try Blocking.run { try await locker.lock() }
        if json {
            let inputs: [JSONValue] = report.inputs.map { item in
                .object([
                    ("name", .string(item.name)), ("kind", .string(item.kind.rawValue)),
                    ("source", .string(item.source)),
                    ("sha256", .string(item.sha256)), ("pin", .string(item.status.rawValue)),
                    ("changed", .bool(item.changed)), ("origin", .string(item.origin)),
                ])
            }
            let environments: [JSONValue] = report.environments.map { item in
                .object([
                    ("name", .string(item.name)), ("packages", .int(item.packageCount)),
                    ("snapshot", .string(item.snapshot)), ("pin", .string(item.kept ? "locked" : "resolved")),
                    ("changed", .bool(item.changed)),
                ])
            }
            Output.json(
                .object([
                    ("lock", .string(report.lockPath)), ("inputs", .array(inputs)),
                    ("environments", .array(environments)),
                ]))
            return
        }
        print("wrote \(report.lockPath) (\(report.lock.entries.count) of \(report.inputs.count) inputs pinned there)")
        let nameWidth = report.inputs.map(\.name.count).max() ?? 0
        for item in report.inputs {
            let how: String
            switch item.status {
            case .recipe: how = "pinned in the recipe"
            case .locked: how = "kept from the lock"
            case .fetched: how = item.changed ? "fetched, CHANGED" : "fetched"
            case .hashed: how = item.changed ? "hashed, CHANGED" : "hashed"
            }
            let pad = String(repeating: " ", count: nameWidth - item.name.count)
            print("  \(item.name)\(pad)  \(item.sha256)  \(item.kind.rawValue) \(item.source)  (\(how))")
        }
        for item in report.environments {
            let how = item.kept ? "kept from the lock" : (item.changed ? "resolved, CHANGED" : "resolved")
            print("  environment \(item.name): \(item.packageCount) packages, snapshot \(item.snapshot)  (\(how))")
        }
    }
}
