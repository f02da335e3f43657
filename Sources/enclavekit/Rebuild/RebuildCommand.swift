import ArgumentParser
import Builder
import EnclaveCore
import Rebuild
import Release

/// `enclavekit rebuild`: an auditor's "does this release reproduce?" (issue #7 item 4).
struct RebuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Rebuild a published release from its recipe and compare every artifact and measurement.",
        discussion: """
            RELEASE is a release manifest, a DSSE envelope or a Sigstore bundle (signatures are not \
            checked here; run 'enclavekit verify' for that). The recipe and lock file it names are taken \
            from the checkout (--source, default: the repository around the working directory) and \
            must have the recorded sha256. The build runs as 'enclavekit build' does, into a clean \
            directory, except that every step runs afresh in the sandbox: fetched inputs come from the \
            input cache (re-hashed on use), step outputs never do, and the step cache is left as it \
            is. --reuse-steps takes step outputs from the step cache instead (faster, but no evidence \
            for those steps); the report then names the steps that came from the cache. A source file \
            that differs from the release is built as it is and reported, naming the files that \
            changed ('input src: file node.c changed (sha256 … → …)', added, removed, mode) from the \
            lock's listing of the tree. \
            With --artifacts (the published files), every artifact that differs is drilled into: EIF \
            section, ramdisk entry, text diff.

            --sign KEY signs what was found, reproduced or not, as a reproduction attestation: a DSSE \
            envelope with an in-toto Statement whose subject is the release manifest (its sha256) and \
            whose predicate (\(ReproductionAttestation.predicateType)) records the result, the \
            differences, this machine (EnclaveKit, kernel, bubblewrap, CPU), whether the step cache was \
            reused, and the time. It goes to OUT/reproduction.dsse.json (or --attestation-out FILE), \
            never over an existing file; 'enclavekit verify --attestations' counts it toward the \
            policy's rebuilder quorum.

            --vary rebuilds twice more inside the tool, in the spirit of Debian's reprotest: after the \
            control build (the normal rebuild, compared with the release), once with every variation \
            of --variations at once (default all: \(BuildVariation.allCases.map(\.rawValue).joined(separator: ", "))), \
            compared with the control build. When the two differ it builds once per variation, each \
            alone, and names every variation whose build differs, with the drill-down of the \
            difference. A variation that cannot apply on this host (clock without libfaketime, cpus \
            on one CPU) is named and skipped. Builds that differ are kept in OUT.vary/, a folder of its \
            own (one it did not make is refused, never removed). With --sign, \
            the attestation records the variations applied and those that broke reproduction. \
            Progress lines go to stderr.

            Exit status: 0 reproduced (with --vary: and no variation changed the build); 3 not \
            reproduced (the report says what differs; with --vary: or a variation changed the build); \
            1 error (unreadable release, wrong checkout, failed build); 64 usage error.

            Examples:
              enclavekit rebuild Manifests/example-node-0.1.0.json
              enclavekit rebuild Manifests/example-node-0.1.0.dsse.json --artifacts release-files/
              enclavekit rebuild release.json --source ~/src/node --out /tmp/rebuild --json
              enclavekit rebuild Manifests/example-node-0.1.0.json --reuse-steps
              enclavekit rebuild Manifests/example-node-0.1.0.json --sign rebuilder.pem
              enclavekit rebuild release.json --sign r1.pem --attestation-out attestations/r1.dsse.json
              enclavekit rebuild Manifests/example-node-0.1.0.json --vary
              enclavekit rebuild Manifests/example-node-0.1.0.json --vary --variations tz,hostname,file-order --json
            """)

    @Argument(help: "The published release: manifest, DSSE envelope or Sigstore bundle.")
    var release: String

    @Option(help: "The checkout holding the release's recipe (default: the enclosing git repository).")
    var source: String?

    @Option(help: "Where to rebuild (default out/rebuild-NAME-VERSION).")
    var out: String?

    @Option(help: "The published artifacts, laid out as the manifest names them, to drill into differences.")
    var artifacts: String?

    @OptionGroup var cacheOption: CacheOption
    var cache: String? { cacheOption.cache }

    @Flag(help: "Take step outputs from the step cache instead of running the steps (the report says which).")
    var reuseSteps = false

    @OptionGroup var diffoscopeFlag: DiffoscopeFlag
    var diffoscope: Bool { diffoscopeFlag.diffoscope }

    @Option(help: "Sign a reproduction attestation of the result with this private key (PEM).")
    var sign: String?

    @Option(help: "Where --sign writes the attestation (default OUT/reproduction.dsse.json); never replaced.")
    var attestationOut: String?

    @Option(help: "The attestation's time, RFC 3339 UTC (YYYY-MM-DDTHH:MM:SSZ; default: now).")
    var time: String?

    @Flag(help: "Also rebuild under varied conditions and name the variations that change the build.")
    var vary = false

    @Option(help: "With --vary: a comma-separated list of variations, or all (the default).")
    var variations: String?

    @OptionGroup var jsonOutput: JSONOutputOption
    var json: Bool { jsonOutput.json }

    func validate() throws {
        if sign == nil, attestationOut != nil || time != nil {
            throw ValidationError("--attestation-out and --time go with --sign KEY")
        }
        if variations != nil, !vary { throw ValidationError("--variations goes with --vary") }
        if vary, reuseSteps { throw ValidationError("--vary runs every step afresh; drop --reuse-steps") }
        if let variations {
            do { _ = try BuildVariation.parseList(variations) } catch {
                throw ValidationError("--variations: \(error)")
            }
        }
        if let time, !ReproductionAttestation.isRFC3339UTC(time) {
            throw ValidationError("--time \(time): expected an RFC 3339 UTC time such as 2026-12-02T03:00:00Z")
        }
    }

    func run() async throws {
        let signingKey = try sign.map { try SigningKey.load(path: $0) }
        var options = RebuildOptions(release: release)
        options.checkout = source
        options.outputDirectory = out
        options.publishedArtifacts = artifacts
        options.cacheDirectory = cache
        options.reuseSteps = reuseSteps
        options.compare.diffoscope = diffoscope
        let status = BuildStatus()
        defer { status.finish() }
        options.buildEvents = { status.handle($0) }
        let quiet = BuildStatus.quiet
        options.progress = { line in if !quiet { StandardError.write(line + "\n") } }
        // Refused before rebuilding: the rebuild replaces its output directory, attestation included.
        var attestationPath: String?
        if signingKey != nil {
            let path = try attestationOut ?? Rebuilder.outputDirectory(options) + "/reproduction.dsse.json"
            try ReproductionAttestation.refuseExisting(path)
            attestationPath = path
        }
        if vary {
            try await runVaried(options, signingKey: signingKey, attestationPath: attestationPath)
            return
        }
        let result = try await Rebuilder.rebuild(options)
        if let signingKey, let path = attestationPath {
            let attestation = ReproductionAttestation(
                rebuild: result, environment: await .probe(), time: time ?? ReproductionClock.now())
            try attestation.write(signedWith: signingKey, to: path)
        }
        if json {
            Output.json(
                .object([
                    ("reproduced", .bool(result.reproduced)), ("rebuild", BuildSummary.json(result.build)),
                    ("stepCache", .string(result.build.reusedSteps ? "reused" : "not used")),
                    ("sourceChanges", .array(result.sourceChanges.map { .string($0) })),
                    ("cachedSteps", .array(result.cachedSteps.map { .string($0) })),
                    (
                        "stepCacheMismatches",
                        .array(
                            result.build.stepCacheMismatches.map {
                                .object([
                                    ("step", .string($0.name)), ("cached", .string($0.cached)),
                                    ("fresh", .string($0.fresh)),
                                ])
                            })
                    ),
                    ("comparison", result.comparison.json()),
                    ("attestation", attestationPath.map { .string($0) } ?? .null),
                ]))
        } else {
            for line in BuildSummary.lines(result.build) { print(line) }
            for line in Self.stepCacheLines(result) { print(line) }
            print("")
            if result.reproduced {
                print(
                    "reproduced: \(result.expected.name) \(result.expected.version), "
                        + "\(result.expected.artifacts.count) artifacts and "
                        + "\(result.expected.targets.reduce(0) { $0 + $1.measurements.count }) measurements match")
            } else {
                print("NOT reproduced: \(result.expected.name) \(result.expected.version)")
                for line in result.sourceChanges { print(line) }
                print(result.comparison.render())
            }
            if let attestationPath, let signingKey {
                print(
                    "signed reproduction attestation (\(result.reproduced ? "reproduced" : "NOT reproduced")) "
                        + "with key \(signingKey.publicKey.keyid): \(attestationPath)")
            }
        }
        if !result.reproduced { throw ExitCode(ReleaseExit.notReproduced) }
    }

    /// Whether the steps ran in the sandbox or came from the step cache, and any fresh step output that
    /// differs from the cache's entry for the same key.
    static func stepCacheLines(_ result: RebuildResult) -> [String] {
        let steps = result.build.steps
        var lines: [String] = []
        let cached = result.cachedSteps
        if !result.build.reusedSteps {
            lines.append("step cache: not used; all \(steps.count) steps ran afresh in the sandbox")
        } else if cached.isEmpty {
            lines.append("step cache: reused (--reuse-steps), but no step was in it; all \(steps.count) steps ran")
        } else {
            lines.append(
                "step cache: REUSED (--reuse-steps): \(cached.count) of \(steps.count) steps came from the cache and did "
                    + "not run: " + cached.joined(separator: ", "))
        }
        for m in result.build.stepCacheMismatches {
            lines.append(
                "note: step \(m.name): the fresh output (tree \(m.fresh)) differs from the step cache's entry for the "
                    + "same key (tree \(m.cached)): the step is not deterministic, or the cache entry was changed")
        }
        return lines
    }
}

