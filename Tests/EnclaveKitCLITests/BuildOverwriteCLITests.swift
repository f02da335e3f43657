import Foundation
import TestSupport
import Testing

/// `build` never replaces different content without `--force`, never modifies a signed manifest, and
/// accepts the same bytes (issue #13 item 2).
@Suite("Build overwrite protection", .serialized)
struct BuildOverwriteCLITests {
    typealias Toy = BuildCLITests.ToyRepository

    static func bytes(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    /// Edits a source file without bumping the version, and re-pins it.
    static func change(_ repo: Toy, _ conf: String) throws {
        try repo.write("src/app.conf", conf)
        try repo.lock()
    }

    @Test func aDifferentBuildNeedsForce() throws {
        let repo = try Toy()
        try repo.lock()
        let out = repo.temp.path + "/out"
        #expect(try repo.build(out: out).status == 0)
        let manifest = try #require(Self.bytes(out + "/manifest.json"))
        let eif = try #require(Self.bytes(out + "/nitro/toy.eif"))

        try Self.change(repo, "port=9999\n")
        let refused = try repo.build(out: out)
        #expect(refused.status == 1, "\(refused.stdout)\(refused.stderr)")
        #expect(refused.stderr.contains("\(out) already holds a different build"), "\(refused.stderr)")
        #expect(refused.stderr.contains("--force"), "\(refused.stderr)")
        #expect(refused.stderr.split(separator: "\n").count == 1, "\(refused.stderr)")
        #expect(Self.bytes(out + "/manifest.json") == manifest)
        #expect(Self.bytes(out + "/nitro/toy.eif") == eif)
        let names = try FileManager.default.contentsOfDirectory(atPath: repo.temp.path)
        #expect(!names.contains { $0.hasPrefix("out.") }, "no staging directory left: \(names)")

        let forced = try repo.build(out: out, extra: ["--force"])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(Self.bytes(out + "/manifest.json") != manifest)
    }

    @Test func aSignedManifestIsNeverModified() throws {
        let repo = try Toy()
        try repo.lock()
        try FileManager.default.createDirectory(atPath: repo.root + "/Manifests", withIntermediateDirectories: true)
        let manifest = repo.root + "/Manifests/toy-1.0.0.json"
        let first = try repo.build(out: repo.temp.path + "/a", extra: ["--manifest", manifest])
        #expect(first.status == 0, "\(first.stderr)")
        let key = repo.temp.path + "/alice.pem"
        #expect(try CLIRunner.run(["keygen", "--type", "ed25519", "--out", key]).status == 0)
        #expect(try CLIRunner.run(["sign", manifest, "--key", key]).status == 0)
        let signed = try #require(Self.bytes(manifest))

        // The same build again into a fresh directory: the same manifest bytes, which is fine.
        let again = try repo.build(out: repo.temp.path + "/b", extra: ["--manifest", manifest])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(Self.bytes(manifest) == signed)

        try Self.change(repo, "port=9999\n")
        for extra in [[], ["--force"]] {
            let r = try repo.build(out: repo.temp.path + "/c", extra: ["--manifest", manifest] + extra)
            #expect(r.status == 1, "\(extra): \(r.stdout)\(r.stderr)")
            #expect(r.stderr.contains("toy-1.0.0.json is covered by the signed"), "\(r.stderr)")
            #expect(r.stderr.contains("toy-1.0.0.dsse.json"), "\(r.stderr)")
            #expect(r.stderr.contains("bump the version"), "\(r.stderr)")
            #expect(Self.bytes(manifest) == signed)
            #expect(!FileManager.default.fileExists(atPath: repo.temp.path + "/c"), "nothing moved into place")
        }
        // An unsigned manifest with other bytes: --force is needed, and enough.
        try FileManager.default.removeItem(atPath: repo.root + "/Manifests/toy-1.0.0.dsse.json")
        let unforced = try repo.build(out: repo.temp.path + "/c", extra: ["--manifest", manifest])
        #expect(unforced.status == 1)
        #expect(unforced.stderr.contains("already holds a different manifest"), "\(unforced.stderr)")
        #expect(Self.bytes(manifest) == signed)
        let forced = try repo.build(out: repo.temp.path + "/c", extra: ["--manifest", manifest, "--force"])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(Self.bytes(manifest) != signed)
    }

    @Test func anEnvelopeInsideTheOutputIsKeptAndProtectsIt() throws {
        let repo = try Toy()
        try repo.lock()
        let out = repo.temp.path + "/out"
        #expect(try repo.build(out: out).status == 0)
        let key = repo.temp.path + "/alice.pem"
        #expect(try CLIRunner.run(["keygen", "--type", "ed25519", "--out", key]).status == 0)
        #expect(try CLIRunner.run(["sign", out + "/manifest.json", "--key", key]).status == 0)
        let envelope = try #require(Self.bytes(out + "/manifest.dsse.json"))

        // A damaged artifact of the same release is restored, and the envelope stays.
        let eif = out + "/nitro/toy.eif"
        let original = try #require(Self.bytes(eif))
        var damaged = original
        damaged[0] ^= 1
        try damaged.write(to: URL(fileURLWithPath: eif))
        let repaired = try repo.build(out: out)
        #expect(repaired.status == 0, "\(repaired.stderr)")
        #expect(Self.bytes(eif) == original)
        #expect(Self.bytes(out + "/manifest.dsse.json") == envelope)

        // Another build of the same version: refused even with --force, output and envelope untouched.
        try Self.change(repo, "port=9999\n")
        for extra in [[], ["--force"]] {
            let r = try repo.build(out: out, extra: extra)
            #expect(r.status == 1, "\(extra): \(r.stderr)")
            #expect(r.stderr.contains("manifest.json is covered by the signed"), "\(r.stderr)")
            #expect(Self.bytes(eif) == original)
            #expect(Self.bytes(out + "/manifest.dsse.json") == envelope)
        }
    }

    @Test func theSameBytesAreNotAnError() throws {
        let repo = try Toy()
        try repo.lock()
        let out = repo.temp.path + "/out"
        let manifest = repo.temp.path + "/toy.json"
        #expect(try repo.build(out: out, extra: ["--manifest", manifest]).status == 0)
        let eif = try #require(Self.bytes(out + "/nitro/toy.eif"))
        try Data("notes\n".utf8).write(to: URL(fileURLWithPath: out + "/NOTES"))
        // No manifest to recognize the build by: it runs in full and finds the same bytes in place.
        try FileManager.default.removeItem(atPath: manifest)
        let r = try repo.build(out: out, extra: ["--manifest", manifest])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(Self.bytes(out + "/nitro/toy.eif") == eif)
        #expect(Self.bytes(out + "/NOTES") == Data("notes\n".utf8), "a file the build does not write is kept")
        #expect(FileManager.default.fileExists(atPath: manifest))
    }
}
