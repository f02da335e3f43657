import EnclaveCore
import Foundation
import Release
import Testing

/// ``ReleaseSigner/sign(bytes:format:key:output:existing:)`` with a destination that already exists
/// (issue #13 item 1), and ``PolicyFile``'s paths (item 13).
@Suite struct SignMergeTests {
    @Test func signaturesAreKeptInOrderAndTheNewOneAppended() throws {
        let keys = [SigningKey.generate(.ed25519), SigningKey.generate(.p256), SigningKey.generate(.p384)]
        let existing = try Example.envelope(signedBy: Array(keys.prefix(2)))
        let manifest = try Example.manifestBytes()
        let result = try ReleaseSigner.sign(
            bytes: manifest, format: "m.json", key: keys[2], output: .dsse,
            existing: (existing.fileBytes, "m.dsse.json"))
        #expect(result.envelope.payload == existing.payload)
        #expect(Array(result.envelope.signatures.prefix(2)) == existing.signatures)
        #expect(result.envelope.signatures.map(\.keyid) == keys.map { $0.publicKey.keyid })
        #expect(throws: ReleaseError(.alreadySigned, "")) {
            try ReleaseSigner.sign(
                bytes: manifest, format: "m.json", key: keys[0], output: .dsse,
                existing: (existing.fileBytes, "m.dsse.json"))
        }
    }

    @Test(
        "a destination over another manifest, or not an envelope, is refused",
        arguments: [
            ("other manifest", "holds 1 signature over another manifest"),
            ("not JSON", "is not a readable envelope or bundle"),
            ("a manifest", "is an unsigned manifest"),
        ])
    func refused(label: String, message: String) throws {
        let key = SigningKey.generate(.ed25519)
        let manifest = try Example.manifestBytes()
        let destination: [UInt8]
        switch label {
        case "other manifest":
            let text = String(decoding: manifest, as: UTF8.self).replacingOccurrences(
                of: "\"size\":82", with: "\"size\":83")
            destination = try ReleaseSigner.sign(bytes: Array(text.utf8), format: "o", key: key, output: .dsse).bytes
        case "not JSON": destination = Array("notes\n".utf8)
        default: destination = manifest
        }
        do {
            _ = try ReleaseSigner.sign(
                bytes: manifest, format: "m.json", key: SigningKey.generate(.p256), output: .dsse,
                existing: (destination, "m.dsse.json"))
            Issue.record("\(label): signed")
        } catch let error as ReleaseError {
            #expect(error.kind == .outputExists)
            #expect(error.description.hasPrefix("m.dsse.json: "), "\(error)")
            #expect(error.description.contains(message), "\(error)")
        }
    }

    @Test(
        arguments: [
            ("keys/a.pub.pem", "policy.json", "keys/a.pub.pem"),
            ("a.pub.pem", "trust/policy.json", "../a.pub.pem"),
            ("x/../keys/a.pub.pem", "./p/q/policy.json", "../../keys/a.pub.pem"),
            ("/etc/a.pub.pem", "/etc/p/policy.json", "../a.pub.pem"),
        ])
    func policyKeyPathsAreRelativeToThePolicy(key: String, policy: String, expected: String) {
        #expect(PolicyFile.relativePath(key, from: PolicyFile.directory(of: policy)) == expected)
    }
}
