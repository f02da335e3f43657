import EnclaveCore
import X509

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

// Checks shared by the per-TEE verifiers.

/// Path validation over an explicit, ordered path (leaf first, pinned root last), with swift-certificates'
/// types and signature verification. The Nitro leaf has no Authority Key Identifier, so the end-entity
/// policy is relaxed (<doc:NitroAttestationDocuments>, "Verification order"): names, signatures, validity, CA flags and key usage, path
/// lengths, no repeated certificate.
enum ChainValidator {
    /// nil when the path is valid at `time` (Unix seconds), else the reason. `signatureIsValid(index)`, when
    /// given, verifies the signature on `path[index]` with its issuer's key instead of the direct check; DCAP
    /// passes one that remembers the signatures on the CA certificates a fleet's quotes share.
    static func validate(
        path: [Certificate], at time: Int64, signatureIsValid: ((Int) -> Bool)? = nil
    ) -> String? {
        let date = Date(timeIntervalSince1970: TimeInterval(time))
        var seen = Set<Certificate>()
        for cert in path where !seen.insert(cert).inserted {
            return "\(cert.subject) appears twice in the chain (a loop)"
        }
        for (i, cert) in path.enumerated() {
            let role = i == 0 ? "the leaf" : (i == path.count - 1 ? "the root" : "intermediate \(path.count - 1 - i)")
            guard cert.notValidBefore <= date, date <= cert.notValidAfter else {
                return "\(role) (\(cert.subject)) is valid \(AttestationTime.format(cert.notValidBefore)) → "
                    + "\(AttestationTime.format(cert.notValidAfter)), not at \(AttestationTime.format(seconds: time))"
            }
            let issuer = i + 1 < path.count ? path[i + 1] : cert
            guard cert.issuer == issuer.subject else {
                return
                    "\(role) was issued by \(cert.issuer), not by the next certificate \(issuer.subject) (wrong order?)"
            }
            guard signatureIsValid?(i) ?? issuer.publicKey.isValidSignature(cert.signature, for: cert) else {
                return "the signature on \(role) (\(cert.subject)) does not verify with its issuer's key"
            }
            if i > 0 {
                guard let constraints = try? cert.extensions.basicConstraints,
                    case .isCertificateAuthority(let maxPathLength) = constraints
                else {
                    return "\(role) (\(cert.subject)) is not a CA (basicConstraints) but issues certificates"
                }
                if let maxPathLength, i - 1 > maxPathLength {
                    return "\(role) (\(cert.subject)) allows \(maxPathLength) intermediates below it, \(i - 1) follow"
                }
                if let usage = try? cert.extensions.keyUsage, !usage.keyCertSign {
                    return "\(role) (\(cert.subject)) may not sign certificates (keyUsage)"
                }
            }
        }
        return nil
    }
}

/// Comparing the evidence's registers with expected values (`--expect`, a release target).
enum Measurements {
    static func check(_ found: [Measurement], _ expected: [Measurement]) -> Check {
        if expected.isEmpty {
            return Check(
                "measurements", ok: true, found.map(\.name).joined(separator: ", ") + " reported, none expected")
        }
        for e in expected {
            guard let value = found.first(where: { $0.name == e.name })?.value else {
                return Check("measurements", ok: false, "the evidence has no \(e.name)")
            }
            guard value == e.value else {
                return Check(
                    "measurements", ok: false, "\(e.name) is \(Hex.encode(value)), expected \(Hex.encode(e.value))")
            }
        }
        return Check("measurements", ok: true, expected.map(\.name).joined(separator: ", ") + " as expected")
    }
}
