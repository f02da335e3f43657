import Builder
import EnclaveCore
import Release

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// One variation built alone and compared with the control build.
public struct VariationOutcome: Sendable {
    public var variation: BuildVariation
    /// The control build against this build (a failed build is one difference, `build`).
    public var comparison: ComparisonReport
    /// Where this build's output was kept (only when it differs from the control build).
    public var outputDirectory: String?
    public var seconds: Double
    /// Whether this variation alone breaks reproduction.
    public var breaks: Bool { !comparison.identical }
}

/// What `enclavekit rebuild --vary` found: the control build against the release, the build under every
/// variation at once against the control build, and, when those two differ, each variation alone.
public struct VariedRebuildResult: Sendable {
    /// The control build (no variation) against the release, as `rebuild` without `--vary` reports it.
    public var rebuild: RebuildResult
    /// The variations asked for.
    public var requested: [BuildVariation]
    /// Those applied (the others cannot apply on this host; see ``notApplied``).
    public var applied: [BuildVariation]
    public var notApplied: [(variation: BuildVariation, reason: String)]
    /// The control build against the build with every applied variation at once.
    public var combined: ComparisonReport
    /// Where the build with every variation was kept (only when it differs).
    public var combinedDirectory: String?
    /// Each applied variation alone (empty when ``combined`` is identical).
    public var single: [VariationOutcome]
    /// Wall time of each build, seconds, in the order they ran (`control`, `all`, then each variation).
    public var timings: [(label: String, seconds: Double)]

    /// The variations that break reproduction alone.
    public var breaking: [BuildVariation] { single.filter(\.breaks).map(\.variation) }
    /// Whether the build under every applied variation matched the control build.
    public var reproducibleUnderVariations: Bool { combined.identical }
    /// The release reproduced and no variation changed the build.
    public var reproduced: Bool { rebuild.reproduced && reproducibleUnderVariations }
    /// The variations differ together but none alone (an interaction, or a build that is not
    /// deterministic at all).
    public var unexplained: Bool { !combined.identical && breaking.isEmpty }
}

