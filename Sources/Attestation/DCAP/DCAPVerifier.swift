import Crypto
import EnclaveCore
import X509

/// Intel DCAP quote verification (SGX quote v3, TDX quote v4 and v5) against collateral in dcap-qvl's
/// `QuoteCollateralV3` JSON form, in the order Intel's QVL, dcap-qvl and go-tdx-guest agree on:
/// `structure`, `root`, `chain`, `crl`, `collateral`, `qe-report`, `qe-identity`, `signature`,
/// `tcb-status`, `tdx-module` (TDX), `debug`, `freshness` (when report data is expected) and
/// `measurements` (when registers are expected).
///
/// ```swift
/// var inputs = EvidenceInputs(evidence: quote, name: "node1.quote")
/// inputs.collateral = collateralJSON
/// let result = DCAPVerifier.verify(inputs, tee: .tdx, policy: AttestationPolicy(verificationTime: now))
/// ```
public enum DCAPVerifier {
    public static func verify(_ inputs: EvidenceInputs, tee: TEE, policy: AttestationPolicy) -> AttestationResult {
        verify(inputs, tee: tee, policy: policy, pinnedRootSHA256: DCAPPKI.intelRootSHA256)
    }

    /// The same, with another pinned root: only tests use this (with a root CA they made).
    static func verify(
        _ inputs: EvidenceInputs, tee: TEE, policy: AttestationPolicy, pinnedRootSHA256: [UInt8]
    ) -> AttestationResult {
        var run = DCAPRun(inputs: inputs, tee: tee, policy: policy, pinned: pinnedRootSHA256)
        run.run()
        return run.result
    }

    /// The registers a quote reports, by the names release manifests use.
    public static func measurements(of quote: DCAPQuote) -> [Measurement] {
        switch quote.body {
        case .td(let td):
            [
                Measurement("MRTD", td.mrTD), Measurement("RTMR0", td.rtmr(0)), Measurement("RTMR1", td.rtmr(1)),
                Measurement("RTMR2", td.rtmr(2)), Measurement("RTMR3", td.rtmr(3)),
                Measurement("MRCONFIGID", td.mrConfigID), Measurement("XFAM", td.xfam),
                Measurement("TD_ATTRIBUTES", td.tdAttributes),
            ] + (td.mrServiceTD.map { [Measurement("MRSERVICETD", $0)] } ?? [])
        case .sgx(let r):
            [
                Measurement("MRENCLAVE", r.mrEnclave), Measurement("MRSIGNER", r.mrSigner),
                Measurement("ISVPRODID", r.isvProdIDBytes), Measurement("ISVSVN", r.isvSVNBytes),
            ]
        }
    }
}

/// One verification: the parsed pieces and the checks so far.
struct DCAPRun {
    let inputs: EvidenceInputs
    let tee: TEE
    let policy: AttestationPolicy
    let pinned: [UInt8]
    var result: AttestationResult

    var quote: DCAPQuote?
    var pckChain: [DCAPPKI.ParsedCertificate] = []
    var pckChainTrusted = false
    var pck: DCAPPKI.PCKExtensions?
    var prepared: PreparedCollateral?
    var tcbInfo: TCBInfo?
    var qeIdentity: QEIdentity?
    var qeVerdict: TCBVerdict?

    init(inputs: EvidenceInputs, tee: TEE, policy: AttestationPolicy, pinned: [UInt8]) {
        self.inputs = inputs
        self.tee = tee
        self.policy = policy
        self.pinned = pinned
        self.result = AttestationResult(tee: tee, verificationTime: policy.verificationTime)
    }

    var time: Int64 { policy.verificationTime }

    mutating func add(_ id: String, _ ok: Bool, _ detail: String) {
        result.checks.append(Check(id, ok: ok, detail))
    }

    mutating func run() {
        guard structure(), let quote else { return }
        result.measurements = DCAPVerifier.measurements(of: quote)
        rootAndChain()
        loadCollateral()
        crl()
        collateralCheck()
        qeReport(quote)
        qeIdentityCheck(quote)
        quoteSignature(quote)
        tcbStatus(quote)
        debug(quote)
        serviceTD(quote)
        freshness(quote)
        measurements()
    }

    // MARK: structure

