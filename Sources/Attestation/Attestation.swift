import EnclaveCore

/// The entry points: which TEE made these bytes, and the verdict on them.
///
/// ```swift
/// var inputs = EvidenceInputs(evidence: bytes, name: "node-1.bin")
/// guard let tee = Attestation.detect(bytes) else { … }
/// let result = Attestation.verify(inputs, tee: tee, policy: AttestationPolicy(verificationTime: now))
/// print(result.verified, result.failed)
/// ```
public enum Attestation {
    /// The TEE that produced `bytes`, from their first bytes, or nil when no format fits: a CBOR
    /// COSE_Sign1 array (optionally tag 18) is Nitro; a 1184-byte report with VERSION 2…5 and
    /// SIGNATURE_ALGO 1 is SEV-SNP; a DCAP quote header (version 3…5, ECDSA-P256 key type 2) is SGX
    /// (TEE type 0) or TDX (0x81).
    public static func detect(_ bytes: [UInt8]) -> TEE? {
        if bytes.first == 0x84 || (bytes.count > 1 && bytes[0] == 0xD2 && bytes[1] == 0x84) { return .nitro }
        if bytes.count == SNPReport.size, let v = bytes.le(UInt32.self, at: 0), (2...5).contains(v),
            bytes.le(UInt32.self, at: 0x34) == 1
        {
            return .sevSNP
        }
        if let v = bytes.le(UInt16.self, at: 0), (3...5).contains(v), bytes.le(UInt16.self, at: 2) == 2,
            let teeType = bytes.le(UInt32.self, at: 4)
        {
            switch teeType {
            case 0: return .sgx
            case 0x81: return .tdx
            default: return nil
            }
        }
        return nil
    }

    /// The TEE of `bytes`, or an error naming `name` that says how to proceed.
    public static func detect(_ bytes: [UInt8], name: String) throws(FormatError) -> TEE {
        guard let tee = detect(bytes) else {
            throw FormatError(
                .badMagic, format: "evidence", offset: 0,
                "not a Nitro attestation document, an SEV-SNP report or a DCAP quote "
                    + "(\(bytes.count) bytes; give --tee when the format is known)", file: name)
        }
        return tee
    }

    /// Verifies evidence of `tee` (detect it first when unknown); with `release`, also checks the
    /// evidence against that verified release's target for the TEE (the `release` check).
    public static func verify(
        _ inputs: EvidenceInputs, tee: TEE, policy: AttestationPolicy, release: AttestationRelease? = nil,
        target: String? = nil
    ) -> AttestationResult {
        var result: AttestationResult
        switch tee {
        case .nitro: result = NitroVerifier.verify(inputs, policy: policy)
        case .sevSNP: result = SNPVerifier.verify(inputs, policy: policy)
        case .tdx, .sgx: result = DCAPVerifier.verify(inputs, tee: tee, policy: policy)
        }
        if let release { release.check(&result, target: target) }
        return result
    }
}

extension AttestationResult {
    /// `{"verified", "tee", "verificationTime", "checks", "failed", "measurements", "tcbStatus",
    /// "advisories", "release"}`; `evidence` names the file.
    public func json(evidence: String) -> JSONValue {
        .object([
            ("evidence", .string(evidence)),
            ("verified", .bool(verified)),
            ("tee", .string(tee.rawValue)),
            ("verificationTime", .string(AttestationTime.format(seconds: verificationTime))),
            (
                "checks",
                .array(
                    checks.map {
                        .object([("id", .string($0.id)), ("ok", .bool($0.ok)), ("detail", .string($0.detail))])
                    })
            ),
            ("failed", .array(failed.map { .string($0) })),
            ("measurements", .object(measurements.map { ($0.name, .string(Hex.encode($0.value))) })),
            ("tcbStatus", tcbStatus.map { .string($0) } ?? .null),
            ("advisories", .array(advisories.map { .string($0) })),
            (
                "release",
                release.map {
                    .object([
                        ("name", .string($0.name)), ("version", .string($0.version)), ("target", .string($0.target)),
                        ("matches", .bool($0.matches)),
                    ])
                } ?? .null
            ),
        ])
    }
}
