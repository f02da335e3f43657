import EnclaveCore
import Foundation
import Release
import TestSupport
import Testing

@Suite struct SignVerifyTests {
    /// The example manifest was written by Python's json (sort_keys, compact); our canonical form must
    /// give the same bytes, and parsing must keep every field.
    @Test func manifestCanonicalFormMatchesPythonsSortedJSON() throws {
        let manifest = try Example.manifest()
        #expect(manifest.canonicalBytes == (try Example.manifestBytes()))
        #expect(manifest.targets.map(\.platform) == [.nitro, .tdx, .sgx])
        #expect(manifest.targets[0].measurement("PCR0")?.hasPrefix("65956609") == true)
        #expect(manifest.subjects.map(\.name) == ["example-node.eif", "example-node.sgx.so"])
    }

    /// What `build` does: construct the model in Swift, validate and write it canonically.
    @Test func manifestBuiltInSwiftWritesCanonicalJSONAndComparesMeasurements() throws {
        let hex48 = String(repeating: "ab", count: 48)
        var manifest = ReleaseManifest(
            name: "n", version: "1", sourceDateEpoch: 1,
            recipe: .init(path: "Recipes/n/recipe.toml", sha256: String(repeating: "0", count: 64)),
            lock: .init(path: "Recipes/n/recipe.lock", sha256: String(repeating: "1", count: 64)), inputs: [],
            artifacts: [.init(name: "n.eif", size: 3, sha256: String(repeating: "2", count: 64))],
            targets: [
                .init(
                    name: "nitro", platform: .nitro, artifacts: ["n.eif"],
                    measurements: [("PCR0", hex48), ("PCR1", hex48), ("PCR2", hex48)],
                    settings: .object([("vcpus", .int(2)), ("arch", .string("x86_64"))]))
            ])
        let dir = try TestDirectory()
        try manifest.write(to: dir.path + "/m.json")
        let written = try FileInput.contents(of: dir.path + "/m.json")
        #expect(String(decoding: written, as: UTF8.self).hasPrefix(#"{"artifacts":[{"name":"n.eif","sha256":"222"#))
        #expect(String(decoding: written, as: UTF8.self).contains(#""settings":{"arch":"x86_64","vcpus":2}"#))
        #expect(try ReleaseManifest(json: written, format: "m").canonicalBytes == written)

        let same = manifest.compare(measured: [("PCR0", hex48.uppercased()), ("PCR1", hex48)], platform: .nitro)
        #expect(same.matching.map(\.name) == ["nitro"])
        let other = manifest.compare(measured: [("PCR0", String(repeating: "cd", count: 48))])
        #expect(!other.isMatch)
        #expect(other.mismatching.first?.differences.map(\.register) == ["PCR0"])

        manifest.targets[0].measurements[0].1 = "short"
        #expect(throws: ReleaseError(.manifest, "")) { try manifest.write(to: dir.path + "/bad.json") }
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/bad.json"))
    }

    @Test(arguments: KeyType.allCases)
    func signAndVerifyEachKeyType(type: KeyType) throws {
        let key = SigningKey.generate(type)
        let envelope = try Example.envelope(signedBy: [key])
        #expect(envelope.payloadType == DSSE.inTotoPayloadType)
        #expect(envelope.signatures.count == 1)
        #expect(envelope.signatures[0].keyid == key.publicKey.keyid)
        let policy = Example.policy([("maintainer", key.publicKey)], threshold: 1)
        let report = try ReleaseVerifier.verify(bytes: envelope.fileBytes, format: "env", policy: policy)
        #expect(report.error == nil)
        #expect(report.threshold.signers == ["maintainer"])
        #expect(report.statement?.manifest == (try Example.manifest()))
    }

