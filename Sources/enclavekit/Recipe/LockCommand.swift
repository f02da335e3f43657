import ArgumentParser
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

            Examples:
              enclavekit lock Recipes/example-node/recipe.toml
              enclavekit lock Recipes/example-node/recipe.toml --json
            """)

    @Argument(help: "The recipe file (recipe.toml).")
    var recipe: String

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func validate() throws {
        guard !recipe.isEmpty else { throw ValidationError("give the recipe file, e.g. Recipes/NAME/recipe.toml") }
    }

    func run() throws {
        let parsed = try Recipe.load(path: recipe)
        let locker = Locker(recipe: parsed, cache: InputCache.default())
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
            Output.json(.object([("lock", .string(report.lockPath)), ("inputs", .array(inputs))]))
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
    }
}
