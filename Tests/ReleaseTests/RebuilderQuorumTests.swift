import EnclaveCore
import Foundation
import Release
import TestSupport
import Testing

/// Reproduction attestations and the policy's rebuilder quorum (issue 16 items 1 and 2), built with the
/// library so no rebuild runs.
@Suite struct RebuilderQuorumTests {
    static let time = "2026-12-02T03:00:00Z"
    static let environment = ReproductionAttestation.Environment(
        kernel: "6.1.0-test", bubblewrap: "bubblewrap 0.8.0", cpu: "Test CPU @ 1.00GHz")

    /// Three rebuilder keys (one per type), a 2-of-3 rebuilder policy and the example manifest.
    struct World {
        let r1 = SigningKey.generate(.ed25519)
        let r2 = SigningKey.generate(.p256)
        let r3 = SigningKey.generate(.p384)
        let manifest: ReleaseManifest
        var policy: RebuilderPolicy {
            RebuilderPolicy(
                threshold: 2,
                keys: [
                    TrustedKey(name: "r1", key: r1.publicKey), TrustedKey(name: "r2", key: r2.publicKey),
                    TrustedKey(name: "r3", key: r3.publicKey),
                ])
        }

        init() throws { manifest = try Example.manifest() }

        func attestation(
            _ key: SigningKey, reproduced: Bool = true, manifest other: ReleaseManifest? = nil,
            time: String = RebuilderQuorumTests.time
        ) throws -> DSSEEnvelope {
            let differences = reproduced ? [] : ["artifact example-node.eif › sha256: expected aa, actual bb"]
            return try ReproductionAttestation(
                manifest: other ?? manifest, reproduced: reproduced, differences: differences,
                environment: RebuilderQuorumTests.environment, time: time
            ).envelope(signedWith: key)
        }

        func evaluate(_ envelopes: [DSSEEnvelope]) throws -> RebuilderReport {
            try RebuilderQuorum.evaluate(
                documents: envelopes.enumerated().map { ($0.element.fileBytes, "a\($0.offset + 1).dsse.json") },
                policy: policy, manifestSHA256: manifest.sha256)
        }
    }

