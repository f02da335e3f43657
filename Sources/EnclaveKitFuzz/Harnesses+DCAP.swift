import Attestation

/// Fuzz harnesses for the Intel DCAP parsers: the quote (header, bodies, signature data, certification
/// data and the PEM chain inside it, through the verifier without collateral) and the QuoteCollateralV3
/// collateral file (JSON, TCB info, QE identity, CRLs, issuer chains).
let dcapHarnesses: [String: @Sendable ([UInt8]) -> Void] = [
    "dcap-quote": { bytes in
        _ = DCAPQuote.looksLikeQuote(bytes)
        guard let quote = try? DCAPQuote.parse(bytes) else { return }
        _ = DCAPVerifier.measurements(of: quote)
        let inputs = EvidenceInputs(evidence: bytes, name: "fuzz")
        _ = DCAPVerifier.verify(inputs, tee: quote.tee, policy: AttestationPolicy(verificationTime: 1_751_624_655))
    },
    "dcap-collateral": { bytes in
        _ = try? DCAPCollateral.parseAll(bytes)
    },
]
