import Crypto
import EnclaveCore
import Foundation
import Testing

@testable import Attestation

/// Quotes, certificates and collateral that the verifier has never seen, made by ``SyntheticDCAP`` with a
/// test root CA (passed through the internal `pinnedRootSHA256` parameter), so the format is tested and
/// not only the public samples.
@Suite struct DCAPSyntheticTests {
    static func verify(
        _ world: SyntheticDCAP, quote: [UInt8], collateral: [UInt8]?, tee: TEE,
        policy: AttestationPolicy = AttestationPolicy(verificationTime: SyntheticDCAP.now), pinned: [UInt8]? = nil
    ) -> AttestationResult {
        var inputs = EvidenceInputs(evidence: quote, name: "synthetic")
        inputs.collateral = collateral
        return DCAPVerifier.verify(inputs, tee: tee, policy: policy, pinnedRootSHA256: pinned ?? world.rootSHA256)
    }

    static func collateral(_ w: SyntheticDCAP, tee: String, levels: [SyntheticDCAP.TCBLevel] = [.init()]) throws
        -> [UInt8]
    {
        try w.collateral(
            tcbInfo: SyntheticDCAP.tcbInfo(tee: tee, levels: levels), qeIdentity: SyntheticDCAP.qeIdentity(tee: tee))
    }

    @Test(arguments: [SyntheticDCAP.Kind.sgxV3, .tdxV4, .tdxV5])
    func aFreshQuoteVerifies(_ kind: SyntheticDCAP.Kind) throws {
        let w = try SyntheticDCAP()
        let tee: TEE = kind == .sgxV3 ? .sgx : .tdx
        let quote = try w.quote(kind, padding: 100)
        #expect(DCAPQuote.looksLikeQuote(quote) == tee)
        let r = Self.verify(
            w, quote: quote, collateral: try Self.collateral(w, tee: tee == .sgx ? "SGX" : "TDX"), tee: tee)
        #expect(r.verified, "\(r.checks.filter { !$0.ok }.map { "\($0.id): \($0.detail)" })")
        #expect(r.tcbStatus == "UpToDate")
        if tee == .tdx {
            #expect(r.measurement("MRTD") == Array(repeating: 0x4d, count: 48))
        } else {
            #expect(r.measurement("MRENCLAVE") == Array(repeating: 0xe1, count: 32))
            #expect(r.measurement("ISVPRODID") == [0x34, 0x12])
            #expect(r.measurement("ISVSVN") == [0x02, 0x00])
        }
    }

    @Test func theProductionPinRejectsTheTestRoot() throws {
        let w = try SyntheticDCAP()
        let r = Self.verify(
            w, quote: try w.quote(.tdxV4), collateral: try Self.collateral(w, tee: "TDX"), tee: .tdx,
            pinned: DCAPPKI.intelRootSHA256)
        #expect(r.failed.first == "root")
        #expect(!r.verified)
    }

    @Test func aRevokedPCKCertificateFailsTheCRLCheck() throws {
        let w = try SyntheticDCAP()
        let collateral = try w.collateral(
            tcbInfo: SyntheticDCAP.tcbInfo(tee: "TDX"), qeIdentity: SyntheticDCAP.qeIdentity(tee: "TDX"),
            pckRevoked: [17, SyntheticDCAP.pckSerial])
        let r = Self.verify(w, quote: try w.quote(.tdxV4), collateral: collateral, tee: .tdx)
        #expect(r.failed == ["crl"])
        #expect(r.checks.first { $0.id == "crl" }?.detail.contains("revoked by the PCK CRL") == true)
    }

    @Test(arguments: [1, 2]) func aRevokedCAOrRootFailsTheCRLCheck(_ serial: Int) throws {
        let w = try SyntheticDCAP()
        let collateral = try w.collateral(
            tcbInfo: SyntheticDCAP.tcbInfo(tee: "TDX"), qeIdentity: SyntheticDCAP.qeIdentity(tee: "TDX"),
            rootRevoked: [serial])
        let r = Self.verify(w, quote: try w.quote(.tdxV4), collateral: collateral, tee: .tdx)
        #expect(r.failed.first == "crl")
        #expect(r.checks.first { $0.id == "crl" }?.detail.contains("revoked by the root CA CRL") == true)
    }

    @Test func tcbInfoForAnotherFMSPCFails() throws {
        let w = try SyntheticDCAP(pckFMSPC: [0, 0x60, 0x6a, 0, 0, 0])
        let r = Self.verify(w, quote: try w.quote(.sgxV3), collateral: try Self.collateral(w, tee: "SGX"), tee: .sgx)
        #expect(r.failed == ["collateral", "qe-identity", "tcb-status"])
        #expect(r.checks.first { $0.id == "collateral" }?.detail.contains("FMSPC 00606a000000") == true)
    }