extension RebuildCommand {
    /// `rebuild --vary`: the control build against the release, then the varied builds against it.
    func runVaried(_ options: RebuildOptions, signingKey: SigningKey?, attestationPath: String?) async throws {
        let chosen = try variations.map { try BuildVariation.parseList($0) } ?? BuildVariation.allCases
        let result = try await Rebuilder.rebuildVaried(options, variations: chosen)
        if let signingKey, let path = attestationPath {
            let attestation = ReproductionAttestation(
                varied: result, environment: await .probe(), time: time ?? ReproductionClock.now())
            try attestation.write(signedWith: signingKey, to: path)
        }
        let rebuild = result.rebuild
        if json {
            Output.json(
                .object([
                    ("reproduced", .bool(result.reproduced)),
                    ("releaseReproduced", .bool(rebuild.reproduced)),
                    ("rebuild", BuildSummary.json(rebuild.build)),
                    ("sourceChanges", .array(rebuild.sourceChanges.map { .string($0) })),
                    ("comparison", rebuild.comparison.json()),
                    ("vary", Self.varyJSON(result)),
                    ("attestation", attestationPath.map { .string($0) } ?? .null),
                ]))
        } else {
            for line in BuildSummary.lines(rebuild.build) { print(line) }
            print("")
            if rebuild.reproduced {
                print(
                    "reproduced: \(rebuild.expected.name) \(rebuild.expected.version) (control build), "
                        + "\(rebuild.expected.artifacts.count) artifacts match")
            } else {
                print("NOT reproduced: \(rebuild.expected.name) \(rebuild.expected.version) (control build)")
                for line in rebuild.sourceChanges { print(line) }
                print(rebuild.comparison.render())
            }
            for line in Self.varyLines(result) { print(line) }
            if let attestationPath, let signingKey {
                print(
                    "signed reproduction attestation (\(rebuild.reproduced ? "reproduced" : "NOT reproduced"), "
                        + "variations breaking: \(result.breaking.isEmpty ? "none" : result.breaking.map(\.rawValue).joined(separator: ", "))) "
                        + "with key \(signingKey.publicKey.keyid): \(attestationPath)")
            }
        }
        if !result.reproduced { throw ExitCode(ReleaseExit.notReproduced) }
    }

