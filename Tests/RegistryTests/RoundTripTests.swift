import EnclaveCore
import Foundation
import Release
import TestSupport
import Testing

@testable import Registry

/// Push, pull and verify against a real registry: Debian's docker-registry (distribution 2.8, which has
/// no referrers API, so the sha256-HEX tag schema is used), with skopeo as the second client.
@Suite struct RoundTripTests {
    @Test func pushPullVerify() async throws {
        let registry = try await LocalRegistry()
        let scratch = try TestDirectory()
        let release = try TestRelease.make(in: scratch)
        let rebuilder = SigningKey.generate(.ed25519)
        try scratch.write("r1.dsse.json", try release.attestation(by: rebuilder))
        let ref = try registry.reference("releases/example-node:0.1.0")
        let client = try registry.client()
        defer { Task { await client.shutdown() } }

        let lines = Lines()
        let pushed = try await ReleasePusher.push(
            directory: release.directory, attestations: [scratch.path + "/r1.dsse.json"], to: ref, client: client,
            progress: lines.add)
        #expect(!pushed.referrersAPI)
        #expect(pushed.referrers.map { $0.name } == ["release.dsse.json", "r1.dsse.json"])
        // The EIF and its copy are one blob: uploaded once.
        let eifDigest = "sha256:" + (release.manifest.artifacts.first { $0.name == "example-node.eif" }?.sha256 ?? "")
        #expect(pushed.blobs.filter { $0.digest == eifDigest }.count == 1)
        #expect(pushed.blobs.allSatisfy { $0.uploaded })

        // Pushing again uploads nothing and gives the same digest (canonical manifest bytes).
        let again = try await ReleasePusher.push(
            directory: release.directory, attestations: [scratch.path + "/r1.dsse.json"], to: ref, client: client,
            progress: lines.add)
        #expect(again.digest == pushed.digest)
        #expect(again.blobs.allSatisfy { !$0.uploaded })
        #expect(again.uploadedBytes == 0)
        #expect(lines.all.contains { $0.contains("example-node.eif") && $0.contains("exists, not uploaded again") })

        // Pull: every file, byte for byte, and a directory `verify DIR` accepts.
        let out = scratch.path + "/pulled"
        let pulled = try await ReleasePuller.pull(ref, into: out, client: client)
        #expect(pulled.digest == pushed.digest)
        for file in [
            "manifest.json", "example-node.eif", "example-node.sgx.so", "nitro/copy-of.eif", "release.dsse.json",
        ] {
            #expect(try scratch.read("pulled/\(file)") == scratch.read("release/\(file)"), "\(file)")
        }
        #expect(try scratch.read("pulled/attestations/r1.dsse.json") == scratch.read("r1.dsse.json"))
        #expect(!scratch.listing().contains { $0.hasPrefix(".pulled.pull-") })
        var policy = release.policy
        policy.rebuilders = RebuilderPolicy(threshold: 1, keys: [TrustedKey(name: "r1", key: rebuilder.publicKey)])
        var local = try ReleaseDirectory(path: out).verify(policy: policy)
        try local.checkRebuilders(attestations: try RebuilderQuorum.documents(paths: [out + "/attestations"]))
        #expect(local.isVerified, "\(String(describing: local.error))")

        // Verify straight from the registry, with the rebuilder quorum from the referrers.
        let (report, info) = try await RegistryVerifier.verify(ref, client: client, policy: policy)
        #expect(report.isVerified, "\(String(describing: report.error))")
        #expect(report.rebuilders?.reproduced == ["r1"])
        #expect(info.digest == pushed.digest)
        #expect(info.movedTo == nil)

        // A quorum of 2 is not met by one rebuilder.
        policy.rebuilders?.threshold = 2
        policy.rebuilders?.keys.append(TrustedKey(name: "r2", key: SigningKey.generate(.ed25519).publicKey))
        let (short, _) = try await RegistryVerifier.verify(ref, client: client, policy: policy)
        #expect(short.error?.kind == .rebuilderQuorum)
    }