    @Test func tcbLevelMatchingTakesTheFirstLevelThePlatformMeets() throws {
        let w = try SyntheticDCAP()
        var newer = SyntheticDCAP.TCBLevel()
        newer.sgx[0] = 9  // the platform has 5: not met
        var met = SyntheticDCAP.TCBLevel()
        met.status = "SWHardeningNeeded"
        met.advisories = ["INTEL-SA-00615"]
        var older = SyntheticDCAP.TCBLevel()
        older.pce = 1
        older.status = "OutOfDate"
        let collateral = try Self.collateral(w, tee: "SGX", levels: [newer, met, older])
        var policy = AttestationPolicy(verificationTime: SyntheticDCAP.now)
        var r = Self.verify(w, quote: try w.quote(.sgxV3), collateral: collateral, tee: .sgx, policy: policy)
        #expect(r.tcbStatus == "SWHardeningNeeded" && r.advisories == ["INTEL-SA-00615"])
        #expect(r.failed == ["tcb-status"])
        policy.allowedTCBStatuses.insert("SWHardeningNeeded")
        policy.allowedAdvisories.insert("INTEL-SA-00615")
        r = Self.verify(w, quote: try w.quote(.sgxV3), collateral: collateral, tee: .sgx, policy: policy)
        #expect(r.verified)
    }

    @Test func revokedIsNeverAccepted() throws {
        let w = try SyntheticDCAP()
        var level = SyntheticDCAP.TCBLevel()
        level.status = "Revoked"
        var policy = AttestationPolicy(verificationTime: SyntheticDCAP.now)
        policy.allowedTCBStatuses = Set(TCBStatus.allCases.map(\.rawValue))
        let r = Self.verify(
            w, quote: try w.quote(.tdxV4), collateral: try Self.collateral(w, tee: "TDX", levels: [level]), tee: .tdx,
            policy: policy)
        #expect(r.tcbStatus == "Revoked")
        #expect(r.failed == ["tcb-status"])
    }

    @Test func aTDXComponentBelowEveryLevelMatchesNoLevel() throws {
        let w = try SyntheticDCAP()
        var level = SyntheticDCAP.TCBLevel()
        level.tdx[2] = 3  // the TD report's TEE_TCB_SVN[2] is 2
        let r = Self.verify(
            w, quote: try w.quote(.tdxV4), collateral: try Self.collateral(w, tee: "TDX", levels: [level]), tee: .tdx)
        #expect(r.failed == ["tcb-status"])
        #expect(r.tcbStatus == nil)
    }

    @Test func aTD15CurrentTCBBelowEveryLevelMatchesNoLevel() throws {
        let w = try SyntheticDCAP()
        let quote = try w.quote(.tdxV5) { $0.replaceSubrange(584..<600, with: Array(repeating: 0, count: 16)) }
        let r = Self.verify(w, quote: quote, collateral: try Self.collateral(w, tee: "TDX"), tee: .tdx)
        #expect(r.failed == ["tcb-status", "tdx-module"])
        #expect(r.checks.first { $0.id == "tcb-status" }?.detail.contains("TEE_TCB_SVN2") == true)
    }

    @Test func aTD15QuoteReportsMRSERVICETDAndFailsWhenItIsNotZero() throws {
        let w = try SyntheticDCAP()
        let collateral = try Self.collateral(w, tee: "TDX")
        let zero = Self.verify(w, quote: try w.quote(.tdxV5), collateral: collateral, tee: .tdx)
        #expect(zero.verified)
        #expect(zero.measurement("MRSERVICETD") == Array(repeating: 0, count: 48))
        let v4 = Self.verify(w, quote: try w.quote(.tdxV4), collateral: collateral, tee: .tdx)
        #expect(v4.verified && v4.measurement("MRSERVICETD") == nil)

        let quote = try w.quote(.tdxV5) { $0[647] = 0x5e }
        var policy = AttestationPolicy(verificationTime: SyntheticDCAP.now)
        let strict = Self.verify(w, quote: quote, collateral: collateral, tee: .tdx, policy: policy)
        #expect(strict.failed == ["service-td"])
        #expect(strict.checks.first { $0.id == "service-td" }?.detail.contains("MRSERVICETD") == true)
        policy.allowServiceTD = true
        let allowed = Self.verify(w, quote: quote, collateral: collateral, tee: .tdx, policy: policy)
        #expect(allowed.verified, "\(allowed.checks.filter { !$0.ok }.map(\.detail))")
        #expect(allowed.measurement("MRSERVICETD") == Array(repeating: 0, count: 47) + [0x5e])
        // Allowing a service TD does not allow debug.
        let debug = Self.verify(
            w,
            quote: try w.quote(.tdxV5) {
                $0[647] = 0x5e; $0[120] |= 0x01
            }, collateral: collateral, tee: .tdx,
            policy: policy)
        #expect(debug.failed == ["debug"])
    }

