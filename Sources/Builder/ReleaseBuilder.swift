import Archive
import DebianEnvironment
import EnclaveCore
import Nitro
import Recipe
import Release
import SEVSNP
import SGX
import TDX

/// What `enclavekit build` was asked to do.
public struct BuildOptions: Sendable {
    public var recipePath: String
    /// Where the artifacts go (default `out/NAME-VERSION` in the working directory).
    public var outputDirectory: String?
    /// Where the manifest goes (default `OUT/manifest.json`).
    public var manifestPath: String?
    /// Only these targets (all when empty).
    public var targets: [String] = []
    /// The input cache (default `$XDG_CACHE_HOME/enclavekit`).
    public var cacheDirectory: String?
    /// Path inputs whose bytes differ from their pin: an error (`build`), or recorded and built as
    /// they are (`rebuild`, which then reports every difference).
    public var pathInputsMayDiffer = false
    /// Replace an output directory or manifest whose content differs (`build --force`). A manifest that
    /// a signed envelope or bundle next to it covers is never modified, whatever this says.
    public var force = false
    /// Skip the work when the output already holds this exact build (checked by digests).
    public var reuseUpToDate = true
    /// Take a step's output from the step cache when it holds one under the step's key, and store new
    /// outputs there (`build`). When false (`rebuild` without `--reuse-steps`), every step runs in the
    /// sandbox and its fresh output is used as it is: the step cache is neither read nor written, so a
    /// cached output can neither stand in for a step nor be replaced by one.
    public var reuseSteps = true
    /// Receives the build's progress (``BuildEvent``) as it goes; `nil` drops it.
    public var events: BuildEventHandler?
    /// Assembles the recipe's Debian environments (`[environments.NAME]`); `nil` takes
    /// ``ReleaseBuilder/defaultEnvironmentAssembler(cache:)``. Tests pass roots made another way.
    public var environmentAssembler: (any EnvironmentAssembling)?
    /// `rebuild --vary`: what every step's sandbox changes (``SandboxVariations/none`` for a normal build).
    public var sandboxVariations = SandboxVariations.none
    /// `rebuild --vary`'s `file-order`: steps see their inputs and earlier steps' outputs through
    /// ``ReorderedCopies``. A build with any variation neither reads nor writes the step cache.
    public var reorderInputs = false

    /// Whether this build varies anything (`rebuild --vary`).
    public var isVaried: Bool { !sandboxVariations.isEmpty || reorderInputs }

    public init(recipePath: String) { self.recipePath = recipePath }
}

/// What a build did, for the summary table and for `rebuild`.
public struct BuildReport: Sendable {
    public var manifest: ReleaseManifest
    public var outputDirectory: String
    public var manifestPath: String
    /// Each step, whether its output came from the cache, and how long it took (seconds).
    public var steps: [(name: String, cached: Bool, seconds: Double)]
    /// Wall time per phase, seconds: `inputs` (resolve and fetch), `environments` (assemble), `steps`,
    /// `pack` (root filesystem, targets, measurements, manifest); a no-op build has `inputs` and
    /// `verify outputs`.
    public var phases: [(name: String, seconds: Double)]
    /// Path inputs built with bytes other than their pin (only with `pathInputsMayDiffer`).
    public var changedInputs: [(name: String, pinned: String, actual: String)]
    /// The output already held this build; its artifacts were verified, nothing was rebuilt.
    public var upToDate: Bool
    /// The environments the build assembled (those a step or the root filesystem uses), by name.
    public var environments: [AssembledEnvironment] = []
    /// Whether the step cache was consulted (``BuildOptions/reuseSteps``).
    public var reusedSteps = true
    /// Steps run afresh whose output differs from the step cache's entry under the same key (a step that is
    /// not deterministic, or a cache entry that was changed), with both tree digests.
    public var stepCacheMismatches: [(name: String, cached: String, fresh: String)] = []
}

