import Builder
import EnclaveCore
import Recipe
import Release

/// What `enclavekit rebuild` was asked to do.
public struct RebuildOptions: Sendable {
    /// The published release: a manifest, a DSSE envelope or a Sigstore bundle.
    public var release: String
    /// The checkout holding the release's recipe (default: the repository around the working directory).
    public var checkout: String?
    /// Where the rebuild goes (default `out/rebuild-NAME-VERSION`).
    public var outputDirectory: String?
    /// The published artifacts (a directory laid out as the manifest names them), for drilling into
    /// the artifacts that differ.
    public var publishedArtifacts: String?
    public var cacheDirectory: String?
    /// Take step outputs from the step cache (`--reuse-steps`). Off by default: a rebuild runs every step
    /// afresh in the sandbox (fetched inputs still come from the input cache, re-hashed on use), so its
    /// "reproduced" is evidence that the steps give the release's bytes today.
    public var reuseSteps = false
    public var compare = Comparer.Options()
    /// Receives the rebuild's build events (``BuildEvent``); `nil` drops them.
    public var buildEvents: BuildEventHandler?
    /// Receives `rebuild --vary`'s progress lines (`vary: building control`, `vary: built control in 12 s`).
    public var progress: (@Sendable (String) -> Void)?

    public init(release: String) { self.release = release }
}

/// The rebuild and its comparison with the release.
public struct RebuildResult: Sendable {
    public var expected: ReleaseManifest
    public var build: BuildReport
    public var comparison: ComparisonReport
    /// True only if every field, input, artifact and measurement matched.
    public var reproduced: Bool { comparison.identical }
    /// The files that changed in each `path` input whose tree differs from the release's, as
    /// `input src: file node.c changed (sha256 … → …)` (from the lock's listing and the checkout's).
    public var sourceChanges: [String] {
        comparison.differences.flatMap { d -> [String] in
            guard d.location.count == 2, d.location[0].hasPrefix("input "), d.location[1] == "sha256" else { return [] }
            return d.detail.map { d.location[0] + ": " + $0 }
        }
    }
    /// The steps whose output came from the step cache instead of the sandbox (only with `reuseSteps`).
    public var cachedSteps: [String] { build.steps.filter(\.cached).map(\.name) }
}

/// `enclavekit rebuild`: takes the recipe and lock the release names from a checkout (their sha256 must
/// match, or the checkout is not the release's), builds them into a clean directory with the same
/// pipeline as `build`, running every step afresh in the sandbox unless `reuseSteps`, and compares the
/// new manifest with the published one field by field; an artifact that differs is drilled into when
/// the published artifacts are at hand, and a source tree that differs is listed file by file.
///
/// ```swift
/// let result = try await Rebuilder.rebuild(RebuildOptions(release: "Manifests/example-node-0.1.0.json"))
/// print(result.reproduced ? "reproduced" : result.comparison.render())
/// ```
public enum Rebuilder {
    public static func rebuild(_ options: RebuildOptions) async throws -> RebuildResult {
        let (expected, recipePath) = try prepare(options)
        let report = try await ReleaseBuilder.build(
            buildOptions(options, expected: expected, recipePath: recipePath))
        return try compareWithRelease(options, expected: expected, report: report)
    }

    /// The release manifest `options.release` holds, and the path of its recipe in the checkout, after
    /// checking that the checkout's recipe and lock have the sha256 the release records.
    static func prepare(_ options: RebuildOptions) throws -> (ReleaseManifest, String) {
        let bytes = try FileInput.contents(of: options.release, limit: 64 << 20, format: "release document")
        let expected = try ReleaseDocument(bytes: bytes, format: options.release).manifest(format: options.release)
        let root = options.checkout ?? RepositoryPaths(recipePath: "./.").root
        let recipePath = root + "/" + expected.recipe.path
        let lockPath = root + "/" + expected.lock.path
        try check(recipePath, expected.recipe.sha256, what: "recipe", manifest: expected, root: root)
        try check(lockPath, expected.lock.sha256, what: "lock file", manifest: expected, root: root)
        return (expected, recipePath)
    }

    /// How a rebuild builds: `build`'s pipeline into a clean directory, every step afresh unless `reuseSteps`.
    static func buildOptions(_ options: RebuildOptions, expected: ReleaseManifest, recipePath: String) -> BuildOptions {
        var build = BuildOptions(recipePath: recipePath)
        build.outputDirectory = options.outputDirectory ?? defaultOutputDirectory(expected)
        build.targets = expected.targets.map(\.name)
        build.cacheDirectory = options.cacheDirectory
        build.pathInputsMayDiffer = true
        build.reuseUpToDate = false
        build.reuseSteps = options.reuseSteps
        build.force = true  // its own scratch directory
        build.events = options.buildEvents
        return build
    }

    /// The comparison options of a rebuild: the caller's, with the input cache the build used (the build
    /// left the listings of the checkout's trees and of the lock's there).
    static func compareOptions(_ options: RebuildOptions) -> Comparer.Options {
        var compare = options.compare
        compare.inputCache = compare.inputCache ?? options.cacheDirectory.map { InputCache(root: $0) } ?? .default()
        return compare
    }

    static func compareWithRelease(_ options: RebuildOptions, expected: ReleaseManifest, report: BuildReport) throws
        -> RebuildResult
    {
        let comparison = try Comparer.compareManifests(
            expected: expected, actual: report.manifest, expectedArtifacts: options.publishedArtifacts,
            actualArtifacts: options.publishedArtifacts == nil ? nil : report.outputDirectory,
            options: compareOptions(options))
        return RebuildResult(expected: expected, build: report, comparison: comparison)
    }

    /// Where ``rebuild(_:)`` writes: `options.outputDirectory`, else `out/rebuild-NAME-VERSION` of the
    /// release (read from `options.release`). The directory is replaced as a whole by the rebuild.
    public static func outputDirectory(_ options: RebuildOptions) throws -> String {
        if let directory = options.outputDirectory { return directory }
        let bytes = try FileInput.contents(of: options.release, limit: 64 << 20, format: "release document")
        return defaultOutputDirectory(
            try ReleaseDocument(bytes: bytes, format: options.release).manifest(format: options.release))
    }

    static func defaultOutputDirectory(_ expected: ReleaseManifest) -> String {
        "out/rebuild-\(expected.name)-\(expected.version)"
    }

    private static func check(_ path: String, _ sha256: String, what: String, manifest: ReleaseManifest, root: String)
        throws
    {
        let commit = manifest.source.map { " (\($0.repository) at \($0.commit))" } ?? ""
        guard (try? FileInput(path: path)) != nil else {
            throw RebuildError(
                .notInCheckout, "the release's \(what) \(path) is not in the checkout \(root)",
                remedy: "run rebuild in a clone of the release's repository\(commit)")
        }
        let actual = try FileStream.hash(path: path, .sha256).hex
        guard actual == sha256 else {
            throw RebuildError(
                .checkoutDiffers,
                "\(path): sha256 \(actual), but the release was built from a \(what) with sha256 \(sha256)",
                remedy: "check out the commit the release was cut from\(commit)")
        }
    }
}
