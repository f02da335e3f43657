import ArgumentParser
import EnclaveCore
import Registry

struct PullCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull",
        abstract: "Pull a release from an OCI registry into a release directory, every blob checked by digest.",
        discussion: """
            Resolves REF's tag to a manifest digest once and reads everything by digest: the release \
            manifest, each artifact (at its name), the maintainers' signed documents and the \
            reproduction attestations (into OUT/attestations/) found as referrers (the referrers API, \
            or the sha256-HEX tag schema). Each blob's size and sha256 are checked as it arrives; a \
            blob that is cut off is fetched again (a bounded number of times), one whose bytes do not \
            match is an error. Everything lands in a staging directory next to OUT that is renamed to \
            OUT only when all of it verified, so OUT never holds anything unverified. OUT must not \
            exist or be empty. Then 'enclavekit verify OUT --policy P' checks the signatures (or use \
            'enclavekit verify REF --policy P' to do both). Prints the digest: pass it to verify as \
            --expect-digest to notice a tag moved since.

            Examples:
              enclavekit pull 127.0.0.1:5000/example-node:0.1.0 --out release --plain-http
              enclavekit pull ghcr.io/acme/example-node@sha256:4f3c… --out release --json
              enclavekit verify release --policy Manifests/policy.json --attestations release/attestations

            Exit status: 0 pulled and every blob verified; 1 failed (missing or corrupt blob, \
            unreachable registry, OUT not empty), nothing written at OUT; 64 usage error.
            """)

    @Argument(help: "The release: HOST[:PORT]/REPO:TAG or HOST[:PORT]/REPO@sha256:HEX.")
    var reference: String

    @Option(help: "The release directory to create (must not exist, or be empty).")
    var out: String

    @OptionGroup var registry: RegistryOptions

    @OptionGroup var jsonOutput: JSONOutputOption
    var json: Bool { jsonOutput.json }

    func validate() throws {
        try RegistryOptions.validated(reference) { [reference] ref in
            ref.manifestReference != nil
                ? nil : "name a tag or a digest: REPO:TAG or REPO@sha256:HEX, got '\(reference)'"
        }
    }

    func run() async throws {
        let ref = try ImageReference(parsing: reference)
        let report = try await registry.withClient(for: ref) { client in
            try await ReleasePuller.pull(ref, into: out, client: client, progress: progressLine)
        }
        if json {
            Output.json(report.json)
            return
        }
        print("pulled \(report.reference) into \(report.directory)")
        let count = { (kind: String) in report.files.filter { $0.kind == kind }.count }
        Output.table([
            ("digest", report.digest),
            ("pinned", ref.pinned(to: report.digest).description),
            ("artifacts", "\(count("artifact")) and manifest.json, every blob verified by sha256"),
            ("signatures", "\(count("signature"))"),
            ("attestations", "\(count("attestation"))"),
            ("referrers", report.referrersAPI ? "referrers API" : "tag schema (sha256-…)"),
        ])
        for line in report.ignored { print("  ignored referrer \(line)") }
    }
}
