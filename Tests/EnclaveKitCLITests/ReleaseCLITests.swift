import Foundation
import TestSupport
import Testing

/// End-to-end tests of `keygen`, `sign` and `verify` through the built binary: a maintainer release
/// signed by several keys, an operator's `verify --artifact`, and every bad-input path with its exit code.
@Suite struct ReleaseCLITests {
    /// The example release used by the Release module's tests.
    static let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("ReleaseTests/Fixtures/example").path

    /// A scratch directory with three maintainer keys (one per type), the example manifest and a
    /// 2-of-3 policy.
    final class Release {
        let dir: TestDirectory
        var path: String { dir.path }

        init(threshold: Int = 2) throws {
            dir = try TestDirectory()
            for (name, type) in [("alice", "ed25519"), ("bob", "p256"), ("carol", "p384")] {
                let r = try CLIRunner.run(["keygen", "--type", type, "--out", "\(name).pem"], in: dir.path)
                #expect(r.status == 0, "\(r.stderr)")
            }
            try FileManager.default.copyItem(
                atPath: ReleaseCLITests.example + "/manifest.json", toPath: dir.path + "/manifest.json")
            try writePolicy(threshold: threshold)
        }

        func writePolicy(threshold: Int, extra: String = "") throws {
            try write(
                "policy.json",
                """
                {"policyVersion": 1, "threshold": \(threshold), "keys": [
                  {"name": "alice", "publicKeyFile": "alice.pub.pem"},
                  {"name": "bob", "scheme": "ecdsa-sha2-nistp256", "publicKeyFile": "bob.pub.pem"},
                  {"name": "carol", "publicKeyFile": "carol.pub.pem"}\(extra)]}
                """)
        }

