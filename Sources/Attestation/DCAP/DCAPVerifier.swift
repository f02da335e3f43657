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

    // MARK: QE

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

    // MARK: TCB

    mutating func tcbStatus(_ quote: DCAPQuote) {
        guard let info = tcbInfo, let pck else {
            add(
                "tcb-status", false,
                inputs.collateral == nil
                    ? Self.noCollateral : "not evaluated: the collateral or the PCK certificate did not verify")
            if tee == .tdx { add("tdx-module", false, "not evaluated: no TCB info") }
            return
        }
        var teeSVN: [UInt8] = []
        if case .td(let td) = quote.body { teeSVN = td.teeTCBSVN }
        let levels = info.levels.sorted { a, b in
            if a.sgxComponents != b.sgxComponents {
                return a.sgxComponents.lexicographicallyPrecedes(b.sgxComponents) == false
            }
            if a.pceSVN != b.pceSVN { return a.pceSVN > b.pceSVN }
            return tee == .tdx && b.tdxComponents.lexicographicallyPrecedes(a.tdxComponents)
        }
        func level(teeSVN: [UInt8]) -> TCBInfo.Level? {
            levels.first { level in
                guard pck.pceSVN >= level.pceSVN, level.sgxComponents.count == 16,
                    zip(pck.components, level.sgxComponents).allSatisfy({ $0 >= $1 })
                else { return false }
                if tee == .tdx {
                    return level.tdxComponents.count == 16
                        && zip(teeSVN, level.tdxComponents).allSatisfy { $0 >= $1 }
                }
                return true
            }
        }
        var platform = level(teeSVN: teeSVN)
        // TD report 1.5: TEE_TCB_SVN2 is the TDX module's current TCB (after a TD-preserving update); it
        // must match a level too, and the worse of the two statuses counts.
        if case .td(let td) = quote.body, let current = td.teeTCBSVN2, let launch = platform {
            guard let now = level(teeSVN: current) else {
                add(
                    "tcb-status", false,
                    "the current TDX TCB (TEE_TCB_SVN2 \(current.hex)) matches no TCB level of the TCB info: TCB level not supported"
                )
                add("tdx-module", false, "not evaluated: the current TDX TCB matches no level")
                return
            }
            if now.verdict.status > launch.verdict.status {
                platform = TCBInfo.Level(
                    sgxComponents: now.sgxComponents, pceSVN: now.pceSVN, tdxComponents: now.tdxComponents,
                    verdict: launch.verdict.merged(with: now.verdict), tcbDate: now.tcbDate)
            }
        }
        var moduleVerdict: TCBVerdict?
        var moduleCheck: (Bool, String)?
        if tee == .tdx, case .td(let td) = quote.body {
            moduleCheck = tdxModule(td, info: info, verdict: &moduleVerdict)
        }
        guard let platform else {
            var svns = "SGX components \(pck.components.map(String.init).joined(separator: ",")), PCESVN \(pck.pceSVN)"
            if tee == .tdx { svns += ", TEE_TCB_SVN \(teeSVN.hex)" }
            add(
                "tcb-status", false,
                "no TCB level of the TCB info matches this platform (\(svns)): TCB level not supported")
            if let moduleCheck { add("tdx-module", moduleCheck.0, moduleCheck.1) }
            return
        }
        var verdict = platform.verdict
        if let moduleVerdict { verdict = verdict.merged(with: moduleVerdict) }
        if let qeVerdict { verdict = verdict.merged(with: qeVerdict) }
        result.tcbStatus = verdict.status.rawValue
        result.advisories = verdict.advisories
        var parts = ["platform \(platform.verdict.status.rawValue) (TCB date \(platform.tcbDate))"]
        if let moduleVerdict { parts.append("TDX module \(moduleVerdict.status.rawValue)") }
        parts.append(qeVerdict.map { "QE \($0.status.rawValue)" } ?? "QE not evaluated")
        var detail = "\(verdict.status.rawValue): " + parts.joined(separator: ", ")
        if !verdict.advisories.isEmpty { detail += "; advisories " + verdict.advisories.joined(separator: ", ") }
        let statusAllowed =
            verdict.status != .revoked
            && (verdict.status == .upToDate || policy.allowedTCBStatuses.contains(verdict.status.rawValue))
        let notAllowed = verdict.advisories.filter { !policy.allowedAdvisories.contains($0) }
        if qeVerdict == nil {
            add("tcb-status", false, detail + ": the QE TCB status is unknown")
        } else if !statusAllowed {
            add(
                "tcb-status", false,
                detail
                    + (verdict.status == .revoked
                        ? ": Revoked is never accepted"
                        : ": not accepted by the policy (allow it with --allow-tcb-status \(verdict.status.rawValue))"))
        } else if !notAllowed.isEmpty {
            add(
                "tcb-status", false,
                detail
                    + ": advisories not allowed by the policy: \(notAllowed.joined(separator: ", ")) (--allow-advisory ID)"
            )
        } else {
            add("tcb-status", true, detail)
        }
        if let moduleCheck { add("tdx-module", moduleCheck.0, moduleCheck.1) }
    }

    /// The TDX module identity (MRSIGNERSEAM, SEAM attributes) against tcbInfo.tdxModule or the
    /// tdxModuleIdentities entry `TDX_<module version>`, and the module's own TCB level.
    func tdxModule(_ td: TDReportBody, info: TCBInfo, verdict: inout TCBVerdict?) -> (Bool, String) {
        guard var identity = info.tdxModule else { return (false, "the TCB info has no tdxModule") }
        let isvSVN = Int(td.teeTCBSVN[0])
        let moduleVersion = Int(td.teeTCBSVN[1])
        var idName = "tdxModule"
        if moduleVersion > 0, !info.tdxModuleIdentities.isEmpty {
            let want = "TDX_" + (moduleVersion < 16 ? "0" : "") + String(moduleVersion, radix: 16, uppercase: true)
            guard let found = info.tdxModuleIdentities.first(where: { $0.id.uppercased() == want }) else {
                return (false, "the TCB info has no TDX module identity \(want) (TEE_TCB_SVN[1] = \(moduleVersion))")
            }
            identity = found
            idName = want
        }
        guard td.mrSignerSeam == identity.mrSigner else {
            return (false, "MRSIGNERSEAM \(td.mrSignerSeam.hex), expected \(identity.mrSigner.hex) (\(idName))")
        }
        let attrs = td.seamAttributes
        for i in 0..<8 {
            let mask = identity.attributesMask[i]
            guard attrs[i] & mask == identity.attributes[i] & mask, attrs[i] & ~mask == 0 else {
                return (
                    false,
                    "SEAM attributes \(attrs.hex) do not match \(identity.attributes.hex) under \(identity.attributesMask.hex)"
                )
            }
        }
        if !identity.levels.isEmpty {
            guard let level = identity.levels.first(where: { isvSVN >= $0.isvSVN }) else {
                return (false, "TDX module ISVSVN \(isvSVN) is below every level of \(idName)")
            }
            verdict = level.verdict
            return (
                true,
                "\(idName): MRSIGNERSEAM and SEAM attributes match; module ISVSVN \(isvSVN): \(level.verdict.status.rawValue)"
            )
        }
        return (true, "\(idName): MRSIGNERSEAM and SEAM attributes match")
    }

    // MARK: policy on the report

    /// TD 1.5: a non-zero MRSERVICETD binds a service TD (for example a migration TD) to this TD; refused
    /// unless the policy allows it, as dcap-qvl does by default. TD 1.0 reports have no such field.
    mutating func serviceTD(_ quote: DCAPQuote) {
        guard case .td(let td) = quote.body, let service = td.mrServiceTD else { return }
        if !service.contains(where: { $0 != 0 }) {
            add("service-td", true, "MRSERVICETD is zero: no service TD is bound")
        } else if policy.allowServiceTD {
            add("service-td", true, "MRSERVICETD \(service.hex): a service TD is bound (allowed)")
        } else {
            add(
                "service-td", false,
                "MRSERVICETD \(service.hex) is not zero: a service TD is bound to this TD; pass --allow-service-td"
                    + " (and --expect MRSERVICETD=...) if the deployment uses one")
        }
    }

    mutating func debug(_ quote: DCAPQuote) {
        switch quote.body {
        case .td(let td):
            let a = td.tdAttributes
            let tud = a[0]
            // SEC bits 27:8 and 29, OTHER bits 62:32 are reserved; SEPT_VE_DISABLE (bit 28) keeps the host
            // from turning EPT violations into #VE inside the TD (Intel QVL and dcap-qvl require it).
            let reservedSEC = a[1] != 0 || a[2] != 0 || a[3] & 0x2f != 0
            let reservedOther = a[4] != 0 || a[5] != 0 || a[6] != 0 || a[7] & 0x7f != 0
            if tud & 0xfe != 0 {
                add("debug", false, "TD_ATTRIBUTES \(a.hex): reserved TUD bits 7:1 are set (untrusted TD)")
            } else if reservedSEC || reservedOther {
                add("debug", false, "TD_ATTRIBUTES \(a.hex): reserved bits are set")
            } else if a[3] & 0x10 == 0 {
                add(
                    "debug", false,
                    "TD_ATTRIBUTES \(a.hex): SEPT_VE_DISABLE (bit 28) is clear: the host can inject #VE into the TD")
            } else if td.isDebug && !policy.allowDebug {
                add(
                    "debug", false,
                    "TD_ATTRIBUTES \(td.tdAttributes.hex): DEBUG (bit 0) is set; the host can read the TD")
            } else {
                add(
                    "debug", true,
                    "TD_ATTRIBUTES \(td.tdAttributes.hex): \(td.isDebug ? "debug (allowed)" : "not debug")")
            }
        case .sgx(let r):
            if r.isDebug && !policy.allowDebug {
                add("debug", false, "ATTRIBUTES \(r.attributes.hex): DEBUG is set; the host can read the enclave")
            } else {
                add("debug", true, "ATTRIBUTES \(r.attributes.hex): \(r.isDebug ? "debug (allowed)" : "not debug")")
            }
        }
    }

    mutating func freshness(_ quote: DCAPQuote) {
        guard let expected = policy.expectedReportData else { return }
        let actual = quote.reportData
        guard expected.count <= actual.count else {
            add("freshness", false, "expected report data is \(expected.count) bytes, the field holds \(actual.count)")
            return
        }
        let padded = expected + Array(repeating: 0, count: actual.count - expected.count)
        if padded == actual {
            add("freshness", true, "report data equals the expected value")
        } else {
            add("freshness", false, "report data \(actual.hex), expected \(padded.hex)")
        }
    }

    mutating func measurements() {
        guard !policy.expectedMeasurements.isEmpty else {
            add(
                "measurements", true,
                result.measurements.map(\.name).joined(separator: ", ") + " reported, none expected")
            return
        }
        var problems: [String] = []
        for expected in policy.expectedMeasurements {
            guard let actual = result.measurement(expected.name) else {
                let names = result.measurements.map(\.name).joined(separator: ", ")
                problems.append("\(expected.name) is not a \(tee.rawValue) register (\(names))")
                continue
            }
            if actual != expected.value {
                problems.append("\(expected.name) is \(actual.hex), expected \(expected.value.hex)")
            }
        }
        if problems.isEmpty {
            add(
                "measurements", true,
                policy.expectedMeasurements.map(\.name).joined(separator: ", ") + " equal the expected values")
        } else {
            add("measurements", false, problems.joined(separator: "; "))
        }
    }
}
