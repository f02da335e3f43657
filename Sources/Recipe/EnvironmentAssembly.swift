/// A Debian environment assembled from its locked closure: a read-only root directory in the cache that a
/// step sees as `/` (`environment = "NAME"`) and that `[rootfs] base = "environment:NAME"` starts from.
///
/// ```swift
/// let build = try await assembler.assemble(recipe.environments[0], recipe: recipe, lock: lock)
/// print(build.root, build.sha256, build.packageCount)
/// ```
public struct AssembledEnvironment: Sendable, Hashable {
    public var name: String
    /// The root directory (never modified once assembled).
    public var root: String
    /// sha256 of the environment's canonical archive, lowercase hex: the same closure gives the same
    /// digest on any machine.
    public var sha256: String
    /// How many packages its closure holds.
    public var packageCount: Int

    public init(name: String, root: String, sha256: String, packageCount: Int) {
        self.name = name
        self.root = root
        self.sha256 = sha256
        self.packageCount = packageCount
    }
}

/// Turns a recipe's environment and its lock entry into an ``AssembledEnvironment`` (fetching and
/// verifying the pinned `.deb` files as needed). The builder depends on this protocol only, so tests can
/// hand it roots made another way.
public protocol EnvironmentAssembling: Sendable {
    func assemble(_ environment: RecipeEnvironment, recipe: Recipe, lock: RecipeLock) async throws
        -> AssembledEnvironment
}