        func write(_ name: String, _ text: String) throws {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path + "/" + name))
        }

        func read(_ name: String) throws -> String {
            String(decoding: try Data(contentsOf: URL(fileURLWithPath: path + "/" + name)), as: UTF8.self)
        }

        func run(_ args: [String]) throws -> CLIRunner.Result { try CLIRunner.run(args, in: path) }

        /// manifest.dsse.json signed by `signers` in order.
        func sign(_ signers: [String]) throws {
            for (i, signer) in signers.enumerated() {
                let input = i == 0 ? "manifest.json" : "manifest.dsse.json"
                let r = try run(["sign", input, "--key", "\(signer).pem"])
                #expect(r.status == 0, "\(r.stderr)")
            }
        }
    }

    static func expectFailure(_ r: CLIRunner.Result, status: Int32 = 1, _ message: String) {
        #expect(r.status == status, "stdout: \(r.stdout) stderr: \(r.stderr)")
        #expect(r.stderr.contains(message), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
    }

    @Test func keygenWritesPrivateKeyWithMode0600AndNeverPrintsIt() throws {
        let dir = try TestDirectory()
        for type in ["ed25519", "p256", "p384"] {
            let r = try CLIRunner.run(["keygen", "--type", type, "--out", "\(type).pem", "--json"], in: dir.path)
            #expect(r.status == 0, "\(r.stderr)")
            let attrs = try FileManager.default.attributesOfItem(atPath: dir.path + "/\(type).pem")
            #expect((attrs[.posixPermissions] as? Int) == 0o600)
            let pubAttrs = try FileManager.default.attributesOfItem(atPath: dir.path + "/\(type).pub.pem")
            #expect((pubAttrs[.posixPermissions] as? Int) == 0o644)
            let key = String(
                decoding: try Data(contentsOf: URL(fileURLWithPath: dir.path + "/\(type).pem")), as: UTF8.self)
            #expect(key.hasPrefix("-----BEGIN PRIVATE KEY-----\n"))
            let body = key.split(separator: "\n")[1]
            #expect(!r.stdout.contains(body) && !r.stderr.contains(body))
            #expect(r.stdout.contains("\"keyid\""))
        }
        let again = try CLIRunner.run(["keygen", "--type", "p256", "--out", "p256.pem"], in: dir.path)
        Self.expectFailure(again, "already exists")
        let forced = try CLIRunner.run(["keygen", "--type", "p256", "--out", "p256.pem", "--force"], in: dir.path)
        #expect(forced.status == 0)
        let badType = try CLIRunner.run(["keygen", "--type", "rsa", "--out", "x.pem"], in: dir.path)
        #expect(badType.status == 64)
    }

    @Test func maintainersSignAndOperatorVerifiesArtifact() throws {
        let release = try Release()
        try release.sign(["alice", "bob"])
        let eif = Self.example + "/artifacts/example-node.eif"
        let r = try release.run(["verify", "manifest.dsse.json", "--policy", "policy.json", "--artifact", eif])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("valid, trusted key alice"))
        #expect(r.stdout.contains("valid, trusted key bob"))
        #expect(r.stdout.contains("threshold: 2 trusted keys signed, 2 required (alice, bob): met"))
        #expect(r.stdout.contains("matches example-node.eif"))
        #expect(r.stdout.contains("nitro PCR0"))
        #expect(r.stdout.hasSuffix("verified\n"))

        let json = try release.run(["verify", "manifest.dsse.json", "--policy", "policy.json", "--json"])
        #expect(json.status == 0)
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect(object?["verified"] as? Bool == true)
        #expect((object?["threshold"] as? [String: Any])?["signers"] as? [String] == ["alice", "bob"])

        let pcr0 = "65956609f358c9b6da354e89f451032a4d8286bcb49d3c25629cb77edad0d3f1959c5819669e0e41f6554b44336b7657"
        let expect = try release.run(["verify", "manifest.dsse.json", "--policy", "policy.json", "--expect-pcr0", pcr0])
        #expect(expect.status == 0, "\(expect.stderr)")
        let wrong = try release.run([
            "verify", "manifest.dsse.json", "--policy", "policy.json", "--expect-pcr0",
            String(repeating: "00", count: 48),
        ])
        Self.expectFailure(wrong, "nitro.PCR0 is not 0000")
    }

    /// The committed example release (signed by alice and bob with an earlier build) still verifies.
    @Test func committedExampleReleaseVerifies() throws {
        let r = try CLIRunner.run(
            [
                "verify", "release.dsse.json", "--policy", "policy.json", "--artifact", "artifacts/example-node.eif",
                "--artifact", "artifacts/example-node.sgx.so", "--expect",
                "sgx.MRENCLAVE="
                    + "3ade326cde767dee16aabc53a0fb800646ef246213b0fdcbf2e09ea9b7dd5fd1",
            ], in: Self.example)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("threshold: 2 trusted keys signed, 2 required (alice, bob): met"))
        #expect(r.stdout.contains("artifacts/example-node.sgx.so  matches example-node.sgx.so"))
    }

    @Test func wrongArtifactMatchesNoSubject() throws {
        let release = try Release(threshold: 1)
        try release.sign(["carol"])
        try release.write("other.eif", "a different image\n")
        let r = try release.run(["verify", "manifest.dsse.json", "--policy", "policy.json", "--artifact", "other.eif"])
        Self.expectFailure(r, "other.eif: sha256 ")
        #expect(r.stderr.contains("matches no subject of the release"))
        #expect(r.stdout.contains("NO MATCH"))
    }

    @Test func thresholdNotMetUntrustedAndDuplicateKeys() throws {
        let release = try Release(threshold: 3)
        try release.sign(["alice", "bob"])
        let notMet = try release.run(["verify", "manifest.dsse.json", "--policy", "policy.json"])
        Self.expectFailure(notMet, "threshold not met: 2 trusted keys signed, 3 required")
        let notMetJSON = try release.run(["verify", "manifest.dsse.json", "--policy", "policy.json", "--json"])
        Self.expectFailure(notMetJSON, "threshold not met")
        let report = try JSONSerialization.jsonObject(with: Data(notMetJSON.stdout.utf8)) as? [String: Any]
        #expect(report?["verified"] as? Bool == false)
        #expect((report?["threshold"] as? [String: Any])?["met"] as? Bool == false)
        #expect(report?["measurements"] == nil)  // nothing from an unverified payload

        let twice = try release.run(["sign", "manifest.dsse.json", "--key", "alice.pem"])
        Self.expectFailure(twice, "already signed the envelope")

        // A duplicated signature entry (same key, no keyid) still counts once.
        let envelope = try release.read("manifest.dsse.json")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(envelope.utf8)) as? [String: Any])
        var signatures = try #require(object["signatures"] as? [[String: String]])
        signatures.append(["keyid": "", "sig": signatures[0]["sig"] ?? ""])
        var copy = object
        copy["signatures"] = signatures
        try Data(try JSONSerialization.data(withJSONObject: copy)).write(
            to: URL(fileURLWithPath: release.path + "/dup.json"))
        let dup = try release.run(["verify", "dup.json", "--policy", "policy.json"])
        Self.expectFailure(dup, "signature 3 is by alice again (a key counts once toward the threshold)")

        let stranger = try release.run(["keygen", "--type", "ed25519", "--out", "mallory.pem"])
        #expect(stranger.status == 0)
        try release.writePolicy(threshold: 1)
        let r = try release.run(["sign", "manifest.json", "--key", "mallory.pem", "--out", "mallory.dsse.json"])
        #expect(r.status == 0)
        let untrusted = try release.run(["verify", "mallory.dsse.json", "--policy", "policy.json"])
        Self.expectFailure(untrusted, "is not by a key in the policy")
        #expect(untrusted.stdout.contains("not by a trusted key"))
    }

    @Test func tamperedEnvelopes() throws {
        let release = try Release(threshold: 1)
        try release.sign(["bob"])
        let envelope = try release.read("manifest.dsse.json")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(envelope.utf8)) as? [String: Any])
        let payload = try #require(Data(base64Encoded: object["payload"] as? String ?? ""))
        let changed = String(decoding: payload, as: UTF8.self).replacingOccurrences(
            of: "\"size\":82", with: "\"size\":83")
        #expect(changed.utf8.count == payload.count)

        func variant(_ name: String, _ edit: (inout [String: Any]) -> Void) throws -> CLIRunner.Result {
            var copy = object
            edit(&copy)
            try Data(try JSONSerialization.data(withJSONObject: copy)).write(
                to: URL(fileURLWithPath: release.path + "/" + name))
            return try release.run(["verify", name, "--policy", "policy.json"])
        }
        Self.expectFailure(
            try variant("payload.json") { $0["payload"] = Data(changed.utf8).base64EncodedString() },
            "signature 1 by bob")
        Self.expectFailure(
            try variant("type.json") { $0["payloadType"] = "application/json" },
            "payloadType 'application/json' is not application/vnd.in-toto+json")
        Self.expectFailure(
            try variant("sig.json") {
                var sigs = $0["signatures"] as? [[String: String]] ?? []
                var bytes = [UInt8](Data(base64Encoded: sigs[0]["sig"] ?? "") ?? Data())
                bytes[bytes.count - 2] ^= 0x40
                sigs[0]["sig"] = Data(bytes).base64EncodedString()
                $0["signatures"] = sigs
            }, "does not verify: the payload, payloadType or signature was changed after signing")
        Self.expectFailure(
            try variant("b64.json") { $0["payload"] = "not*base64" }, "'*' is not a base64 character")
        try release.write("broken.json", String(envelope.dropLast(3)))
        Self.expectFailure(
            try release.run(["verify", "broken.json", "--policy", "policy.json"]), "broken.json: offset")
    }

    @Test func badKeysAndManifests() throws {
        let release = try Release(threshold: 1)
        // RSA where a release key is expected.
        let rsa = Self.example + "/keys/rsa.pem"
        try FileManager.default.copyItem(atPath: rsa, toPath: release.path + "/rsa.pem")
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: release.path + "/rsa.pem")
        Self.expectFailure(try release.run(["sign", "manifest.json", "--key", "rsa.pem"]), "found an RSA key")
        try FileManager.default.copyItem(
            atPath: Self.example + "/keys/rsa.pub.pem", toPath: release.path + "/rsa.pub.pem")
        try release.writePolicy(
            threshold: 1, extra: #", {"name": "dave", "scheme": "ecdsa-sha2-nistp256", "publicKeyFile": "rsa.pub.pem"}"#
        )
        try release.sign(["alice"])
        Self.expectFailure(
            try release.run(["verify", "manifest.dsse.json", "--policy", "policy.json"]),
            "rsa.pub.pem: expected an ECDSA P-256 key, found an RSA key")
        try release.writePolicy(threshold: 1)

        // Group/world-readable private key, and malformed PEM: refused without printing the key.
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: release.path + "/bob.pem")
        let perm = try release.run(["sign", "manifest.dsse.json", "--key", "bob.pem"])
        Self.expectFailure(perm, "chmod 600 bob.pem")
        let bobKey = try release.read("bob.pem")
        #expect(!perm.stderr.contains(bobKey.split(separator: "\n")[1]))
        try release.write(
            "bad.pem", bobKey.replacingOccurrences(of: "PRIVATE KEY-----\nM", with: "PRIVATE KEY-----\n*M"))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: release.path + "/bad.pem")
        let badPEM = try release.run(["sign", "manifest.json", "--key", "bad.pem"])
        Self.expectFailure(badPEM, "base64 is malformed")
        #expect(!badPEM.stderr.contains(bobKey.split(separator: "\n")[1]))

        // A manifest of a schema this version does not know.
        let manifest = try release.read("manifest.json")
        try release.write(
            "v2.json", manifest.replacingOccurrences(of: "\"schemaVersion\":1", with: "\"schemaVersion\":2"))
        Self.expectFailure(
            try release.run(["sign", "v2.json", "--key", "alice.pem"]), "manifest schemaVersion 2 is not supported")
        #expect(!FileManager.default.fileExists(atPath: release.path + "/v2.dsse.json"))
    }

    @Test func sigstoreBundleAndUsage() throws {
        let release = try Release(threshold: 1)
        let r = try release.run(["sign", "manifest.json", "--key", "carol.pem", "--format", "bundle"])
        #expect(r.status == 0, "\(r.stderr)")
        let v = try release.run(["verify", "manifest.sigstore.json", "--policy", "policy.json"])
        #expect(v.status == 0, "\(v.stderr)")
        Self.expectFailure(
            try release.run(["sign", "manifest.sigstore.json", "--key", "alice.pem"]), "exactly one signature")
        Self.expectFailure(
            try release.run(["sign", "manifest.json", "--key", "alice.pem", "--out", "manifest.json"]),
            "would replace the manifest")
        #expect(try release.read("manifest.json").hasPrefix(#"{"artifacts":"#))

        // One bundle per signer, verified together against a threshold of 2.
        #expect(
            try release.run(["sign", "manifest.json", "--key", "alice.pem", "--format", "bundle", "--out", "a.json"])
                .status == 0)
        try release.writePolicy(threshold: 2)
        let pooled = try release.run(["verify", "manifest.sigstore.json", "a.json", "--policy", "policy.json"])
        #expect(pooled.status == 0, "\(pooled.stderr)")
        #expect(pooled.stdout.contains("2 trusted keys signed, 2 required (carol, alice): met"))
        Self.expectFailure(
            try release.run(["verify", "a.json", "--policy", "policy.json"]),
            "threshold not met: 1 trusted key signed, 2 required")

        let usage = try release.run(["verify", "manifest.sigstore.json"])
        #expect(usage.status == 64)
        let help = try release.run(["verify", "--help"])
        #expect(help.stdout.contains("Examples:"))
        #expect(!help.stdout.contains("reserved"), "exit 3 is rebuild's and compare's, not reserved")
        #expect(try release.run(["sign", "--help"]).stdout.contains("Examples:"))
        #expect(try release.run(["keygen", "--help"]).stdout.contains("Examples:"))
    }
}
