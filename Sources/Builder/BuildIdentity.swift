import EnclaveCore
import Recipe
import Release

/// What a release manifest says about where a build came from (recipe, lock, inputs), computed before
/// building, so that an output directory that already holds the same build can be recognized.
struct BuildIdentity {
    var recipe: ReleaseManifest.FileReference
    var lock: ReleaseManifest.FileReference
    var inputs: [ReleaseManifest.Input]
    var name: String
    var version: String
    var sourceDateEpoch: UInt64
    /// The environments the recipe uses, by name (their digests follow from the lock, whose sha256 is above).
    var environmentNames: [String]

    init(recipe model: Recipe, resolved: [String: ResolvedInput]) throws {
        let repository = RepositoryPaths(recipePath: model.path)
        recipe = .init(
            path: repository.relative(model.path), sha256: try FileStream.hash(path: model.path, .sha256).hex)
        lock = .init(
            path: repository.relative(model.lockPath), sha256: try FileStream.hash(path: model.lockPath, .sha256).hex)
        inputs = model.inputs.compactMap { input in
            resolved[input.name].map {
                ReleaseManifest.Input(
                    name: input.name, kind: input.kind.rawValue, source: input.source, sha256: $0.sha256)
            }
        }
        name = model.name
        version = model.version
        sourceDateEpoch = model.sourceDateEpoch
        environmentNames = ReleaseBuilder.usedEnvironments(model)
    }

    /// The manifest at `manifest`, if it describes this build with the same EnclaveKit and targets and
    /// every artifact it lists is in `outputDirectory` with its size and sha256; nil otherwise.
    func upToDate(manifest path: String, outputDirectory: String, targets: [String]) -> ReleaseManifest? {
        guard FileStatus(path)?.type == .regular,
            let bytes = try? FileInput.contents(of: path, limit: 64 << 20, format: "manifest"),
            let m = try? ReleaseManifest(json: bytes, format: path),
            m.name == name, m.version == version, m.enclavekitVersion == EnclaveKitVersion.string,
            m.sourceDateEpoch == sourceDateEpoch, m.recipe == recipe, m.lock == lock, m.inputs == inputs,
            m.environments.map(\.name) == environmentNames,
            m.targets.map(\.name) == targets
        else { return nil }
        var files: [String] = []
        for artifact in m.artifacts {
            let file = outputDirectory + "/" + artifact.name
            guard let status = FileStatus(file), status.type == .regular, status.size == artifact.size else {
                return nil
            }
            files.append(file)
        }
        // Hash the artifacts on every core (a release's images are hundreds of MB: on two cores this
        // halves a no-op build); each lane writes only its own slot.
        let digests = Self.sha256(of: files, sizes: m.artifacts.map(\.size))
        guard digests == m.artifacts.map(\.sha256) else { return nil }
        return m
    }

    /// The sha256 of each file (nil when it cannot be read), several files at once, the largest first so
    /// that the big images land on different cores.
    static func sha256(of files: [String], sizes: [UInt64]) -> [String?] {
        Parallel.hash(files: files, .sha256, sizes: sizes).map { try? $0.get().hex }
    }
}
