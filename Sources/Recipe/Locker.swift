/// `enclavekit lock RECIPE` as a library call (`Recipes/README.md`, "The lock file"): inputs pinned in
/// the recipe are left alone; path inputs (and local docker-archive/oci files) are re-hashed, a
/// directory's listing recorded with its pin (and kept in the cache under its digest); an input
/// whose lock entry still matches its kind and source keeps that pin; every other input is fetched into
/// the cache and hashed. The new lock (entries only for inputs that are not pinned in the recipe) is
/// written atomically next to the recipe.
///
/// ```swift
/// let report = try await Locker(recipe: recipe, cache: .default()).lock()
/// for item in report.inputs { print(item.name, item.sha256, item.status) }
/// ```
public struct Locker: Sendable {
    /// How an input got its pin in this run.
    public enum Status: String, Sendable, Hashable {
        /// `sha256` in the recipe (left alone).
        case recipe
        /// Kept from the existing lock (same kind and source).
        case locked
        /// Fetched and hashed now (new, or its kind or source changed).
        case fetched
        /// A local input, hashed now.
        case hashed
    }

    /// One input in the report.
    public struct Item: Sendable, Hashable {
        public var name: String
        public var kind: InputKind
        public var source: String
        public var sha256: String
        public var status: Status
        public var origin: String
        /// The lock held a different digest for this input before.
        public var changed: Bool
    }

    /// One environment in the report.
    public struct EnvironmentItem: Sendable, Hashable {
        public var name: String
        /// Packages in its closure.
        public var packageCount: Int
        /// The archive time its closure was resolved at.
        public var snapshot: String
        /// `true` when kept from the lock (suite, variant, arch and packages unchanged); `false` when
        /// resolved now.
        public var kept: Bool
        /// The lock held a different closure for this environment before.
        public var changed: Bool
    }

    /// What `lock` did.
    public struct Report: Sendable, Hashable {
        public var lockPath: String
        public var inputs: [Item]
        public var environments: [EnvironmentItem]
        public var lock: RecipeLock
    }

    public let recipe: Recipe
    public let cache: InputCache
    public var resolver: InputResolver
    /// Resolves environments whose lock entry is missing or stale; without one, such an environment is
    /// an error.
    public var environmentLocker: (any EnvironmentLocking)?

    public init(recipe: Recipe, cache: InputCache) {
        self.recipe = recipe
        self.cache = cache
        self.resolver = InputResolver(cache: cache, recipe: recipe)
    }

    /// Resolves the inputs, writes the lock and reports every input's pin.
    public func lock() async throws -> Report {
        let old = try RecipeLock.loadIfPresent(path: recipe.lockPath)
        var new = RecipeLock()
        var items: [Item] = []
        for input in recipe.inputs {
            let origin = resolver.origin(of: input)
            if let pin = input.sha256 {
                items.append(
                    Item(
                        name: input.name, kind: input.kind, source: input.source, sha256: pin, status: .recipe,
                        origin: origin, changed: false))
                continue
            }
            let previous = old.entries[input.name]
            let status: Status
            let digest: String
            var files: [TreeDigest.Entry]?
            if input.localPath != nil {
                let resolved = try await resolver.resolve(input, pin: nil, fetchUnpinned: true)
                digest = resolved.sha256
                files = RecipeLock.recordable(resolved.files)
                if let files { try cache.storeListing(files) }
                status = .hashed
            } else if let kept = old.pin(for: input) {
                digest = kept
                status = .locked
            } else {
                digest = try await resolver.resolve(input, pin: nil, fetchUnpinned: true).sha256
                status = .fetched
            }
            new.entries[input.name] = RecipeLock.Entry(
                kind: input.kind, source: input.source, sha256: digest, files: files)
            items.append(
                Item(
                    name: input.name, kind: input.kind, source: input.source, sha256: digest, status: status,
                    origin: origin, changed: previous.map { $0.sha256 != digest } ?? false))
        }
        var environmentItems: [EnvironmentItem] = []
        for environment in recipe.environments {
            let previous = old.environments[environment.name]
            let entry: EnvironmentLock
            let kept: Bool
            if let held = old.environmentLock(for: environment) {
                entry = held
                kept = true
            } else if let environmentLocker {
                entry = try await environmentLocker.resolve(environment, recipe: recipe)
                kept = false
            } else {
                throw RecipeError(
                    .unpinned, file: recipe.path, table: "[environments.\(environment.name)]",
                    "environment '\(environment.name)' has no current lock entry and no Debian resolver was given")
            }
            new.environments[environment.name] = entry
            environmentItems.append(
                EnvironmentItem(
                    name: environment.name, packageCount: entry.closure.count, snapshot: entry.snapshot, kept: kept,
                    changed: previous.map { $0.closure != entry.closure } ?? false))
        }
        try new.save(path: recipe.lockPath)
        return Report(lockPath: recipe.lockPath, inputs: items, environments: environmentItems, lock: new)
    }
}
