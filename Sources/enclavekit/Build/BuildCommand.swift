import ArgumentParser
import Builder
import EnclaveCore
import Recipe
import Release

struct BuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Build a recipe's targets hermetically and write their artifacts and release manifest.",
        discussion: """
            Every input must be pinned (run 'enclavekit lock RECIPE' first); build never fetches anything \
            unpinned. Steps run under bubblewrap with no network, a fixed environment and only their \
            declared inputs; step outputs and fetched inputs are cached in $XDG_CACHE_HOME/enclavekit. \
            The output directory appears whole or not at all; the manifest (canonical JSON, schema v1, \
            see Manifests/README.md) is written last. The same recipe gives the same bytes on any machine. \
            Progress goes to stderr: a status line on a terminal, otherwise one line per phase and step \
            with its time (e.g. 'step 2/3 node: 61.2 s'); ENCLAVEKIT_NO_PROGRESS=1 turns it off. The \
            summary (and --json's 'phases') gives the time spent per phase: inputs (resolve and fetch), \
            environments (assemble the Debian environments steps and the rootfs use), steps, and pack \
            (root filesystem, targets, measurements); --json's 'environments' lists each one's sha256 and \
            package count, as the manifest records them.

            An existing output directory or --manifest file with other bytes is never replaced unless \
            --force is given (building the same bytes again is fine), and a manifest that a signed \
            envelope or bundle next to it covers (NAME.dsse.json, NAME.sigstore.json, NAME.intoto.jsonl \
            for NAME.json; any of them inside the output directory for its manifest.json) is never \
            modified, even with --force: bump the version for a new release, or remove the envelope \
            deliberately. Files in the output directory that the build does not write (envelopes) are \
            kept when the output already holds this build. An interrupted build (SIGINT, SIGTERM, SIGHUP) or a \
            full disk leaves the previous output as it was and no staging directory behind.

            Examples:
              enclavekit build Recipes/example-node/recipe.toml
              enclavekit build Recipes/example-node/recipe.toml --target nitro --out out/nitro
              enclavekit build Recipes/example-node/recipe.toml --manifest Manifests/example-node-0.1.0.json
              enclavekit build Recipes/example-node/recipe.toml --json | jq '.targets[].measurements'
              enclavekit build Recipes/python-node/recipe.toml --json | jq '.phases, .environments'
              enclavekit build Recipes/example-node/recipe.toml 2> build.log
              enclavekit build Recipes/example-node/recipe.toml --force
            """)

    @Argument(help: "The recipe (recipe.toml).")
    var recipe: String

    @Option(help: "Output directory (default out/NAME-VERSION).")
    var out: String?

    @Option(help: "Write the manifest here instead of OUT/manifest.json.")
    var manifest: String?

    @Option(name: .customLong("target"), help: "Build only this target (repeatable).")
    var targets: [String] = []

    @OptionGroup var cacheOption: CacheOption
    var cache: String? { cacheOption.cache }

    @Flag(help: "Replace an output directory or manifest with other bytes (never a signed manifest).")
    var force = false

    @Flag(help: "Print JSON instead of the summary table.")
    var json = false

    func run() async throws {
        var options = BuildOptions(recipePath: recipe)
        options.outputDirectory = out
        options.manifestPath = manifest
        options.targets = targets
        options.cacheDirectory = cache
        options.force = force
        let status = BuildStatus()
        defer { status.finish() }
        options.events = { status.handle($0) }
        let report = try await ReleaseBuilder.build(options)
        if json {
            Output.json(BuildSummary.json(report))
        } else {
            for line in BuildSummary.lines(report) { print(line) }
        }
    }
}

/// The summary `build` and `rebuild` print.
enum BuildSummary {
    static func lines(_ report: BuildReport) -> [String] {
        let m = report.manifest
        var lines = ["\(m.name) \(m.version): \(m.targets.count) targets, \(m.artifacts.count) artifacts"]
        var rows: [[String]] = [["TARGET", "PLATFORM", "REGISTER", "VALUE"]]
        for t in m.targets {
            for (i, (register, value)) in t.measurements.enumerated() {
                rows.append([i == 0 ? t.name : "", i == 0 ? t.platform.rawValue : "", register, value])
            }
        }
        lines += table(rows)
        lines.append("")
        var artifactRows: [[String]] = [["ARTIFACT", "SIZE", "SHA256"]]
        for a in m.artifacts { artifactRows.append([a.name, String(a.size), a.sha256]) }
        lines += table(artifactRows)
        lines.append("")
        if report.upToDate {
            lines.append("up to date: the output already holds this build (\(m.artifacts.count) artifacts verified)")
        }
        let environments = report.environments.map {
            "\($0.name) (\($0.packageCount) packages, sha256 \($0.sha256.prefix(12))…)"
        }
        if !environments.isEmpty { lines.append("environments: " + environments.joined(separator: ", ")) }
        let steps = report.steps.map { "\($0.name) \($0.cached ? "cached" : String(format1($0.seconds)) + " s")" }
        if !steps.isEmpty { lines.append("steps: " + steps.joined(separator: ", ")) }
        lines.append("time: " + report.phases.map { "\($0.name) \(format1($0.seconds)) s" }.joined(separator: ", "))
        lines.append("manifest: \(report.manifestPath)")
        return lines
    }

    static func json(_ report: BuildReport) -> JSONValue {
        let m = report.manifest
        return .object([
            ("name", .string(m.name)), ("version", .string(m.version)),
            ("outputDirectory", .string(report.outputDirectory)), ("manifest", .string(report.manifestPath)),
            ("upToDate", .bool(report.upToDate)),
            (
                "targets",
                .array(
                    m.targets.map { t in
                        .object([
                            ("name", .string(t.name)), ("platform", .string(t.platform.rawValue)),
                            ("measurements", .object(t.measurements.map { ($0.0, .string($0.1)) })),
                        ])
                    })
            ),
            (
                "artifacts",
                .array(
                    m.artifacts.map {
                        .object([("name", .string($0.name)), ("size", .int($0.size)), ("sha256", .string($0.sha256))])
                    })
            ),
            (
                "environments",
                .array(
                    report.environments.map {
                        .object([
                            ("name", .string($0.name)), ("sha256", .string($0.sha256)),
                            ("packageCount", .int(UInt64($0.packageCount))),
                        ])
                    })
            ),
            (
                "steps",
                .array(
                    report.steps.map {
                        .object([
                            ("name", .string($0.name)), ("cached", .bool($0.cached)),
                            ("seconds", .number(format1($0.seconds))),
                        ])
                    })
            ),
            // Wall time per phase (inputs, environments, steps, pack), for benchmarks.
            ("phases", .object(report.phases.map { ($0.name, .number(format3($0.seconds))) })),
        ])
    }

    /// `12.345` (milliseconds, for the JSON report's phases).
    static func format3(_ seconds: Double) -> String {
        let millis = Int((max(0, seconds) * 1000).rounded())
        let fraction = String(millis % 1000)
        return "\(millis / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }

    static func format1(_ seconds: Double) -> String {
        let tenths = Int((seconds * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }

    static func table(_ rows: [[String]]) -> [String] {
        guard let columns = rows.first?.count else { return [] }
        let widths = (0..<columns).map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { i, cell in
                i == columns - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count + 2)
            }.joined()
        }
    }
}
