import EnclaveCore
import Release

/// Fuzz harnesses for the Release module's parsers: the strict JSON parser, DSSE envelopes / Sigstore
/// bundles / manifests (through ``ReleaseDocument``), policies, PEM keys and base64.
let releaseHarnesses: [String: @Sendable ([UInt8]) -> Void] = [
    "release-json": { bytes in
        guard let value = try? JSONParser.parse(bytes) else { return }
        // What parses must re-parse to the same value from its compact and canonical forms.
        let compact = value.serialized(style: .compact)
        guard (try? JSONParser.parse(compact)) == value else { fatalError("JSON round trip changed the value") }
        _ = value.serialized(style: .canonical)
    },
    "release-envelope": { bytes in
        guard let document = try? ReleaseDocument(bytes: bytes, format: "fuzz") else { return }
        switch document {
        case .envelope(let envelope):
            _ = envelope.pae
            _ = try? Statement(payload: envelope.payload, format: "fuzz")
            _ = try? DSSEEnvelope(json: envelope.fileBytes, format: "fuzz")
        case .bundle(let bundle): _ = bundle.fileBytes
        case .manifest(let manifest):
            // Canonical bytes are a fixed point: written, re-read and written again they do not change.
            let bytes = manifest.canonicalBytes
            guard (try? ReleaseManifest(json: bytes, format: "fuzz"))?.canonicalBytes == bytes else {
                fatalError("manifest round trip changed the canonical bytes")
            }
        }
    },
    "release-policy": { bytes in
        _ = try? ReleasePolicy(json: bytes, format: "fuzz") { _ in bytes }
    },
    "release-pem": { bytes in
        _ = try? PEMBlock(parsing: bytes, format: "fuzz")
        _ = try? PublicKey(pem: bytes, format: "fuzz")
        _ = try? SigningKey(pem: bytes, format: "fuzz")
        _ = try? Base64.decode(String(decoding: bytes, as: UTF8.self), format: "fuzz")
    },
]
