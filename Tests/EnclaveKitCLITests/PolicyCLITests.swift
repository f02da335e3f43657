import Foundation
import TestSupport
import Testing

/// `policy init`, `policy check` and `verify DIR` (issue #13 item 13).
@Suite struct PolicyCLITests {
    typealias Release = ReleaseCLITests.Release

    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func initWritesAPolicyThatCheckAndVerifyRead() throws {
        let release = try Release()
        try FileManager.default.createDirectory(atPath: release.path + "/trust", withIntermediateDirectories: true)
        let made = try release.run([
            "policy", "init", "--key", "alice=alice.pub.pem", "--key", "bob=bob.pub.pem", "--key",
            "carol=carol.pub.pem",
            "--threshold", "2", "--out", "trust/policy.json",
        ])
        #expect(made.status == 0, "\(made.stderr)")
        #expect(made.stdout.contains("2 of 3 keys"), "\(made.stdout)")
        let text = try release.read("trust/policy.json")
        let policy = try Self.json(text)
        #expect(policy["policyVersion"] as? Int == 1)
        #expect(policy["threshold"] as? Int == 2)
        let keys = try #require(policy["keys"] as? [[String: String]])
        #expect(keys.map { $0["name"] ?? "" } == ["alice", "bob", "carol"])
        #expect(keys[0]["publicKeyFile"] == "../alice.pub.pem", "relative to the policy's directory")
        #expect(keys.map { $0["scheme"] ?? "" } == ["ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384"])

        let check = try release.run(["policy", "check", "trust/policy.json", "--json"])
        #expect(check.status == 0, "\(check.stderr)")
        let report = try Self.json(check.stdout)
        #expect(report["valid"] as? Bool == true)
        #expect((report["keys"] as? [[String: String]])?.count == 3)

        try release.sign(["alice", "bob"])
        let verified = try release.run(["verify", "manifest.dsse.json", "--policy", "trust/policy.json"])
        #expect(verified.status == 0, "\(verified.stderr)")

        // Never replaced without --force; --inline embeds the PEM.
        let again = try release.run([
            "policy", "init", "--key", "alice=alice.pub.pem", "--threshold", "1", "--out", "trust/policy.json",
        ])
        ReleaseCLITests.expectFailure(
            again, "trust/policy.json already exists (choose another --out, or pass --force to replace it)")
        #expect(try release.read("trust/policy.json") == text)
        let forced = try release.run([
            "policy", "init", "--key", "alice=alice.pub.pem", "--threshold", "1", "--out", "trust/policy.json",
            "--force", "--inline",
        ])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(try release.read("trust/policy.json").contains("BEGIN PUBLIC KEY"))
        #expect(try release.run(["policy", "check", "trust/policy.json"]).status == 0)
        #expect(try release.run(["policy", "init", "--help"]).stdout.contains("Examples:"))
        #expect(try release.run(["policy", "check", "--help"]).stdout.contains("Examples:"))
    }

    @Test(
        "init refuses a bad policy and writes nothing",
        arguments: [
            (["--key", "a=alice.pub.pem", "--key", "b=alice.pub.pem", "--threshold", "1"], "is the same key as a"),
            (["--key", "a=alice.pub.pem", "--key", "a=bob.pub.pem", "--threshold", "1"], "two keys are named 'a'"),
            (["--key", "a=alice.pub.pem", "--threshold", "2"], "threshold 2 can never be met with 1 trusted keys"),
            (["--key", "a=missing.pub.pem", "--threshold", "1"], "missing.pub.pem"),
            (["--key", "a=alice.pem", "--threshold", "1"], "alice.pem"),
        ])
    func initRefuses(args: [String], message: String) throws {
        let release = try Release()
        let r = try release.run(["policy", "init"] + args + ["--out", "new.json"])
        ReleaseCLITests.expectFailure(r, message)
        #expect(!FileManager.default.fileExists(atPath: release.path + "/new.json"))
    }

    @Test func checkReportsTheFirstProblem() throws {
        let release = try Release()
        try release.writePolicy(threshold: 4)
        let r = try release.run(["policy", "check", "policy.json", "--json"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("threshold 4 can never be met with 3 trusted keys"), "\(r.stderr)")
        let report = try Self.json(r.stdout)
        #expect(report["valid"] as? Bool == false)
        #expect((report["error"] as? String)?.contains("threshold 4") == true)
        try release.writePolicy(threshold: 1, extra: #", {"name": "alice", "publicKeyFile": "bob.pub.pem"}"#)
        ReleaseCLITests.expectFailure(
            try release.run(["policy", "check", "policy.json"]), "is the same key as bob")
        try release.writePolicy(threshold: 1, extra: #", {"name": "dave", "publicKeyFile": "nowhere.pub.pem"}"#)
        ReleaseCLITests.expectFailure(try release.run(["policy", "check", "policy.json"]), "nowhere.pub.pem")
    }

    @Test func verifyTakesAReleaseDirectory() throws {
        let release = try Release()
        let dir = release.path + "/release"
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try fm.copyItem(atPath: release.path + "/manifest.json", toPath: dir + "/manifest.json")
        for name in ["example-node.eif", "example-node.sgx.so"] {
            try fm.copyItem(atPath: ReleaseCLITests.example + "/artifacts/" + name, toPath: dir + "/" + name)
        }
        ReleaseCLITests.expectFailure(
            try release.run(["verify", "release", "--policy", "policy.json"]),
            "release: holds no signed release (no *.dsse.json, *.sigstore.json or *.intoto.jsonl) "
                + "(sign it first: enclavekit sign release/manifest.json --key KEY.pem)")
        for signer in ["alice", "bob"] {
            #expect(try release.run(["sign", "release/manifest.json", "--key", "\(signer).pem"]).status == 0)
        }
        let ok = try release.run(["verify", "release", "--policy", "policy.json"])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout.contains("release/example-node.eif     matches example-node.eif"), "\(ok.stdout)")
        #expect(ok.stdout.contains("release/example-node.sgx.so  matches example-node.sgx.so"), "\(ok.stdout)")
        #expect(ok.stdout.hasSuffix("verified\n"))

        // A changed artifact, a missing one, and a manifest.json rebuilt after signing are all caught.
        let eif = dir + "/example-node.eif"
        let original = try Data(contentsOf: URL(fileURLWithPath: eif))
        try Data("another image\n".utf8).write(to: URL(fileURLWithPath: eif))
        ReleaseCLITests.expectFailure(
            try release.run(["verify", "release", "--policy", "policy.json"]), "matches no subject")
        try fm.removeItem(atPath: eif)
        ReleaseCLITests.expectFailure(
            try release.run(["verify", "release", "--policy", "policy.json"]),
            "artifact 'example-node.eif' of the release is not in the directory")
        try original.write(to: URL(fileURLWithPath: eif))
        let manifest = try release.read("release/manifest.json")
        try release.write("release/manifest.json", manifest.replacingOccurrences(of: "0.1.0", with: "0.1.1"))
        ReleaseCLITests.expectFailure(
            try release.run(["verify", "release", "--policy", "policy.json"]),
            "differs from the manifest the signatures cover")
    }
}
