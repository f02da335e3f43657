import EnclaveCore

/// DSSE, the Dead Simple Signing Envelope v1.0.2 (secure-systems-lab/dsse `protocol.md`, `envelope.md`).
///
/// ```swift
/// DSSE.pae(type: "http://example.com/HelloWorld", body: Array("hello world".utf8))
/// // "DSSEv1 29 http://example.com/HelloWorld 11 hello world"
/// ```
public enum DSSE {
    /// The payloadType of an in-toto Statement.
    public static let inTotoPayloadType = "application/vnd.in-toto+json"

    /// Pre-Authentication Encoding: `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, LEN being the
    /// ASCII decimal byte count (UTF-8 bytes for the type) with no leading zeros.
    public static func pae(type: String, body: [UInt8]) -> [UInt8] {
        let typeBytes = Array(type.utf8)
        var out = Array("DSSEv1 \(typeBytes.count) ".utf8)
        out += typeBytes
        out += Array(" \(body.count) ".utf8)
        out += body
        return out
    }
}

/// A DSSE envelope: `{"payload", "payloadType", "signatures": [{"keyid", "sig"}]}`.
///
/// Parsing is strict JSON (``JSONParser``) with base64 in either alphabet; unknown fields are ignored as
/// the spec requires. The payload keeps the exact decoded bytes, which are what gets verified and then
/// parsed (never a re-encoding).
///
/// ```swift
/// let envelope = try DSSEEnvelope(json: bytes, format: "release.dsse.json")
/// let message = envelope.pae
/// ```
public struct DSSEEnvelope: Sendable, Equatable {
    /// One signature and its (unauthenticated) key hint.
    public struct Signature: Sendable, Equatable {
        /// The keyid hint; nil when the field is absent (the spec treats absent and empty alike).
        public var keyid: String?
        public var sig: [UInt8]

        public init(keyid: String?, sig: [UInt8]) {
            self.keyid = keyid
            self.sig = sig
        }
    }

    public var payload: [UInt8]
    public var payloadType: String
    public var signatures: [Signature]

    public init(payload: [UInt8], payloadType: String, signatures: [Signature] = []) {
        self.payload = payload
        self.payloadType = payloadType
        self.signatures = signatures
    }

    /// The most signatures an envelope may carry (each is checked against every trusted key).
    public static let maxSignatures = 256

    /// The bytes every signature signs.
    public var pae: [UInt8] { DSSE.pae(type: payloadType, body: payload) }

    /// Parses an envelope document.
    public init(json bytes: [UInt8], format: String) throws {
        try self.init(value: try JSONParser.parse(bytes, format: format), format: format)
    }

    /// Reads an envelope from parsed JSON.
    public init(value: JSONValue, format: String) throws {
        guard case .object = value else {
            throw FormatError(.badValue, format: format, offset: 0, "a DSSE envelope is a JSON object")
        }
        let payloadB64 = try Self.string(
            value["payload"], format: format, missing: "the envelope has no 'payload'",
            notString: "'payload' must be a base64 string")
        let payloadType = try Self.string(
            value["payloadType"], format: format, missing: "the envelope has no 'payloadType'",
            notString: "'payloadType' must be a string")
        guard let signaturesValue = value["signatures"] else {
            throw FormatError(.missing, format: format, offset: 0, "the envelope has no 'signatures'")
        }
        guard case .array(let items) = signaturesValue else {
            throw FormatError(.badValue, format: format, offset: 0, "'signatures' must be an array")
        }
        guard items.count <= DSSEEnvelope.maxSignatures else {
            throw FormatError(
                .tooLarge, format: format, offset: 0,
                "the envelope has \(items.count) signatures, more than the \(DSSEEnvelope.maxSignatures) a release can need"
            )
        }
        self.payload = try Base64.decode(payloadB64, format: "\(format): payload")
        self.payloadType = payloadType
        self.signatures = []
        for (i, item) in items.enumerated() {
            let n = i + 1
            guard case .object = item else {
                throw FormatError(.badValue, format: format, offset: 0, "signature \(n) is not a JSON object")
            }
            let sigText = try Self.string(
                item["sig"], format: format, missing: "signature \(n) has no 'sig'",
                notString: "signature \(n): 'sig' must be a base64 string")
            var keyid: String?
            if let k = item["keyid"] {
                switch k {
                case .string(let s): keyid = s.isEmpty ? nil : s
                case .null: keyid = nil
                default:
                    throw FormatError(.badValue, format: format, offset: 0, "signature \(n): 'keyid' must be a string")
                }
            }
            let sig = try Base64.decode(sigText, format: "\(format): signature \(n) sig")
            signatures.append(Signature(keyid: keyid, sig: sig))
        }
    }

    /// A required string field: `.missing` when absent, `.badValue` when not a string.
    private static func string(_ field: JSONValue?, format: String, missing: String, notString: String) throws
        -> String
    {
        guard let field else { throw FormatError(.missing, format: format, offset: 0, missing) }
        guard let text = field.stringValue else { throw FormatError(.badValue, format: format, offset: 0, notString) }
        return text
    }