    @Test func debugEvidenceIsRejectedUnlessAllowed() throws {
        let w = try SyntheticDCAP()
        let collateral = try Self.collateral(w, tee: "TDX")
        let quote = try w.quote(.tdxV4) { $0[120] |= 0x01 }
        var policy = AttestationPolicy(verificationTime: SyntheticDCAP.now)
        #expect(Self.verify(w, quote: quote, collateral: collateral, tee: .tdx, policy: policy).failed == ["debug"])
        policy.allowDebug = true
        #expect(Self.verify(w, quote: quote, collateral: collateral, tee: .tdx, policy: policy).verified)
        let sgx = try w.quote(.sgxV3) { $0[48] |= 0x02 }
        #expect(
            Self.verify(w, quote: sgx, collateral: try Self.collateral(w, tee: "SGX"), tee: .sgx).failed == ["debug"])
    }

    @Test(arguments: [
        (123, UInt8(0x00)), (123, UInt8(0x30)), (121, UInt8(0x01)), (126, UInt8(0x01)), (120, UInt8(0x02)),
    ])
    func tdAttributesMustHaveSEPTVEDisableAndNoReservedBits(_ edit: (Int, UInt8)) throws {
        let w = try SyntheticDCAP()
        let quote = try w.quote(.tdxV4) { $0[edit.0] = edit.1 }
        var policy = AttestationPolicy(verificationTime: SyntheticDCAP.now)
        policy.allowDebug = true
        let r = Self.verify(w, quote: quote, collateral: try Self.collateral(w, tee: "TDX"), tee: .tdx, policy: policy)
        #expect(r.failed == ["debug"])
    }

    @Test func aWrongTDXModuleSignerFails() throws {
        let w = try SyntheticDCAP()
        let quote = try w.quote(.tdxV4) { $0[64] = 1 }  // MRSIGNERSEAM
        let r = Self.verify(w, quote: quote, collateral: try Self.collateral(w, tee: "TDX"), tee: .tdx)
        #expect(r.failed == ["tdx-module"])
    }

    @Test func freshnessUsesTheTDReportData() throws {
        let w = try SyntheticDCAP()
        var policy = AttestationPolicy(verificationTime: SyntheticDCAP.now)
        policy.expectedReportData = Array(repeating: 7, count: 64)
        let collateral = try Self.collateral(w, tee: "TDX")
        #expect(Self.verify(w, quote: try w.quote(.tdxV5), collateral: collateral, tee: .tdx, policy: policy).verified)
        policy.expectedReportData = [7, 7, 7]
        #expect(
            Self.verify(w, quote: try w.quote(.tdxV5), collateral: collateral, tee: .tdx, policy: policy).failed == [
                "freshness"
            ])
    }

    @Test func expiredCollateralFails() throws {
        let w = try SyntheticDCAP()
        let collateral = try w.collateral(
            tcbInfo: SyntheticDCAP.tcbInfo(tee: "SGX", nextUpdate: "2029-12-31T23:59:59Z"),
            qeIdentity: SyntheticDCAP.qeIdentity(tee: "SGX"))
        let r = Self.verify(w, quote: try w.quote(.sgxV3), collateral: collateral, tee: .sgx)
        #expect(r.failed == ["collateral"])
        #expect(r.checks.first { $0.id == "collateral" }?.detail.contains("TCB info expired") == true)
    }

    @Test func anUnknownQEIdentityVersionFails() throws {
        let w = try SyntheticDCAP()
        let identity = SyntheticDCAP.qeIdentity(tee: "SGX").replacingOccurrences(
            of: "\"version\":2", with: "\"version\":9")
        let collateral = try w.collateral(tcbInfo: SyntheticDCAP.tcbInfo(tee: "SGX"), qeIdentity: identity)
        let r = Self.verify(w, quote: try w.quote(.sgxV3), collateral: collateral, tee: .sgx)
        #expect(r.failed == ["collateral", "qe-identity", "tcb-status"])
        #expect(r.checks.first { $0.id == "collateral" }?.detail.contains("QE identity version 9") == true)
    }

    @Test func aQEReportThatDoesNotBindTheKeyFails() throws {
        let w = try SyntheticDCAP()
        var quote = try w.quote(.sgxV3)
        // Swap the attestation key for another valid point: the quote signature and the QE binding fail.
        let other = Array(try SyntheticDCAP().attestationKey.publicKey.rawRepresentation)
        quote.replaceSubrange((432 + 4 + 64)..<(432 + 4 + 128), with: other)
        let r = Self.verify(w, quote: quote, collateral: try Self.collateral(w, tee: "SGX"), tee: .sgx)
        #expect(r.failed == ["qe-report", "signature"])
    }
}
