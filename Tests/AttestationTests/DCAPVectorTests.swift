import EnclaveCore
import TestSupport
import Testing

@testable import Attestation

/// The public SGX and TDX vectors, each at its verification time, with the verdict dcap-qvl 0.7.0 gives.
@Suite struct DCAPVectorTests {
    static let tdxTime: Int64 = 1_751_624_655  // 2025-07-04T10:24:15Z
    static let tdxExpired: Int64 = 1_752_969_600  // 2025-07-20T00:00:00Z
    static let tdxOutdatedTime: Int64 = 1_772_707_833  // 2026-03-05T10:50:33Z
    static let sgxTime: Int64 = 1_751_624_924  // 2025-07-04T10:28:44Z
    static let sgxLate: Int64 = 1_796_169_600  // 2026-12-02T00:00:00Z
    static let mrtd =
        "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7"
    static let mrenclave = "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb"
    static let sgxAdvisories = ["INTEL-SA-00289", "INTEL-SA-00615"]

    static func inputs(_ quote: String, collateral: String?, edit: (inout [UInt8]) -> Void = { _ in }) throws
        -> EvidenceInputs
    {
        var bytes = try Fixtures.bytes("dcap/" + quote)
        edit(&bytes)
        var inputs = EvidenceInputs(evidence: bytes, name: quote)
        if let collateral { inputs.collateral = try Fixtures.bytes("dcap/" + collateral) }
        return inputs
    }

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var quote: String
        var collateral: String?
        var tee: TEE
        var time: Int64
        var allowStatus: [String] = []
        var allowAdvisories: [String] = []
        var flipByte: Int?
        var failed: [String]
        var tcbStatus: String?
        var advisories: [String] = []
        var register: (String, String)?
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "TDX v4 UpToDate", quote: "dcapqvl_tdx_quote", collateral: "dcapqvl_tdx_quote_collateral.json",
            tee: .tdx, time: tdxTime, failed: [], tcbStatus: "UpToDate", register: ("MRTD", mrtd)),
        Case(
            name: "TDX v4 after the collateral expired", quote: "dcapqvl_tdx_quote",
            collateral: "dcapqvl_tdx_quote_collateral.json", tee: .tdx, time: tdxExpired,
            failed: ["crl", "collateral"], tcbStatus: "UpToDate", register: ("MRTD", mrtd)),
        Case(
            name: "TDX v4 with one MRTD byte changed", quote: "dcapqvl_tdx_quote",
            collateral: "dcapqvl_tdx_quote_collateral.json", tee: .tdx, time: tdxTime, flipByte: 48 + 136,
            failed: ["signature"], tcbStatus: "UpToDate",
            register: ("MRTD", "90" + String(mrtd.dropFirst(2)))),
        Case(
            name: "TDX v5 (TD 1.5) with no matching TCB level", quote: "dcapqvl_tdx_quote_outdated",
            collateral: "dcapqvl_tdx_quote_outdated_collateral.json", tee: .tdx, time: tdxOutdatedTime,
            failed: ["tcb-status"], tcbStatus: nil,
            register: (
                "MRTD",
                "273828c46252fcbdd8ad2dd907130222b03466d52a2911d70c1a5950895d6bd1ae451d382d5a9b1b4c0ed0e5ae9a3dbd"
            )),
        Case(
            name: "go-tdx-guest padded quote without collateral", quote: "gotdx_cos-113-tdx-quote.dat",
            collateral: nil, tee: .tdx, time: tdxTime,
            failed: ["crl", "collateral", "qe-identity", "tcb-status", "tdx-module"], tcbStatus: nil,
            register: (
                "MRTD",
                "dae67181d3d65e073ad8f95b7907d5e927bfe9761c9ff3e9b89734a45d8954dba41394c7717cb2735396c1d04231f94a"
            )),
        Case(
            name: "TDX v4 quote with another platform's collateral (wrong FMSPC)", quote: "dcapqvl_tdx_quote",
            collateral: "dcapqvl_tdx_quote_outdated_collateral.json", tee: .tdx, time: tdxOutdatedTime,
            failed: ["collateral", "qe-identity", "tcb-status", "tdx-module"], tcbStatus: nil, register: ("MRTD", mrtd)),
        Case(
            name: "SGX v3 ConfigurationAndSWHardeningNeeded, default policy", quote: "dcapqvl_sgx_quote",
            collateral: "dcapqvl_sgx_quote_collateral.json", tee: .sgx, time: sgxTime, failed: ["tcb-status"],
            tcbStatus: "ConfigurationAndSWHardeningNeeded", advisories: sgxAdvisories,
            register: ("MRENCLAVE", mrenclave)),
        Case(
            name: "SGX v3 with the status allowed but not the advisories", quote: "dcapqvl_sgx_quote",
            collateral: "dcapqvl_sgx_quote_collateral.json", tee: .sgx, time: sgxTime,
            allowStatus: ["ConfigurationAndSWHardeningNeeded"], failed: ["tcb-status"],
            tcbStatus: "ConfigurationAndSWHardeningNeeded", advisories: sgxAdvisories,
            register: ("MRENCLAVE", mrenclave)),
        Case(
            name: "SGX v3 with the status and advisories allowed", quote: "dcapqvl_sgx_quote",
            collateral: "dcapqvl_sgx_quote_collateral.json", tee: .sgx, time: sgxTime,
            allowStatus: ["ConfigurationAndSWHardeningNeeded"], allowAdvisories: sgxAdvisories, failed: [],
            tcbStatus: "ConfigurationAndSWHardeningNeeded", advisories: sgxAdvisories,
            register: ("MRENCLAVE", mrenclave)),
        Case(
            name: "SGX v3 after the root CA CRL expired", quote: "dcapqvl_sgx_quote",
            collateral: "dcapqvl_sgx_quote_collateral.json", tee: .sgx, time: sgxLate,
            allowStatus: ["ConfigurationAndSWHardeningNeeded"], allowAdvisories: sgxAdvisories,
            failed: ["crl", "collateral"], tcbStatus: "ConfigurationAndSWHardeningNeeded",
            advisories: sgxAdvisories, register: ("MRENCLAVE", mrenclave)),
    ]

    @Test(arguments: cases) func vector(_ c: Case) throws {
        let inputs = try Self.inputs(c.quote, collateral: c.collateral) { bytes in
            if let i = c.flipByte { bytes[i] ^= 0x01 }
        }
        var policy = AttestationPolicy(verificationTime: c.time)
        policy.allowedTCBStatuses.formUnion(c.allowStatus)
        policy.allowedAdvisories.formUnion(c.allowAdvisories)
        let r = DCAPVerifier.verify(inputs, tee: c.tee, policy: policy)
        #expect(r.failed == c.failed, "\(r.checks.map { "\($0.id) \($0.ok) \($0.detail)" })")
        #expect(r.verified == c.failed.isEmpty)
        #expect(r.tcbStatus == c.tcbStatus)
        #expect(r.advisories == c.advisories)
        if let (name, value) = c.register { #expect(r.measurement(name)?.hex == value) }
    }

    @Test func checksRunInTheDocumentedOrder() throws {
        let r = DCAPVerifier.verify(
            try Self.inputs("dcapqvl_tdx_quote", collateral: "dcapqvl_tdx_quote_collateral.json"), tee: .tdx,
            policy: AttestationPolicy(verificationTime: Self.tdxTime))
        #expect(
            r.checks.map(\.id) == [
                "structure", "root", "chain", "crl", "collateral", "qe-report", "qe-identity", "signature",
                "tcb-status", "tdx-module", "debug", "measurements",
            ])
        #expect(r.checks.last?.detail.hasPrefix("MRTD, RTMR0, RTMR1, RTMR2, RTMR3, MRCONFIGID, XFAM") == true)
    }

    @Test func failureDetailsSayWhatWasWrong() throws {
        let late = DCAPVerifier.verify(
            try Self.inputs("dcapqvl_sgx_quote", collateral: "dcapqvl_sgx_quote_collateral.json"), tee: .sgx,
            policy: AttestationPolicy(verificationTime: Self.sgxLate))
        let crl = late.checks.first { $0.id == "crl" }
        #expect(crl?.detail.contains("root CA CRL expired: nextUpdate 2026-04-03") == true, "\(crl?.detail ?? "")")
        let wrongFMSPC = DCAPVerifier.verify(
            try Self.inputs("dcapqvl_tdx_quote", collateral: "dcapqvl_tdx_quote_outdated_collateral.json"),
            tee: .tdx, policy: AttestationPolicy(verificationTime: Self.tdxOutdatedTime))
        #expect(wrongFMSPC.checks.first { $0.id == "collateral" }?.detail.contains("FMSPC 90c06f000000") == true)
    }

    @Test func sgxMeasurementsAreTheReportFields() throws {
        let r = DCAPVerifier.verify(
            try Self.inputs("dcapqvl_sgx_quote", collateral: "dcapqvl_sgx_quote_collateral.json"), tee: .sgx,
            policy: AttestationPolicy(verificationTime: Self.sgxTime))
        #expect(r.measurements.map(\.name) == ["MRENCLAVE", "MRSIGNER", "ISVPRODID", "ISVSVN"])
        #expect(r.measurement("MRSIGNER")?.hex == "815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6")
        #expect(r.measurement("ISVPRODID") == [0, 0])
        #expect(r.measurement("ISVSVN") == [0, 0])
    }

    @Test func freshnessComparesZeroPaddedReportData() throws {
        let inputs = try Self.inputs("dcapqvl_sgx_quote", collateral: "dcapqvl_sgx_quote_collateral.json")
        var policy = AttestationPolicy(verificationTime: Self.sgxTime)
        policy.expectedReportData = Array("Hello, world!".utf8)
        var r = DCAPVerifier.verify(inputs, tee: .sgx, policy: policy)
        #expect(r.checks.first { $0.id == "freshness" }?.ok == true)
        policy.expectedReportData = Array("Hello, world?".utf8)
        r = DCAPVerifier.verify(inputs, tee: .sgx, policy: policy)
        #expect(r.checks.first { $0.id == "freshness" }?.ok == false)
    }

    @Test func measurementsAreComparedByName() throws {
        let inputs = try Self.inputs("dcapqvl_tdx_quote", collateral: "dcapqvl_tdx_quote_collateral.json")
        var policy = AttestationPolicy(verificationTime: Self.tdxTime)
        let mrtd = try #require(Hex.decode(Self.mrtd))
        policy.expectedMeasurements = [Measurement("MRTD", mrtd)]
        #expect(DCAPVerifier.verify(inputs, tee: .tdx, policy: policy).verified)
        var oneBit = mrtd
        oneBit[47] ^= 0x80
        policy.expectedMeasurements = [Measurement("MRTD", oneBit)]
        var r = DCAPVerifier.verify(inputs, tee: .tdx, policy: policy)
        #expect(r.failed == ["measurements"])
        policy.expectedMeasurements = [Measurement("MRENCLAVE", mrtd)]
        r = DCAPVerifier.verify(inputs, tee: .tdx, policy: policy)
        #expect(r.failed == ["measurements"])
    }

    @Test func reserializedTCBInfoFailsItsSignature() throws {
        var inputs = try Self.inputs("dcapqvl_tdx_quote", collateral: "dcapqvl_tdx_quote_collateral.json")
        let doc = try JSONParser.parse(try #require(inputs.collateral))
        guard case .object(var pairs) = doc, let i = pairs.firstIndex(where: { $0.0 == "tcb_info" }),
            case .string(let text) = pairs[i].1
        else {
            Issue.record("collateral has no tcb_info string")
            return
        }
        // The same JSON value, pretty-printed: equal as data, different as bytes.
        let reserialized = try JSONParser.parse(text).serialized(style: .pretty)
        #expect(try JSONParser.parse(reserialized) == JSONParser.parse(text))
        pairs[i].1 = .string(reserialized)
        inputs.collateral = Array(JSONValue.object(pairs).serialized().utf8)
        let r = DCAPVerifier.verify(inputs, tee: .tdx, policy: AttestationPolicy(verificationTime: Self.tdxTime))
        #expect(r.failed == ["collateral", "qe-identity", "tcb-status", "tdx-module"])
        #expect(r.checks.first { $0.id == "collateral" }?.detail.contains("re-serialized") == true)
    }

    @Test func aQuoteOfTheOtherTEEIsAStructureFailure() throws {
        let r = DCAPVerifier.verify(
            try Self.inputs("dcapqvl_tdx_quote", collateral: "dcapqvl_tdx_quote_collateral.json"), tee: .sgx,
            policy: AttestationPolicy(verificationTime: Self.tdxTime))
        #expect(r.failed == ["structure"])
    }

    @Test func thePinIsTheIntelRootCA() throws {
        #expect(Digest.sha256(try Fixtures.bytes("dcap/intel_sgx_root_ca.der")) == DCAPPKI.intelRootSHA256)
    }
}