extension Rebuilder {
    /// `enclavekit rebuild --vary`: rebuilds the release as ``rebuild(_:)`` does (the control build, into
    /// the output directory, compared with the release), then once more with every variation of
    /// `variations` that applies on this host, and compares that build with the control build. When they
    /// differ, it builds once per variation (each alone) and names every variation whose build differs,
    /// with the comparison's drill-down (artifact, file inside, first differing offset or text diff).
    ///
    /// Every build runs every step afresh and none reads or writes the step cache. All builds run in one
    /// host directory, `OUT.vary/build`, then move to their own place (`OUT` for the control build,
    /// `OUT.vary/all` and `OUT.vary/NAME` for the others, kept only when they differ), so the host path is
    /// the same for all of them except under `build-path`, which builds in a longer directory below
    /// `OUT.vary`.
    ///
    /// ```swift
    /// let result = try await Rebuilder.rebuildVaried(options, variations: [.timeZone, .hostname])
    /// print(result.breaking.map(\.rawValue))
    /// ```
    public static func rebuildVaried(_ options: RebuildOptions, variations: [BuildVariation]) async throws
        -> VariedRebuildResult
    {
        let (expected, recipePath) = try prepare(options)
        let output = RepositoryPaths.absolute(options.outputDirectory ?? defaultOutputDirectory(expected))
        let scratch = output + ".vary"
        // OUT.vary is this command's own folder: an earlier --vary run (its marker file) is replaced, anything
        // else at that path is the user's and is never removed unasked.
        let marker = scratch + "/.enclavekit-vary"
        var status = stat()
        if lstat(scratch, &status) == 0 {
            guard lstat(marker, &status) == 0 else {
                throw RebuildError(
                    .foreignVaryFolder, "\(scratch) exists and was not made by rebuild --vary", remedy: "move it away")
            }
            FileTree.removeTree(scratch)
        }
        try FileTree.makeDirectories(scratch)
        try AtomicOutput.write(Array("rebuild --vary keeps its varied builds here\n".utf8), to: marker)
        let notApplied = SandboxVariations.resolve(variations).notApplied
        let skipped = Set(notApplied.map(\.0))
        let applied = variations.filter { !skipped.contains($0) }
        let progress = options.progress ?? { _ in }
        let events = options.buildEvents
        var timings: [(String, Double)] = []

        /// Builds with `chosen` into the common build directory, then moves the result to `destination`.
        func build(_ label: String, _ chosen: [BuildVariation], to destination: String) async throws -> BuildReport {
            let slot =
                chosen.contains(.buildPath)
                ? scratch + "/" + SandboxVariations.buildPathComponent + "/build" : scratch + "/build"
            var build = buildOptions(options, expected: expected, recipePath: recipePath)
            build.outputDirectory = slot
            build.reuseSteps = false
            // The varied builds show no status line, only their notes.
            build.events = { if case .note = $0 { events?($0) } }
            build.sandboxVariations = SandboxVariations.resolve(chosen).variations
            build.reorderInputs = chosen.contains(.fileOrder)
            progress("vary: building \(label)" + (chosen.isEmpty ? "" : " (\(describe(chosen)))"))
            var clock = MonotonicClock.seconds()
            var report = try await ReleaseBuilder.build(build)
            try move(slot, to: destination)
            FileTree.removeTree(scratch + "/build-path-variation")
            report.outputDirectory = destination
            report.manifestPath = destination + "/manifest.json"
            let seconds = Self.seconds(since: &clock)
            timings.append((label, seconds))
            progress("vary: built \(label) in \(Int(seconds.rounded())) s")
            return report
        }

        let control = try await build("control", [], to: output)
        let rebuild = try compareWithRelease(options, expected: expected, report: control)
        var compare = compareOptions(options)
        compare.inputCache = compare.inputCache ?? .default()

        /// The control build against the build with `chosen`, kept in `OUT.vary/label` only when it differs.
        func varied(_ label: String, _ chosen: [BuildVariation]) async throws -> (ComparisonReport, String?, Double) {
            let destination = scratch + "/" + label
            var clock = MonotonicClock.seconds()
            let report: ComparisonReport
            do {
                let build = try await build(label, chosen, to: destination)
                report = try Comparer.compareManifests(
                    expected: control.manifest, actual: build.manifest, expectedArtifacts: output,
                    actualArtifacts: destination, options: compare)
            } catch let error as CancellationError {
                throw error
            } catch {
                FileTree.removeTree(scratch + "/build")
                report = ComparisonReport(differences: [
                    Difference(location: ["build"], expected: "succeeds", actual: "fails: \(error)")
                ])
            }
            let seconds = Self.seconds(since: &clock)
            if report.identical { FileTree.removeTree(destination) }
            return (report, report.identical || FileStatus(destination) == nil ? nil : destination, seconds)
        }

        var combined = ComparisonReport()
        var combinedDirectory: String?
        var single: [VariationOutcome] = []
        if !applied.isEmpty {
            (combined, combinedDirectory, _) = try await varied("all", applied)
            if !combined.identical {
                for variation in applied {
                    let (report, directory, seconds) = try await varied(variation.rawValue, [variation])
                    single.append(
                        VariationOutcome(
                            variation: variation, comparison: report, outputDirectory: directory, seconds: seconds))
                }
            }
        }
        rmdir(scratch)  // only when empty: the builds that differ stay
        return VariedRebuildResult(
            rebuild: rebuild, requested: variations, applied: applied,
            notApplied: notApplied.map { (variation: $0.0, reason: $0.1) }, combined: combined,
            combinedDirectory: combinedDirectory, single: single,
            timings: timings.map { (label: $0.0, seconds: $0.1) })
    }

    static func describe(_ variations: [BuildVariation]) -> String {
        variations.count == BuildVariation.allCases.count
            ? "every variation" : variations.map(\.rawValue).joined(separator: ", ")
    }

    static func seconds(since start: inout Double) -> Double {
        let now = MonotonicClock.seconds()
        defer { start = now }
        return now - start
    }

    /// Moves a finished build from its build directory to `destination`, replacing what is there (the
    /// rebuild's own directories only).
    static func move(_ source: String, to destination: String) throws {
        FileTree.removeTree(destination)
        if let slash = destination.lastIndex(of: "/"), slash != destination.startIndex {
            try FileTree.makeDirectories(String(destination[..<slash]))
        }
        let code = Interruption.critical { rename(source, destination) == 0 ? 0 : errno }
        guard code == 0 else { throw SystemError("move into place", path: destination, errno: code) }
    }
}