    /// skopeo (a second client) reads what push wrote: the manifest bytes as pushed, with our artifactType.
    @Test func skopeoInspectsWhatPushWrote() async throws {
        let registry = try await LocalRegistry()
        let scratch = try TestDirectory()
        let release = try TestRelease.make(in: scratch, eifSize: 4096)
        let ref = try registry.reference("interop/pushed:1")
        let client = try registry.client()
        defer { Task { await client.shutdown() } }
        let pushed = try await ReleasePusher.push(directory: release.directory, to: ref, client: client)
        let raw = try ToolRunner.combined([
            "skopeo", "inspect", "--raw", "--tls-verify=false", "docker://\(registry.host)/interop/pushed:1",
        ])
        #expect(raw.status == 0, "\(raw.output)")
        #expect(OCIDigest.of(Array(raw.output.utf8)) == pushed.digest)
        let manifest = try ImageManifest(bytes: Array(raw.output.utf8), reference: "skopeo")
        #expect(manifest.artifactType == MediaType.release)
        #expect(manifest.config == .empty)
        #expect(
            manifest.layers.compactMap { $0.title } == [
                "manifest.json", "example-node.eif", "example-node.sgx.so", "nitro/copy-of.eif",
            ])
        #expect(manifest.layers[1].mediaType == "application/vnd.enclavekit.artifact.eif")
        // The referrer is listed under the tag schema's tag, which skopeo reads as an image index.
        let index = try ToolRunner.combined([
            "skopeo", "inspect", "--raw", "--tls-verify=false",
            "docker://\(registry.host)/interop/pushed:\(OCIDigest.fallbackTag(pushed.digest))",
        ])
        #expect(index.status == 0, "\(index.output)")
        let listed = try ImageIndex(bytes: Array(index.output.utf8), reference: "skopeo")
        #expect(listed.manifests.map { $0.digest } == pushed.referrers.map { $0.digest })
        #expect(listed.manifests.first?.artifactType == MediaType.releaseSignature)
    }

    /// pull reads a release that skopeo copied from an OCI layout made here by hand (pretty-printed, not
    /// canonical, manifests; the signature as a referrer listed under the sha256-HEX tag).
    @Test func pullReadsWhatSkopeoCopied() async throws {
        let registry = try await LocalRegistry()
        let scratch = try TestDirectory()
        let release = try TestRelease.make(in: scratch, eifSize: 200_000)
        let layout = "layout"
        func blob(_ bytes: [UInt8]) throws -> (String, Int) {
            let digest = OCIDigest.of(bytes)
            try scratch.write("\(layout)/blobs/sha256/\(OCIDigest.hex(digest))", bytes)
            return (digest, bytes.count)
        }
        func descriptor(_ type: String, _ bytes: [UInt8], title: String?, artifactType: String? = nil) throws
            -> JSONValue
        {
            let (digest, size) = try blob(bytes)
            var fields: [(String, JSONValue)] = [
                ("mediaType", .string(type)), ("digest", .string(digest)), ("size", .int(size)),
            ]
            if let artifactType { fields.append(("artifactType", .string(artifactType))) }
            if let title { fields.append(("annotations", .object([(titleAnnotation, .string(title))]))) }
            return .object(fields)
        }
        let config = try descriptor(MediaType.empty, Array("{}".utf8), title: nil)
        var layers: [JSONValue] = [
            try descriptor(
                MediaType.releaseManifest, try scratch.read("release/manifest.json"), title: "manifest.json")
        ]
        for a in release.manifest.artifacts {
            layers.append(
                try descriptor("application/octet-stream", try scratch.read("release/\(a.name)"), title: a.name))
        }
        let manifest = JSONValue.object([
            ("schemaVersion", .int(2)), ("mediaType", .string(MediaType.imageManifest)),
            ("artifactType", .string(MediaType.release)), ("config", config), ("layers", .array(layers)),
        ])
        let manifestBytes = Array(manifest.serialized(style: .pretty).utf8)
        let main = try descriptor(MediaType.imageManifest, manifestBytes, title: nil)
        let signature = JSONValue.object([
            ("schemaVersion", .int(2)), ("mediaType", .string(MediaType.imageManifest)),
            ("artifactType", .string(MediaType.releaseSignature)), ("config", config),
            (
                "layers",
                .array([
                    try descriptor(
                        MediaType.dsseEnvelope, try scratch.read("release/release.dsse.json"),
                        title: "release.dsse.json")
                ])
            ),
            ("subject", main),
        ])
        let signatureDescriptor = try descriptor(
            MediaType.imageManifest, Array(signature.serialized(style: .pretty).utf8), title: nil,
            artifactType: MediaType.releaseSignature)
        let index = JSONValue.object([
            ("schemaVersion", .int(2)), ("mediaType", .string(MediaType.imageIndex)),
            ("manifests", .array([signatureDescriptor])),
        ])
        let indexDescriptor = try descriptor(
            MediaType.imageIndex, Array(index.serialized(style: .pretty).utf8), title: nil)
        let mainDigest = OCIDigest.of(manifestBytes)
        func named(_ d: JSONValue, _ name: String) -> JSONValue {
            guard case .object(var f) = d else { return d }
            f.append(("annotations", .object([("org.opencontainers.image.ref.name", .string(name))])))
            return .object(f)
        }
        let top = JSONValue.object([
            ("schemaVersion", .int(2)),
            ("manifests", .array([named(main, "v1"), named(indexDescriptor, OCIDigest.fallbackTag(mainDigest))])),
        ])
        try scratch.write("\(layout)/index.json", Array(top.serialized().utf8))
        try scratch.write("\(layout)/oci-layout", Array(#"{"imageLayoutVersion":"1.0.0"}"#.utf8))

        // The release keeps its digest (the referrer's subject); skopeo 1.9 rewrites the index (dropping
        // the descriptors' artifactType), which is fine: only its tag matters.
        for (tag, preserve) in [("v1", true), (OCIDigest.fallbackTag(mainDigest), false)] {
            let copy = try ToolRunner.combined(
                ["skopeo", "copy", "--all"] + (preserve ? ["--preserve-digests"] : []) + [
                    "--dest-tls-verify=false", "oci:\(scratch.path)/\(layout):\(tag)",
                    "docker://\(registry.host)/interop/copied:\(tag)",
                ])
            #expect(copy.status == 0, "\(copy.output)")
        }
        let client = try registry.client()
        defer { Task { await client.shutdown() } }
        let ref = try registry.reference("interop/copied:v1")
        let pulled = try await ReleasePuller.pull(ref, into: scratch.path + "/pulled", client: client)
        #expect(pulled.digest == mainDigest)
        #expect(pulled.files.filter { $0.kind == "signature" }.map { $0.name } == ["release.dsse.json"])
        let report = try ReleaseDirectory(path: scratch.path + "/pulled").verify(policy: release.policy)
        #expect(report.isVerified, "\(String(describing: report.error))")
    }

    /// A tag moved between pull and verify: verify by the digest pull printed reports the move.
    @Test func tagMovedSincePull() async throws {
        let registry = try await LocalRegistry()
        let scratch = try TestDirectory()
        let first = try TestRelease.make(in: scratch, name: "one", eifSize: 1000, seed: 1)
        let second = try TestRelease.make(in: scratch, name: "two", eifSize: 1000, seed: 2)
        let ref = try registry.reference("moving/node:stable")
        let client = try registry.client()
        defer { Task { await client.shutdown() } }
        _ = try await ReleasePusher.push(directory: first.directory, to: ref, client: client)
        let pulled = try await ReleasePuller.pull(ref, into: scratch.path + "/pulled", client: client)
        let moved = try await ReleasePusher.push(directory: second.directory, to: ref, client: client)
        #expect(moved.digest != pulled.digest)
        let (report, info) = try await RegistryVerifier.verify(
            ref, client: client, policy: first.policy, expectedDigest: pulled.digest)
        #expect(info.movedTo == moved.digest)
        #expect(
            report.error?.description.contains("not \(pulled.digest)") == true, "\(String(describing: report.error))")
        #expect(!report.isVerified)
        // By digest, what was pulled still verifies.
        let (pinned, _) = try await RegistryVerifier.verify(
            ref.pinned(to: pulled.digest), client: client, policy: first.policy)
        #expect(pinned.isVerified, "\(String(describing: pinned.error))")
    }

    @Test func pullRefusesANonEmptyDestination() async throws {
        let registry = try await LocalRegistry()
        let scratch = try TestDirectory()
        try scratch.write("out/keep.txt", Array("mine".utf8))
        let client = try registry.client()
        defer { Task { await client.shutdown() } }
        let error = await #expect(throws: RegistryError.self) {
            try await ReleasePuller.pull(try registry.reference("x/y:1"), into: scratch.path + "/out", client: client)
        }
        #expect(error?.kind == .destination)
        #expect(error?.message.contains("is not an empty directory") == true)
        #expect(scratch.listing("out") == ["keep.txt"])
    }
}
