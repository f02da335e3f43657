import EnclaveCore

/// A release directory as `build` writes it and `verify DIR` reads it: `manifest.json`, the artifacts
/// at the paths the manifest names, and the signed documents next to them (`*.dsse.json`,
/// `*.sigstore.json`, `*.intoto.jsonl`). Reproduction attestations (`rebuild --sign`, an envelope whose
/// every Statement has the reproduction predicate) may sit beside them: they are set aside as
/// ``attestations`` for the rebuilder quorum, never counted as release signatures.
///
/// ```swift
/// let dir = try ReleaseDirectory(path: "out/example-node-0.1.0")
/// let report = try dir.verify(policy: policy)
/// ```
public struct ReleaseDirectory: Sendable {
    /// Suffixes of the signed documents a release directory may hold.
    public static let signedSuffixes = [".dsse.json", ".sigstore.json", ".intoto.jsonl"]

    public var path: String
    /// The signed documents found, sorted by name.
    public var documents: [String]
    /// Reproduction attestations found beside them, sorted by name.
    public var attestations: [String]
    /// `manifest.json` when present.
    public var manifest: String?

    public init(path: String) throws {
        guard FileStatus(path, followLinks: true)?.type == .directory else {
            throw ReleaseError(.releaseDirectory, "is not a directory", file: path)
        }
        self.path = path
        let names = try FileTree.sortedNames(path).map { String(decoding: $0, as: UTF8.self) }
        let signed = names.filter { name in ReleaseDirectory.signedSuffixes.contains { name.hasSuffix($0) } }
            .map { path + "/" + $0 }
        var documents: [String] = []
        var attestations: [String] = []
        for file in signed {
            let bytes = try FileInput.contents(of: file, limit: 64 << 20, format: "envelope")
            if Self.isReproductionAttestation(bytes, format: file) {
                attestations.append(file)
            } else {
                documents.append(file)
            }
        }
        self.documents = documents
        self.attestations = attestations
        guard !documents.isEmpty else {
            throw ReleaseError(
                .releaseDirectory, "holds no signed release (no *.dsse.json, *.sigstore.json or *.intoto.jsonl)",
                file: path)
        }
        let m = path + "/manifest.json"
        manifest = FileStatus(m, followLinks: true)?.type == .regular ? m : nil
    }

    /// Whether every envelope in the document carries a reproduction Statement (read before any
    /// verification only to sort the file; the quorum verifies it like any attestation).
    static func isReproductionAttestation(_ bytes: [UInt8], format: String) -> Bool {
        guard let envelopes = try? ReleaseVerifier.envelopes(bytes: bytes, format: format), !envelopes.isEmpty else {
            return false
        }
        return envelopes.allSatisfy { _, envelope in
            envelope.payloadType == DSSE.inTotoPayloadType
                && ReproductionAttestation.predicateType(ofPayload: envelope.payload)
                    == ReproductionAttestation.predicateType
        }
    }

    /// Verifies the signed documents against `policy`, every artifact the signed manifest lists (each
    /// must be in the directory under its name, with its sha256), `manifest.json` against the signed
    /// manifest, and any extra artifacts and expectations.
    public func verify(
        policy: ReleasePolicy, artifacts extra: [String] = [], expectations: [MeasurementExpectation] = [],
        progress: ProgressFactory? = nil
    ) throws -> VerificationReport {
        let documents = try self.documents.map {
            (bytes: try FileInput.contents(of: $0, limit: 64 << 20, format: "envelope"), format: $0)
        }
        // Which files to hash comes from the (not yet authenticated) payload; `verify` then checks each
        // file's digest against the authenticated subjects, so a forged name list gains nothing.
        var names: [String] = []
        for (bytes, format) in documents {
            for (_, envelope) in try ReleaseVerifier.envelopes(bytes: bytes, format: format) {
                if let statement = try? Statement(payload: envelope.payload, format: format) {
                    names = statement.subjects.map(\.name)
                }
            }
        }
        var files: [String] = []
        for name in names {
            guard !name.hasPrefix("/"), !name.split(separator: "/").contains("..") else {
                throw ReleaseError(.statement, "artifact name '\(name)' leaves the release directory", file: path)
            }
            let file = path + "/" + name
            guard FileStatus(file, followLinks: true)?.type == .regular else {
                throw ReleaseError(
                    .artifactMismatch,
                    "artifact '\(name)' of the release is not in the directory (expected \(file))", file: path)
            }
            files.append(file)
        }
        var report = try ReleaseVerifier.verify(
            documents: documents, policy: policy, artifacts: files + extra, expectations: expectations,
            progress: progress)
        guard report.error == nil, let statement = report.statement else { return report }
        // Each file against its own subject: two artifacts may have the same bytes (the same firmware for
        // two targets), so the first subject with a file's sha256 is not necessarily its own.
        for (file, name) in zip(files, names) {
            guard let i = report.artifacts.firstIndex(where: { $0.path == file }) else { continue }
            let result = report.artifacts[i]
            if statement.subjects.contains(where: { $0.name == name && $0.sha256 == result.sha256 }) {
                report.artifacts[i].subject = name
            } else {
                report.error = ReleaseError(
                    .artifactMismatch, "has the sha256 of \(result.subject ?? "no subject"), not of \(name)", file: file
                )
                return report
            }
        }
        if let manifest {
            let bytes = try FileInput.contents(of: manifest, limit: 64 << 20, format: "manifest")
            let unsigned = try ReleaseManifest(json: bytes, format: manifest)
            if unsigned.canonicalBytes != statement.manifest.canonicalBytes {
                report.error = ReleaseError(
                    .manifest,
                    "differs from the manifest the signatures cover (\(statement.manifest.name) "
                        + "\(statement.manifest.version)); the directory was rebuilt after signing",
                    file: manifest)
            }
        }
        return report
    }
}
