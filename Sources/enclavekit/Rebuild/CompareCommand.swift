import ArgumentParser
import EnclaveCore
import Rebuild
import Recipe

/// `enclavekit compare A B`: the drill-down diff of two EIFs, ramdisks, archives, release documents
/// or directories (issue #7 item 5).
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare two EIFs, ramdisks, tar archives, release manifests or directories, drilling down.",
        discussion: """
            A is the expected input and B the actual one (a rebuild). The kind is detected from the \
            content: an EIF (PCRs that moved, header, sections), a cpio ramdisk or a tar archive \
            (entries by path: type, mode, uid/gid, mtime, size, content sha256, link target), a \
            release manifest, DSSE envelope or Sigstore bundle (the manifests, field by field; \
            signatures are not checked, use 'enclavekit verify'), or a directory (entries, and files \
            that are EIFs or archives drilled into). Two build output directories (each with a \
            manifest.json) are compared through their manifests, field by field, with each differing \
            artifact drilled into, then the files no manifest lists. Text entries up to 1 MiB get a short unified \
            diff; binary ones their first differing offset. --diffoscope hands each differing \
            entry to diffoscope when it is installed. With --expected-artifacts/--actual-artifacts, \
            two manifests' artifacts whose sha256 differ are compared file against file. When a \
            'path' input's tree differs, the files that changed are named (file node.c changed, \
            added, removed, mode) from the trees' listings, which 'lock' and 'build' keep in the \
            cache (--cache).

            Exit status: 0 identical; 3 different (not reproduced); 1 bad input (unreadable or \
            malformed file, two kinds that cannot be compared); 64 usage error.

            Examples:
              enclavekit compare release/example-node.eif rebuilt/example-node.eif
              enclavekit compare a/app.cpio b/app.cpio --json
              enclavekit compare release.dsse.json rebuilt/manifest.json \\
                --expected-artifacts release --actual-artifacts rebuilt
              enclavekit compare out/example-node-0.1.0 out/rebuild-example-node-0.1.0
              enclavekit compare out-1 out-2 --diffoscope --max-differences 20
              enclavekit compare out-1 out-2 --exclude-directory-metadata
            """)

    @Argument(help: "The expected input (file or directory).")
    var a: String

    @Argument(help: "The actual input, of the same kind.")
    var b: String

    @Flag(help: "Print the report as JSON.")
    var json = false

    @OptionGroup var diffoscopeFlag: DiffoscopeFlag
    var diffoscope: Bool { diffoscopeFlag.diffoscope }

    @Flag(help: "For two directories: ignore each entry's uid, gid and mtime (build outputs made at different times).")
    var excludeDirectoryMetadata = false

    @OptionGroup var cacheOption: CacheOption
    var cache: String? { cacheOption.cache }

    @Option(help: "List at most N differences (the rest are counted).")
    var maxDifferences = 1000

    @Option(help: "With two manifests: the directory holding A's artifacts.")
    var expectedArtifacts: String?

    @Option(help: "With two manifests: the directory holding B's artifacts.")
    var actualArtifacts: String?

    func validate() throws {
        guard maxDifferences >= 1 else { throw ValidationError("--max-differences must be at least 1") }
        guard (expectedArtifacts == nil) == (actualArtifacts == nil) else {
            throw ValidationError("give both --expected-artifacts and --actual-artifacts, or neither")
        }
    }

    func run() throws {
        var options = Comparer.Options()
        options.maxDifferences = maxDifferences
        options.diffoscope = diffoscope
        options.directoryMetadata = !excludeDirectoryMetadata
        options.inputCache = cache.map { InputCache(root: $0) } ?? InputCache.default()
        let report = try Comparer(options: options).compare(
            a, b, expectedArtifacts: expectedArtifacts, actualArtifacts: actualArtifacts)
        if json {
            Output.json(report.json())
        } else {
            print(report.render())
        }
        if !report.identical { throw ExitCode(ReleaseExit.notReproduced) }
    }
}
