import Foundation
import TestSupport
import Testing

/// `sign` never drops a signature (issue #13 item 1): signing a manifest whose envelope already exists
/// adds to that envelope, and an envelope or bundle over another manifest is refused and left as it was.
@Suite struct SignMergeCLITests {
    typealias Release = ReleaseCLITests.Release

    static func signatures(_ text: String) throws -> [[String: String]] {
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        return try #require(object?["signatures"] as? [[String: String]])
    }

    @Test func signingTheManifestAgainAddsToItsEnvelope() throws {
        let release = try Release(threshold: 3)
        for (i, signer) in ["alice", "bob", "carol"].enumerated() {
            // Every signer signs the manifest, as the README tells them to; none replaces the envelope.
            let r = try release.run(["sign", "manifest.json", "--key", "\(signer).pem"])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.contains("\(i + 1) signature"), "\(r.stdout)")
        }
        let envelope = try release.read("manifest.dsse.json")
        let keyids = try Self.signatures(envelope).map { $0["keyid"] ?? "" }
        #expect(keyids.count == 3)
        let verified = try release.run(["verify", "manifest.dsse.json", "--policy", "policy.json"])
        #expect(verified.status == 0, "\(verified.stderr)")
        #expect(verified.stdout.contains("(alice, bob, carol): met"), "\(verified.stdout)")

        // The same key again: refused, nothing written.
        let again = try release.run(["sign", "manifest.json", "--key", "bob.pem"])
        ReleaseCLITests.expectFailure(again, "already signed the envelope")
        #expect(try release.read("manifest.dsse.json") == envelope)

        // --out naming an envelope of the same manifest: its signatures come first, the input's follow.
        for name in ["mallory", "dave"] {
            #expect(try release.run(["keygen", "--type", "ed25519", "--out", "\(name).pem"]).status == 0)
        }
        #expect(try release.run(["sign", "manifest.json", "--key", "mallory.pem", "--out", "m.dsse.json"]).status == 0)
        let merged = try release.run(["sign", "m.dsse.json", "--key", "dave.pem", "--out", "manifest.dsse.json"])
        #expect(merged.status == 0, "\(merged.stderr)")
        let after = try Self.signatures(try release.read("manifest.dsse.json")).map { $0["keyid"] ?? "" }
        #expect(after.count == 5)
        #expect(Array(after.prefix(3)) == keyids)
    }

    @Test func anEnvelopeOverAnotherManifestIsRefusedAndKept() throws {
        let release = try Release(threshold: 2)
        try release.sign(["alice", "bob"])
        let envelope = try release.read("manifest.dsse.json")
        // The manifest is rebuilt with other bytes but the same name and version.
        let manifest = try release.read("manifest.json")
        try release.write("manifest.json", manifest.replacingOccurrences(of: "\"size\":82", with: "\"size\":83"))
        let r = try release.run(["sign", "manifest.json", "--key", "carol.pem"])
        ReleaseCLITests.expectFailure(r, "manifest.dsse.json: holds 2 signatures over another manifest")
        #expect(r.stderr.contains("bump the version"), "\(r.stderr)")
        #expect(try release.read("manifest.dsse.json") == envelope)

        // Something that is not an envelope at the destination is not replaced either.
        try release.write("notes.json", "my notes\n")
        let notes = try release.run(["sign", "manifest.json", "--key", "carol.pem", "--out", "notes.json"])
        ReleaseCLITests.expectFailure(notes, "notes.json: already exists and is not a readable envelope or bundle")
        #expect(try release.read("notes.json") == "my notes\n")
        try release.write("plain.json", manifest)
        let plain = try release.run(["sign", "manifest.json", "--key", "carol.pem", "--out", "plain.json"])
        ReleaseCLITests.expectFailure(plain, "is an unsigned manifest, not an envelope")
    }

    @Test func aBundleHoldsOneSignatureAndIsNeverReplaced() throws {
        let release = try Release(threshold: 1)
        #expect(try release.run(["sign", "manifest.json", "--key", "carol.pem", "--format", "bundle"]).status == 0)
        let bundle = try release.read("manifest.sigstore.json")
        let other = try release.run(["sign", "manifest.json", "--key", "alice.pem", "--format", "bundle"])
        ReleaseCLITests.expectFailure(other, "manifest.sigstore.json: is a Sigstore bundle already signed by keyid")
        #expect(other.stderr.contains("--out NAME.SIGNER.sigstore.json"), "\(other.stderr)")
        let same = try release.run(["sign", "manifest.json", "--key", "carol.pem", "--format", "bundle"])
        ReleaseCLITests.expectFailure(same, "already signed the envelope")
        #expect(try release.read("manifest.sigstore.json") == bundle)
        // A DSSE envelope is not written over a bundle.
        let dsse = try release.run(["sign", "manifest.json", "--key", "alice.pem", "--out", "manifest.sigstore.json"])
        ReleaseCLITests.expectFailure(dsse, "is a Sigstore bundle, not a DSSE envelope")
        #expect(try release.read("manifest.sigstore.json") == bundle)
    }
}