    /// The envelope as JSON, fields in the spec's order; `keyid` is written even when empty, because
    /// securesystemslib requires the field.
    public var json: JSONValue {
        .object([
            ("payload", .string(Base64.encode(payload))),
            ("payloadType", .string(payloadType)),
            (
                "signatures",
                .array(
                    signatures.map {
                        .object([("keyid", .string($0.keyid ?? "")), ("sig", .string(Base64.encode($0.sig)))])
                    })
            ),
        ])
    }

    /// Pretty JSON with a trailing newline, as written to files.
    public var fileBytes: [UInt8] { Array((json.serialized(style: .pretty) + "\n").utf8) }
}

/// A key a verifier trusts, with the name people know it by.
///
/// ```swift
/// let alice = TrustedKey(name: "alice", key: try PublicKey(pem: pemBytes, format: "alice.pub.pem"))
/// ```
public struct TrustedKey: Sendable, Equatable {
    public var name: String
    public var key: PublicKey
    /// The keyid signatures by this key are expected to carry (securesystemslib's by default).
    public var keyid: String

    public init(name: String, key: PublicKey, keyid: String? = nil) {
        self.name = name
        self.key = key
        self.keyid = keyid ?? key.keyid
    }
}

/// What a threshold check found, signature by signature (DSSE protocol "multi-signature": an envelope
/// is valid for `(t, n)` when signatures verify against at least `t` of `n` **unique** trusted keys).
///
/// ```swift
/// let result = ThresholdVerifier.verify(envelope, trusted: keys, threshold: 2)
/// result.isMet
/// ```
public struct ThresholdResult: Sendable, Equatable {
    /// The verdict on one signature.
    public enum Status: Sendable, Equatable {
        /// Verified with a trusted key and counted toward the threshold.
        case trusted(keyName: String)
        /// Verified with a trusted key that an earlier signature already counted.
        case duplicate(keyName: String)
        /// The keyid names a trusted key, but the signature does not verify over this payload and type.
        case invalid(keyName: String)
        /// No trusted key verifies it and its keyid names none.
        case untrusted
    }

    /// One signature's verdict.
    public struct Entry: Sendable, Equatable {
        public var index: Int
        public var keyid: String?
        public var status: Status
    }

    public var entries: [Entry]
    public var threshold: Int
    /// Names of the distinct trusted keys that signed, in signature order.
    public var signers: [String]

    public var isMet: Bool { signers.count >= threshold }

    /// One line explaining a failure (empty when the threshold is met): the count, then why each
    /// signature that did not count was rejected.
    public var failureReason: String {
        guard !isMet else { return "" }
        let keys = signers.count == 1 ? "key" : "keys"
        var parts = ["threshold not met: \(signers.count) trusted \(keys) signed, \(threshold) required"]
        if entries.isEmpty { parts.append("the envelope has no signatures") }
        for e in entries {
            let id = e.keyid.map { "keyid \(ThresholdResult.short($0))" } ?? "no keyid"
            switch e.status {
            case .trusted: continue
            case .duplicate(let name):
                parts.append("signature \(e.index) is by \(name) again (a key counts once toward the threshold)")
            case .invalid(let name):
                parts.append(
                    "signature \(e.index) by \(name) (\(id)) does not verify: the payload, payloadType or signature "
                        + "was changed after signing")
            case .untrusted:
                parts.append("signature \(e.index) (\(id)) is not by a key in the policy, or does not verify")
            }
        }
        return parts.joined(separator: "; ")
    }

    static func short(_ keyid: String) -> String { keyid.count > 16 ? String(keyid.prefix(16)) + "…" : keyid }
}

/// Counts distinct trusted keys whose signatures verify over an envelope's PAE.
///
/// The keyid is only a hint (DSSE: "MUST NOT be used for security decisions"): a signature is first
/// tried with the trusted keys whose keyid matches, then with every other trusted key, so envelopes
/// from tools with other keyid schemes still verify. A key counts once however many times it signed.
public enum ThresholdVerifier {
    public static func verify(_ envelope: DSSEEnvelope, trusted: [TrustedKey], threshold: Int) -> ThresholdResult {
        let message = envelope.pae
        var entries: [ThresholdResult.Entry] = []
        var counted = Set<[UInt8]>()
        var signers: [String] = []
        for (i, signature) in envelope.signatures.enumerated() {
            let hinted = trusted.filter { signature.keyid != nil && $0.keyid == signature.keyid }
            let others = trusted.filter { !(signature.keyid != nil && $0.keyid == signature.keyid) }
            let status: ThresholdResult.Status
            if let match = (hinted + others).first(where: { $0.key.isValidSignature(signature.sig, for: message) }) {
                if counted.insert(match.key.spki).inserted {
                    signers.append(match.name)
                    status = .trusted(keyName: match.name)
                } else {
                    status = .duplicate(keyName: match.name)
                }
            } else if let named = hinted.first {
                status = .invalid(keyName: named.name)
            } else {
                status = .untrusted
            }
            entries.append(.init(index: i + 1, keyid: signature.keyid, status: status))
        }
        return ThresholdResult(entries: entries, threshold: threshold, signers: signers)
    }
}
