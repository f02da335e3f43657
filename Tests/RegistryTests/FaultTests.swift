import EnclaveCore
import Foundation
import Release
import TestSupport
import Testing

@testable import Registry

/// Registry faults (issue 16, "Correct and hostile"), injected by Fixtures/fault_proxy.py in front of a
/// real registry: clear errors naming the reference, the digest and what was expected; retries bounded;
/// nothing at the destination that did not verify (no file, no staging directory).
@Suite struct FaultTests {
    /// A registry with the test release pushed, and the digests of its blobs.
    struct Setup {
        let registry: LocalRegistry
        let scratch: TestDirectory
        let release: TestRelease
        let pushed: PushReport
        var eif: String { pushed.blobs.first { $0.name == "example-node.eif" }?.digest ?? "" }
        var out: String { scratch.path + "/out" }

        init(eifSize: Int = 3 << 20) async throws {
            registry = try await LocalRegistry()
            scratch = try TestDirectory()
            release = try TestRelease.make(in: scratch, eifSize: eifSize)
            let client = try registry.client()
            pushed = try await ReleasePusher.push(
                directory: release.directory, to: try registry.reference("faults/node:1"), client: client)
            await client.shutdown()
        }

        /// Nothing named out or .out.pull-* exists next to it.
        func nothingWritten() -> Bool {
            !scratch.listing().contains { $0 == "out" || $0.hasPrefix("out/") || $0.hasPrefix(".out.") }
        }
    }

    func pullError(_ setup: Setup, _ proxy: FaultProxy, retries: Int = 2) async throws -> RegistryError? {
        let client = try proxy.client(retries: retries)
        defer { Task { await client.shutdown() } }
        do {
            _ = try await ReleasePuller.pull(try proxy.reference("faults/node:1"), into: setup.out, client: client)
            return nil
        } catch let error as RegistryError {
            return error
        }
    }

    @Test func blobWhoseBytesDifferFromItsDigest() async throws {
        let setup = try await Setup()
        let proxy = try FaultProxy(upstream: setup.registry, faults: ["corrupt:\(setup.eif)"])
        let error = try #require(try await pullError(setup, proxy))
        #expect(error.kind == .digestMismatch)
        #expect(error.digest == setup.eif)
        #expect(error.description.contains("example-node.eif"))
        #expect(error.description.contains("\(proxy.host)/faults/node@sha256:"))
        #expect(error.description.contains("nothing was written"))
        #expect(setup.nothingWritten(), "\(setup.scratch.listing())")
        // Not retried: bytes that do not match are not a transport failure.
        #expect(try proxy.stats().blobGets[setup.eif] == 1)
    }

    @Test func truncatedDownloadIsRetriedABoundedNumberOfTimes() async throws {
        let setup = try await Setup()
        let proxy = try FaultProxy(upstream: setup.registry, faults: ["truncate:\(setup.eif)"])
        let error = try #require(try await pullError(setup, proxy, retries: 2))
        #expect(error.kind == .transport)
        #expect(error.digest == setup.eif)
        #expect(error.description.contains("of 3145728 bytes"), "\(error)")
        #expect(error.description.contains("3 attempts"), "\(error)")
        #expect(try proxy.stats().blobGets[setup.eif] == 3)
        #expect(setup.nothingWritten(), "\(setup.scratch.listing())")
    }

    @Test func connectionDroppedMidBlobOnceRecovers() async throws {
        let setup = try await Setup()
        let proxy = try FaultProxy(upstream: setup.registry, faults: ["drop-once:\(setup.eif)"])
        #expect(try await pullError(setup, proxy) == nil)
        #expect(try proxy.stats().blobGets[setup.eif] == 2)
        #expect(try setup.scratch.read("out/example-node.eif") == setup.scratch.read("release/example-node.eif"))
        #expect(!setup.scratch.listing().contains { $0.hasPrefix(".out.") })
    }

    @Test func manifestPointingAtAMissingBlob() async throws {
        let setup = try await Setup(eifSize: 1000)
        let proxy = try FaultProxy(upstream: setup.registry, faults: ["missing:\(setup.eif)"])
        let error = try #require(try await pullError(setup, proxy))
        #expect(error.kind == .missing)
        #expect(error.digest == setup.eif)
        #expect(error.description.contains("lists blob 'example-node.eif' but the registry does not have it"))
        #expect(error.description.contains("BLOB_UNKNOWN"))
        #expect(setup.nothingWritten())
    }

    @Test func serverErrorsAreRetriedABoundedNumberOfTimes() async throws {
        let setup = try await Setup(eifSize: 1000)
        let always = try FaultProxy(upstream: setup.registry, faults: ["error500:all"])
        let error = try #require(try await pullError(setup, always, retries: 2))
        #expect(error.kind == .http)
        #expect(error.description.contains("HTTP 500"), "\(error)")
        #expect(error.description.contains("injected"), "\(error)")
        #expect(try always.stats().requests == 3)
        #expect(setup.nothingWritten())

        // Two 500s, then the registry recovers: the pull succeeds within its 3 retries.
        let twice = try FaultProxy(upstream: setup.registry, faults: ["error500:2"])
        #expect(try await pullError(setup, twice, retries: 3) == nil)
        #expect(setup.scratch.exists("out/manifest.json"))
    }