    mutating func structure() -> Bool {
        let parsed: DCAPQuote
        do {
            parsed = try DCAPQuote.parse(inputs.evidence)
        } catch {
            add("structure", false, error.in(file: inputs.name).description)
            return false
        }
        guard parsed.tee == tee else {
            add(
                "structure", false,
                "\(inputs.name): the quote is a \(parsed.tee.rawValue) quote (tee_type 0x\(String(parsed.teeType, radix: 16))), \(tee.rawValue) was asked for"
            )
            return false
        }
        guard parsed.qeVendorID == DCAPQuote.intelQEVendorID else {
            add(
                "structure", false,
                "\(inputs.name): DCAP quote: offset 12: QE vendor id \(parsed.qeVendorID.hex), expected Intel's \(DCAPQuote.intelQEVendorID.hex)"
            )
            return false
        }
        guard parsed.certificationDataType == 5 else {
            add(
                "structure", false,
                "\(inputs.name): DCAP quote: offset \(parsed.certificationDataOffset - 6): certification data type \(parsed.certificationDataType), expected 5 (PCK certificate chain in the quote)"
            )
            return false
        }
        do {
            pckChain = try DCAPPKI.certificates(pem: parsed.certificationData, what: "PCK certificate chain")
        } catch {
            add(
                "structure", false,
                "\(inputs.name): DCAP quote: offset \(parsed.certificationDataOffset): \(error.description)")
            return false
        }
        quote = parsed
        let body: String
        switch parsed.body {
        case .sgx: body = "SGX enclave report"
        case .td(let td): body = td.isTDX15 ? "TD report 1.5" : "TD report 1.0"
        }
        var detail =
            "quote version \(parsed.version), \(body), \(parsed.declaredLength) bytes, \(pckChain.count) PCK chain certificates"
        if parsed.trailingBytes > 0 { detail += " (\(parsed.trailingBytes) trailing bytes ignored)" }
        add("structure", true, detail)
        return true
    }

    // MARK: root and chain

    mutating func rootAndChain() {
        do {
            try DCAPPKI.checkRoot(pckChain, pinned: pinned, what: "PCK chain")
            add("root", true, "the PCK chain ends at the pinned Intel SGX Root CA (SHA-256 \(pinned.hex))")
        } catch {
            add("root", false, error.description)
            add("chain", false, "not checked: the PCK chain does not end at the pinned root")
            return
        }
        do {
            try DCAPPKI.verifyChain(pckChain, at: time, what: "PCK chain")
            pck = try DCAPPKI.PCKExtensions(pckChain[0].certificate)
            pckChainTrusted = true
            let names = pckChain.map(\.commonName).joined(separator: " ← ")
            add("chain", true, "\(names): ECDSA P-256 signatures valid at \(DCAPPKI.iso(time))")
        } catch {
            add("chain", false, error.description)
        }
    }

    // MARK: collateral

    mutating func loadCollateral() {
        guard let bytes = inputs.collateral else { return }
        let (time, pinned) = (self.time, self.pinned)
        prepared = DCAPCache.shared.collateral(bytes, time: time, pinned: pinned) {
            PreparedCollateral.prepare(bytes, time: time, pinned: pinned)
        }
    }

    static let noCollateral =
        "no collateral: give the quote's collateral (dcap-qvl QuoteCollateralV3 JSON, --collateral FILE)"

    mutating func crl() {
        guard let prepared else {
            add("crl", false, Self.noCollateral)
            return
        }
        guard let rootCRLResult = prepared.rootCRL, let pckCRLResult = prepared.pckCRL else {
            add("crl", false, "not checked: \(prepared.problem ?? "the collateral could not be read")")
            return
        }
        guard pckChainTrusted, pckChain.count >= 3, let root = pckChain.last else {
            add("crl", false, "not checked: the PCK chain is not trusted")
            return
        }
        let intermediate = pckChain[pckChain.count - 2]
        var problems: [String] = []
        var nextUpdates: [Int64] = []
        // Both CRLs are checked so that every problem is reported, not only the first.
        do {
            let rootCRL = try rootCRLResult.get()
            if let next = rootCRL.nextUpdate { nextUpdates.append(next) }
            try rootCRL.check(issuer: root.certificate, at: time, what: "root CA CRL")
            for cert in pckChain.dropFirst() where rootCRL.isRevoked(cert.certificate) {  // the CA and the root itself
                throw DCAPPKI.PKIError("\(cert.name) is revoked by the root CA CRL")
            }
        } catch {
            problems.append("\(error)")
        }
        do {
            let pckCRL = try pckCRLResult.get()
            if let next = pckCRL.nextUpdate { nextUpdates.append(next) }
            try pckCRL.check(issuer: intermediate.certificate, at: time, what: "PCK CRL")
            if pckCRL.isRevoked(pckChain[0].certificate) {
                throw DCAPPKI.PKIError(
                    "the PCK certificate (serial \(pckChain[0].certificate.serialNumber)) is revoked by the PCK CRL")
            }
        } catch {
            problems.append("\(error)")
        }
        if problems.isEmpty {
            var detail = "root CA CRL and PCK CRL signed, current at \(DCAPPKI.iso(time)), PCK chain not revoked"
            if let next = nextUpdates.min() { detail += " (next update \(DCAPPKI.iso(next)))" }
            add("crl", true, detail)
        } else {
            add("crl", false, problems.joined(separator: "; "))
        }
    }

