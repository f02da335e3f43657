import EnclaveCore

/// Media types of the OCI image spec 1.1 and of this project's release artifacts.
public enum MediaType {
    public static let imageManifest = "application/vnd.oci.image.manifest.v1+json"
    public static let imageIndex = "application/vnd.oci.image.index.v1+json"
    /// The empty descriptor's media type (image spec 1.1, "Guidance for an empty descriptor").
    public static let empty = "application/vnd.oci.empty.v1+json"
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    public static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"

    /// `artifactType` of a release: the release manifest, its artifacts, one layer each.
    public static let release = "application/vnd.enclavekit.release.v1+json"
    /// `artifactType` of a referrer carrying maintainer signatures (an envelope, bundle or .intoto.jsonl).
    public static let releaseSignature = "application/vnd.enclavekit.release.signature.v1+json"
    /// `artifactType` of a referrer carrying a reproduction attestation (`rebuild --sign`).
    public static let reproduction = "application/vnd.enclavekit.reproduction.v1+json"

    /// The layer holding the release manifest (`manifest.json`).
    public static let releaseManifest = "application/vnd.enclavekit.release.manifest.v1+json"
    public static let dsseEnvelope = "application/vnd.dsse.envelope.v1+json"
    public static let sigstoreBundle = "application/vnd.dev.sigstore.bundle.v0.3+json"
    public static let inTotoLines = "application/vnd.in-toto.bundle.v1+jsonl"

    /// Accepted when reading manifests.
    public static let manifestAccept = [imageManifest, imageIndex, dockerManifest, dockerManifestList]

    /// The layer media type of a signed document, from its file name.
    public static func signedDocument(name: String) -> String {
        if name.hasSuffix(".sigstore.json") { return sigstoreBundle }
        if name.hasSuffix(".intoto.jsonl") { return inTotoLines }
        return dsseEnvelope
    }

    /// The layer media type of a release artifact, from its file name (its last suffix).
    public static func artifact(name: String) -> String {
        let base = name.split(separator: "/").last.map(String.init) ?? name
        let known: [(String, String)] = [
            (".eif", "application/vnd.enclavekit.artifact.eif"),
            (".fd", "application/vnd.enclavekit.artifact.firmware"),
            (".cpio", "application/vnd.enclavekit.artifact.cpio"),
            (".elf", "application/vnd.enclavekit.artifact.elf"),
            (".so", "application/vnd.enclavekit.artifact.elf"),
            (".sig", "application/vnd.enclavekit.artifact.sgx-sigstruct"),
            (".sgxs", "application/vnd.enclavekit.artifact.sgxs"),
        ]
        if let (_, type) = known.first(where: { base.hasSuffix($0.0) }) { return type }
        if base == "kernel" || base.hasPrefix("vmlinuz") || base == "bzImage" {
            return "application/vnd.enclavekit.artifact.kernel"
        }
        if base == "cmdline" { return "application/vnd.enclavekit.artifact.cmdline" }
        return "application/octet-stream"
    }
}

/// The annotation that names a layer's file (what ORAS and other clients use on pull).
public let titleAnnotation = "org.opencontainers.image.title"

/// An OCI content descriptor (image spec 1.1, "Descriptors").
public struct Descriptor: Sendable, Equatable {
    public var mediaType: String
    public var digest: String
    public var size: UInt64
    public var artifactType: String?
    public var annotations: [(String, String)]

    public init(
        mediaType: String, digest: String, size: UInt64, artifactType: String? = nil,
        annotations: [(String, String)] = []
    ) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.artifactType = artifactType
        self.annotations = annotations
    }

    /// The empty descriptor: the bytes `{}`.
    public static let empty = Descriptor(
        mediaType: MediaType.empty, digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
        size: 2)
    public static let emptyBytes: [UInt8] = Array("{}".utf8)

    public var title: String? { annotations.first { $0.0 == titleAnnotation }?.1 }

    public static func == (lhs: Descriptor, rhs: Descriptor) -> Bool {
        lhs.json == rhs.json
    }

    public var json: JSONValue {
        var fields: [(String, JSONValue)] = [
            ("mediaType", .string(mediaType)), ("digest", .string(digest)), ("size", .int(size)),
        ]
        if let artifactType { fields.append(("artifactType", .string(artifactType))) }
        if !annotations.isEmpty {
            fields.append(("annotations", .object(annotations.map { ($0.0, .string($0.1)) })))
        }
        return .object(fields)
    }

    /// Reads a descriptor; `at` names where it is in the document for errors.
    init(json: JSONValue, at path: String, reference: String) throws(RegistryError) {
        func fail(_ why: String) -> RegistryError {
            RegistryError(.manifest, reference: reference, "\(path): \(why)")
        }
        guard case .object = json else { throw fail("expected a descriptor object") }
        guard let mediaType = json["mediaType"]?.stringValue, !mediaType.isEmpty else {
            throw fail("missing field 'mediaType'")
        }
        guard let digest = json["digest"]?.stringValue else { throw fail("missing field 'digest'") }
        guard OCIDigest.isValid(digest) else {
            throw fail("digest '\(digest)' is not sha256: and 64 lowercase hex (the only algorithm accepted)")
        }
        guard case .number(let sizeText) = json["size"], let size = UInt64(sizeText) else {
            throw fail("missing or invalid field 'size' (a non-negative integer)")
        }
        var annotations: [(String, String)] = []
        if let value = json["annotations"] {
            guard case .object(let pairs) = value else { throw fail("'annotations' is not an object") }
            for (key, v) in pairs {
                guard let s = v.stringValue else { throw fail("annotation '\(key)' is not a string") }
                annotations.append((key, s))
            }
        }
        self.init(
            mediaType: mediaType, digest: digest, size: size, artifactType: json["artifactType"]?.stringValue,
            annotations: annotations)
    }
}

