import EnclaveCore
import Nitro

/// An AWS Nitro Enclaves attestation document: a CBOR COSE_Sign1 (RFC 9052 §4.2) whose payload is the
/// NSM's map of `module_id`, `digest`, `timestamp`, `pcrs`, `certificate`, `cabundle` and the optional
/// `public_key`, `user_data`, `nonce` (aws-nitro-enclaves-nsm-api `docs/attestation_process.md`;
/// <doc:NitroAttestationDocuments>).
///
/// Parsing is strict: CBOR with shortest heads and no duplicate keys, the protected header exactly
/// `{1: -35}` (ES384), every payload key known and typed. The exact protected-header and payload bytes
/// are kept, since the signature covers them.
///
/// ```swift
/// let doc = try NitroDocument(bytes: evidence)
/// let pcr0 = doc.pcrs[0]
/// ```
public struct NitroDocument: Sendable {
    public static let format = "Nitro attestation document"
    /// The largest document accepted (the NSM writes about 4.5 KiB; a 16 KiB CBOR buffer is its limit).
    public static let maxSize = 64 * 1024

    /// The protected header bstr, exactly as stored (covered by the signature).
    public let protectedHeader: [UInt8]
    /// The payload bstr, exactly as stored (covered by the signature).
    public let payload: [UInt8]
    /// r‖s, 48 bytes each, big-endian.
    public let signature: [UInt8]

    public let moduleID: String
    public let digest: String
    /// Milliseconds since the Unix epoch, as the NSM signed it.
    public let timestamp: UInt64
    /// PCR index → value, in the order of the document.
    public let pcrs: [(index: Int, value: [UInt8])]
    /// The leaf certificate (DER).
    public let certificate: [UInt8]
    /// DER certificates, root first: `[ROOT, INTERM_1, …, INTERM_N]`.
    public let cabundle: [[UInt8]]
    public let publicKey: [UInt8]?
    public let userData: [UInt8]?
    public let nonce: [UInt8]?

    public func pcr(_ index: Int) -> [UInt8]? { pcrs.first { $0.index == index }?.value }

    /// The COSE Sig_structure the signature covers: `["Signature1", protected, h'', payload]`.
    public var signedBytes: [UInt8] {
        CBOR.array([.text("Signature1"), .bytes(protectedHeader), .bytes([]), .bytes(payload)]).encoded()
    }

