import Crypto
import EnclaveCore
import X509

// The quoting enclave's report and the quote's ECDSA signature.
extension DCAPRun {
    mutating func qeReport(_ quote: DCAPQuote) {
        guard pckChainTrusted else {
            add("qe-report", false, "not checked: the PCK certificate is not trusted")
            return
        }
        let key = pckChain[0].certificate.publicKey
        guard
            key.isValidSignature(
                Self.derSignature(raw: quote.qeReportSignature), for: quote.qeReport.raw,
                signatureAlgorithm: .ecdsaWithSHA256)
        else {
            add(
                "qe-report", false,
                "the QE report at offset \(quote.qeReportOffset) is not signed by the PCK certificate's key")
            return
        }
        let expected = Digest.sha256(quote.attestationKey + quote.qeAuthData)
        let data = quote.qeReport.reportData
        guard Array(data[0..<32]) == expected, data[32..<64].allSatisfy({ $0 == 0 }) else {
            add(
                "qe-report", false,
                "QE report data \(data.hex) does not bind the attestation key: expected SHA-256(key ‖ auth data) = \(expected.hex) then zeros"
            )
            return
        }
        add("qe-report", true, "signed by the PCK key; report data binds the attestation key and QE auth data")
    }

    mutating func qeIdentityCheck(_ quote: DCAPQuote) {
        guard let identity = qeIdentity else {
            add(
                "qe-identity", false,
                inputs.collateral == nil ? Self.noCollateral : "not evaluated: the collateral did not verify")
            return
        }
        let qe = quote.qeReport
        var problems: [String] = []
        if qe.mrSigner != identity.mrSigner {
            problems.append("MRSIGNER \(qe.mrSigner.hex), expected \(identity.mrSigner.hex)")
        }
        if Int(qe.isvProdID) != identity.isvProdID {
            problems.append("ISVPRODID \(qe.isvProdID), expected \(identity.isvProdID)")
        }
        let misc = qe.raw[16..<20]
        if !zip(zip(misc, identity.miscSelect), identity.miscSelectMask).allSatisfy({ ($0.0 ^ $0.1) & $1 == 0 }) {
            problems.append("MISCSELECT \(Array(misc).hex) does not match \(identity.miscSelect.hex) under the mask")
        }
        if !zip(zip(qe.attributes, identity.attributes), identity.attributesMask).allSatisfy({
            ($0.0 ^ $0.1) & $1 == 0
        }) {
            problems.append("ATTRIBUTES \(qe.attributes.hex) do not match \(identity.attributes.hex) under the mask")
        }
        if qe.isDebug { problems.append("the QE runs in debug mode") }
        guard problems.isEmpty else {
            add("qe-identity", false, "QE report: " + problems.joined(separator: "; "))
            return
        }
        guard let level = identity.levels.first(where: { Int(qe.isvSVN) >= $0.isvSVN }) else {
            add("qe-identity", false, "QE ISVSVN \(qe.isvSVN) is below every level of the QE identity")
            return
        }
        qeVerdict = level.verdict
        add("qe-identity", true, "Intel's \(identity.id), ISVSVN \(qe.isvSVN): QE TCB \(level.verdict.status.rawValue)")
    }

    // MARK: quote signature

    mutating func quoteSignature(_ quote: DCAPQuote) {
        guard let key = try? P256.Signing.PublicKey(rawRepresentation: quote.attestationKey) else {
            add("signature", false, "the attestation key is not a point on P-256")
            return
        }
        guard let sig = try? P256.Signing.ECDSASignature(rawRepresentation: quote.signature),
            key.isValidSignature(sig, for: inputs.evidence[0..<quote.signedLength])
        else {
            add(
                "signature", false,
                "the quote signature does not cover bytes 0…\(quote.signedLength - 1) (header and report body changed, or not made by this attestation key)"
            )
            return
        }
        add("signature", true, "ECDSA P-256 over the header and report body (\(quote.signedLength) bytes)")
    }
}
