import EnclaveCore
import Foundation
import Release
import TestSupport

enum Example {
    static func manifestBytes() throws -> [UInt8] { try Fixtures.bytes("example/manifest.json") }
    static func manifest() throws -> ReleaseManifest {
        try ReleaseManifest(json: try manifestBytes(), format: "manifest.json")
    }

    /// Signs the example manifest with each key in turn (the first makes the envelope, the others append).
    static func envelope(signedBy keys: [SigningKey]) throws -> DSSEEnvelope {
        var bytes = try manifestBytes()
        var envelope: DSSEEnvelope?
        for key in keys {
            let result = try ReleaseSigner.sign(bytes: bytes, format: "release", key: key, output: .dsse)
            bytes = result.bytes
            envelope = result.envelope
        }
        guard let envelope else { throw TestFailure("no keys") }
        return envelope
    }

    static func policy(_ keys: [(String, PublicKey)], threshold: Int) -> ReleasePolicy {
        ReleasePolicy(threshold: threshold, keys: keys.map { TrustedKey(name: $0.0, key: $0.1) })
    }
}