/// `enclavekit build`: recipe → pinned inputs → sandboxed steps → rootfs → per-target images →
/// measurements → release manifest (the Builder catalog, "Data flow"). The output directory appears whole
/// or not at all, and the manifest is written last. An existing output or manifest with other bytes is
/// replaced only with ``BuildOptions/force``, and a manifest a signed envelope covers never is.
///
/// ```swift
/// let report = try await ReleaseBuilder.build(BuildOptions(recipePath: "Recipes/example-node/recipe.toml"))
/// print(report.manifest.targets.map(\.name))
/// ```
public enum ReleaseBuilder {
    /// The assembler used when ``BuildOptions/environmentAssembler`` is `nil`: the Debian one, which
    /// fetches the locked `.deb` closure into `cache`, verifies it and assembles it with mmdebstrap.
    public static func defaultEnvironmentAssembler(cache: InputCache) -> any EnvironmentAssembling {
        DebianEnvironments(cache: cache)
    }

    public static func build(_ options: BuildOptions) async throws -> BuildReport {
        var phases: [(String, Double)] = []
        var clock = Stopwatch()
        let recipe = try Recipe.load(path: options.recipePath)
        let lock = try RecipeLock.loadIfPresent(path: recipe.lockPath)
        let cache = options.cacheDirectory.map { InputCache(root: $0) } ?? InputCache.default()
        let selected = try selectTargets(recipe, options.targets)
        let output = options.outputDirectory ?? "out/\(recipe.name)-\(recipe.version)"
        let staging = try StagingDirectory(final: RepositoryPaths.absolute(output))
        let work = staging.path + ".work"
        FileTree.removeTree(work)
        let workCleanup = Interruption.removeOnInterrupt(work)
        defer {
            FileTree.removeTree(work)
            Interruption.unregister(workCleanup)
        }
        try FileTree.makeDirectories(work)

        // 1. Inputs: every one pinned, fetched into the cache or found there, verified.
        let emit = options.events ?? { _ in }
        emit(.fetchingInputs(count: recipe.inputs.count))
        let resolver = InputResolver(cache: cache, recipe: recipe)
        var resolved: [String: ResolvedInput] = [:]
        var changed: [(String, String, String)] = []
        for input in recipe.inputs {
            let pin = lock.pin(for: input)
            if input.kind == .path && options.pathInputsMayDiffer, let pin {
                let actual = try await resolver.resolve(input, pin: nil, fetchUnpinned: true)
                if actual.sha256 != pin { changed.append((input.name, pin, actual.sha256)) }
                resolved[input.name] = actual
            } else {
                resolved[input.name] = try await resolver.resolve(input, pin: pin)
            }
        }
        // The listings of directory inputs, this tree's and the lock's, by tree digest: `compare` and
        // `rebuild` name the files in which two trees differ from them.
        for listing in resolved.values.compactMap(\.files) + lock.entries.values.compactMap(\.files) {
            try cache.storeListing(listing)
        }
        phases.append(("inputs", clock.lap()))
        emit(.fetchedInputs(count: recipe.inputs.count, seconds: phases[phases.count - 1].1))

        // A no-op build: the output already holds a manifest for the same recipe, lock, inputs, targets and
        // EnclaveKit, and every artifact it lists still has its size and sha256. The pipeline is
        // deterministic, so building again would write the same bytes.
        let identity = try BuildIdentity(recipe: recipe, resolved: resolved)
        let manifestTarget = options.manifestPath ?? RepositoryPaths.absolute(output) + "/manifest.json"
        if options.reuseUpToDate,
            let existing = identity.upToDate(
                manifest: manifestTarget, outputDirectory: RepositoryPaths.absolute(output),
                targets: selected.map(\.name))
        {
            phases.append(("verify outputs", clock.lap()))
            emit(.upToDate)
            return BuildReport(
                manifest: existing, outputDirectory: output,
                manifestPath: options.manifestPath ?? output + "/manifest.json",
                steps: recipe.steps.map { (name: $0.name, cached: true, seconds: 0) },
                phases: phases.map { (name: $0.0, seconds: $0.1) }, changedInputs: [], upToDate: true)
        }

        // 2. Environments: each one a step or the root filesystem uses, assembled once.
        let environments = try await assembleEnvironments(
            recipe: recipe, lock: lock,
            assembler: options.environmentAssembler ?? defaultEnvironmentAssembler(cache: cache),
            emit: emit)
        phases.append(("environments", clock.lap()))
        if !environments.isEmpty {
            emit(.assembledEnvironments(count: environments.count, seconds: phases[phases.count - 1].1))
        }

        // 3. Steps, each in the sandbox unless its output is cached under the same key.
        let unpacked = UnpackedInputs(cache: cache, work: work + "/inputs", emit: emit)
        let reordered = options.reorderInputs ? try ReorderedCopies(fallback: work + "/reordered") : nil
        defer { reordered?.remove() }
        let useStepCache = options.reuseSteps && !options.isVaried
        var stepOutputs: [String: String] = [:]
        var stepKeys: [String: String] = [:]
        var stepReport: [(String, Bool, Double)] = []
        var mismatches: [(name: String, cached: String, fresh: String)] = []
        for (index, step) in recipe.steps.enumerated() {
            var stepClock = Stopwatch()
            let environment = try step.rootEnvironment.map { try assembled($0, in: environments) }
            let key = StepKey.compute(
                step: step, recipe: recipe,
                inputDigests: step.inputs.map { name in
                    if let r = resolved[name] {
                        return (name, "input:" + r.sha256 + ":" + r.input.unpack.rawValue)
                    }
                    return (name, "step:" + (stepKeys[name] ?? ""))
                }, environment: environment)
            stepKeys[step.name] = key
            if useStepCache, let cached = try cache.stepOutput(key: key) {
                stepOutputs[step.name] = cached
                let seconds = stepClock.lap()
                stepReport.append((step.name, true, seconds))
                emit(.stepCached(number: index + 1, of: recipe.steps.count, name: step.name, seconds: seconds))
                continue
            }
            emit(.stepStarted(number: index + 1, of: recipe.steps.count, name: step.name))
            var mounts: [SandboxMount] = []
            for name in step.inputs {
                if let r = resolved[name] {
                    let directory = RepositoryPaths.absolute(try unpacked.verifiedDirectory(for: r))
                    mounts.append(
                        SandboxMount(
                            hostPath: try reordered?.copy(of: directory) ?? directory, sandboxPath: "/inputs/" + name))
                } else if let dir = stepOutputs[name] {
                    let directory = RepositoryPaths.absolute(dir)
                    mounts.append(
                        SandboxMount(
                            hostPath: try reordered?.copy(of: directory) ?? directory, sandboxPath: "/steps/" + name))
                }
            }
            let out = work + "/steps/" + step.name
            try FileTree.makeDirectories(out)
            let sandbox = try Sandbox()
            var sandboxStep = SandboxStep(
                name: step.name, arguments: step.run, mounts: mounts, outputDirectory: out,
                environment: step.environment.map { SandboxVariable(name: $0.key, value: $0.value) },
                sourceDateEpoch: recipe.sourceDateEpoch,
                rootDirectory: environment.map { RepositoryPaths.absolute($0.root) })
            sandboxStep.variations = options.sandboxVariations
            _ = try await sandbox.run(sandboxStep)
            if useStepCache {
                stepOutputs[step.name] = try cache.storeStepOutput(key: key, from: out)
            } else if options.isVaried {
                stepOutputs[step.name] = out
            } else {
                stepOutputs[step.name] = out
                // Only a note: a tree the digest cannot list (a name with a newline) gets none.
                if let cached = try cache.stepOutput(key: key), let fresh = try? TreeDigest.digest(directory: out),
                    let old = try? TreeDigest.digest(directory: cached), fresh != old
                {
                    mismatches.append((step.name, old, fresh))
                }
            }
            let seconds = stepClock.lap()
            stepReport.append((step.name, false, seconds))
            emit(.stepRan(number: index + 1, of: recipe.steps.count, name: step.name, seconds: seconds))
        }
        phases.append(("steps", clock.lap()))

        // 4. Root filesystem and targets.
        emit(.packingTargets(count: selected.count))
        let references = ReferenceResolver(resolved: resolved, unpacked: unpacked, stepOutputs: stepOutputs)
        var rootfs = RootfsTree()
        if let base = try recipe.rootfs.baseEnvironment.map({ try assembled($0, in: environments) }) {
            try rootfs.addBase(from: RepositoryPaths.absolute(base.root), environment: base.name)
        }
        for file in recipe.rootfs.files {
            if file.from.isDirectory {
                try rootfs.addTree(
                    at: file.path, from: try references.directory(file.from), mode: file.mode.map(UInt32.init))
            } else {
                try rootfs.addFile(
                    at: file.path, source: try references.file(file.from), mode: file.mode.map(UInt32.init))
            }
        }
        let context = TargetContext(
            releaseName: recipe.name, releaseVersion: recipe.version, sourceDateEpoch: Int64(recipe.sourceDateEpoch),
            rootfs: rootfs, cmd: recipe.rootfs.cmd, environment: recipe.rootfs.environment,
            outputDirectory: staging.path, workDirectory: work)
        var built: [BuiltTarget] = []
        for target in selected {
            built.append(try TargetBuilder.build(target, references: references, context: context))
        }

        // 5. Artifacts and the manifest.
        var artifacts: [ReleaseManifest.Artifact] = []
        for name in built.flatMap(\.artifacts).sorted() {
            let path = staging.path + "/" + name
            artifacts.append(
                ReleaseManifest.Artifact(
                    name: name, size: try FileInput(path: path).size,
                    sha256: try FileStream.hash(path: path, .sha256).hex))
        }
        let manifest = ReleaseManifest(
            name: recipe.name, version: recipe.version, enclavekitVersion: EnclaveKitVersion.string,
            sourceDateEpoch: recipe.sourceDateEpoch, source: nil, recipe: identity.recipe, lock: identity.lock,
            inputs: identity.inputs,
            environments: environments.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.compactMap {
                environments[$0].map {
                    ReleaseManifest.Environment(name: $0.name, sha256: $0.sha256, packageCount: UInt64($0.packageCount))
                }
            },
            artifacts: artifacts, targets: built.map(\.manifest))
        let manifestPath = options.manifestPath ?? output + "/manifest.json"
        if options.manifestPath == nil { try manifest.write(to: staging.path + "/manifest.json") }
        try staging.normalizeMetadata(sourceDateEpoch: Int64(recipe.sourceDateEpoch))

        // 6. Replace nothing that differs without --force, never a signed manifest, and accept the same
        // bytes: every decision is made before anything is moved into place.
        let bytes = manifest.canonicalBytes
        let existingManifest = options.manifestPath ?? staging.final + "/manifest.json"
        let sameRelease = (try? FileInput.contents(of: existingManifest, limit: 64 << 20, format: "manifest")) == bytes
        let writeManifest = try options.manifestPath.map {
            try OutputProtection.planManifest(path: $0, bytes: bytes, force: options.force, recipe: options.recipePath)
        }
        let action = try OutputProtection.planDirectory(
            staged: staging.path, final: staging.final, sameRelease: sameRelease,
            manifestInside: options.manifestPath == nil, force: options.force, recipe: options.recipePath,
            release: "\(recipe.name) \(recipe.version)")
        switch action {
        case .keep: break
        case .create: try staging.commit()
        case .replace(let carry, _):
            try OutputProtection.carry(carry, from: staging.final, to: staging.path)
            try staging.commit()
        }
        if let explicit = options.manifestPath, writeManifest == true { try manifest.write(to: explicit) }
        phases.append(("pack", clock.lap()))
        emit(.packedTargets(count: selected.count, seconds: phases[phases.count - 1].1))
        return BuildReport(
            manifest: manifest, outputDirectory: output, manifestPath: manifestPath,
            steps: stepReport.map { (name: $0.0, cached: $0.1, seconds: $0.2) },
            phases: phases.map { (name: $0.0, seconds: $0.1) },
            changedInputs: changed.map { (name: $0.0, pinned: $0.1, actual: $0.2) },
            upToDate: action == .keep && writeManifest != true,
            environments: environments.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.compactMap {
                environments[$0]
            },
            reusedSteps: useStepCache, stepCacheMismatches: mismatches)
    }

