import ArgumentParser
import EnclaveCore
import Registry
import Release

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify a signed release against a policy, and optionally files and measurements.",
        discussion: """
            Checks every DSSE signature over the PAE, counts the distinct trusted keys of POLICY \
            against its threshold (a key counts once), then validates the in-toto Statement and the \
            release manifest. --artifact FILE checks the file's sha256 against the release's subjects \
            (is my EIF the released one?); --expect-pcr0 / --expect check a measurement against the \
            manifest. Prints which keys signed, which are trusted, the threshold result, each \
            artifact's result and the release's measurements. Accepts DSSE envelopes, Sigstore \
            bundles and in-toto .intoto.jsonl files (one envelope per line); given several (one bundle \
            per signer), they must sign the same Statement and their signatures are counted together.

            Given a release directory (what 'build' writes, signed with 'sign DIR/manifest.json'), \
            verify reads every *.dsse.json, *.sigstore.json and *.intoto.jsonl in it, checks every \
            artifact the signed manifest lists at DIR/NAME, and checks DIR/manifest.json against the \
            signed manifest. Reproduction attestations in the directory ('rebuild --sign') are set \
            aside for the rebuilder quorum, never counted as release signatures.

            When the policy has a 'rebuilders' section, --attestations (files, or directories whose \
            *.dsse.json, *.sigstore.json and *.intoto.jsonl are read) must hold reproduction \
            attestations ('rebuild --sign') for this exact manifest by at least its threshold of \
            distinct trusted rebuilders; one trusted rebuilder reporting a mismatch fails the release \
            whatever the others say. Lists who reproduced, who failed, unknown keys, forged or replayed \
            signatures, and attestations for another manifest (ignored).

            Given a registry reference (HOST[:PORT]/REPO:TAG or @sha256:HEX, not a local path), verify \
            resolves the tag once, pulls the release by that digest into a temporary directory (every \
            blob checked, see 'pull'), verifies it as a release directory with the reproduction \
            attestations found as referrers (plus --attestations), and then checks the tag again: a \
            tag moved during verification, or away from --expect-digest (the digest 'pull' printed), \
            fails with both digests named.

            \(ReleaseExit.help)

            Examples:
              enclavekit verify Manifests/example-node-0.1.0.dsse.json --policy Manifests/policy.json
              enclavekit verify out/example-node-0.1.0 --policy Manifests/policy.json
              enclavekit verify release.dsse.json --policy policy.json --artifact out/example-node.eif
              enclavekit verify release.dsse.json --policy policy.json --expect-pcr0 6595…b657 --json
              enclavekit verify alice.sigstore.json bob.sigstore.json --policy policy.json
              enclavekit verify release.dsse.json --policy policy.json --attestations attestations/
              enclavekit verify 127.0.0.1:5000/example-node:0.1.0 --policy Manifests/policy.json --plain-http
              enclavekit verify ghcr.io/acme/node:0.1.0 --policy policy.json --expect-digest sha256:4f3c…
            """)

    @Argument(
        help: "The signed release: DSSE envelopes, Sigstore bundles or .jsonl files of them, or one release directory.")
    var envelopes: [String]

    @Option(help: "The policy: trusted public keys and a threshold (see Manifests/README.md).")
    var policy: String

    @Option(help: "A file whose sha256 must match a subject of the release (repeatable).")
    var artifact: [String] = []

    @Option(name: .customLong("expect-pcr0"), help: "Nitro PCR0 (hex) the release must contain (repeatable).")
    var expectPCR0: [String] = []

    @Option(help: "A measurement the release must contain: [TARGET.]REGISTER=HEX, e.g. tdx.MRTD=… (repeatable).")
    var expect: [String] = []

    @Option(
        parsing: .upToNextOption,
        help: "Reproduction attestations (files or directories) for the policy's rebuilder quorum.")
    var attestations: [String] = []

    @Option(
        name: .customLong("expect-digest"),
        help: "With a registry reference: the manifest digest the tag must still name (e.g. what pull printed).")
    var expectDigest: String?

    @OptionGroup var registry: RegistryOptions

    @OptionGroup var jsonOutput: JSONOutputOption
    var json: Bool { jsonOutput.json }

    /// The registry reference when the one argument is not a local file or directory but parses as one.
    var registryReference: ImageReference? {
        guard envelopes.count == 1, let only = envelopes.first, FileStatus(only, followLinks: true) == nil else {
            return nil
        }
        return try? ImageReference(parsing: only)
    }

    func expectations() throws -> [MeasurementExpectation] {
        try expectPCR0.map { try MeasurementExpectation(parsing: "nitro.PCR0=\($0)") }
            + expect.map { try MeasurementExpectation(parsing: $0) }
    }

    func validate() throws {
        guard !envelopes.isEmpty else { throw ValidationError("name the signed release (an envelope or bundle)") }
        do {
            _ = try expectations()
        } catch {
            throw ValidationError("\(LibraryErrors.translated(error))")
        }
        if let expectDigest {
            guard registryReference != nil else {
                throw ValidationError("--expect-digest goes with a registry reference (HOST/REPO:TAG)")
            }
            guard OCIDigest.isValid(expectDigest) else {
                throw ValidationError("--expect-digest: expected sha256: and 64 lowercase hex, got '\(expectDigest)'")
            }
        }
        if registry.plainHTTP, registryReference == nil {
            throw ValidationError("--plain-http goes with a registry reference (HOST/REPO:TAG)")
        }
    }

    func runRegistry(_ ref: ImageReference, trust: ReleasePolicy) throws {
        let (registry, artifact, attestations, expectDigest) = (registry, artifact, attestations, expectDigest)
        let expectations = try expectations()
        let (report, info) = try Blocking.run {
            try await registry.withClient(for: ref) { client in
                try await RegistryVerifier.verify(
                    ref, client: client, policy: trust, artifacts: artifact, expectations: expectations,
                    attestations: attestations, expectedDigest: expectDigest, progress: progressLine)
            }
        }
        if json {
            var value = report.json
            if case .object(var fields) = value {
                fields.insert(("registry", info.json), at: 1)
                value = .object(fields)
            }
            Output.json(value)
        } else {
            print("registry: \(info.reference) resolved to \(info.digest) (verified by digest)")
            if let moved = info.movedTo { print("registry: the tag now names \(moved), NOT the verified digest") }
            printText(report)
        }
        if let error = report.error { throw error }
    }

    func run() throws {
        let trust = try ReleasePolicy.load(path: policy)
        if let ref = registryReference { return try runRegistry(ref, trust: trust) }
        let progress: ProgressFactory = { path, size in ProgressBar(label: "hashing \(path)", total: size) }
        var report: VerificationReport
        var attestationPaths = attestations
        if let only = envelopes.first, envelopes.count == 1, FileStatus.isDirectory(only) {
            let directory = try ReleaseDirectory(path: only)
            report = try directory.verify(
                policy: trust, artifacts: artifact, expectations: try expectations(), progress: progress)
            attestationPaths += directory.attestations
        } else {
            let documents = try envelopes.map {
                (try FileInput.contents(of: $0, limit: 64 << 20, format: "envelope"), $0)
            }
            report = try ReleaseVerifier.verify(
                documents: documents, policy: trust, artifacts: artifact, expectations: try expectations(),
                progress: progress)
        }
        try report.checkRebuilders(attestations: try RebuilderQuorum.documents(paths: attestationPaths))
        if json {
            Output.json(report.json)
        } else {
            printText(report)
        }
        if let error = report.error { throw error }
    }

    func printText(_ report: VerificationReport) {
        if let manifest = report.statement?.manifest {
            print(
                "release: \(manifest.name) \(manifest.version) (manifest schema v\(ReleaseManifest.schemaVersion), "
                    + "built with EnclaveKit \(manifest.enclavekitVersion))")
        }
        print("signatures:")
        var rows: [(String, String)] = []
        for e in report.threshold.entries {
            let id = e.keyid ?? "(no keyid)"
            switch e.status {
            case .trusted(let name): rows.append(("\(e.index)", "valid, trusted key \(name)  keyid \(id)"))
            case .duplicate(let name):
                rows.append(("\(e.index)", "valid, \(name) again (not counted twice)  keyid \(id)"))
            case .invalid(let name): rows.append(("\(e.index)", "INVALID signature claiming key \(name)  keyid \(id)"))
            case .untrusted: rows.append(("\(e.index)", "not by a trusted key  keyid \(id)"))
            }
        }
        if rows.isEmpty { rows.append(("-", "none")) }
        Output.table(rows)
        let t = report.threshold
        print(
            "threshold: \(t.signers.count) trusted \(t.signers.count == 1 ? "key" : "keys") signed, "
                + "\(t.threshold) required (\(t.signers.joined(separator: ", "))): \(t.isMet ? "met" : "NOT met")")
        if !report.artifacts.isEmpty {
            print("artifacts:")
            Output.table(
                report.artifacts.map {
                    ($0.path, $0.subject.map { "matches \($0)" } ?? "NO MATCH")
                })
        }
        if !report.expectations.isEmpty {
            print("expected measurements:")
            Output.table(
                report.expectations.map {
                    ($0.expectation.label, $0.matchedTarget.map { "matches target \($0)" } ?? "NO MATCH")
                })
        }
        if let manifest = report.statement?.manifest {
            print("measurements:")
            var rows: [(String, String)] = []
            for target in manifest.targets {
                for (name, value) in target.measurements { rows.append(("\(target.name) \(name)", value)) }
            }
            Output.table(rows)
        }
        if let r = report.rebuilders { printRebuilders(r) }
        if let error = report.error, error.kind == .rebuilderQuorum { print(error.message) }
        print(report.isVerified ? "verified" : "NOT verified")
    }

    func printRebuilders(_ r: RebuilderReport) {
        print("rebuilders (manifest sha256 \(r.manifestSHA256)):")
        var rows: [(String, String)] = r.reproduced.map { ($0, "reproduced") }
        for v in r.failed {
            rows.append((v.rebuilder, "DID NOT REPRODUCE (\(v.source), \(v.time))"))
            for d in v.differences { rows.append(("", d)) }
        }
        for x in r.unknown { rows.append(("unknown", "\(x.source): keyid \(x.keyid ?? "(none)"), \(x.reason)")) }
        for x in r.invalid { rows.append(("INVALID", "\(x.source): \(x.reason)")) }
        for x in r.replayed { rows.append(("replayed", "\(x.source): \(x.reason)")) }
        for o in r.otherManifests {
            rows.append((o.rebuilder, "ignored: \(o.source) is for another manifest (sha256 \(o.manifestSHA256))"))
        }
        for v in r.duplicates { rows.append((v.rebuilder, "again in \(v.source) (counted once)")) }
        for s in r.skipped { rows.append(("skipped", "\(s): not a reproduction attestation")) }
        if rows.isEmpty { rows.append(("-", "no attestations")) }
        Output.table(rows)
        print(
            "rebuilder quorum: \(r.reproduced.count) trusted rebuilder\(r.reproduced.count == 1 ? "" : "s") "
                + "reproduced, \(r.threshold) required, \(r.failed.count) failed: \(r.isMet ? "met" : "NOT met")")
    }
}
