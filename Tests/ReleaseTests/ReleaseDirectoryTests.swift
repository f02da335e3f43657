import EnclaveCore
import Foundation
import Release
import TestSupport
import Testing

@Suite struct ReleaseDirectoryTests {
    /// Two artifacts with the same bytes (the example release's tdx/firmware.fd and sev-snp/firmware.fd):
    /// each file is checked against its own subject, not the first subject with that sha256.
    @Test func twoArtifactsWithTheSameBytes() throws {
        let scratch = try TestDirectory()
        let eif = try Fixtures.bytes("example/artifacts/example-node.eif")
        let so = try Fixtures.bytes("example/artifacts/example-node.sgx.so")
        let template = try JSONParser.parse(try Example.manifestBytes())
        guard case .object(var fields) = template else { throw TestFailure("not an object") }
        let files: [(String, [UInt8])] = [
            ("example-node.eif", eif), ("example-node.sgx.so", so), ("copy/same.eif", eif),
        ]
        for i in fields.indices where fields[i].0 == "artifacts" {
            fields[i].1 = .array(
                files.map { name, bytes in
                    .object([
                        ("name", .string(name)), ("sha256", .string(Digest.sha256(bytes).hex)),
                        ("size", .int(bytes.count)),
                    ])
                })
        }
        let manifest = Array((JSONValue.object(fields).serialized(style: .canonical) + "\n").utf8)
        try FileManager.default.createDirectory(atPath: scratch.path + "/copy", withIntermediateDirectories: true)
        for (name, bytes) in files { _ = try scratch.write(name, bytes) }
        _ = try scratch.write("manifest.json", manifest)
        let alice = try SigningKey(pem: try Fixtures.bytes("example/keys/alice.pem"), format: "alice.pem")
        let signed = try ReleaseSigner.sign(bytes: manifest, format: "manifest.json", key: alice, output: .dsse)
        _ = try scratch.write("release.dsse.json", signed.bytes)
        let policy = Example.policy([("alice", alice.publicKey)], threshold: 1)

        let report = try ReleaseDirectory(path: scratch.path).verify(policy: policy)
        #expect(report.isVerified, "\(String(describing: report.error))")
        #expect(report.artifacts.map { $0.subject } == ["example-node.eif", "example-node.sgx.so", "copy/same.eif"])

        // A file with another artifact's bytes is still caught.
        _ = try scratch.write("copy/same.eif", so)
        let swapped = try ReleaseDirectory(path: scratch.path).verify(policy: policy)
        #expect(swapped.error?.kind == .artifactMismatch)
    }
}
