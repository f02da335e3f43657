import EnclaveCore
import Release

/// What `push` did, for the text and `--json` outputs.
public struct PushReport: Sendable {
    public struct Blob: Sendable, Equatable {
        public var name: String
        public var digest: String
        public var size: UInt64
        /// False when the registry had the blob already (not uploaded again).
        public var uploaded: Bool
    }

    public struct Referrer: Sendable, Equatable {
        public var name: String
        public var artifactType: String
        public var digest: String
    }

    public var reference: String
    public var digest: String
    public var blobs: [Blob] = []
    public var referrers: [Referrer] = []
    /// True when the registry indexed the referrers itself (referrers API), false for the tag schema.
    public var referrersAPI = false

    public var uploadedBytes: UInt64 { blobs.filter(\.uploaded).reduce(0) { $0 + $1.size } }

    public var json: JSONValue {
        .object([
            ("reference", .string(reference)), ("digest", .string(digest)),
            ("pinned", .string((try? ImageReference(parsing: reference))?.pinned(to: digest).description ?? "")),
            (
                "blobs",
                .array(
                    blobs.map {
                        .object([
                            ("name", .string($0.name)), ("digest", .string($0.digest)), ("size", .int($0.size)),
                            ("status", .string($0.uploaded ? "uploaded" : "exists")),
                        ])
                    })
            ),
            (
                "referrers",
                .array(
                    referrers.map {
                        .object([
                            ("name", .string($0.name)), ("artifactType", .string($0.artifactType)),
                            ("digest", .string($0.digest)),
                        ])
                    })
            ),
            ("referrersMode", .string(referrersAPI ? "api" : "tag-schema")),
            ("uploadedBytes", .int(uploadedBytes)),
        ])
    }
}

/// A release as an OCI artifact (issue 16 item 4): an image manifest with `artifactType`
/// ``MediaType/release``, the empty config, and one layer per file (`manifest.json`, then every artifact
/// the manifest lists, each with its own media type and `org.opencontainers.image.title`), written as
/// canonical JSON so the same release has the same digest. Each signed document (`*.dsse.json`,
/// `*.sigstore.json`, `*.intoto.jsonl`) and each reproduction attestation is a referrer: an artifact
/// manifest with one layer and `subject` = the release.
///
/// ```swift
/// let report = try await ReleasePusher.push(directory: "out/example-node-0.1.0", attestations: [],
///                                           to: ref, client: client) { print($0) }
/// ```
public enum ReleasePusher {
    /// One file to push.
    struct File {
        var name: String
        var path: String
        var descriptor: Descriptor
    }

    /// The release manifest, the artifacts (each checked against the manifest's size and sha256) and
    /// the signed documents and attestations of `directory`, as descriptors.
    static func collect(directory: String, attestations: [String], reference: String) throws -> (
        manifest: ImageManifest, files: [File], signatures: [File], attestations: [File]
    ) {
        let release = try ReleaseDirectory(path: directory)
        guard let manifestPath = release.manifest else {
            throw RegistryError(
                .destination, reference: reference, "\(directory) has no manifest.json",
                hint: "push the directory 'enclavekit build' wrote (manifest.json, artifacts, signatures)")
        }
        let manifestBytes = try FileInput.contents(of: manifestPath, limit: 64 << 20, format: "manifest")
        let manifest = try ReleaseManifest(json: manifestBytes, format: manifestPath)
        var files = [
            File(
                name: "manifest.json", path: manifestPath,
                descriptor: Descriptor(
                    mediaType: MediaType.releaseManifest, digest: OCIDigest.of(manifestBytes),
                    size: UInt64(manifestBytes.count), annotations: [(titleAnnotation, "manifest.json")]))
        ]
        for artifact in manifest.artifacts {
            let path = directory + "/" + artifact.name
            guard FileStatus(path, followLinks: true)?.type == .regular else {
                throw RegistryError(
                    .destination, reference: reference,
                    "artifact '\(artifact.name)' of the release is not in the directory (expected \(path))")
            }
            let hex = try FileStream.hash(path: path, .sha256).hex
            let size = FileStatus(path, followLinks: true)?.size ?? 0
            guard hex == artifact.sha256, size == artifact.size else {
                throw RegistryError(
                    .destination, reference: reference,
                    "\(path) has sha256 \(hex) and \(size) bytes; the release manifest says \(artifact.sha256) and "
                        + "\(artifact.size) bytes",
                    hint: "rebuild the release or restore the file")
            }
            files.append(
                File(
                    name: artifact.name, path: path,
                    descriptor: Descriptor(
                        mediaType: MediaType.artifact(name: artifact.name), digest: OCIDigest.from(sha256Hex: hex),
                        size: size, annotations: [(titleAnnotation, artifact.name)])))
        }
        let image = ImageManifest(
            artifactType: MediaType.release, layers: files.map(\.descriptor),
            annotations: [
                (titleAnnotation, "\(manifest.name)-\(manifest.version)"),
                ("org.opencontainers.image.version", manifest.version),
            ])
        let signatures = try release.documents.map { path in
            try document(path: path, reference: reference)
        }
        var attestationPaths = attestations
        let own = directory + "/attestations"
        if FileStatus.isDirectory(own) { attestationPaths.insert(own, at: 0) }
        var attestationFiles: [File] = []
        let manifestSHA256 = manifest.sha256
        for (bytes, path) in try RebuilderQuorum.documents(paths: attestationPaths) {
            for (source, envelope) in try ReleaseVerifier.envelopes(bytes: bytes, format: path) {
                guard
                    ReproductionAttestation.predicateType(ofPayload: envelope.payload)
                        == ReproductionAttestation.predicateType
                else {
                    throw RegistryError(
                        .destination, reference: reference,
                        "\(source) is not a reproduction attestation (predicateType "
                            + "\(ReproductionAttestation.predicateType))")
                }
                let attestation = try ReproductionAttestation(payload: envelope.payload, format: source)
                guard attestation.manifestSHA256 == manifestSHA256 else {
                    throw RegistryError(
                        .destination, reference: reference,
                        "\(source) attests manifest sha256 \(attestation.manifestSHA256), not this release's "
                            + "\(manifestSHA256)")
                }
            }
            let file = try document(path: path, reference: reference)
            if !attestationFiles.contains(where: { $0.descriptor.digest == file.descriptor.digest }) {
                attestationFiles.append(file)
            }
        }
        return (image, files, signatures, attestationFiles)
    }

