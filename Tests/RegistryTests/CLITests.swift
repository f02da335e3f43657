import EnclaveCore
import Foundation
import Release
import TestSupport
import Testing

@testable import Registry

/// `enclavekit push`, `pull` and `verify REF` as a user runs them, against a real registry.
@Suite struct CLITests {
    static func run(_ args: [String], in directory: String) throws -> ToolResult {
        // No DOCKER_CONFIG credentials: anonymous.
        try ToolRunner.run(
            BuiltProducts.enclavekit, args, in: directory,
            environment: ["ENCLAVEKIT_NO_PROGRESS": "1", "DOCKER_CONFIG": directory + "/docker"])
    }

    @Test func pushPullVerifyFromTheCommandLine() async throws {
        let registry = try await LocalRegistry()
        let scratch = try TestDirectory()
        let release = try TestRelease.make(in: scratch, eifSize: 100_000)
        for name in ["alice.pub.pem", "bob.pub.pem"] { try scratch.write(name, try Fixtures.bytes("example/\(name)")) }
        try scratch.write(
            "policy.json",
            Array(
                #"{"policyVersion": 1, "threshold": 2, "keys": [{"name": "alice", "publicKeyFile": "alice.pub.pem"}, {"name": "bob", "publicKeyFile": "bob.pub.pem"}]}"#
                    .utf8))
        let dir = scratch.path
        let ref = "\(registry.host)/cli/example-node:0.1.0"
        _ = release

        let pushed = try Self.run(["push", "release", ref, "--plain-http", "--json"], in: dir)
        #expect(pushed.status == 0, "\(pushed.stderr)")
        let report = try JSONParser.parse(Array(pushed.stdout.utf8))
        let digest = try #require(report["digest"]?.stringValue)
        #expect(report["referrersMode"]?.stringValue == "tag-schema")
        #expect(pushed.stderr.contains("example-node.eif  100.0 kB  uploaded"), "\(pushed.stderr)")

        let again = try Self.run(["push", "release", ref, "--plain-http"], in: dir)
        #expect(again.status == 0)
        #expect(again.stdout.contains("0 uploaded (0 bytes), 5 already there"), "\(again.stdout)")
        #expect(again.stdout.contains(digest))

        let pulled = try Self.run(["pull", ref, "--out", "pulled", "--plain-http"], in: dir)
        #expect(pulled.status == 0, "\(pulled.stderr)")
        #expect(pulled.stdout.contains("pinned        \(registry.host)/cli/example-node@\(digest)"), "\(pulled.stdout)")
        let local = try Self.run(["verify", "pulled", "--policy", "policy.json"], in: dir)
        #expect(local.status == 0, "\(local.stdout)\(local.stderr)")

        let remote = try Self.run(["verify", ref, "--policy", "policy.json", "--plain-http", "--json"], in: dir)
        #expect(remote.status == 0, "\(remote.stdout)\(remote.stderr)")
        let verified = try JSONParser.parse(Array(remote.stdout.utf8))
        #expect(verified["verified"] == .bool(true))
        #expect(verified["registry"]?["digest"]?.stringValue == digest)

        let wrong = "sha256:" + String(repeating: "0", count: 64)
        let moved = try Self.run(
            ["verify", ref, "--policy", "policy.json", "--plain-http", "--expect-digest", wrong], in: dir)
        #expect(moved.status == 1)
        #expect(moved.stderr.contains("the tag now names \(digest), not \(wrong)"), "\(moved.stderr)")
    }

    @Test func usageAndConnectionErrors() async throws {
        let registry = try await LocalRegistry()
        let scratch = try TestDirectory()
        _ = try TestRelease.make(in: scratch, eifSize: 100)
        let dir = scratch.path
        // No registry host: a usage error (64).
        let noHost = try Self.run(["push", "release", "example-node:1"], in: dir)
        #expect(noHost.status == 64)
        #expect(noHost.stderr.contains("no registry host"), "\(noHost.stderr)")
        // Plain HTTP to a host that is not loopback is refused before any connection.
        let insecure = try Self.run(["pull", "registry.example.com/x:1", "--out", "o", "--plain-http"], in: dir)
        #expect(insecure.status == 1)
        #expect(insecure.stderr.contains("only allowed for a loopback registry"), "\(insecure.stderr)")
        // HTTPS to the plain-HTTP registry fails, naming the reference; nothing is written.
        let tls = try Self.run(["pull", "\(registry.host)/x:1", "--out", "o", "--json"], in: dir)
        #expect(tls.status == 1)
        let error = try JSONParser.parse(Array(tls.stdout.utf8))
        #expect(
            error["error"]?.stringValue?.hasPrefix("\(registry.host)/x:1: GET /v2/ failed") == true, "\(tls.stdout)")
        #expect(error["kind"]?.stringValue == "transport")
        #expect(error["error"]?.stringValue?.contains("does not speak TLS") == true, "\(tls.stdout)")
        #expect(!scratch.exists("o"))
        // A tag that does not exist.
        let missing = try Self.run(["pull", "\(registry.host)/x:nope", "--out", "o", "--plain-http"], in: dir)
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("tag nope not found"), "\(missing.stderr)")
        #expect(!scratch.exists("o"))
    }
}
