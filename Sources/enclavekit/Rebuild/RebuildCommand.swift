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

            Exit status: 0 reproduced; 3 not reproduced (the report says what differs); 1 error \
            (unreadable release, wrong checkout, failed build); 64 usage error.

            Examples:
              enclavekit rebuild Manifests/example-node-0.1.0.json
              enclavekit rebuild Manifests/example-node-0.1.0.dsse.json --artifacts release-files/
              enclavekit rebuild release.json --source ~/src/node --out /tmp/rebuild --json
              enclavekit rebuild Manifests/example-node-0.1.0.json --reuse-steps
              enclavekit rebuild Manifests/example-node-0.1.0.json --sign rebuilder.pem
              enclavekit rebuild release.json --sign r1.pem --attestation-out attestations/r1.dsse.json
            """)

    @Argument(help: "The published release: manifest, DSSE envelope or Sigstore bundle.")
    var release: String

    @Option(help: "The checkout holding the release's recipe (default: the enclosing git repository).")
    var source: String?

    @Option(help: "Where to rebuild (default out/rebuild-NAME-VERSION).")
    var out: String?

    @Option(help: "The published artifacts, laid out as the manifest names them, to drill into differences.")
    var artifacts: String?

    @Option(help: "The cache directory (default $XDG_CACHE_HOME/enclavekit).")
    var cache: String?

    @Flag(help: "Take step outputs from the step cache instead of running the steps (the report says which).")
    var reuseSteps = false

    @Flag(help: "Hand differing entries to diffoscope when it is installed.")
    var diffoscope = false

    @Option(help: "Sign a reproduction attestation of the result with this private key (PEM).")
    var sign: String?

    @Option(help: "Where --sign writes the attestation (default OUT/reproduction.dsse.json); never replaced.")
    var attestationOut: String?

    @Option(help: "The attestation's time, RFC 3339 UTC (YYYY-MM-DDTHH:MM:SSZ; default: now).")
    var time: String?

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func validate() throws {
        if sign == nil, attestationOut != nil || time != nil {
            throw ValidationError("--attestation-out and --time go with --sign KEY")
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
        // Refused before rebuilding: the rebuild replaces its output directory, attestation included.
        var attestationPath: String?
        if signingKey != nil {
            let path = try attestationOut ?? Rebuilder.outputDirectory(options) + "/reproduction.dsse.json"
            try ReproductionAttestation.refuseExisting(path)
            attestationPath = path
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