    @Test func attestationRoundTripsAsAnInTotoStatement() throws {
        let w = try World()
        let envelope = try w.attestation(w.r1, reproduced: false)
        #expect(envelope.payloadType == "application/vnd.in-toto+json")
        #expect(envelope.signatures.map(\.keyid) == [w.r1.publicKey.keyid])
        #expect(w.r1.publicKey.isValidSignature(envelope.signatures[0].sig, for: envelope.pae))
        let parsed = try ReproductionAttestation(payload: envelope.payload, format: "a.dsse.json")
        #expect(parsed.reproduced == false)
        #expect(parsed.manifestSHA256 == Digest.sha256(try Example.manifestBytes()).hex)
        #expect(parsed.differences.count == 1)
        #expect(parsed.environment == Self.environment)
        #expect(parsed.time == Self.time)
        #expect(parsed.releaseName == w.manifest.name)
        // Canonical JSON: the payload is the canonical serialization, and parses back to the same bytes.
        let text = String(decoding: envelope.payload, as: UTF8.self)
        #expect(text.hasPrefix("{\"_type\":\"https://in-toto.io/Statement/v1\",\"predicate\":{"))
        #expect(text.contains("\"predicateType\":\"https://enclavekit.dev/attestation/reproduction/v1\""))
        #expect(
            text.contains("\"subject\":[{\"digest\":{\"sha256\":\"\(w.manifest.sha256)\"},\"name\":\"manifest.json\"}]")
        )
        #expect(parsed.payload == envelope.payload)
    }

    @Test(arguments: [
        ("2026-12-02T03:00:00Z", true), ("2026-12-02T03:00:00+00:00", false), ("2026-13-02T03:00:00Z", false),
        ("2026-12-02 03:00:00Z", false), ("", false),
    ])
    func rfc3339(text: String, valid: Bool) {
        #expect(ReproductionAttestation.isRFC3339UTC(text) == valid)
    }

    @Test func quorumOfTwoOfThreeMet() throws {
        let w = try World()
        let report = try w.evaluate([w.attestation(w.r1), w.attestation(w.r2)])
        #expect(report.isMet)
        #expect(report.reproduced == ["r1", "r2"])
        #expect(report.failureReason.isEmpty)
    }

    @Test func quorumNotMet() throws {
        let w = try World()
        let report = try w.evaluate([w.attestation(w.r1)])
        #expect(!report.isMet)
        #expect(report.reproduced == ["r1"])
        #expect(report.failureReason.contains("1 trusted rebuilder reproduced the release, 2 required"))
    }

    @Test func aTrustedMismatchIsNeverOutvoted() throws {
        let w = try World()
        for order in [[0, 1, 2], [2, 0, 1]] {
            let all = [try w.attestation(w.r1), try w.attestation(w.r2), try w.attestation(w.r3, reproduced: false)]
            let report = try w.evaluate(order.map { all[$0] })
            #expect(!report.isMet)
            #expect(report.reproduced.sorted() == ["r1", "r2"])
            #expect(report.failed.map(\.rebuilder) == ["r3"])
            #expect(report.failed.first?.differences.count == 1)
            #expect(report.failureReason.contains("r3 did NOT reproduce"))
        }
        // A rebuilder that reports both a match and a mismatch is a failure, not a vote for the release.
        let both = try w.evaluate([w.attestation(w.r1), w.attestation(w.r2), w.attestation(w.r2, reproduced: false)])
        #expect(!both.isMet)
        #expect(both.reproduced == ["r1"])
        #expect(both.failed.map(\.rebuilder) == ["r2"])
    }

    @Test func anAttestationForAnotherManifestIsIgnoredAndReported() throws {
        let w = try World()
        var other = w.manifest
        other.version = "9.9.9"
        let report = try w.evaluate([w.attestation(w.r1, manifest: other), w.attestation(w.r2)])
        #expect(!report.isMet)
        #expect(report.reproduced == ["r2"])
        #expect(report.otherManifests.map(\.rebuilder) == ["r1"])
        #expect(report.otherManifests.first?.manifestSHA256 == other.sha256)
        #expect(other.sha256 != w.manifest.sha256)
        // A mismatch for another manifest says nothing about this one.
        let mismatchElsewhere = try w.evaluate([
            w.attestation(w.r1), w.attestation(w.r2), w.attestation(w.r3, reproduced: false, manifest: other),
        ])
        #expect(mismatchElsewhere.isMet)
        #expect(mismatchElsewhere.otherManifests.map(\.rebuilder) == ["r3"])
    }

    @Test func aForgedSignatureIsNotCounted() throws {
        let w = try World()
        // r3 reported a mismatch; the forger turns it into a match and keeps r3's signature.
        var forged = try w.attestation(w.r3, reproduced: false)
        forged.payload =
            ReproductionAttestation(
                manifest: w.manifest, reproduced: true, environment: Self.environment, time: "2026-12-02T04:00:00Z"
            ).payload
        var flipped = try w.attestation(w.r2)
        flipped.signatures[0].sig[5] ^= 0x01
        let report = try w.evaluate([w.attestation(w.r1), forged, flipped])
        #expect(!report.isMet)
        #expect(report.reproduced == ["r1"])
        #expect(report.invalid.compactMap(\.rebuilder) == ["r3", "r2"])
        #expect(report.failed.isEmpty)
    }

    @Test func anAttestationReplayedUnderAnotherKeyidIsNotCounted() throws {
        let w = try World()
        // r1's genuine attestation, relabelled as r2's to make one rebuild count twice.
        var replayed = try w.attestation(w.r1)
        replayed.signatures[0].keyid = w.r2.publicKey.keyid
        let report = try w.evaluate([w.attestation(w.r1), replayed])
        #expect(!report.isMet)
        #expect(report.reproduced == ["r1"])
        #expect(report.replayed.map(\.rebuilder) == ["r1"])
        #expect(report.replayed.first?.keyid == w.r2.publicKey.keyid)
        // Alone, under a keyid no trusted key has, it does not count either.
        var relabelled = try w.attestation(w.r2)
        relabelled.signatures[0].keyid = String(repeating: "ab", count: 32)
        let alone = try w.evaluate([relabelled, w.attestation(w.r3)])
        #expect(!alone.isMet)
        #expect(alone.replayed.map(\.rebuilder) == ["r2"])
    }

    @Test func theSameRebuilderTwiceCountsOnce() throws {
        let w = try World()
        let report = try w.evaluate([
            w.attestation(w.r1), w.attestation(w.r1, time: "2026-12-02T05:00:00Z"),
        ])
        #expect(!report.isMet)
        #expect(report.reproduced == ["r1"])
        #expect(report.duplicates.map(\.rebuilder) == ["r1"])
    }

    @Test func anUntrustedRebuilderIsListedAsUnknown() throws {
        let w = try World()
        let stranger = SigningKey.generate(.ed25519)
        let report = try w.evaluate([w.attestation(w.r1), w.attestation(stranger)])
        #expect(!report.isMet)
        #expect(report.reproduced == ["r1"])
        #expect(report.unknown.map(\.keyid) == [stranger.publicKey.keyid])
        #expect(report.unknown.first?.rebuilder == nil)
    }

    @Test func otherEnvelopesAreSetAside() throws {
        let w = try World()
        let release = try Example.envelope(signedBy: [w.r1])
        let report = try w.evaluate([release, w.attestation(w.r1), w.attestation(w.r3)])
        #expect(report.isMet)
        #expect(report.skipped == ["a1.dsse.json"])
    }

    @Test func policyReadsTheRebuildersSection() throws {
        let w = try World()
        let pem = { (k: SigningKey) in k.publicKey.pem.replacingOccurrences(of: "\n", with: "\\n") }
        func policy(_ rebuilders: String) throws -> ReleasePolicy {
            let text = """
                {"policyVersion": 1, "threshold": 1, "keys": [{"name": "alice", "publicKeyFile": "alice.pem"}]\
                \(rebuilders)}
                """
            return try ReleasePolicy(json: Array(text.utf8), format: "policy.json") { name in
                switch name {
                case "alice.pem": Array(w.r1.publicKey.pem.utf8)
                case "r2.pem": Array(w.r2.publicKey.pem.utf8)
                default: throw TestFailure("no file \(name)")
                }
            }
        }
        let none = try policy("")
        #expect(none.rebuilders == nil)
        let some = try policy(
            #", "rebuilders": {"threshold": 2, "keys": [{"name": "r2", "publicKeyFile": "r2.pem"}, "#
                + #"{"name": "r3", "publicKey": "\#(pem(w.r3))"}]}"#)
        #expect(some.rebuilders?.threshold == 2)
        #expect(some.rebuilders?.keys.map(\.name) == ["r2", "r3"])
        #expect(some.rebuilders?.keys.map(\.key) == [w.r2.publicKey, w.r3.publicKey])
        #expect(some.json["rebuilders"]?["threshold"] == .int(2))

        for (section, message) in [
            (#", "rebuilders": {"threshold": 3, "keys": [{"name": "r2", "publicKeyFile": "r2.pem"}]}"#, "never be met"),
            (#", "rebuilders": {"threshold": 1, "keys": []}"#, "'rebuilders.keys' must be a non-empty array"),
            (
                #", "rebuilders": {"threshold": 1, "keys": [{"name": "r2"}]}"#,
                "rebuilders.keys[0] (r2) needs exactly one"
            ),
            (#", "rebuilders": {"k": 1}"#, "rebuilders: unknown field 'k'"),
            (#", "rebuilders": [1]"#, "'rebuilders' must be an object"),
        ] {
            #expect {
                try policy(section)
            } throws: { error in
                (error as? ReleaseError)?.kind == .policy && "\(error)".contains(message)
            }
        }
    }

    @Test func verifyRequiresAttestationsWhenThePolicyHasRebuilders() throws {
        let w = try World()
        let alice = SigningKey.generate(.ed25519)
        let envelope = try Example.envelope(signedBy: [alice])
        let policy = ReleasePolicy(
            threshold: 1, keys: [TrustedKey(name: "alice", key: alice.publicKey)], rebuilders: w.policy)
        func verify(_ attestations: [DSSEEnvelope]) throws -> VerificationReport {
            var report = try ReleaseVerifier.verify(
                bytes: envelope.fileBytes, format: "release.dsse.json", policy: policy)
            try report.checkRebuilders(attestations: attestations.map { ($0.fileBytes, "a.dsse.json") })
            return report
        }
        let missing = try verify([])
        #expect(missing.error?.kind == .rebuilderQuorum)
        #expect(missing.error?.message.contains("pass their reproduction attestations with --attestations") == true)
        #expect(!missing.isVerified)

        let met = try verify([w.attestation(w.r1), w.attestation(w.r2)])
        #expect(met.isVerified)
        #expect(met.rebuilders?.reproduced == ["r1", "r2"])
        #expect(met.json["rebuilders"]?["met"] == .bool(true))

        let failed = try verify([w.attestation(w.r1), w.attestation(w.r2), w.attestation(w.r3, reproduced: false)])
        #expect(!failed.isVerified)
        #expect(failed.error?.message.contains("r3 did NOT reproduce") == true)

        // Attestations without a rebuilders section are an error, not silently ignored.
        var plain = try ReleaseVerifier.verify(
            bytes: envelope.fileBytes, format: "release.dsse.json",
            policy: ReleasePolicy(threshold: 1, keys: [TrustedKey(name: "alice", key: alice.publicKey)]))
        #expect(throws: ReleaseError(.noRebuilders, "")) {
            try plain.checkRebuilders(attestations: [(try w.attestation(w.r1).fileBytes, "a.dsse.json")])
        }
    }

    @Test func writeRefusesAnExistingAttestation() throws {
        let w = try World()
        let dir = try TestDirectory()
        let path = dir.path + "/reproduction.dsse.json"
        let attestation = ReproductionAttestation(
            manifest: w.manifest, reproduced: true, environment: Self.environment, time: Self.time)
        let envelope = try attestation.write(signedWith: w.r1, to: path)
        #expect(try FileInput.contents(of: path) == envelope.fileBytes)
        #expect {
            try attestation.write(signedWith: w.r2, to: path)
        } throws: { error in
            "\(error)".contains("\(path) already exists")
        }
        #expect(try FileInput.contents(of: path) == envelope.fileBytes)
    }
}
