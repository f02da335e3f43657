import Crypto
import EnclaveCore
import Nitro
import SwiftASN1
import X509

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Verifies a Nitro attestation document in the order of <doc:NitroAttestationDocuments>: structure, pinned AWS
/// root, the chain `certificate ← cabundle[N] ← … ← cabundle[1] ← root` at the verification time, the
/// ES384 COSE signature over the exact Sig_structure, debug PCRs, freshness (`nonce`, `user_data`), and
/// the measurements (PCR0…).
///
/// ```swift
/// let result = NitroVerifier.verify(EvidenceInputs(evidence: bytes, name: "doc.cbor"), policy: policy)
/// ```
public enum NitroVerifier {
    /// SHA-256 of the DER of "AWS Nitro Enclaves Root G1" (CN=aws.nitro-enclaves, valid 2019-10-28 → 2049-10-28).
    public static let pinnedRootSHA256 = "641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b"

    /// The pinned root itself (public, from https://aws-nitro-enclaves.amazonaws.com/AWS_NitroEnclaves_Root-G1.zip).
    static let pinnedRootPEM = """
        -----BEGIN CERTIFICATE-----
        MIICETCCAZagAwIBAgIRAPkxdWgbkK/hHUbMtOTn+FYwCgYIKoZIzj0EAwMwSTEL
        MAkGA1UEBhMCVVMxDzANBgNVBAoMBkFtYXpvbjEMMAoGA1UECwwDQVdTMRswGQYD
        VQQDDBJhd3Mubml0cm8tZW5jbGF2ZXMwHhcNMTkxMDI4MTMyODA1WhcNNDkxMDI4
        MTQyODA1WjBJMQswCQYDVQQGEwJVUzEPMA0GA1UECgwGQW1hem9uMQwwCgYDVQQL
        DANBV1MxGzAZBgNVBAMMEmF3cy5uaXRyby1lbmNsYXZlczB2MBAGByqGSM49AgEG
        BSuBBAAiA2IABPwCVOumCMHzaHDimtqQvkY4MpJzbolL//Zy2YlES1BR5TSksfbb
        48C8WBoyt7F2Bw7eEtaaP+ohG2bnUs990d0JX28TcPQXCEPZ3BABIeTPYwEoCWZE
        h8l5YoQwTcU/9KNCMEAwDwYDVR0TAQH/BAUwAwEB/zAdBgNVHQ4EFgQUkCW1DdkF
        R+eWw5b6cp3PmanfS5YwDgYDVR0PAQH/BAQDAgGGMAoGCCqGSM49BAMDA2kAMGYC
        MQCjfy+Rocm9Xue4YnwWmNJVA44fA0P5W2OpYow9OYCVRaEevL8uO1XYru5xtMPW
        rfMCMQCi85sWBbJwKKXdS6BptQFuZbT73o/gBh1qUxl/nNr12UO8Yfwr6wPLb+6N
        IwLz3/Y=
        -----END CERTIFICATE-----
        """

    /// The pinned root as DER.
    public static var pinnedRootDER: [UInt8] {
        (try? PEMDocument(pemString: pinnedRootPEM).derBytes) ?? []
    }

    public static func verify(_ inputs: EvidenceInputs, policy: AttestationPolicy) -> AttestationResult {
        verify(inputs, policy: policy, trustedRoot: pinnedRootDER)
    }

    /// `trustedRoot` is the DER of the root to pin; only tests pass another one (documents they made).
    public static func verify(
        _ inputs: EvidenceInputs, policy: AttestationPolicy, trustedRoot: [UInt8]
    ) -> AttestationResult {
        var result = AttestationResult(tee: .nitro, verificationTime: policy.verificationTime)
        let doc: NitroDocument
        do {
            doc = try NitroDocument(bytes: inputs.evidence)
        } catch {
            result.checks.append(Check("structure", ok: false, error.in(file: inputs.name).description))
            return result
        }
        result.measurements = doc.pcrs.sorted { $0.index < $1.index }.map { Measurement("PCR\($0.index)", $0.value) }
        result.checks.append(
            Check(
                "structure", ok: true,
                "COSE_Sign1 ES384, module \(doc.moduleID), \(doc.pcrs.count) PCRs, "
                    + "\(doc.cabundle.count + 1) certificates, signed at \(AttestationTime.format(milliseconds: doc.timestamp))"
            ))

        // Root: the bundle's root is only compared with the pin.
        let rootHash = Hex.encode(Array(SHA256.hash(data: doc.cabundle[0])))
        let trustedHash = Hex.encode(Array(SHA256.hash(data: trustedRoot)))
        guard rootHash == trustedHash else {
            result.checks.append(
                Check(
                    "root", ok: false,
                    "cabundle[0] has SHA-256 \(rootHash), not the pinned AWS Nitro Enclaves root \(trustedHash) "
                        + "(cabundle must be root first)"))
            return result
        }
        result.checks.append(Check("root", ok: true, "cabundle[0] is the pinned root (SHA-256 \(trustedHash))"))

        // Chain: leaf ← cabundle[N] ← … ← cabundle[1] ← pinned root, in exactly that order.
        let leaf: Certificate
        do {
            leaf = try Certificate(derEncoded: doc.certificate)
            let root = try Certificate(derEncoded: trustedRoot)
            var path = [leaf]
            for der in doc.cabundle.dropFirst().reversed() { path.append(try Certificate(derEncoded: der)) }
            path.append(root)
            if let problem = ChainValidator.validate(path: path, at: policy.verificationTime) {
                result.checks.append(Check("chain", ok: false, problem))
                return result
            }
            result.checks.append(
                Check(
                    "chain", ok: true,
                    "\(path.count) certificates valid at \(AttestationTime.format(seconds: policy.verificationTime)); "
                        + "leaf valid until \(AttestationTime.format(leaf.notValidAfter))"))
        } catch {
            result.checks.append(
                Check("chain", ok: false, "a certificate of the document is not valid X.509: \(error)"))
            return result
        }

        // Signature over the exact Sig_structure.
        guard let key = P384.Signing.PublicKey(leaf.publicKey),
            let signature = try? P384.Signing.ECDSASignature(rawRepresentation: doc.signature)
        else {
            result.checks.append(Check("signature", ok: false, "the leaf certificate's key is not ECDSA P-384"))
            return result
        }
        guard key.isValidSignature(signature, for: doc.signedBytes) else {
            result.checks.append(
                Check(
                    "signature", ok: false, "the ES384 COSE signature does not verify with the leaf certificate's key"))
            return result
        }
        result.checks.append(Check("signature", ok: true, "ES384 over the COSE Sig_structure"))

        // Debug: PCR0, 1, 2 and 8 all zero.
        let debugPCRs = [0, 1, 2, 8].compactMap { doc.pcr($0) }
        let isDebug = !debugPCRs.isEmpty && debugPCRs.allSatisfy { $0.allSatisfy { $0 == 0 } }
        result.checks.append(
            isDebug
                ? Check(
                    "debug", ok: policy.allowDebug,
                    "debug-mode enclave (PCR0/1/2/8 all zero)" + (policy.allowDebug ? ", allowed by --allow-debug" : "")
                )
                : Check("debug", ok: true, "not a debug-mode enclave"))

        result.checks.append(freshness(doc, policy))
        result.checks.append(Measurements.check(result.measurements, policy.expectedMeasurements))
        return result
    }

    static func freshness(_ doc: NitroDocument, _ policy: AttestationPolicy) -> Check {
        var notes: [String] = []
        if let expected = policy.expectedNonce {
            guard let nonce = doc.nonce else { return Check("freshness", ok: false, "the document has no nonce") }
            guard nonce == expected else {
                return Check(
                    "freshness", ok: false, "nonce is \(Hex.encode(nonce.prefix(32)))…, not the expected challenge")
            }
            notes.append("nonce matches")
        }
        if let expected = policy.expectedReportData {
            guard let userData = doc.userData else {
                return Check("freshness", ok: false, "the document has no user_data to bind the report data")
            }
            guard userData == expected else {
                return Check(
                    "freshness", ok: false, "user_data is \(Hex.encode(userData)), not \(Hex.encode(expected))")
            }
            notes.append("user_data matches")
        }
        if let maxAge = policy.maxAge {
            let signedAt = AttestationTime.format(milliseconds: doc.timestamp)
            let nowMS = Int128(policy.verificationTime) * 1000
            let ageMS = nowMS - Int128(doc.timestamp)
            if ageMS > Int128(maxAge) * 1000 {
                return Check(
                    "freshness", ok: false,
                    "document time \(signedAt) is \(ageMS / 1000) s before the verification time, more than"
                        + " --max-age \(maxAge) s: request a new document")
            }
            if -ageMS > Int128(AttestationPolicy.maxClockSkew) * 1000 {
                return Check(
                    "freshness", ok: false,
                    "document time \(signedAt) is \(-ageMS / 1000) s after the verification time, more than the"
                        + " \(AttestationPolicy.maxClockSkew) s clock skew allowed: check the clocks or --at")
            }
            notes.append("\(max(ageMS, 0) / 1000) s old (--max-age \(maxAge))")
        }
        if notes.isEmpty { notes.append("no nonce or report data requested") }
        return Check(
            "freshness", ok: true,
            notes.joined(separator: ", ") + "; document time \(AttestationTime.format(milliseconds: doc.timestamp))")
    }
}