    static func document(path: String, reference: String) throws -> File {
        let bytes = try FileInput.contents(of: path, limit: 64 << 20, format: "envelope")
        let name = path.split(separator: "/").last.map(String.init) ?? path
        return File(
            name: name, path: path,
            descriptor: Descriptor(
                mediaType: MediaType.signedDocument(name: name), digest: OCIDigest.of(bytes),
                size: UInt64(bytes.count), annotations: [(titleAnnotation, name)]))
    }

    /// The referrer manifest carrying one document about `subject`.
    static func referrer(_ file: File, artifactType: String, subject: Descriptor) -> ImageManifest {
        ImageManifest(
            artifactType: artifactType, layers: [file.descriptor], subject: subject,
            annotations: [(titleAnnotation, file.name)])
    }

    /// Pushes the release in `directory` (and reproduction attestations: files or directories, plus
    /// `directory/attestations/` when present) to `reference` (which must have a tag).
    public static func push(
        directory: String, attestations: [String] = [], to reference: ImageReference, client: RegistryClient,
        progress: @Sendable (String) -> Void = { _ in }
    ) async throws -> PushReport {
        let ref = reference.description
        guard let tag = reference.tag, reference.digest == nil else {
            throw RegistryError(
                .reference, reference: ref, "push needs a tag and no digest",
                hint: "e.g. \(reference.host)/\(reference.repository):0.1.0")
        }
        let (image, files, signatures, attestationFiles) = try collect(
            directory: directory, attestations: attestations, reference: ref)
        let repository = reference.repository
        try await client.probe(reference: ref, repository: reference.repository, push: true)
        var report = PushReport(reference: ref, digest: image.digest)
        var done = Set<String>()

        func pushBlob(_ name: String, _ descriptor: Descriptor, _ source: BlobSource) async throws {
            guard !done.contains(descriptor.digest) else { return }
            done.insert(descriptor.digest)
            let exists = try await client.blobExists(repository: repository, digest: descriptor.digest, reference: ref)
            if !exists {
                try await client.uploadBlob(
                    repository: repository, digest: descriptor.digest, size: descriptor.size, source: source,
                    reference: ref)
            }
            report.blobs.append(.init(name: name, digest: descriptor.digest, size: descriptor.size, uploaded: !exists))
            progress(
                "blob \(short(descriptor.digest))  \(name)  \(ByteCount.format(descriptor.size))  "
                    + (exists ? "exists, not uploaded again" : "uploaded"))
        }

        try await pushBlob("(empty config)", .empty, .bytes(Descriptor.emptyBytes))
        for file in files { try await pushBlob(file.name, file.descriptor, .file(file.path)) }
        try await client.putManifest(
            repository: repository, bytes: image.bytes, mediaType: MediaType.imageManifest, tagOrDigest: tag,
            reference: ref)
        progress("manifest \(image.digest)  tagged \(tag)")

        let subject = image.descriptor
        var allIndexed = true
        var pushedReferrers: [Descriptor] = []
        let documents =
            signatures.map { ($0, MediaType.releaseSignature) } + attestationFiles.map { ($0, MediaType.reproduction) }
        for (file, type) in documents {
            try await pushBlob(file.name, file.descriptor, .file(file.path))
            let manifest = referrer(file, artifactType: type, subject: subject)
            let indexed = try await client.putManifest(
                repository: repository, bytes: manifest.bytes, mediaType: MediaType.imageManifest,
                tagOrDigest: manifest.digest, reference: ref)
            allIndexed = allIndexed && indexed
            pushedReferrers.append(manifest.descriptor)
            report.referrers.append(.init(name: file.name, artifactType: type, digest: manifest.digest))
            progress("referrer \(short(manifest.digest))  \(file.name)  (\(type))")
        }
        report.referrersAPI = allIndexed && !documents.isEmpty
        if !report.referrersAPI {
            for descriptor in pushedReferrers {
                try await client.addToFallbackIndex(
                    repository: repository, subject: image.digest, descriptor: descriptor, reference: ref)
            }
            if !pushedReferrers.isEmpty {
                progress("referrers listed under tag \(OCIDigest.fallbackTag(image.digest)) (no referrers API)")
            }
        }
        return report
    }

    static func short(_ digest: String) -> String { String(digest.prefix(19)) + "…" }
}

/// Byte counts for people: `11.2 MB`.
enum ByteCount {
    static func format(_ n: UInt64) -> String {
        if n < 1000 { return "\(n) B" }
        let units = ["kB", "MB", "GB", "TB"]
        var value = Double(n) / 1000
        var unit = 0
        while value >= 1000, unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10) \(units[unit])"
    }
}