    public init(bytes: [UInt8]) throws(FormatError) {
        func fail(_ kind: FormatError.Kind, _ offset: Int, _ message: String) -> FormatError {
            FormatError(kind, format: Self.format, offset: offset, message)
        }
        guard bytes.count <= Self.maxSize else {
            throw fail(.tooLarge, Self.maxSize, "document is \(bytes.count) bytes, more than \(Self.maxSize)")
        }
        var item = try CBORDecoder().decode(bytes)
        var offset = 0
        // COSE_Sign1 may carry its tag (18); the NSM writes it untagged.
        if case .tagged(let tag, let inner) = item {
            guard tag == 18 else { throw fail(.badValue, 0, "CBOR tag \(tag) is not COSE_Sign1 (18)") }
            item = inner
            offset = 1
        }
        guard case .array(let parts) = item, parts.count == 4 else {
            throw fail(.badValue, offset, "expected a COSE_Sign1 array of 4 items")
        }
        offset += 1
        guard case .bytes(let protected) = parts[0] else {
            throw fail(.badValue, offset, "the protected header is not a byte string")
        }
        let protectedMap = try CBORDecoder().decode(
            protected, baseOffset: UInt64(offset + Self.headSize(protected.count)))
        guard protectedMap == .map([(.unsigned(1), .negative(34))]) else {
            throw fail(.unsupported, offset, "the protected header is not {1: -35} (alg ES384, nothing else)")
        }
        offset += parts[0].encoded().count
        guard case .map = parts[1] else { throw fail(.badValue, offset, "the unprotected header is not a map") }
        offset += parts[1].encoded().count
        guard case .bytes(let payload) = parts[2], !payload.isEmpty else {
            throw fail(.badValue, offset, "the payload is not a non-empty byte string")
        }
        let payloadStart = offset + Self.headSize(payload.count)
        offset += parts[2].encoded().count
        guard case .bytes(let signature) = parts[3], signature.count == 96 else {
            throw fail(.badValue, offset, "the signature is not a 96-byte ES384 r‖s byte string")
        }
        self.protectedHeader = protected
        self.payload = payload
        self.signature = signature

        let map = try CBORDecoder().decode(payload, baseOffset: UInt64(payloadStart))
        guard case .map(let pairs) = map else { throw fail(.badValue, payloadStart, "the payload is not a CBOR map") }
        var fields: [String: (CBOR, Int)] = [:]
        var at = payloadStart + Self.headSize(pairs.count)
        for (key, value) in pairs {
            guard case .text(let name) = key else {
                throw fail(.badValue, at, "payload key \(key.briefDescription) is not a text string")
            }
            let valueAt = at + key.encoded().count
            fields[name] = (value, valueAt)
            at = valueAt + value.encoded().count
        }
        let known: Set<String> = [
            "module_id", "digest", "timestamp", "pcrs", "certificate", "cabundle", "public_key", "user_data", "nonce",
        ]
        if let unknown = pairs.compactMap({ $0.0.textString }).first(where: { !known.contains($0) }) {
            throw fail(.badValue, fields[unknown]?.1 ?? payloadStart, "unknown payload key \"\(unknown)\"")
        }
        func required(_ name: String) throws(FormatError) -> (CBOR, Int) {
            guard let field = fields[name] else {
                throw fail(.missing, payloadStart, "the payload has no \"\(name)\"")
            }
            return field
        }
        func bstr(_ name: String, _ sizes: ClosedRange<Int>) throws(FormatError) -> [UInt8]? {
            guard let (value, at) = fields[name] else { return nil }
            if value == .null { return nil }
            guard case .bytes(let b) = value, sizes.contains(b.count) else {
                throw fail(
                    .badValue, at, "\"\(name)\" is not a byte string of \(sizes.lowerBound)…\(sizes.upperBound) bytes")
            }
            return b
        }

        let (moduleValue, moduleAt) = try required("module_id")
        guard case .text(let moduleID) = moduleValue, !moduleID.isEmpty else {
            throw fail(.badValue, moduleAt, "\"module_id\" is not a non-empty text string")
        }
        let (digestValue, digestAt) = try required("digest")
        guard digestValue == .text("SHA384") else {
            throw fail(.unsupported, digestAt, "\"digest\" is \(digestValue.briefDescription), expected \"SHA384\"")
        }
        let (timeValue, timeAt) = try required("timestamp")
        guard case .unsigned(let timestamp) = timeValue, timestamp > 0 else {
            throw fail(.badValue, timeAt, "\"timestamp\" is not a positive integer (milliseconds)")
        }
        let (pcrValue, pcrAt) = try required("pcrs")
        guard case .map(let pcrPairs) = pcrValue, (1...32).contains(pcrPairs.count) else {
            throw fail(.badValue, pcrAt, "\"pcrs\" is not a map of 1…32 entries")
        }
        var pcrs: [(index: Int, value: [UInt8])] = []
        for (k, v) in pcrPairs {
            guard case .unsigned(let index) = k, index < 32 else {
                throw fail(.badValue, pcrAt, "PCR index \(k.briefDescription) is not an integer 0…31")
            }
            guard case .bytes(let value) = v, [32, 48, 64].contains(value.count) else {
                throw fail(.badValue, pcrAt, "PCR\(index) is not a 32, 48 or 64-byte string")
            }
            pcrs.append((Int(index), value))
        }
        guard let certificate = try bstr("certificate", 1...1024) else {
            throw fail(.missing, payloadStart, "the payload has no \"certificate\"")
        }
        let (bundleValue, bundleAt) = try required("cabundle")
        guard case .array(let bundleItems) = bundleValue, !bundleItems.isEmpty else {
            throw fail(.badValue, bundleAt, "\"cabundle\" is not a non-empty array")
        }
        var cabundle: [[UInt8]] = []
        for (i, item) in bundleItems.enumerated() {
            guard case .bytes(let der) = item, (1...1024).contains(der.count) else {
                throw fail(.badValue, bundleAt, "cabundle[\(i)] is not a DER certificate of 1…1024 bytes")
            }
            cabundle.append(der)
        }
        self.moduleID = moduleID
        self.digest = "SHA384"
        self.timestamp = timestamp
        self.pcrs = pcrs
        self.certificate = certificate
        self.cabundle = cabundle
        self.publicKey = try bstr("public_key", 1...1024)
        self.userData = try bstr("user_data", 0...1024)
        self.nonce = try bstr("nonce", 0...1024)
    }

    /// The size of a CBOR head for a string or container of `count` (shortest form).
    static func headSize(_ count: Int) -> Int {
        switch count {
        case 0..<24: 1
        case 24...0xff: 2
        case 0x100...0xffff: 3
        case 0x1_0000...0xffff_ffff: 5
        default: 9
        }
    }
}