    /// Push through 500 answers: each request (HEAD, the upload's POST and PUT, the manifest PUT) is
    /// retried, a bounded number of times.
    @Test func pushRetriesServerErrors() async throws {
        let registry = try await LocalRegistry()
        let scratch = try TestDirectory()
        let release = try TestRelease.make(in: scratch, eifSize: 50_000)
        let flaky = try FaultProxy(upstream: registry, faults: ["error500:3"])
        let client = try flaky.client(retries: 3)
        defer { Task { await client.shutdown() } }
        let pushed = try await ReleasePusher.push(
            directory: release.directory, to: try flaky.reference("flaky/node:1"), client: client)
        #expect(pushed.blobs.allSatisfy { $0.uploaded })
        let direct = try registry.client()
        defer { Task { await direct.shutdown() } }
        let pulled = try await ReleasePuller.pull(
            try registry.reference("flaky/node:1"), into: scratch.path + "/out", client: direct)
        #expect(pulled.digest == pushed.digest)

        let broken = try FaultProxy(upstream: registry, faults: ["error500:all"])
        let failing = try broken.client(retries: 2)
        defer { Task { await failing.shutdown() } }
        let error = await #expect(throws: RegistryError.self) {
            try await ReleasePusher.push(
                directory: release.directory, to: try broken.reference("broken/node:1"), client: failing)
        }
        #expect(error?.kind == .http)
        #expect(error?.message.contains("HTTP 500") == true)
        #expect(try broken.stats().requests == 3)
    }

    /// The Bearer token flow with Basic credentials from a Docker config file; without them, a clear error.
    @Test func bearerTokenWithDockerConfigCredentials() async throws {
        let registry = try await LocalRegistry()
        let scratch = try TestDirectory()
        let release = try TestRelease.make(in: scratch, eifSize: 20_000)
        let proxy = try FaultProxy(upstream: registry, faults: ["bearer:alice:s3cret"])
        let auth = Base64.encode(Array("alice:s3cret".utf8))
        try scratch.write("docker/config.json", Array(#"{"auths": {"\#(proxy.host)": {"auth": "\#(auth)"}}}"#.utf8))
        let ref = try proxy.reference("private/node:1")
        let client = try RegistryClient.make(
            for: ref, plainHTTP: true, environment: ["DOCKER_CONFIG": scratch.path + "/docker"])
        defer { Task { await client.shutdown() } }
        let pushed = try await ReleasePusher.push(directory: release.directory, to: ref, client: client)
        let pulled = try await ReleasePuller.pull(ref, into: scratch.path + "/out", client: client)
        #expect(pulled.digest == pushed.digest)
        #expect(try scratch.read("out/example-node.eif") == scratch.read("release/example-node.eif"))

        // Anonymous: the token service refuses, and the error says where credentials go.
        let anonymous = try RegistryClient.make(for: ref, plainHTTP: true, environment: ["HOME": scratch.path])
        defer { Task { await anonymous.shutdown() } }
        do {
            _ = try await ReleasePuller.pull(ref, into: scratch.path + "/out2", client: anonymous)
            Issue.record("pulled without credentials")
        } catch let error as RegistryError {
            #expect(error.kind == .authentication)
            #expect(error.description.contains("answered 401"), "\(error)")
            #expect(error.description.contains("Docker config"), "\(error)")
        }
        #expect(!scratch.exists("out2"))
    }

    /// A registry with the referrers API (OCI distribution 1.1): pull lists the referrers through it.
    @Test func pullUsesTheReferrersAPIWhereThereIsOne() async throws {
        let setup = try await Setup(eifSize: 1000)
        let proxy = try FaultProxy(upstream: setup.registry, faults: ["referrers-api:on"])
        let client = try proxy.client()
        defer { Task { await client.shutdown() } }
        let pulled = try await ReleasePuller.pull(
            try proxy.reference("faults/node:1"), into: setup.out, client: client)
        #expect(pulled.referrersAPI)
        #expect(pulled.files.filter { $0.kind == "signature" }.map { $0.name } == ["release.dsse.json"])
    }

    @Test func manifestBytesThatDoNotMatchTheAnnouncedDigest() async throws {
        let setup = try await Setup(eifSize: 1000)
        let proxy = try FaultProxy(upstream: setup.registry, faults: ["corrupt:1"])
        let error = try #require(try await pullError(setup, proxy))
        #expect(error.kind == .digestMismatch)
        #expect(error.description.contains("announced the manifest as \(setup.pushed.digest)"), "\(error)")
        #expect(setup.nothingWritten())

        // A referrer fetched by digest whose bytes do not hash to it.
        let referrer = try #require(setup.pushed.referrers.first?.digest)
        let hostile = try FaultProxy(upstream: setup.registry, faults: ["corrupt:\(referrer)"])
        let second = try #require(try await pullError(setup, hostile))
        #expect(second.kind == .digestMismatch)
        #expect(second.digest == referrer)
        #expect(setup.nothingWritten())
    }

    @Test func tagMovedDuringVerify() async throws {
        let setup = try await Setup(eifSize: 1000)
        let other = try TestRelease.make(in: setup.scratch, name: "other", eifSize: 500, seed: 9)
        let client = try setup.registry.client()
        let moved = try await ReleasePusher.push(
            directory: other.directory, to: try setup.registry.reference("faults/node:2"), client: client)
        await client.shutdown()
        // The proxy serves tag 1 as tag 2 after its first read: verify resolved once, read by digest.
        let proxy = try FaultProxy(upstream: setup.registry, faults: ["move-tag:1:2"])
        let viaProxy = try proxy.client()
        defer { Task { await viaProxy.shutdown() } }
        let (report, info) = try await RegistryVerifier.verify(
            try proxy.reference("faults/node:1"), client: viaProxy, policy: setup.release.policy)
        #expect(info.digest == setup.pushed.digest)
        #expect(info.movedTo == moved.digest)
        #expect(report.statement?.manifest.artifacts.first?.size == 1000)
        let message = report.error?.description ?? ""
        #expect(message.contains("moved from \(setup.pushed.digest) to \(moved.digest)"), "\(message)")
        #expect(!report.isVerified)
    }
}