    @Test func statementPayloadShape() throws {
        let envelope = try Example.envelope(signedBy: [SigningKey.generate(.ed25519)])
        let value = try JSONParser.parse(envelope.payload)
        #expect(value["_type"]?.stringValue == "https://in-toto.io/Statement/v1")
        #expect(value["predicateType"]?.stringValue == Statement.releaseManifestPredicateType)
        #expect(
            value["subject"]
                == .array([
                    .object([
                        (
                            "digest",
                            .object([
                                ("sha256", .string("7f8ba8efcfab937f04be28e6aa8fb0aa530b17628f57abd84b9937f801c56cea"))
                            ])
                        ), ("name", .string("example-node.eif")),
                    ]),
                    .object([
                        (
                            "digest",
                            .object([
                                ("sha256", .string("4a96c24816ae83582abfeadc3df4bbed2fff21ff6bbb68c53b2c472f2e0db700"))
                            ])
                        ), ("name", .string("example-node.sgx.so")),
                    ]),
                ]))
        #expect(envelope.payload == Array(value.serialized(style: .canonical).utf8))
    }

    @Test func twoOfThreeAcrossKeyTypes() throws {
        let keys = KeyType.allCases.map { SigningKey.generate($0) }
        let named = zip(["alice", "bob", "carol"], keys.map(\.publicKey)).map { ($0, $1) }
        let twoSigned = try Example.envelope(signedBy: [keys[2], keys[0]])
        let report = try ReleaseVerifier.verify(
            bytes: twoSigned.fileBytes, format: "env", policy: Example.policy(named, threshold: 2))
        #expect(report.error == nil)
        #expect(report.threshold.signers == ["carol", "alice"])

        let strict = try ReleaseVerifier.verify(
            bytes: twoSigned.fileBytes, format: "env", policy: Example.policy(named, threshold: 3))
        #expect(strict.error?.kind == .thresholdNotMet)
        #expect(strict.error?.message.contains("2 trusted keys signed, 3 required") == true)
        #expect(strict.statement == nil)
    }

    @Test func tamperedPayloadPayloadTypeAndSignatureAreRejected() throws {
        let key = SigningKey.generate(.p256)
        let envelope = try Example.envelope(signedBy: [key])
        let policy = Example.policy([("alice", key.publicKey)], threshold: 1)

        var payload = envelope
        let text = String(decoding: payload.payload, as: UTF8.self).replacingOccurrences(of: "0.1.0", with: "0.1.1")
        payload.payload = Array(text.utf8)
        let r1 = try ReleaseVerifier.verify(bytes: payload.fileBytes, format: "env", policy: policy)
        #expect(r1.error?.kind == .thresholdNotMet)
        #expect(r1.error?.message.contains("signature 1 by alice") == true)
        #expect(r1.error?.message.contains("does not verify") == true)

        var type = envelope
        type.payloadType = "application/vnd.in-toto.other+json"
        #expect(throws: ReleaseError(.payloadType, "")) {
            try ReleaseVerifier.verify(bytes: type.fileBytes, format: "env", policy: policy)
        }

        var sig = envelope
        sig.signatures[0].sig[8] ^= 0x01
        let r3 = try ReleaseVerifier.verify(bytes: sig.fileBytes, format: "env", policy: policy)
        #expect(r3.threshold.entries.map(\.status) == [.invalid(keyName: "alice")])
        #expect(r3.error?.kind == .thresholdNotMet)
    }

    @Test func untrustedKeyDoesNotCount() throws {
        let stranger = SigningKey.generate(.ed25519)
        let trusted = SigningKey.generate(.ed25519)
        let envelope = try Example.envelope(signedBy: [stranger])
        let report = try ReleaseVerifier.verify(
            bytes: envelope.fileBytes, format: "env",
            policy: Example.policy([("alice", trusted.publicKey)], threshold: 1))
        #expect(report.threshold.entries.map(\.status) == [.untrusted])
        #expect(report.error?.message.contains("is not by a key in the policy") == true)
    }

    @Test func sameKeyTwiceCountsOnce() throws {
        let alice = SigningKey.generate(.ed25519)
        let bob = SigningKey.generate(.p256)
        var envelope = try Example.envelope(signedBy: [alice])
        // A second signature by the same key, under another keyid (Ed25519 is deterministic: same bytes).
        envelope.signatures.append(.init(keyid: "another-hint", sig: try alice.sign(envelope.pae)))
        let policy = Example.policy([("alice", alice.publicKey), ("bob", bob.publicKey)], threshold: 2)
        let report = try ReleaseVerifier.verify(bytes: envelope.fileBytes, format: "env", policy: policy)
        #expect(report.threshold.entries.map(\.status) == [.trusted(keyName: "alice"), .duplicate(keyName: "alice")])
        #expect(report.error?.kind == .thresholdNotMet)
        #expect(report.error?.message.contains("by alice again") == true)
    }

    @Test func signingTwiceWithOneKeyIsRefused() throws {
        let alice = SigningKey.generate(.p384)
        let envelope = try Example.envelope(signedBy: [alice])
        #expect(throws: ReleaseError(.alreadySigned, "")) {
            try ReleaseSigner.sign(bytes: envelope.fileBytes, format: "env", key: alice, output: .dsse)
        }
    }

    @Test func unknownManifestSchemaVersion() throws {
        let text = String(decoding: try Example.manifestBytes(), as: UTF8.self)
            .replacingOccurrences(of: "\"schemaVersion\":1", with: "\"schemaVersion\":2")
        #expect(throws: ReleaseError(.schemaVersion, "")) {
            try ReleaseSigner.sign(
                bytes: Array(text.utf8), format: "m", key: SigningKey.generate(.ed25519), output: .dsse)
        }
    }

    @Test(arguments: [
        ("\"size\":82", "\"size\":-1", "'size' must be a non-negative integer"),
        ("\"platform\":\"sgx\"", "\"platform\":\"sgx2\"", "unknown platform 'sgx2'"),
        ("\"MRSIGNER\":\"dd", "\"MRSIGNER\":\"DD", "'MRSIGNER' must be 64 lowercase hex digits"),
        ("\"version\":\"0.1.0\"", "\"version\":\"0.1.0\",\"extra\":1", "unknown field 'extra'"),
        ("\"name\":\"example-node.eif\"", "\"name\":\"../example-node.eif\"", "must be a relative path"),
        ("\"PCR2\"", "\"PCR9\"", "missing field 'PCR2'"),
        ("\"artifacts\":[{", "\"environments\":[],\"artifacts\":[{", "'environments' is empty"),
        (
            "\"artifacts\":[{",
            "\"environments\":[{\"name\":\"a\",\"sha256\":\"AB\",\"packageCount\":1}],\"artifacts\":[{",
            "manifest.environments[0]: 'sha256' must be 64 lowercase hex digits"
        ),
        (
            "\"artifacts\":[{",
            "\"environments\":[{\"name\":\"a\",\"sha256\":\"\(String(repeating: "0", count: 64))\"}],\"artifacts\":[{",
            "missing field 'packageCount'"
        ),
    ])
    func manifestSchemaErrorsNameTheField(find: String, replace: String, message: String) throws {
        let text = String(decoding: try Example.manifestBytes(), as: UTF8.self)
        #expect(text.contains(find))
        let bad = text.replacingOccurrences(of: find, with: replace)
        do {
            _ = try ReleaseManifest(json: Array(bad.utf8), format: "m.json")
            Issue.record("accepted a manifest with \(replace)")
        } catch let error as ReleaseError {
            #expect(error.kind == .manifest)
            #expect(error.message.contains(message), "\(error)")
        }
    }

    @Test func environmentsAreWrittenOnlyWhenUsedAndReadBack() throws {
        var manifest = try Example.manifest()
        #expect(manifest.environments.isEmpty)
        #expect(manifest.canonicalBytes == (try Example.manifestBytes()))
        let digest = String(repeating: "ab", count: 32)
        manifest.environments = [
            .init(name: "build", sha256: digest, packageCount: 120),
            .init(name: "runtime", sha256: digest, packageCount: 9),
        ]
        let text = String(decoding: manifest.canonicalBytes, as: UTF8.self)
        #expect(
            text.contains(
                "\"environments\":[{\"name\":\"build\",\"packageCount\":120,\"sha256\":\"\(digest)\"},"
                    + "{\"name\":\"runtime\",\"packageCount\":9,\"sha256\":\"\(digest)\"}]"))
        #expect(try ReleaseManifest(json: manifest.canonicalBytes, format: "m") == manifest)
        let twice = text.replacingOccurrences(of: "\"name\":\"runtime\"", with: "\"name\":\"build\"")
        #expect {
            try ReleaseManifest(json: Array(twice.utf8), format: "m")
        } throws: { error in
            "\(error)".contains("duplicate environment name 'build'")
        }
    }

    @Test func artifactsAreCheckedAgainstSubjects() throws {
        let key = SigningKey.generate(.ed25519)
        let envelope = try Example.envelope(signedBy: [key])
        let policy = Example.policy([("alice", key.publicKey)], threshold: 1)
        let good = Fixtures.path("example/artifacts/example-node.eif")
        let report = try ReleaseVerifier.verify(
            bytes: envelope.fileBytes, format: "env", policy: policy, artifacts: [good])
        #expect(report.error == nil)
        #expect(report.artifacts.first?.subject == "example-node.eif")

        let dir = try TestDirectory()
        let other = try dir.write("example-node.eif", "not the released bytes\n")
        let bad = try ReleaseVerifier.verify(
            bytes: envelope.fileBytes, format: "env", policy: policy, artifacts: [other])
        #expect(bad.error?.kind == .artifactMismatch)
        #expect(bad.error?.message.contains("matches no subject") == true)
    }

    @Test func expectedMeasurements() throws {
        let key = SigningKey.generate(.ed25519)
        let envelope = try Example.envelope(signedBy: [key])
        let policy = Example.policy([("alice", key.publicKey)], threshold: 1)
        let pcr0 = try #require(try Example.manifest().targets[0].measurement("PCR0"))
        let ok = try ReleaseVerifier.verify(
            bytes: envelope.fileBytes, format: "env", policy: policy,
            expectations: [try MeasurementExpectation(parsing: "nitro.PCR0=\(pcr0.uppercased())")])
        #expect(ok.error == nil)
        #expect(ok.expectations.first?.matchedTarget == "nitro")
        let bad = try ReleaseVerifier.verify(
            bytes: envelope.fileBytes, format: "env", policy: policy,
            expectations: [try MeasurementExpectation(parsing: "MRTD=" + String(repeating: "ab", count: 48))])
        #expect(bad.error?.kind == .measurementMismatch)
        #expect(bad.error?.message.contains("the release has tdx: 9e33f6b2") == true)
    }

    @Test func privateKeyWithGroupOrWorldPermissionsIsRefused() throws {
        let dir = try TestDirectory()
        let pem = SigningKey.generate(.ed25519).pkcs8PEM
        for mode in [0o644, 0o640, 0o604, 0o660] {
            let path = try dir.write("key-\(mode).pem", pem, mode: mode)
            do {
                _ = try SigningKey.load(path: path)
                Issue.record("accepted mode \(String(mode, radix: 8))")
            } catch let error as ReleaseError {
                #expect(error.kind == .keyPermissions)
                #expect(error.description.contains("chmod 600 \(path)"))
                #expect(!error.description.contains(String(pem.split(separator: "\n")[1])))
            }
        }
        let path = try dir.write("key.pem", pem, mode: 0o600)
        #expect(try SigningKey.load(path: path).type == .ed25519)
    }

    /// Keys made by `openssl genpkey` (committed under Fixtures/example/keys, test-only).
    @Test(arguments: [("alice", KeyType.ed25519), ("bob", .p256), ("carol", .p384)])
    func opensslKeysLoad(name: String, type: KeyType) throws {
        let key = try SigningKey(pem: try Fixtures.bytes("example/keys/\(name).pem"), format: name)
        #expect(key.type == type)
        let pub = try PublicKey(pem: try Fixtures.bytes("example/keys/\(name).pub.pem"), format: name)
        #expect(key.publicKey == pub)
        #expect(pub.pem == (try Fixtures.text("example/keys/\(name).pub.pem")))
    }

    @Test func printingAKeyShowsOnlyItsKeyid() throws {
        let key = SigningKey.generate(.p256)
        let body = String(key.pkcs8PEM.split(separator: "\n")[2].prefix(20))  // private key bytes
        for text in [
            String(describing: key), String(reflecting: key), "\(key)", "\(Mirror(reflecting: key).children.count)",
        ] {
            #expect(!text.contains(body))
        }
        #expect("\(key)" == "ECDSA P-256 private key (keyid \(key.publicKey.keyid))")
        #expect(Mirror(reflecting: key).children.isEmpty)
    }

    @Test func rsaKeysAreRejectedWithAClearMessage() throws {
        #expect(throws: ReleaseError(.keyType, "")) {
            try SigningKey(pem: try Fixtures.bytes("example/keys/rsa.pem"), format: "rsa.pem")
        }
        do {
            _ = try PublicKey(
                pem: try Fixtures.bytes("example/keys/rsa.pub.pem"), format: "rsa.pub.pem", expecting: .p256)
            Issue.record("accepted an RSA key")
        } catch let error as ReleaseError {
            #expect(error.kind == .keyType)
            #expect(error.message.contains("expected an ECDSA P-256 key, found an RSA key"))
        }
        // A P-384 key where the policy says P-256.
        #expect(throws: ReleaseError(.keyType, "")) {
            try PublicKey(pem: try Fixtures.bytes("example/keys/carol.pub.pem"), format: "carol", expecting: .p256)
        }
    }

    @Test func policyFileAndItsErrors() throws {
        let policy = try ReleasePolicy.load(path: Fixtures.path("example/policy.json"))
        #expect(policy.threshold == 2)
        #expect(policy.keys.map(\.name) == ["alice", "bob", "carol"])
        #expect(policy.keys.map(\.key.type) == [.ed25519, .p256, .p384])

        let pem = SigningKey.generate(.ed25519).publicKey.pem.replacingOccurrences(of: "\n", with: "\\n")
        let cases: [(String, String)] = [
            (#"{"policyVersion":1,"threshold":2,"keys":[{"name":"a","publicKey":"\#(pem)"}]}"#, "can never be met"),
            (#"{"policyVersion":1,"threshold":0,"keys":[{"name":"a","publicKey":"\#(pem)"}]}"#, "at least 1"),
            (
                #"{"policyVersion":1,"threshold":1,"keys":[{"name":"a","publicKey":"\#(pem)"},{"name":"b","publicKey":"\#(pem)"}]}"#,
                "same key as a"
            ),
            (#"{"policyVersion":2,"threshold":1,"keys":[]}"#, "'policyVersion' must be 1"),
            (#"{"policyVersion":1,"threshold":1,"keys":[{"name":"a"}]}"#, "exactly one of 'publicKey'"),
            (
                #"{"policyVersion":1,"threshold":1,"keys":[{"name":"a","publicKey":"\#(pem)"}],"k":1}"#,
                "unknown field 'k'"
            ),
        ]
        for (json, message) in cases {
            do {
                _ = try ReleasePolicy(json: Array(json.utf8), format: "policy") { _ in [] }
                Issue.record("accepted \(json)")
            } catch {
                #expect("\(error)".contains(message), "\(error)")
            }
        }
    }

    @Test func sigstoreBundleHoldsOneSignature() throws {
        let key = SigningKey.generate(.p256)
        let result = try ReleaseSigner.sign(bytes: try Example.manifestBytes(), format: "m", key: key, output: .bundle)
        let value = try JSONParser.parse(result.bytes)
        #expect(value["mediaType"]?.stringValue == "application/vnd.dev.sigstore.bundle.v0.3+json")
        #expect(value["verificationMaterial"]?["publicKey"]?["hint"]?.stringValue == key.publicKey.keyid)
        let report = try ReleaseVerifier.verify(
            bytes: result.bytes, format: "bundle", policy: Example.policy([("k", key.publicKey)], threshold: 1))
        #expect(report.error == nil)
        #expect(throws: ReleaseError(.bundle, "")) {
            try ReleaseSigner.sign(
                bytes: result.bytes, format: "bundle", key: SigningKey.generate(.p256), output: .dsse)
        }
        let two = try Example.envelope(signedBy: [key, SigningKey.generate(.ed25519)])
        #expect(throws: ReleaseError(.bundle, "")) { try SigstoreBundle(envelope: two) }
    }

    /// One Sigstore bundle per signer (or one envelope per line of an .intoto.jsonl): signatures are
    /// pooled toward the threshold, and every document must sign the same Statement.
    @Test func signaturesFromSeveralDocumentsArePooled() throws {
        let alice = SigningKey.generate(.ed25519)
        let bob = SigningKey.generate(.p384)
        let policy = Example.policy([("alice", alice.publicKey), ("bob", bob.publicKey)], threshold: 2)
        let manifest = try Example.manifestBytes()
        let a = try ReleaseSigner.sign(bytes: manifest, format: "m", key: alice, output: .bundle).bytes
        let b = try ReleaseSigner.sign(bytes: manifest, format: "m", key: bob, output: .bundle).bytes
        let both = try ReleaseVerifier.verify(
            documents: [(a, "a.sigstore.json"), (b, "b.sigstore.json")], policy: policy)
        #expect(both.error == nil)
        #expect(both.threshold.signers == ["alice", "bob"])
        let one = try ReleaseVerifier.verify(
            documents: [(a, "a.sigstore.json"), (a, "a2.sigstore.json")], policy: policy)
        #expect(one.error?.kind == .thresholdNotMet)

        let jsonl =
            try ReleaseSigner.sign(bytes: manifest, format: "m", key: alice, output: .dsse).envelope.json
            .serialized() + "\n\n"
            + (try ReleaseSigner.sign(bytes: manifest, format: "m", key: bob, output: .dsse).envelope.json
                .serialized()) + "\n"
        let lines = try ReleaseVerifier.verify(bytes: Array(jsonl.utf8), format: "release.intoto.jsonl", policy: policy)
        #expect(lines.error == nil)

        let other = String(decoding: manifest, as: UTF8.self).replacingOccurrences(
            of: "\"version\":\"0.1.0\"", with: "\"version\":\"0.2.0\"")
        let c = try ReleaseSigner.sign(bytes: Array(other.utf8), format: "m", key: bob, output: .bundle).bytes
        do {
            _ = try ReleaseVerifier.verify(documents: [(a, "a.sigstore.json"), (c, "c.sigstore.json")], policy: policy)
            Issue.record("pooled signatures over two different Statements")
        } catch let error as ReleaseError {
            #expect(error.kind == .statement)
            #expect(
                error.description
                    == "c.sigstore.json: carries a different payload than a.sigstore.json; every envelope must sign the same Statement"
            )
        }
    }

    @Test(arguments: [
        ("", "no PEM block"),
        ("-----BEGIN PUBLIC KEY-----\nAAAA\n", "no matching '-----END …-----' line"),
        ("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "does not match"),
        ("-----BEGIN PUBLIC KEY-----\nA*AA\n-----END PUBLIC KEY-----\n", "base64 is malformed"),
        ("-----BEGIN PUBLIC KEY-----\nMAA=\n-----END PUBLIC KEY-----\n", "SubjectPublicKeyInfo must have 2 fields"),
        (
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
            "one key per file"
        ),
        (
            "-----BEGIN PUBLIC KEY-----\n\(String(repeating: "A", count: 68))\nAAAA\n-----END PUBLIC KEY-----\n",
            "64 characters"
        ),
        ("-----BEGIN PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nAAAA\n-----END PRIVATE KEY-----\n", "decrypt"),
        ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "expected a 'PUBLIC KEY' PEM block"),
    ])
    func malformedPEM(text: String, message: String) {
        do {
            _ = try PublicKey(pem: Array(text.utf8), format: "k.pem")
            Issue.record("accepted \(text)")
        } catch {
            #expect("\(error)".contains(message), "\(error)")
        }
    }
}
