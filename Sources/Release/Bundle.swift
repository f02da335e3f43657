import EnclaveCore

/// A Sigstore bundle v0.3 carrying a DSSE envelope (`protos/sigstore_bundle.proto`), for users of
/// cosign-style tooling: exactly one signature, a `publicKey.hint` equal to its keyid, and no
/// transparency-log entries (a self-managed key, verified offline).
///
/// ```swift
/// let bundle = try SigstoreBundle(envelope: envelope)
/// let bytes = bundle.fileBytes
/// ```
public struct SigstoreBundle: Sendable, Equatable {
    public static let mediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"
    /// Media types a reader must still accept (v0.1–v0.3, old and new spellings).
    public static let acceptedMediaTypes: Set<String> = [
        "application/vnd.dev.sigstore.bundle.v0.3+json",
        "application/vnd.dev.sigstore.bundle+json;version=0.3",
        "application/vnd.dev.sigstore.bundle+json;version=0.2",
        "application/vnd.dev.sigstore.bundle+json;version=0.1",
    ]

    public var envelope: DSSEEnvelope
    /// `verificationMaterial.publicKey.hint`: the signature's keyid.
    public var hint: String

    /// Wraps a one-signature envelope.
    public init(envelope: DSSEEnvelope) throws {
        guard envelope.signatures.count == 1, let only = envelope.signatures.first else {
            throw ReleaseError(
                .bundle,
                "a Sigstore bundle carries exactly one signature, this envelope has \(envelope.signatures.count); "
                    + "publish one bundle per signer, or use --format dsse for a multi-signature envelope")
        }
        self.envelope = envelope
        self.hint = only.keyid ?? ""
    }

    /// Reads a bundle whose content is a DSSE envelope.
    public init(value: JSONValue, format: String) throws {
        guard let mediaType = value["mediaType"]?.stringValue, SigstoreBundle.acceptedMediaTypes.contains(mediaType)
        else {
            throw ReleaseError(.bundle, "not a Sigstore bundle v0.1–v0.3 (unknown mediaType)", file: format)
        }
        guard let dsse = value["dsseEnvelope"] else {
            throw ReleaseError(
                .bundle, "the bundle has no dsseEnvelope (message signatures are not release manifests)", file: format)
        }
        let envelope = try DSSEEnvelope(value: dsse, format: "\(format): dsseEnvelope")
        guard envelope.signatures.count == 1, let only = envelope.signatures.first else {
            throw ReleaseError(
                .bundle,
                "a bundle's DSSE envelope must have exactly one signature, it has \(envelope.signatures.count)",
                file: format)
        }
        let hint = value["verificationMaterial"]?["publicKey"]?["hint"]?.stringValue ?? ""
        if !hint.isEmpty, let keyid = only.keyid, keyid != hint {
            throw ReleaseError(.bundle, "the bundle's publicKey.hint differs from the signature's keyid", file: format)
        }
        self.envelope = envelope
        self.hint = hint
    }

    public var json: JSONValue {
        .object([
            ("mediaType", .string(SigstoreBundle.mediaType)),
            ("verificationMaterial", .object([("publicKey", .object([("hint", .string(hint))]))])),
            ("dsseEnvelope", envelope.json),
        ])
    }

    /// Pretty JSON with a trailing newline.
    public var fileBytes: [UInt8] { Array((json.serialized(style: .pretty) + "\n").utf8) }
}

/// A document `sign` and `verify` accept: an unsigned manifest, a DSSE envelope or a Sigstore bundle.
///
/// ```swift
/// switch try ReleaseDocument(bytes: bytes, format: path) { case .manifest(let m): … }
/// ```
public enum ReleaseDocument: Sendable {
    case manifest(ReleaseManifest)
    case envelope(DSSEEnvelope)
    case bundle(SigstoreBundle)

    public init(bytes: [UInt8], format: String) throws {
        let value = try JSONParser.parse(bytes, format: format)
        guard case .object = value else {
            throw FormatError(
                .badValue, format: format, offset: 0, "expected a JSON object (manifest, envelope or bundle)")
        }
        if value["mediaType"] != nil {
            self = .bundle(try SigstoreBundle(value: value, format: format))
        } else if value["payload"] != nil || value["signatures"] != nil || value["payloadType"] != nil {
            self = .envelope(try DSSEEnvelope(value: value, format: format))
        } else if value["schemaVersion"] != nil {
            self = .manifest(try ReleaseManifest(value: value, format: format))
        } else {
            throw FormatError(
                .badValue, format: format, offset: 0,
                "not a release manifest (no schemaVersion), DSSE envelope (no payload) or Sigstore bundle (no mediaType)"
            )
        }
    }

    /// The release manifest the document carries: the manifest itself, or the predicate of the Statement
    /// an envelope or bundle signs. Signatures are not checked here (that is ``ReleaseVerifier``).
    public func manifest(format: String) throws -> ReleaseManifest {
        switch self {
        case .manifest(let m): m
        case .envelope(let e): try Statement(payload: e.payload, format: format).manifest
        case .bundle(let b): try Statement(payload: b.envelope.payload, format: format).manifest
        }
    }

    /// Whether it is signed (an envelope or a bundle) rather than a bare manifest.
    public var isSigned: Bool {
        if case .manifest = self { return false }
        return true
    }
}
