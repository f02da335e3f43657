import ArgumentParser
import EnclaveCore
import Release

struct SignCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign",
        abstract: "Sign a release manifest, or add a signature to a signed release.",
        discussion: """
            Given an unsigned release manifest, writes a DSSE envelope (payloadType \
            application/vnd.in-toto+json) whose payload is an in-toto Statement v1: one subject per \
            artifact with its sha256, the manifest as predicate (predicateType \
            \(Statement.releaseManifestPredicateType)). Given an envelope, appends this key's \
            signature, so several maintainers can sign one release; by default the envelope is \
            updated in place. When the output file (NAME.dsse.json, or --out) already exists, sign adds \
            to it: if it carries the same manifest, every signature it holds is kept in order and this \
            one appended; if it carries another manifest (or is not an envelope), sign refuses and \
            changes nothing (bump the version for a new release, or remove the old envelope \
            deliberately). A signature is never dropped. A Sigstore bundle holds one signature, so a \
            second signer writes their own (--out NAME.SIGNER.sigstore.json). keyids are securesystemslib's, so python in-toto and securesystemslib \
            find the key. --format bundle writes a Sigstore bundle v0.3 (one signature, public-key \
            hint, no transparency log) instead.

            The private key must not be readable by group or others (chmod 600).

            \(ReleaseExit.signHelp)

            Examples:
              enclavekit sign Manifests/example-node-0.1.0.json --key alice.pem --out release.dsse.json
              enclavekit sign release.dsse.json --key bob.pem
              enclavekit sign Manifests/example-node-0.1.0.json --key carol.pem   # adds to the .dsse.json
              enclavekit sign Manifests/example-node-0.1.0.json --key alice.pem --format bundle
            """)

    @Argument(help: "An unsigned release manifest, or a DSSE envelope to add a signature to.")
    var input: String

    @Option(help: "The private key (PEM, PKCS#8 or SEC1; Ed25519, ECDSA P-256 or P-384).")
    var key: String

    @Option(
        help: """
            Where to write. Default: the envelope itself when signing an envelope; NAME.dsse.json \
            (or NAME.sigstore.json for a bundle) beside a manifest NAME.json.
            """)
    var out: String?

    @Option(help: "Output format: dsse (an envelope, any number of signatures) or bundle (Sigstore v0.3).")
    var format: ReleaseSigner.OutputFormat = .dsse

    @OptionGroup var jsonOutput: JSONOutputOption
    var json: Bool { jsonOutput.json }

    func run() throws {
        let signingKey = try SigningKey.load(path: key)
        let bytes = try FileInput.contents(of: input, limit: 64 << 20, format: "release document")
        let fromManifest = !(try ReleaseDocument(bytes: bytes, format: input).isSigned)
        let destination = out ?? defaultOutput(fromManifest: fromManifest)
        if fromManifest, destination == input {
            throw UsageError(
                "--out \(destination) would replace the manifest with its envelope",
                hint: "write the envelope elsewhere")
        }
        // An envelope or bundle already at the destination is added to, never replaced.
        var existing: (bytes: [UInt8], path: String)?
        if destination != input, FileStatus(destination) != nil {
            existing = (try FileInput.contents(of: destination, limit: 64 << 20, format: "envelope"), destination)
        }
        let result = try ReleaseSigner.sign(
            bytes: bytes, format: input, key: signingKey, output: format, existing: existing)
        try AtomicOutput.write(result.bytes, to: destination)
        let count = result.envelope.signatures.count
        if json {
            Output.json(
                .object([
                    ("output", .string(destination)), ("format", .string(format.rawValue)),
                    ("keyid", .string(result.keyid)), ("scheme", .string(signingKey.type.scheme)),
                    ("signatures", .int(count)),
                ]))
        } else {
            print("signed \(input) with \(signingKey.type.displayName) key \(result.keyid)")
            print("wrote \(destination) (\(format.rawValue), \(count) signature\(count == 1 ? "" : "s"))")
        }
    }

    func defaultOutput(fromManifest: Bool) -> String {
        guard fromManifest else { return input }
        let stem = input.hasSuffix(".json") ? String(input.dropLast(5)) : input
        return stem + (format == .bundle ? ".sigstore.json" : ".dsse.json")
    }
}

extension ReleaseSigner.OutputFormat: ExpressibleByArgument {}