/// An OCI image manifest used as an artifact (image spec 1.1, "Image Manifest"; "Guidelines for
/// Artifact Usage"): `artifactType`, the empty config, one layer per file and an optional `subject`.
/// ``bytes`` are canonical JSON (keys sorted, no whitespace), so the same content has the same digest.
///
/// ```swift
/// let m = ImageManifest(artifactType: MediaType.release, layers: [layer])
/// try await client.putManifest(m.bytes, mediaType: MediaType.imageManifest, reference: "0.1.0")
/// ```
public struct ImageManifest: Sendable, Equatable {
    public var artifactType: String?
    public var config: Descriptor
    public var layers: [Descriptor]
    public var subject: Descriptor?
    public var annotations: [(String, String)]

    public init(
        artifactType: String?, config: Descriptor = .empty, layers: [Descriptor], subject: Descriptor? = nil,
        annotations: [(String, String)] = []
    ) {
        self.artifactType = artifactType
        self.config = config
        self.layers = layers
        self.subject = subject
        self.annotations = annotations
    }

    public static func == (lhs: ImageManifest, rhs: ImageManifest) -> Bool { lhs.bytes == rhs.bytes }

    public var json: JSONValue {
        var fields: [(String, JSONValue)] = [
            ("schemaVersion", .int(2)), ("mediaType", .string(MediaType.imageManifest)),
        ]
        if let artifactType { fields.append(("artifactType", .string(artifactType))) }
        fields.append(("config", config.json))
        fields.append(("layers", .array(layers.map(\.json))))
        if let subject { fields.append(("subject", subject.json)) }
        if !annotations.isEmpty {
            fields.append(("annotations", .object(annotations.map { ($0.0, .string($0.1)) })))
        }
        return .object(fields)
    }

    /// Canonical JSON bytes: what is pushed, and what the digest is of.
    public var bytes: [UInt8] { Array(json.serialized(style: .canonical).utf8) }
    public var digest: String { OCIDigest.of(bytes) }
    public var descriptor: Descriptor {
        Descriptor(
            mediaType: MediaType.imageManifest, digest: digest, size: UInt64(bytes.count), artifactType: artifactType,
            annotations: annotations)
    }

    /// Parses manifest bytes from a registry (after their digest was checked).
    public init(bytes: [UInt8], reference: String) throws(RegistryError) {
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes, format: "manifest", limits: .init(maxDepth: 16, maxBytes: 4 << 20))
        } catch {
            throw RegistryError(.manifest, reference: reference, "the manifest is not JSON: \(error.message)")
        }
        guard case .number(let version) = value["schemaVersion"], version == "2" else {
            throw RegistryError(.manifest, reference: reference, "schemaVersion is not 2")
        }
        let mediaType = value["mediaType"]?.stringValue
        guard mediaType == nil || mediaType == MediaType.imageManifest else {
            throw RegistryError(
                .manifest, reference: reference,
                "mediaType is \(mediaType ?? "") (expected \(MediaType.imageManifest), an artifact manifest)")
        }
        guard let configValue = value["config"] else {
            throw RegistryError(.manifest, reference: reference, "missing field 'config'")
        }
        config = try Descriptor(json: configValue, at: "config", reference: reference)
        guard case .array(let items) = value["layers"] else {
            throw RegistryError(.manifest, reference: reference, "missing field 'layers' (an array)")
        }
        var layers: [Descriptor] = []
        for (i, item) in items.enumerated() {
            layers.append(try Descriptor(json: item, at: "layers[\(i)]", reference: reference))
        }
        self.layers = layers
        subject = try value["subject"].map { v throws(RegistryError) in
            try Descriptor(json: v, at: "subject", reference: reference)
        }
        var artifactType = value["artifactType"]?.stringValue
        if artifactType == nil, config.mediaType != MediaType.empty { artifactType = config.mediaType }
        self.artifactType = artifactType
        var annotations: [(String, String)] = []
        if case .object(let pairs) = value["annotations"] {
            for (k, v) in pairs { if let s = v.stringValue { annotations.append((k, s)) } }
        }
        self.annotations = annotations
    }
}

/// An OCI image index (image spec 1.1, "Image Index"): what the referrers API answers, and what the
/// referrers tag schema (`sha256-HEX`) stores.
public struct ImageIndex: Sendable, Equatable {
    public var manifests: [Descriptor]

    public init(manifests: [Descriptor]) { self.manifests = manifests }

    public var json: JSONValue {
        .object([
            ("schemaVersion", .int(2)), ("mediaType", .string(MediaType.imageIndex)),
            ("manifests", .array(manifests.map(\.json))),
        ])
    }

    public var bytes: [UInt8] { Array(json.serialized(style: .canonical).utf8) }

    public init(bytes: [UInt8], reference: String) throws(RegistryError) {
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes, format: "index", limits: .init(maxDepth: 16, maxBytes: 4 << 20))
        } catch {
            throw RegistryError(.manifest, reference: reference, "the image index is not JSON: \(error.message)")
        }
        guard case .array(let items) = value["manifests"] else {
            throw RegistryError(.manifest, reference: reference, "the image index has no 'manifests' array")
        }
        var manifests: [Descriptor] = []
        for (i, item) in items.enumerated() {
            manifests.append(try Descriptor(json: item, at: "manifests[\(i)]", reference: reference))
        }
        self.manifests = manifests
    }
}
