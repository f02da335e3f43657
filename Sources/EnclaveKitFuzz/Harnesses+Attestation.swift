import Attestation

/// Fuzz harnesses for the attestation parsers of the Nitro and SEV-SNP verifiers: the COSE_Sign1/CBOR
/// attestation document (parsed, then the whole verifier with the pinned root), the SNP report (parsed,
/// then verified without a VCEK) and AMD's RSA-PSS certificates (SwiftASN1 reader).
let attestationHarnesses: [String: @Sendable ([UInt8]) -> Void] = [
    "attest-nitro-document": { bytes in
        _ = try? NitroDocument(bytes: bytes)
        _ = Attestation.detect(bytes)
        _ = NitroVerifier.verify(
            EvidenceInputs(evidence: bytes, name: "fuzz"), policy: AttestationPolicy(verificationTime: 1_665_651_482))
    },
    "attest-snp-report": { bytes in
        _ = try? SNPReport(bytes: bytes)
        var inputs = EvidenceInputs(evidence: bytes, name: "fuzz")
        inputs.product = "Milan"
        _ = SNPVerifier.verify(inputs, policy: AttestationPolicy(verificationTime: 1_780_000_000))
    },
    "attest-snp-cert-table": { bytes in
        guard let table = try? SNPCertificateTable(bytes: bytes) else { return }
        for entry in table.entries { _ = try? AMDCertificate(der: entry.der) }
    },
    "attest-amd-certificate": { bytes in
        guard let certs = try? AMDCertificate.parseAll(bytes, name: "fuzz") else { return }
        for cert in certs {
            _ = cert.isCA
            _ = cert.p384Key
            _ = cert.verifies(cert)
        }
    },
]