    static func derSignature(raw: [UInt8]) -> [UInt8] {
        (try? P256.Signing.ECDSASignature(rawRepresentation: raw).derRepresentation).map(Array.init) ?? []
    }

    mutating func collateralCheck() {
        guard inputs.collateral != nil else {
            add("collateral", false, Self.noCollateral)
            return
        }
        do {
            guard let prepared else { throw DCAPPKI.PKIError("the collateral could not be read") }
            if let problem = prepared.problem { throw DCAPPKI.PKIError(problem) }
            guard let info = prepared.tcbInfo, let identity = prepared.qeIdentity else {
                throw DCAPPKI.PKIError("the collateral has no TCB info or QE identity")
            }
            let expectedID = tee == .tdx ? "TDX" : "SGX"
            guard info.id == expectedID, tee != .tdx || info.version == 3 else {
                throw DCAPPKI.PKIError(
                    "TCB info id \"\(info.id)\" version \(info.version), expected \"\(expectedID)\"\(tee == .tdx ? " version 3" : "") for a \(tee.rawValue) quote"
                )
            }
            let expectedQE = tee == .tdx ? "TD_QE" : "QE"
            guard identity.id == expectedQE else {
                throw DCAPPKI.PKIError("QE identity id \"\(identity.id)\", expected \"\(expectedQE)\"")
            }
            guard identity.version == 2 || (tee == .tdx && identity.version == 3) else {
                throw DCAPPKI.PKIError(
                    "QE identity version \(identity.version), expected 2\(tee == .tdx ? " or 3" : "")")
            }
            guard let pck else {
                throw DCAPPKI.PKIError("signatures valid; FMSPC not compared: the PCK certificate is not trusted")
            }
            guard info.fmspc == pck.fmspc else {
                throw DCAPPKI.PKIError(
                    "TCB info is for FMSPC \(info.fmspc.hex), the PCK certificate has FMSPC \(pck.fmspc.hex) (fetch the collateral for this platform)"
                )
            }
            guard info.pceID == pck.pceID else {
                throw DCAPPKI.PKIError(
                    "TCB info is for PCE-ID \(info.pceID.hex), the PCK certificate has \(pck.pceID.hex)")
            }
            // Signed by Intel and for this platform: the TCB levels may be used (even when out of date,
            // which this check reports below), so the status is shown beside the failure.
            tcbInfo = info
            qeIdentity = identity
            for (what, issue, next) in [
                ("TCB info", info.issueDate, info.nextUpdate), ("QE identity", identity.issueDate, identity.nextUpdate),
            ] {
                guard issue <= time else {
                    throw DCAPPKI.PKIError(
                        "\(what) issueDate \(DCAPPKI.iso(issue)) is after the verification time \(DCAPPKI.iso(time))")
                }
                guard time <= next else {
                    throw DCAPPKI.PKIError(
                        "\(what) expired: nextUpdate \(DCAPPKI.iso(next)) is before the verification time \(DCAPPKI.iso(time)) (fetch current collateral)"
                    )
                }
            }
            add(
                "collateral", true,
                "TCB info (\(info.id), FMSPC \(info.fmspc.hex), until \(DCAPPKI.iso(info.nextUpdate))) and QE identity (until \(DCAPPKI.iso(identity.nextUpdate))) signed by Intel"
            )
        } catch {
            add("collateral", false, "\(error)")
        }
    }
}