    /// The assembled environment `name` (every one the recipe uses is assembled before the steps).
    static func assembled(_ name: String, in environments: [String: AssembledEnvironment]) throws(BuildError)
        -> AssembledEnvironment
    {
        guard let environment = environments[name] else {
            throw .environmentFailed(environment: name, reason: "it was not assembled (internal error)")
        }
        return environment
    }

    /// The names of the environments `recipe` uses (a step's `environment`, `[rootfs] base`), sorted.
    static func usedEnvironments(_ recipe: Recipe) -> [String] {
        Set(recipe.steps.compactMap(\.rootEnvironment) + [recipe.rootfs.baseEnvironment].compactMap { $0 })
            .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// Assembles each environment the recipe uses, once, and checks what the assembler gives back.
    /// - Throws: ``BuildError/environmentFailed(environment:reason:)`` naming the environment when there is no
    ///   assembler, the assembler fails, or its root is not a directory or its sha256 not a digest.
    static func assembleEnvironments(
        recipe: Recipe, lock: RecipeLock, assembler: (any EnvironmentAssembling)?, emit: BuildEventHandler
    ) async throws -> [String: AssembledEnvironment] {
        var result: [String: AssembledEnvironment] = [:]
        for name in usedEnvironments(recipe) {
            guard let environment = recipe.environment(named: name) else {
                throw BuildError.environmentFailed(environment: name, reason: "the recipe does not declare it")
            }
            guard let assembler else {
                throw BuildError.environmentFailed(
                    environment: name,
                    reason: "this EnclaveKit has no Debian environment assembler wired in (build it with one)")
            }
            emit(.assemblingEnvironment(name: name))
            let assembled: AssembledEnvironment
            do {
                assembled = try await assembler.assemble(environment, recipe: recipe, lock: lock)
            } catch let error as CancellationError {
                throw error
            } catch {
                throw BuildError.environmentFailed(environment: name, reason: "\(error)")
            }
            guard assembled.name == name else {
                throw BuildError.environmentFailed(
                    environment: name, reason: "the assembler returned environment '\(assembled.name)' instead")
            }
            guard FileStatus.isDirectory(assembled.root) else {
                throw BuildError.environmentFailed(
                    environment: name, reason: "its root \(assembled.root) is not a directory")
            }
            let hex = Array(assembled.sha256.utf8)
            guard hex.count == 64, hex.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }),
                assembled.packageCount >= 0
            else {
                throw BuildError.environmentFailed(
                    environment: name, reason: "its sha256 '\(assembled.sha256)' is not 64 lowercase hex digits")
            }
            result[name] = assembled
        }
        return result
    }

    static func selectTargets(_ recipe: Recipe, _ names: [String]) throws -> [RecipeTarget] {
        guard !names.isEmpty else { return recipe.targets }
        return try names.map { name in
            guard let t = recipe.targets.first(where: { $0.name == name }) else {
                throw BuildRefusal(
                    .unsupported,
                    "the recipe has no target '\(name)'",
                    remedy: "its targets are " + recipe.targets.map(\.name).joined(separator: ", "))
            }
            return t
        }
    }
}
