import EnclaveCore
import Foundation
import Release
import TestSupport
import Testing

/// `verify --attestations` against a policy with a rebuilder quorum (issue 16 item 2), with attestations
/// made by the library, and `rebuild --sign` end to end on the toy recipe of ``BuildCLITests`` (item 1).
@Suite("Rebuilder CLI", .serialized)
struct RebuilderCLITests {
    /// A maintainer (alice), three trusted rebuilders, the example manifest signed by alice, and a policy
    /// with alice 1-of-1 and the rebuilders 2-of-3.
    final class World {
        let dir: TestDirectory
        var path: String { dir.path }
        let alice = SigningKey.generate(.ed25519)
        let rebuilders = [SigningKey.generate(.ed25519), SigningKey.generate(.p256), SigningKey.generate(.p384)]
        let manifest: ReleaseManifest

        init(withRebuilders: Bool = true) throws {
            dir = try TestDirectory()
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: ReleaseCLITests.example + "/manifest.json")))
            manifest = try ReleaseManifest(json: bytes, format: "manifest.json")
            let signed = try ReleaseSigner.sign(bytes: bytes, format: "manifest.json", key: alice, output: .dsse)
            try write("release.dsse.json", signed.bytes)
            try write("alice.pub.pem", Array(alice.publicKey.pem.utf8))
            for (i, key) in rebuilders.enumerated() { try write("r\(i + 1).pub.pem", Array(key.publicKey.pem.utf8)) }
            let section = """
                , "rebuilders": {"threshold": 2, "keys": [
                  {"name": "r1", "publicKeyFile": "r1.pub.pem"}, {"name": "r2", "publicKeyFile": "r2.pub.pem"},
                  {"name": "r3", "publicKeyFile": "r3.pub.pem"}]}
                """
            try write(
                "policy.json",
                Array(
                    """
                    {"policyVersion": 1, "threshold": 1, "keys": [{"name": "alice", "publicKeyFile": "alice.pub.pem"}]\
                    \(withRebuilders ? section : "")}
                    """.utf8))
            try FileManager.default.createDirectory(atPath: path + "/att", withIntermediateDirectories: true)
        }

        func write(_ name: String, _ bytes: [UInt8]) throws {
            try Data(bytes).write(to: URL(fileURLWithPath: path + "/" + name))
        }

        /// att/NAME: an attestation by `key` for this manifest (or `other`).
        func attest(
            _ name: String, _ key: SigningKey, reproduced: Bool = true, other: ReleaseManifest? = nil,
            edit: (inout DSSEEnvelope) -> Void = { _ in }
        ) throws {
            var envelope = try ReproductionAttestation(
                manifest: other ?? manifest, reproduced: reproduced,
                differences: reproduced ? [] : ["artifact example-node.eif › sha256: expected aa, actual bb"],
                environment: .init(kernel: "6.1.0", bubblewrap: "bubblewrap 0.8.0", cpu: "Test CPU"),
                time: "2026-12-02T03:00:00Z"
            ).envelope(signedWith: key)
            edit(&envelope)
            try write("att/" + name, envelope.fileBytes)
        }

        func verify(_ extra: [String]) throws -> CLIRunner.Result {
            try CLIRunner.run(["verify", "release.dsse.json", "--policy", "policy.json"] + extra, in: path)
        }
    }

    static func object(_ text: String) throws -> JSONValue { try JSONParser.parse(Array(text.utf8), format: "stdout") }

    /// Whether `output` has a table row `KEY   VALUE…`.
    static func hasRow(_ output: String, _ key: String, _ value: String) -> Bool {
        output.split(separator: "\n").contains { line in
            let words = line.split(separator: " ", maxSplits: 1)
            return words.count == 2 && words[0] == key
                && words[1].drop(while: { $0 == " " }).hasPrefix(value)
        }
    }

    @Test("verify DIR sets reproduction attestations in the directory aside for the quorum, not as signatures")
    func releaseDirectoryWithAttestations() throws {
        let w = try World()
        let fm = FileManager.default
        let dir = w.path + "/release"
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try fm.copyItem(atPath: ReleaseCLITests.example + "/manifest.json", toPath: dir + "/manifest.json")
        for name in ["example-node.eif", "example-node.sgx.so"] {
            try fm.copyItem(atPath: ReleaseCLITests.example + "/artifacts/" + name, toPath: dir + "/" + name)
        }
        try fm.copyItem(atPath: w.path + "/release.dsse.json", toPath: dir + "/release.dsse.json")
        try w.attest("r1.dsse.json", w.rebuilders[0])
        try w.attest("r2.dsse.json", w.rebuilders[1])
        for name in ["r1", "r2"] {
            try fm.copyItem(atPath: w.path + "/att/\(name).dsse.json", toPath: dir + "/\(name)-reproduction.dsse.json")
        }
        let met = try CLIRunner.run(["verify", "release", "--policy", "policy.json"], in: w.path)
        #expect(met.status == 0, "\(met.stdout)\(met.stderr)")
        #expect(met.stdout.contains("rebuilder quorum: 2 trusted rebuilders reproduced, 2 required"), "\(met.stdout)")
        #expect(met.stdout.contains("1 trusted keys signed") || met.stdout.contains("(alice)"), "\(met.stdout)")

        // One of them reporting a mismatch fails the release, from inside the directory as well.
        try fm.removeItem(atPath: dir + "/r2-reproduction.dsse.json")
        try w.attest("r2-failed.dsse.json", w.rebuilders[1], reproduced: false)
        try fm.copyItem(atPath: w.path + "/att/r2-failed.dsse.json", toPath: dir + "/r2-reproduction.dsse.json")
        let failed = try CLIRunner.run(["verify", "release", "--policy", "policy.json"], in: w.path)
        #expect(failed.status == 1, "\(failed.stdout)")
    }

    @Test("2 of 3 trusted rebuilders reproduced: verified; a third's mismatch fails it; the lists say who is who")
    func quorum() throws {
        let w = try World()
        let (r1, r2, r3) = (w.rebuilders[0], w.rebuilders[1], w.rebuilders[2])
        try w.attest("r1.dsse.json", r1)
        try w.attest("r2.dsse.json", r2)
        try w.attest("r1-again.dsse.json", r1)
        try w.attest("stranger.dsse.json", SigningKey.generate(.ed25519))
        var other = w.manifest
        other.version = "0.0.9"
        try w.attest("r3-old.dsse.json", r3, other: other)
        try w.attest("r3-as-r1.dsse.json", r3) { $0.signatures[0].keyid = r1.publicKey.keyid }

        let met = try w.verify(["--attestations", "att"])
        #expect(met.status == 0, "\(met.stdout)\(met.stderr)")
        #expect(Self.hasRow(met.stdout, "r1", "reproduced"), "\(met.stdout)")
        #expect(Self.hasRow(met.stdout, "r2", "reproduced"), "\(met.stdout)")
        #expect(Self.hasRow(met.stdout, "unknown", "att/stranger.dsse.json"), "\(met.stdout)")
        #expect(Self.hasRow(met.stdout, "replayed", "att/r3-as-r1.dsse.json"), "\(met.stdout)")
        for line in [
            "rebuilder quorum: 2 trusted rebuilders reproduced, 2 required, 0 failed: met",
            "is for another manifest (sha256 \(other.sha256))", "replayed under another key id",
            "again in att/r1.dsse.json (counted once)",
        ] {
            #expect(met.stdout.contains(line), "missing '\(line)' in:\n\(met.stdout)")
        }
        #expect(met.stdout.hasSuffix("verified\n"))

        let json = try Self.object(try w.verify(["--attestations", "att", "--json"]).stdout)
        let r = json["rebuilders"]
        #expect(r?["met"] == .bool(true))
        #expect(r?["reproduced"] == .array([.string("r1"), .string("r2")]))
        guard case .array(let unknown)? = r?["unknown"], case .array(let others)? = r?["otherManifests"],
            case .array(let replayed)? = r?["replayed"]
        else {
            Issue.record("missing lists in \(String(describing: r))")
            return
        }
        #expect(unknown.count == 1)
        #expect(others.first?["rebuilder"] == .string("r3"))
        #expect(replayed.first?["rebuilder"] == .string("r3"))

        // Only one rebuilder's files: not met.
        let notMet = try w.verify(["--attestations", w.path + "/att/r1.dsse.json", w.path + "/att/r1-again.dsse.json"])
        #expect(notMet.status == 1)
        #expect(
            notMet.stderr.contains("rebuilder quorum not met: 1 trusted rebuilder reproduced the release, 2 required"))

        // r3 reports a mismatch for this manifest: never outvoted.
        try w.attest("r3.dsse.json", r3, reproduced: false)
        let failed = try w.verify(["--attestations", "att", "--json"])
        #expect(failed.status == 1)
        let failedJSON = try Self.object(failed.stdout)
        #expect(failedJSON["verified"] == .bool(false))
        guard case .array(let failedList)? = failedJSON["rebuilders"]?["failed"] else {
            Issue.record("no failed list in \(failed.stdout)")
            return
        }
        #expect(failedList.map { $0["rebuilder"] } == [.string("r3")])
        #expect(failed.stderr.contains("trusted rebuilder r3 did NOT reproduce"))
        let text = try w.verify(["--attestations", "att"])
        #expect(Self.hasRow(text.stdout, "r3", "DID NOT REPRODUCE"), "\(text.stdout)")
        #expect(text.stdout.contains("artifact example-node.eif › sha256: expected aa, actual bb"))
        #expect(text.stdout.hasSuffix("NOT verified\n"))
    }

    @Test("a policy with rebuilders needs --attestations; --attestations needs a policy with rebuilders")
    func attestationsRequired() throws {
        let w = try World()
        let missing = try w.verify([])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("pass their reproduction attestations with --attestations DIR_OR_FILES"))
        #expect(missing.stderr.split(separator: "\n").count == 1, "\(missing.stderr)")

        let plain = try World(withRebuilders: false)
        try plain.attest("r1.dsse.json", plain.rebuilders[0])
        let extra = try plain.verify(["--attestations", "att"])
        #expect(extra.status == 1)
        #expect(extra.stderr.contains("the policy has no 'rebuilders' section"))
        #expect(try plain.verify([]).status == 0)
    }

    @Test("rebuild --sign signs a reproduction and a failed reproduction, and never replaces an attestation")
    func rebuildSign() throws {
        let repo = try BuildCLITests.ToyRepository()
        try repo.lock()
        let release = repo.temp.path + "/release"
        let built = try repo.build(out: release)
        #expect(built.status == 0, "\(built.stderr)")
        let manifest = release + "/manifest.json"
        let keys = repo.temp.path + "/r1.pem"
        let keygen = try CLIRunner.run(["keygen", "--type", "ed25519", "--out", keys])
        #expect(keygen.status == 0, "\(keygen.stderr)")
        let key = try SigningKey.load(path: keys)
        let published = try ReleaseManifest(
            json: Array(try Data(contentsOf: URL(fileURLWithPath: manifest))), format: manifest)

        func rebuild(_ out: String, _ extra: [String]) throws -> CLIRunner.Result {
            try CLIRunner.run(
                ["rebuild", manifest, "--out", repo.temp.path + "/" + out, "--cache", repo.cache, "--sign", keys]
                    + extra, in: repo.root)
        }
        func attestation(_ path: String) throws -> ReproductionAttestation {
            let envelope = try DSSEEnvelope(
                json: Array(try Data(contentsOf: URL(fileURLWithPath: path))), format: path)
            #expect(envelope.payloadType == DSSE.inTotoPayloadType)
            #expect(envelope.signatures.map(\.keyid) == [key.publicKey.keyid])
            #expect(key.publicKey.isValidSignature(envelope.signatures[0].sig, for: envelope.pae))
            return try ReproductionAttestation(payload: envelope.payload, format: path)
        }

        let same = try rebuild("rb-1", ["--time", "2026-12-02T03:00:00Z"])
        #expect(same.status == 0, "\(same.stdout)\(same.stderr)")
        let good = try attestation(repo.temp.path + "/rb-1/reproduction.dsse.json")
        #expect(good.reproduced)
        #expect(good.manifestSHA256 == published.sha256)
        #expect(good.manifestSHA256 == Digest.sha256(Array(try Data(contentsOf: URL(fileURLWithPath: manifest)))).hex)
        #expect(good.time == "2026-12-02T03:00:00Z")
        #expect(good.environment.enclavekitVersion == EnclaveKitVersion.string)
        #expect(!good.environment.kernel.isEmpty && good.environment.kernel != "unknown")
        #expect(good.environment.bubblewrap.hasPrefix("bubblewrap"))
        #expect(!good.environment.stepCacheReused)
        #expect(good.environment.variations.isEmpty)

        // A failed reproduction is signed too, and the exit status stays 3.
        try repo.write("src/app.conf", "port=8081\n")
        let target = repo.temp.path + "/mine.dsse.json"
        let changed = try rebuild("rb-2", ["--attestation-out", target, "--reuse-steps"])
        #expect(changed.status == 3, "\(changed.stdout)\(changed.stderr)")
        #expect(changed.stdout.contains("signed reproduction attestation (NOT reproduced)"))
        let bad = try attestation(target)
        #expect(!bad.reproduced)
        #expect(bad.manifestSHA256 == published.sha256)
        #expect(bad.differences.contains { $0.contains("PCR2") }, "\(bad.differences)")
        #expect(bad.environment.stepCacheReused)
        #expect(ReproductionAttestation.isRFC3339UTC(bad.time))

        // Never over an existing attestation: refused before rebuilding, naming the file.
        let before = try Data(contentsOf: URL(fileURLWithPath: target))
        let again = try rebuild("rb-3", ["--attestation-out", target])
        #expect(again.status == 1)
        #expect(again.stderr.contains("\(target) already exists"), "\(again.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == before)
        #expect(!FileManager.default.fileExists(atPath: repo.temp.path + "/rb-3"))

        // The default place, inside the output directory the rebuild would replace: refused too.
        let first = try Data(contentsOf: URL(fileURLWithPath: repo.temp.path + "/rb-1/reproduction.dsse.json"))
        let inPlace = try rebuild("rb-1", [])
        #expect(inPlace.status == 1)
        #expect(inPlace.stderr.contains("rb-1/reproduction.dsse.json already exists"), "\(inPlace.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: repo.temp.path + "/rb-1/reproduction.dsse.json")) == first)

        let usage = try CLIRunner.run(["rebuild", manifest, "--time", "yesterday", "--sign", keys])
        #expect(usage.status == 64)
        #expect(usage.stderr.contains("RFC 3339"))
    }
}
