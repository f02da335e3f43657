import EnclaveCore
import Release

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

extension RegistryClient {
    /// A client for `reference`'s registry with the Docker config file's credentials for its host.
    public static func make(
        for reference: ImageReference, plainHTTP: Bool, environment: [String: String], retries: Int = 3
    ) throws -> RegistryClient {
        let credentials = try BasicCredentials.fromDockerConfig(host: reference.host, environment: environment)
        return try RegistryClient(
            host: reference.host, options: .init(plainHTTP: plainHTTP, retries: retries, credentials: credentials))
    }
}

/// The registry side of `verify REF`: which digest was verified, and whether the tag moved.
public struct RegistryVerification: Sendable {
    public var reference: String
    /// The digest the tag resolved to, once; everything verified was read by this digest.
    public var digest: String
    /// The digest the tag names after verification (or that `--expect-digest` gave before), when it
    /// differs from ``digest``.
    public var movedTo: String?
    /// The digest the caller expected (`--expect-digest`, e.g. what `pull` printed), if any.
    public var expectedDigest: String?
    public var pull: PullReport

    public var json: JSONValue {
        .object([
            ("reference", .string(reference)), ("digest", .string(digest)),
            ("expectedDigest", expectedDigest.map { .string($0) } ?? .null),
            ("tagMovedTo", movedTo.map { .string($0) } ?? .null),
            ("referrersMode", .string(pull.referrersAPI ? "api" : "tag-schema")),
            ("files", .array(pull.files.map { .string($0.name) })),
        ])
    }
}

/// Verifies a release straight from a registry: resolves the tag once, pulls by digest into a
/// temporary directory (removed afterwards), verifies it as a release directory (signatures, threshold,
/// artifacts, measurements) with the rebuilders' attestations found as referrers plus any given, then
/// checks that the tag still names the verified digest.
///
/// ```swift
/// let (report, info) = try await RegistryVerifier.verify(ref, client: client, policy: policy)
/// ```
public enum RegistryVerifier {
    public static func verify(
        _ reference: ImageReference, client: RegistryClient, policy: ReleasePolicy, artifacts: [String] = [],
        expectations: [MeasurementExpectation] = [], attestations: [String] = [], expectedDigest: String? = nil,
        progress: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws -> (VerificationReport, RegistryVerification) {
        let ref = reference.description
        try await client.probe(reference: ref, repository: reference.repository, push: false)
        let fetched = try await ReleasePuller.resolve(reference, client: client)
        progress("resolved \(ref) to \(fetched.digest)")
        var info = RegistryVerification(
            reference: ref, digest: fetched.digest, expectedDigest: expectedDigest,
            pull: PullReport(reference: ref, digest: fetched.digest, directory: ""))
        let scratch = try TemporaryDirectory(prefix: "enclavekit-verify-")
        info.pull = try await ReleasePuller.download(
            reference, manifest: fetched, into: scratch.path, client: client, progress: progress)
        var report = try ReleaseDirectory(path: scratch.path).verify(
            policy: policy, artifacts: artifacts, expectations: expectations)
        var documents: [(bytes: [UInt8], format: String)] = []
        let pulled = scratch.path + "/attestations"
        if policy.rebuilders != nil, FileStatus.isDirectory(pulled) {
            documents = try RebuilderQuorum.documents(paths: [pulled]).map { bytes, format in
                (bytes, "\(reference.pinned(to: fetched.digest)) referrer " + format.dropFirst(scratch.path.count + 1))
            }
        }
        documents += try RebuilderQuorum.documents(paths: attestations)
        try report.checkRebuilders(attestations: documents)
        // Reports name the release by reference, not by the temporary directory.
        for i in report.artifacts.indices where report.artifacts[i].path.hasPrefix(scratch.path + "/") {
            report.artifacts[i].path = String(report.artifacts[i].path.dropFirst(scratch.path.count + 1))
        }
        if let expectedDigest, expectedDigest != fetched.digest {
            info.movedTo = fetched.digest
            if report.error == nil {
                report.error = ReleaseError(
                    .manifest,
                    "\(ref): the tag now names \(fetched.digest), not \(expectedDigest) (the digest expected, e.g. "
                        + "from pull); it was moved since. Verify \(reference.pinned(to: expectedDigest)) to check "
                        + "what was pulled")
            }
        } else if let tag = reference.tag, reference.digest == nil {
            let now = try await client.resolveTag(repository: reference.repository, tag: tag, reference: ref)
            if now != fetched.digest {
                info.movedTo = now ?? "(deleted)"
                if report.error == nil {
                    report.error = ReleaseError(
                        .manifest,
                        "\(ref): the tag moved from \(fetched.digest) to \(now ?? "nothing (deleted)") during "
                            + "verification; what was checked is \(reference.pinned(to: fetched.digest)), not what "
                            + "the tag names now")
                }
            }
        }
        return (report, info)
    }
}

enum ProcessEnvironment {
    static func value(_ name: String) -> String? {
        guard let p = getenv(name) else { return nil }
        return String(cString: p)
    }
}