    static func varyLines(_ result: VariedRebuildResult) -> [String] {
        var lines: [String] = []
        for (variation, reason) in result.notApplied {
            lines.append("variation \(variation.rawValue) not applied: \(reason)")
        }
        let applied = result.applied.map(\.rawValue).joined(separator: ", ")
        if result.applied.isEmpty {
            lines.append("no variation could be applied")
        } else if result.reproducibleUnderVariations {
            lines.append("reproducible under: \(applied)")
        } else if result.unexplained {
            lines.append("NOT reproducible under every variation at once (\(applied)), but under each one alone:")
            lines.append("the variations interact, or the build is not deterministic")
            lines.append(result.combined.render())
            if let directory = result.combinedDirectory { lines.append("that build: \(directory)") }
        } else {
            let breaking = result.breaking.map(\.rawValue)
            lines.append("NOT reproducible under: \(breaking.joined(separator: ", "))")
            let fine = result.single.filter { !$0.breaks }.map(\.variation.rawValue)
            if !fine.isEmpty { lines.append("reproducible under: \(fine.joined(separator: ", "))") }
            for outcome in result.single where outcome.breaks {
                lines.append("")
                lines.append("variation \(outcome.variation.rawValue) (\(outcome.variation.summary)):")
                lines.append(outcome.comparison.render())
                if let directory = outcome.outputDirectory { lines.append("that build: \(directory)") }
            }
        }
        let times = result.timings.map { "\($0.label) \(BuildSummary.format1($0.seconds)) s" }.joined(separator: ", ")
        lines.append("builds: \(times)")
        return lines
    }

    static func varyJSON(_ result: VariedRebuildResult) -> JSONValue {
        .object([
            ("requested", .array(result.requested.map { .string($0.rawValue) })),
            ("applied", .array(result.applied.map { .string($0.rawValue) })),
            (
                "notApplied",
                .array(
                    result.notApplied.map {
                        .object([("variation", .string($0.variation.rawValue)), ("reason", .string($0.reason))])
                    })
            ),
            ("reproducible", .bool(result.reproducibleUnderVariations)),
            ("breaking", .array(result.breaking.map { .string($0.rawValue) })),
            ("unexplained", .bool(result.unexplained)),
            ("combined", result.combined.json()),
            (
                "single",
                .array(
                    result.single.map {
                        .object([
                            ("variation", .string($0.variation.rawValue)), ("breaks", .bool($0.breaks)),
                            ("comparison", $0.comparison.json()),
                            ("output", $0.outputDirectory.map { .string($0) } ?? .null),
                        ])
                    })
            ),
            (
                "timings",
                .array(
                    result.timings.map {
                        .object([("build", .string($0.label)), ("seconds", .number(BuildSummary.format1($0.seconds)))])
                    })
            ),
        ])
    }
}
