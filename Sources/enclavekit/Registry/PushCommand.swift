import ArgumentParser
import EnclaveCore
import Registry

/// `--plain-http` and the reference argument, shared by push, pull and verify.
struct RegistryOptions: ParsableArguments {
    @Flag(
        name: .customLong("plain-http"),
        help: "Talk HTTP instead of HTTPS (only to a loopback registry: localhost, 127.0.0.0/8, ::1).")
    var plainHTTP = false

    func client(for reference: ImageReference) throws -> RegistryClient {
        try RegistryClient.make(
            for: reference, plainHTTP: plainHTTP, environment: ProcessInfoEnvironment.current)
    }

    /// Runs `body` with a client for `reference`, then shuts the client down, whether `body` returned or threw.
    func withClient<T>(for reference: ImageReference, _ body: (RegistryClient) async throws -> T) async throws -> T {
        let client = try client(for: reference)
        let result: Result<T, any Error>
        do { result = .success(try await body(client)) } catch { result = .failure(error) }
        await client.shutdown()
        return try result.get()
    }

    /// The reference argument parsed for `validate()`: a malformed one, or one that `problem` (what the
    /// command needs of it) finds wrong, is a usage error.
    static func validated(_ reference: String, _ problem: (ImageReference) -> String?) throws {
        do {
            if let message = problem(try ImageReference(parsing: reference)) { throw ValidationError(message) }
        } catch let error as RegistryError {
            throw ValidationError(error.description)
        }
    }
}

enum ProcessInfoEnvironment {
    static var current: [String: String] {
        var out: [String: String] = [:]
        for name in ["DOCKER_CONFIG", "HOME"] {
            if let value = getenvString(name) { out[name] = value }
        }
        return out
    }

    private static func getenvString(_ name: String) -> String? {
        guard let p = getenv(name) else { return nil }
        return String(cString: p)
    }
}

/// A progress line on stderr (stdout stays the report, or one JSON document).
@Sendable func progressLine(_ text: String) {
    StandardError.write(text + "\n")
}

struct PushCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Push a signed release directory to an OCI registry as an artifact.",
        discussion: """
            Stores RELEASE_DIR (what 'build' writes, signed with 'sign DIR/manifest.json') as one OCI \
            image manifest with artifactType application/vnd.enclavekit.release.v1+json, the empty \
            config, and one layer per file: manifest.json, then every artifact the release manifest \
            lists (each checked against its size and sha256 first), each with its own media type and \
            an org.opencontainers.image.title annotation. The manifest is canonical JSON, so the same \
            release always has the same digest. Every *.dsse.json, *.sigstore.json and *.intoto.jsonl \
            in the directory, and every reproduction attestation (RELEASE_DIR/attestations/ and \
            --attestations), is attached as a referrer (subject = the release): through the registry's \
            referrers API when it has one, else listed in the image index tagged sha256-HEX (the OCI \
            tag schema). A blob the registry has already is not uploaded again (reported as 'exists').

            Credentials: anonymous, or the Docker config file's auths[HOST] ($DOCKER_CONFIG/config.json, \
            else ~/.docker/config.json) for Basic or Bearer token authentication. TLS with the system \
            trust store; --plain-http only for a registry on a loopback address. Progress goes to \
            stderr; the report (or --json) to stdout.

            Examples:
              docker-registry serve registry.yml   # http.addr: 127.0.0.1:5000
              enclavekit push out/example-node-0.1.0 127.0.0.1:5000/example-node:0.1.0 --plain-http
              enclavekit push out/example-node-0.1.0 ghcr.io/acme/example-node:0.1.0 --attestations r1.dsse.json
              enclavekit push out/example-node-0.1.0 registry.example.com/releases/node:0.1.0 --json

            Exit status: 0 pushed; 1 refused or failed (a file that does not match the manifest, an \
            unreachable or refusing registry, a digest the registry reports differently); 64 usage error.
            """)

    @Argument(help: "The signed release directory (manifest.json, artifacts, *.dsse.json / *.sigstore.json).")
    var releaseDirectory: String

    @Argument(help: "Where to push: HOST[:PORT]/REPO:TAG.")
    var reference: String

    @Option(
        parsing: .upToNextOption,
        help: "Reproduction attestations to attach (files, or directories whose *.dsse.json etc. are read).")
    var attestations: [String] = []

    @OptionGroup var registry: RegistryOptions

    @OptionGroup var jsonOutput: JSONOutputOption
    var json: Bool { jsonOutput.json }

    func validate() throws {
        try RegistryOptions.validated(reference) { [reference] ref in
            ref.tag != nil && ref.digest == nil ? nil : "push needs REPO:TAG (a tag and no digest), got '\(reference)'"
        }
    }

    func run() async throws {
        let ref = try ImageReference(parsing: reference)
        let report = try await registry.withClient(for: ref) { client in
            try await ReleasePusher.push(
                directory: releaseDirectory, attestations: attestations, to: ref, client: client,
                progress: progressLine)
        }
        if json {
            Output.json(report.json)
            return
        }
        let uploaded = report.blobs.filter(\.uploaded)
        print("pushed \(report.reference)")
        Output.table([
            ("digest", report.digest),
            ("pinned", ref.pinned(to: report.digest).description),
            (
                "blobs",
                "\(uploaded.count) uploaded (\(uploaded.reduce(0) { $0 + $1.size }) bytes), "
                    + "\(report.blobs.count - uploaded.count) already there"
            ),
            (
                "referrers",
                "\(report.referrers.count) (\(report.referrersAPI ? "referrers API" : "tag schema sha256-…"))"
            ),
        ])
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif
