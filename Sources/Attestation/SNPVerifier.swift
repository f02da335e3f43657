import Crypto
import EnclaveCore
import SwiftASN1

/// Verifies an SEV-SNP attestation report in the order of <doc:SNPAttestationReports>: structure and
/// product, the pinned ARK and ASK (or ASVK), the RSA-PSS chain ARK → ASK → VCEK at the verification
/// time, the VCEK's TCB and hardware-ID extensions against the report, the report signature, POLICY
/// bit 19 (debug), REPORT_DATA (freshness) and MEASUREMENT.
///
/// ```swift
/// var inputs = EvidenceInputs(evidence: report, name: "report.bin")
/// inputs.vcek = vcekPEM
/// let result = SNPVerifier.verify(inputs, policy: policy)
/// ```
public enum SNPVerifier {
    /// The roots to pin for one product: ARK, ASK and ASVK certificates. Tests pass their own.
    public struct Roots: Sendable {
        public var ark: AMDCertificate
        public var ask: AMDCertificate
        public var asvk: AMDCertificate?

        public init(ark: AMDCertificate, ask: AMDCertificate, asvk: AMDCertificate?) {
            self.ark = ark
            self.ask = ask
            self.asvk = asvk
        }

        /// AMD's roots for `product`, compiled in.
        public static func pinned(_ product: SNPProduct) -> Roots? {
            let p = AMDRoots.product(product)
            func cert(_ pem: String) -> AMDCertificate? {
                guard let der = try? PEMDocument(pemString: pem).derBytes else { return nil }
                return try? AMDCertificate(der: der)
            }
            guard let ark = cert(p.arkPEM), let ask = cert(p.askPEM), ark.sha256 == p.arkSHA256,
                ask.sha256 == p.askSHA256
            else { return nil }
            let asvk = cert(p.asvkPEM).flatMap { $0.sha256 == p.asvkSHA256 ? $0 : nil }
            return Roots(ark: ark, ask: ask, asvk: asvk)
        }
    }

    static let extensionPrefix = "1.3.6.1.4.1.3704.1."

    public static func verify(_ inputs: EvidenceInputs, policy: AttestationPolicy) -> AttestationResult {
        verify(inputs, policy: policy, roots: Roots.pinned)
    }

    public static func verify(
        _ inputs: EvidenceInputs, policy: AttestationPolicy, roots: (SNPProduct) -> Roots?
    ) -> AttestationResult {
        var result = AttestationResult(tee: .sevSNP, verificationTime: policy.verificationTime)
        let report: SNPReport
        do {
            report = try SNPReport(bytes: inputs.evidence)
        } catch {
            result.checks.append(Check("structure", ok: false, error.in(file: inputs.name).description))
            return result
        }
        result.measurements = [Measurement("MEASUREMENT", report.measurement)]

        // Product: from CPUID (version 3+), else from the operator.
        let given = inputs.product.flatMap { SNPProduct(name: $0) }
        if let name = inputs.product, given == nil {
            result.checks.append(
                Check("structure", ok: false, "unknown product '\(name)': give Milan, Genoa or Turin"))
            return result
        }
        let product: SNPProduct
        if let cpuid = report.cpuid {
            guard let fromCPUID = report.product else {
                result.checks.append(
                    Check(
                        "structure", ok: false,
                        "\(inputs.name): \(SNPReport.format): offset 392 (0x188): unknown product: CPUID family 0x"
                            + "\(String(cpuid.family, radix: 16)) model 0x\(String(cpuid.model, radix: 16)) "
                            + "is not Milan, Genoa or Turin"))
                return result
            }
            if let given, given != fromCPUID {
                result.checks.append(
                    Check(
                        "structure", ok: false,
                        "the report's CPUID says \(fromCPUID.rawValue), --product says \(given.rawValue)"))
                return result
            }
            product = fromCPUID
        } else {
            guard let given else {
                result.checks.append(
                    Check(
                        "structure", ok: false,
                        "a version \(report.version) report does not name its product: give --product "
                            + "Milan, Genoa or Turin"))
                return result
            }
            product = given
        }
        let tcb = SNPTCB(raw: report.reportedTCB, product: product)
        let keyName = report.signingKey == 1 ? "VLEK" : "VCEK"
        result.checks.append(
            Check(
                "structure", ok: true,
                "version \(report.version), \(product.rawValue), signed by the \(keyName), VMPL \(report.vmpl), "
                    + "POLICY 0x\(String(report.policy, radix: 16)), reported TCB \(tcb.description)"))

        // Root: AMD's ARK and ASK/ASVK for this product; a chain given with the evidence is only compared.
        guard let pinned = roots(product) else {
            result.checks.append(Check("root", ok: false, "no pinned roots for \(product.rawValue)"))
            return result
        }
        guard report.signingKey == 0 || report.signingKey == 1 else {
            result.checks.append(
                Check("root", ok: false, "SIGNER_INFO.SIGNING_KEY is \(report.signingKey): the report is not signed"))
            return result
        }
        let isVLEK = report.signingKey == 1
        guard let intermediate = isVLEK ? pinned.asvk : pinned.ask else {
            result.checks.append(Check("root", ok: false, "no pinned ASVK for \(product.rawValue)"))
            return result
        }
        if let chain = inputs.certChain {
            if let problem = compareChain(chain, expected: [intermediate, pinned.ark], product: product, vlek: isVLEK) {
                result.checks.append(Check("root", ok: false, problem))
                return result
            }
        }
        result.checks.append(
            Check(
                "root", ok: true,
                "pinned ARK-\(product.rawValue) \(pinned.ark.sha256.prefix(16))… and \(isVLEK ? "ASVK" : "ASK") "
                    + "\(intermediate.sha256.prefix(16))…"
                    + (inputs.certChain == nil ? "" : " (the given chain matches)")
            ))

        // Chain: ARK (self-signed) → ASK/ASVK → VCEK/VLEK, RSA-PSS SHA-384, valid at the verification time.
        guard let vcekBytes = inputs.vcek else {
            result.checks.append(
                Check(
                    "chain", ok: false,
                    "no \(keyName) given: fetch it with --vcek FILE from " + kdsURL(report, product: product, tcb: tcb))
            )
            return result
        }
        let vcek: AMDCertificate
        do {
            var vcekBytes = vcekBytes
            if SNPCertificateTable.looksLikeTable(vcekBytes) {
                // The host's certificate table (configfs-tsm auxblob): take the VCEK or VLEK from it.
                let table = try SNPCertificateTable(bytes: vcekBytes)
                guard let der = table.certificate(isVLEK ? .vlek : .vcek) else {
                    result.checks.append(Check("chain", ok: false, "the certificate table has no \(keyName)"))
                    return result
                }
                vcekBytes = der
                // The host's copies of AMD's certificates are only compared with the pins.
                for (kind, pin) in [(SNPCertificateTable.Kind.ask, intermediate), (.ark, pinned.ark)] {
                    if let copy = table.certificate(kind), !isVLEK || kind == .ark, copy != pin.der {
                        result.checks.append(
                            Check(
                                "chain", ok: false,
                                "the certificate table's \(kind == .ark ? "ARK" : "ASK") is not the pinned one of "
                                    + "\(product.rawValue)"))
                        return result
                    }
                }
            }
            let certs = try AMDCertificate.parseAll(vcekBytes, name: "\(keyName) certificate")
            guard certs.count == 1, let first = certs.first else {
                result.checks.append(
                    Check("chain", ok: false, "the \(keyName) file holds \(certs.count) certificates, not 1"))
                return result
            }
            vcek = first
        } catch {
            result.checks.append(Check("chain", ok: false, error.description))
            return result
        }
        let path = [(vcek, keyName), (intermediate, isVLEK ? "ASVK" : "ASK"), (pinned.ark, "ARK")]
        for (i, (cert, name)) in path.enumerated() {
            let t = policy.verificationTime
            guard cert.notBefore <= t, t <= cert.notAfter else {
                result.checks.append(
                    Check(
                        "chain", ok: false,
                        "the \(name) (\(cert.commonName)) is valid \(AttestationTime.format(seconds: cert.notBefore)) → "
                            + "\(AttestationTime.format(seconds: cert.notAfter)), not at \(AttestationTime.format(seconds: t))"
                    ))
                return result
            }
            let issuer = i + 1 < path.count ? path[i + 1] : path[i]
            guard issuer.0.verifies(cert) else {
                result.checks.append(
                    Check(
                        "chain", ok: false,
                        "the \(name) (\(cert.commonName)) is not signed by the \(issuer.1) of \(product.rawValue) "
                            + "(RSA-PSS SHA-384): wrong product or tampered certificate"))
                return result
            }
            if i > 0, !cert.isCA {
                result.checks.append(Check("chain", ok: false, "the \(name) is not a CA (basicConstraints)"))
                return result
            }
        }
        result.checks.append(
            Check(
                "chain", ok: true,
                "ARK → \(isVLEK ? "ASVK" : "ASK") → \(keyName), RSA-PSS SHA-384, valid at "
                    + "\(AttestationTime.format(seconds: policy.verificationTime)); \(keyName) valid until "
                    + AttestationTime.format(seconds: vcek.notAfter)))

        // VCEK extensions: product name and the SPLs of the TCB it was derived for.
        result.checks.append(tcbCheck(vcek, report: report, product: product, tcb: tcb))
        result.checks.append(hwidCheck(vcek, report: report, product: product, vlek: isVLEK))

        // Report signature: r, s little-endian at 0x2A0 and 0x2E8, over bytes 0x000–0x29F.
        guard let key = vcek.p384Key,
            let signature = try? P384.Signing.ECDSASignature(rawRepresentation: report.signatureR + report.signatureS)
        else {
            result.checks.append(Check("signature", ok: false, "the \(keyName) does not hold a P-384 key"))
            return result
        }
        guard key.isValidSignature(signature, for: report.signedBytes) else {
            result.checks.append(
                Check(
                    "signature", ok: false,
                    "the report signature (offset 0x2A0) does not verify with the \(keyName) over bytes 0x000–0x29F"))
            return result
        }
        result.checks.append(Check("signature", ok: true, "ECDSA P-384 SHA-384 by the \(keyName)"))

        result.checks.append(
            report.debugAllowed
                ? Check(
                    "debug", ok: policy.allowDebug,
                    "POLICY bit 19 (DEBUG) is set: the host can read and change guest memory"
                        + (policy.allowDebug ? "; allowed by --allow-debug" : ""))
                : Check("debug", ok: true, "POLICY bit 19 (DEBUG) is clear"))
        result.checks.append(freshness(report, policy))
        result.checks.append(Measurements.check(result.measurements, policy.expectedMeasurements))
        return result
    }

    static func compareChain(_ bytes: [UInt8], expected: [AMDCertificate], product: SNPProduct, vlek: Bool) -> String? {
        let certs: [AMDCertificate]
        do {
            certs = try AMDCertificate.parseAll(bytes, name: "certificate chain")
        } catch {
            return error.description
        }
        if Set(certs.map(\.der)).count != certs.count { return "the certificate chain repeats a certificate (a loop)" }
        let names = [vlek ? "ASVK" : "ASK", "ARK"]
        if certs.count == 2, certs[0] == expected[1], certs[1] == expected[0] {
            return
                "the certificate chain is in the wrong order: AMD KDS cert_chain order is \(names[0]) first, then ARK"
        }
        guard certs.count == 2 else {
            return "the certificate chain holds \(certs.count) certificates, expected \(names[0]) then ARK"
        }
        for (i, cert) in certs.enumerated() where cert != expected[i] {
            return "the chain's \(names[i]) (\(cert.commonName), SHA-256 \(cert.sha256)) is not the pinned "
                + "\(names[i]) of \(product.rawValue) (\(expected[i].sha256)): wrong product or not AMD's"
        }
        return nil
    }

    static func integerExtension(_ cert: AMDCertificate, _ suffix: String) -> Int? {
        guard let value = cert.extensionValue(extensionPrefix + suffix), let node = try? DER.parse(value) else {
            return nil
        }
        return try? Int(derEncoded: node)
    }

    static func tcbCheck(_ vcek: AMDCertificate, report: SNPReport, product: SNPProduct, tcb: SNPTCB) -> Check {
        guard let nameBytes = vcek.extensionValue(extensionPrefix + "2"), let node = try? DER.parse(nameBytes),
            let name = try? ASN1IA5String(derEncoded: node)
        else { return Check("vcek-tcb", ok: false, "the certificate has no product name extension (…3704.1.2)") }
        let productName = String(name)
        guard SNPProduct(name: productName) == product else {
            return Check(
                "vcek-tcb", ok: false, "the certificate is for \(productName), the report for \(product.rawValue)")
        }
        var fields: [(String, String, UInt8)] = [
            ("blSPL", "3.1", tcb.bootloader), ("teeSPL", "3.2", tcb.tee), ("snpSPL", "3.3", tcb.snp),
            ("ucodeSPL", "3.8", tcb.microcode),
        ]
        if let fmc = tcb.fmc { fields.append(("fmcSPL", "3.9", fmc)) }
        for (label, suffix, expected) in fields {
            guard let value = integerExtension(vcek, suffix) else {
                return Check("vcek-tcb", ok: false, "the certificate has no \(label) extension (…3704.1.\(suffix))")
            }
            guard value == Int(expected) else {
                return Check(
                    "vcek-tcb", ok: false,
                    "the certificate's \(label) is \(value), REPORTED_TCB (offset 0x180) has \(expected): "
                        + "fetch the VCEK for this TCB")
            }
        }
        return Check("vcek-tcb", ok: true, "\(productName), SPLs equal REPORTED_TCB (\(tcb.description))")
    }

    static func hwidCheck(_ vcek: AMDCertificate, report: SNPReport, product: SNPProduct, vlek: Bool) -> Check {
        if vlek {
            return Check("vcek-hwid", ok: true, "VLEK (SIGNING_KEY 1, chained to the ASVK): no hardware ID to compare")
        }
        guard let hwid = vcek.extensionValue(extensionPrefix + "4"), !hwid.isEmpty, hwid.count <= 64 else {
            return Check("vcek-hwid", ok: false, "the VCEK has no hardware ID extension (…3704.1.4)")
        }
        if report.chipIDMasked {
            return Check("vcek-hwid", ok: true, "CHIP_ID is masked (SIGNER_INFO.MASK_CHIP_ID): not compared")
        }
        let chip = report.chipID
        guard Array(chip.prefix(hwid.count)) == hwid, chip.dropFirst(hwid.count).allSatisfy({ $0 == 0 }) else {
            return Check(
                "vcek-hwid", ok: false,
                "CHIP_ID (offset 0x1A0) \(Hex.encode(chip.prefix(8)))… is not the VCEK's hwID \(Hex.encode(hwid.prefix(8)))…: "
                    + "this VCEK belongs to another chip")
        }
        return Check("vcek-hwid", ok: true, "CHIP_ID equals the VCEK's hwID")
    }

    static func freshness(_ report: SNPReport, _ policy: AttestationPolicy) -> Check {
        if policy.expectedNonce != nil {
            return Check("freshness", ok: false, "an SEV-SNP report has no nonce: bind it with --report-data")
        }
        guard let expected = policy.expectedReportData else {
            return Check("freshness", ok: true, "no report data requested")
        }
        guard expected.count <= 64 else {
            return Check("freshness", ok: false, "the expected report data is \(expected.count) bytes, REPORT_DATA 64")
        }
        let padded = expected + [UInt8](repeating: 0, count: 64 - expected.count)
        guard report.reportData == padded else {
            return Check(
                "freshness", ok: false,
                "REPORT_DATA (offset 0x50) is \(Hex.encode(report.reportData)), expected \(Hex.encode(padded))")
        }
        return Check("freshness", ok: true, "REPORT_DATA matches")
    }

    /// Where AMD's KDS serves the VCEK for this report.
    static func kdsURL(_ report: SNPReport, product: SNPProduct, tcb: SNPTCB) -> String {
        if report.signingKey == 1 { return "your cloud provider (VLEKs are not on AMD's KDS)" }
        let hwid = product == .turin ? Hex.encode(report.chipID.prefix(8)) : Hex.encode(report.chipID)
        var url = "https://kdsintf.amd.com/vcek/v1/\(product.rawValue)/\(hwid)?"
        if let fmc = tcb.fmc { url += "fmcSPL=\(fmc)&" }
        url += "blSPL=\(tcb.bootloader)&teeSPL=\(tcb.tee)&snpSPL=\(tcb.snp)&ucodeSPL=\(tcb.microcode)"
        return url
    }
}
