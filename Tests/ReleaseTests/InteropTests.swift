import EnclaveCore
import Foundation
import Release
import TestSupport
import Testing

/// Interop with the reference clients, run for real: securesystemslib and python in-toto (installed by
/// `.ci/setup`) verify what EnclaveKit signs using only the public key, and EnclaveKit verifies what
/// securesystemslib's CryptoSigner signs.
@Suite struct InteropTests {
    static let verifyScript = Fixtures.path("interop/verify_dsse.py")
    static let signScript = Fixtures.path("interop/sign_dsse.py")

    @Test(arguments: KeyType.allCases)
    func referenceClientsVerifyOurEnvelope(type: KeyType) throws {
        let dir = try TestDirectory()
        let key = SigningKey.generate(type)
        let envelope = try dir.write("release.dsse.json", try Example.envelope(signedBy: [key]).fileBytes)
        let pub = try dir.write("key.pub.pem", key.publicKey.pem)
        let run = try ToolRunner.combined(["python3", Self.verifyScript, envelope, "1", pub])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("securesystemslib: verified by ['\(key.publicKey.keyid)']"))
        #expect(run.output.contains(Statement.releaseManifestPredicateType))
    }

    @Test func referenceClientsVerifyOurTwoOfThreeEnvelopeAndBundle() throws {
        let dir = try TestDirectory()
        let keys = KeyType.allCases.map { SigningKey.generate($0) }
        let envelope = try dir.write(
            "release.dsse.json", try Example.envelope(signedBy: Array(keys.prefix(2))).fileBytes)
        let pubs = try keys.enumerated().map { try dir.write("k\($0.offset).pub.pem", $0.element.publicKey.pem) }
        let two = try ToolRunner.combined(["python3", Self.verifyScript, envelope, "2"] + pubs)
        #expect(two.status == 0, "\(two.output)")
        let three = try ToolRunner.combined(["python3", Self.verifyScript, envelope, "3"] + pubs)
        #expect(three.status != 0, "securesystemslib accepted 2 signatures for a threshold of 3")

        let bundle = try ReleaseSigner.sign(
            bytes: try Example.manifestBytes(), format: "m", key: keys[2], output: .bundle)
        let bundlePath = try dir.write("release.sigstore.json", bundle.bytes)
        let run = try ToolRunner.combined(["python3", Self.verifyScript, bundlePath, "1", pubs[2]])
        #expect(run.status == 0, "\(run.output)")
    }

    @Test func referenceClientsVerifyTheCommittedExampleRelease() throws {
        let keys = ["alice", "bob", "carol"].map { Fixtures.path("example/keys/\($0).pub.pem") }
        let run = try ToolRunner.combined(
            ["python3", Self.verifyScript, Fixtures.path("example/release.dsse.json"), "2"] + keys)
        #expect(run.status == 0, "\(run.output)")
        let three = try ToolRunner.combined(
            ["python3", Self.verifyScript, Fixtures.path("example/release.dsse.json"), "3"] + keys)
        #expect(three.status == 1)
    }

    /// A reproduction attestation (`rebuild --sign`) is an in-toto Statement in a DSSE envelope too: the
    /// reference clients verify it, with its predicate type and the manifest as its one subject, whether the
    /// rebuild reproduced or not.
    @Test(arguments: KeyType.allCases, [true, false])
    func referenceClientsVerifyOurReproductionAttestation(type: KeyType, reproduced: Bool) throws {
        let dir = try TestDirectory()
        let key = SigningKey.generate(type)
        let attestation = ReproductionAttestation(
            manifest: try Example.manifest(), reproduced: reproduced,
            differences: reproduced ? [] : ["artifact example-node.eif › sha256: expected aa, actual bb"],
            environment: .init(kernel: "6.1.0-test", bubblewrap: "bubblewrap 0.8.0", cpu: "Test CPU @ 1.00GHz"),
            time: "2026-12-02T03:00:00Z")
        let envelope = try attestation.envelope(signedWith: key)
        let path = try dir.write("reproduction.dsse.json", envelope.fileBytes)
        let pub = try dir.write("key.pub.pem", key.publicKey.pem)
        let run = try ToolRunner.combined(["python3", Self.verifyScript, path, "1", pub])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("securesystemslib: verified by ['\(key.publicKey.keyid)']"))
        #expect(run.output.contains("statement: \(ReproductionAttestation.predicateType) ['manifest.json']"))

        // Another key's signature is not accepted.
        let other = try dir.write("other.pub.pem", SigningKey.generate(type).publicKey.pem)
        #expect(try ToolRunner.combined(["python3", Self.verifyScript, path, "1", other]).status != 0)
    }

    @Test func referenceClientsRejectATamperedEnvelope() throws {
        let dir = try TestDirectory()
        let key = SigningKey.generate(.p256)
        var envelope = try Example.envelope(signedBy: [key])
        envelope.payload = Array(
            String(decoding: envelope.payload, as: UTF8.self).replacingOccurrences(of: "PCR0", with: "PCR9").utf8)
        let path = try dir.write("release.dsse.json", envelope.fileBytes)
        let pub = try dir.write("key.pub.pem", key.publicKey.pem)
        let run = try ToolRunner.combined(["python3", Self.verifyScript, path, "1", pub])
        #expect(run.status != 0)
    }

    /// securesystemslib's CryptoSigner signs our Statement with keys made by `openssl genpkey`; our
    /// verifier reads its envelope with the example policy (2 of alice/bob/carol).
    @Test func weVerifyTheReferenceSignersEnvelope() throws {
        let dir = try TestDirectory()
        let statement = try dir.write("statement.json", Statement(manifest: try Example.manifest()).payload)
        var keyPaths: [String] = []
        for name in ["alice", "bob", "carol"] {
            keyPaths.append(try dir.write("\(name).pem", try Fixtures.bytes("example/keys/\(name).pem"), mode: 0o600))
        }
        let out = dir.path + "/python.dsse.json"
        let signed = try ToolRunner.combined(
            ["python3", Self.signScript, statement, DSSE.inTotoPayloadType, out] + keyPaths)
        #expect(signed.status == 0, "\(signed.output)")

        let policy = try ReleasePolicy.load(path: Fixtures.path("example/policy.json"))
        let bytes = try FileInput.contents(of: out)
        let report = try ReleaseVerifier.verify(bytes: bytes, format: out, policy: policy)
        #expect(report.error == nil, "\(report.threshold.failureReason)")
        #expect(report.threshold.signers == ["alice", "bob", "carol"])
        // securesystemslib computed the same keyids as we do.
        let envelope = try DSSEEnvelope(json: bytes, format: out)
        #expect(Set(envelope.signatures.compactMap(\.keyid)) == Set(policy.keys.map(\.keyid)))

        // And an envelope it signs with only an untrusted key does not verify.
        let strangerPath = try dir.write("stranger.pem", SigningKey.generate(.p256).pkcs8PEM, mode: 0o600)
        let out2 = dir.path + "/stranger.dsse.json"
        #expect(
            try ToolRunner.combined(["python3", Self.signScript, statement, DSSE.inTotoPayloadType, out2, strangerPath])
                .status == 0)
        let r2 = try ReleaseVerifier.verify(bytes: try FileInput.contents(of: out2), format: out2, policy: policy)
        #expect(r2.error?.kind == .thresholdNotMet)
    }

    /// The openssl command line, a third implementation: it reads our PKCS#8 keys, verifies our
    /// signatures over the PAE (ECDSA as DER over SHA-256/SHA-384, Ed25519 over the bytes), and makes
    /// keys (PKCS#8 and SEC1) that we sign with.
    @Test(arguments: KeyType.allCases)
    func opensslVerifiesOurSignaturesAndReadsOurKeys(type: KeyType) throws {
        let dir = try TestDirectory()
        let key = SigningKey.generate(type)
        let priv = try dir.write("key.pem", key.pkcs8PEM, mode: 0o600)
        let pub = try dir.write("key.pub.pem", key.publicKey.pem)
        let derived = try ToolRunner.combined(["openssl", "pkey", "-in", priv, "-pubout"])
        #expect(derived.status == 0)
        #expect(derived.output == key.publicKey.pem)

        let envelope = try Example.envelope(signedBy: [key])
        let pae = try dir.write("pae.bin", envelope.pae)
        let sig = try dir.write("sig.bin", envelope.signatures[0].sig)
        let args: [String] =
            switch type {
            case .ed25519:
                ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin", "-in", pae, "-sigfile", sig]
            case .p256: ["openssl", "dgst", "-sha256", "-verify", pub, "-signature", sig, pae]
            case .p384: ["openssl", "dgst", "-sha384", "-verify", pub, "-signature", sig, pae]
            }
        let verified = try ToolRunner.combined(args)
        #expect(verified.status == 0, "\(verified.output)")
        // The pre-v1 PASETO-style PAE (little-endian 64-bit lengths) is a different message.
        var le64 = [UInt8]()
        for part in [Array(envelope.payloadType.utf8), envelope.payload] {
            withUnsafeBytes(of: UInt64(part.count).littleEndian) { le64 += $0 }
            le64 += part
        }
        let old = ThresholdVerifier.verify(
            DSSEEnvelope(
                payload: envelope.payload, payloadType: envelope.payloadType,
                signatures: [.init(keyid: nil, sig: try key.sign(le64))]),
            trusted: [TrustedKey(name: "k", key: key.publicKey)], threshold: 1)
        #expect(!old.isMet)
    }

    @Test(arguments: [
        (["openssl", "genpkey", "-algorithm", "ed25519"], KeyType.ed25519),
        (["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout"], .p256),
        (["openssl", "ecparam", "-name", "secp384r1", "-genkey", "-noout"], .p384),
        (["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"], .p384),
    ])
    func keysMadeByOpenSSLSign(command: [String], type: KeyType) throws {
        let made = try ToolRunner.combined(command)
        #expect(made.status == 0)
        let key = try SigningKey(pem: Array(made.output.utf8), format: "openssl key")
        #expect(key.type == type)
        let envelope = try Example.envelope(signedBy: [key])
        let report = try ReleaseVerifier.verify(
            bytes: envelope.fileBytes, format: "env", policy: Example.policy([("k", key.publicKey)], threshold: 1))
        #expect(report.error == nil)
    }
}
