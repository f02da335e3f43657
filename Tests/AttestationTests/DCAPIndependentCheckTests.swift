import EnclaveCore
import Foundation
import TestSupport
import Testing

@testable import Attestation

/// Runs dcap-qvl (PyPI `dcap-qvl` 0.7.0, installed by .ci/setup) through python3 on every DCAP vector, on
/// tampered and expired variants, and on synthetic quotes from a test PKI (`verify_with_root_ca`), and
/// compares its verdict, TCB status, advisories and MRTD/MRENCLAVE with EnclaveKit's.
///
/// dcap-qvl accepts any status but Revoked and has no advisory policy, so EnclaveKit runs here with every
/// status but Revoked and every advisory allowed; its default policy is tested in `DCAPVectorTests`.
@Suite struct DCAPIndependentCheckTests {
    static let script = #"""
        import json, sys
        import dcap_qvl
        jobs = json.load(sys.stdin)
        out = []
        for job in jobs:
            quote = bytes.fromhex(job["quote"])
            res = {"ok": False, "error": "", "status": None, "advisories": [], "register": None}
            try:
                report = dcap_qvl.parse_quote(quote).report
                reg = getattr(report, "mr_td", None)
                if reg is None:
                    reg = report.mr_enclave
                res["register"] = bytes(reg).hex()
            except Exception as e:
                res["error"] = "parse: " + str(e)
            if job["collateral"] is not None:
                try:
                    coll = dcap_qvl.QuoteCollateralV3.from_json(job["collateral"])
                    if job["root"] is None:
                        r = dcap_qvl.verify(quote, coll, job["time"])
                    else:
                        r = dcap_qvl.verify_with_root_ca(quote, coll, bytes.fromhex(job["root"]), job["time"])
                    res["ok"] = True
                    res["status"] = r.status
                    res["advisories"] = list(r.advisory_ids)
                except Exception as e:
                    res["error"] = str(e)
            out.append(res)
        json.dump(out, sys.stdout)
        """#

    struct Job {
        var name: String
        var quote: [UInt8]
        var collateral: [UInt8]?
        var time: Int64
        var tee: TEE
        var root: [UInt8]?
    }

    struct Verdict: Decodable {
        var ok: Bool
        var error: String
        var status: String?
        var advisories: [String]
        var register: String?
    }

    static func dcapQVL(_ jobs: [Job]) throws -> [Verdict] {
        let input: [[String: Any]] = jobs.map { job in
            [
                "quote": job.quote.hex,
                "collateral": job.collateral.map { String(decoding: $0, as: UTF8.self) } ?? NSNull(),
                "time": job.time, "root": job.root.map(\.hex) ?? NSNull(),
            ]
        }
        let jobs = Array(try JSONSerialization.data(withJSONObject: input))
        let result = try ToolRunner.run("python3", ["-c", script], stdin: jobs)
        try #require(
            result.status == 0, "python3 with dcap-qvl 0.7.0 (pip install dcap-qvl==0.7.0) failed: \(result.stderr)")
        return try JSONDecoder().decode([Verdict].self, from: Data(result.stdoutBytes))
    }

    static func vectorJobs() throws -> [Job] {
        func job(_ name: String, _ quote: String, _ collateral: String?, _ time: Int64, _ tee: TEE) throws -> Job {
            Job(
                name: name, quote: try Fixtures.bytes("dcap/" + quote),
                collateral: try collateral.map { try Fixtures.bytes("dcap/" + $0) }, time: time, tee: tee)
        }
        var jobs = [
            try job("tdx v4", "dcapqvl_tdx_quote", "dcapqvl_tdx_quote_collateral.json", 1_751_624_655, .tdx),
            try job("tdx v4 expired", "dcapqvl_tdx_quote", "dcapqvl_tdx_quote_collateral.json", 1_752_969_600, .tdx),
            try job(
                "tdx v5 outdated", "dcapqvl_tdx_quote_outdated", "dcapqvl_tdx_quote_outdated_collateral.json",
                1_772_707_833, .tdx),
            try job(
                "tdx v4, other FMSPC", "dcapqvl_tdx_quote", "dcapqvl_tdx_quote_outdated_collateral.json",
                1_772_707_833, .tdx),
            try job("gotdx padded", "gotdx_cos-113-tdx-quote.dat", nil, 1_751_624_655, .tdx),
            try job("sgx v3", "dcapqvl_sgx_quote", "dcapqvl_sgx_quote_collateral.json", 1_751_624_924, .sgx),
            try job("sgx v3 late", "dcapqvl_sgx_quote", "dcapqvl_sgx_quote_collateral.json", 1_796_169_600, .sgx),
        ]
        var tampered = jobs[0]
        tampered.name = "tdx v4 MRTD changed"
        tampered.quote[48 + 136] ^= 1
        jobs.append(tampered)
        return jobs
    }

    static func syntheticJobs() throws -> [Job] {
        let w = try SyntheticDCAP()
        let root = SyntheticDCAP.der(w.root)
        var jobs: [Job] = []
        for (kind, tee) in [(SyntheticDCAP.Kind.sgxV3, TEE.sgx), (.tdxV4, .tdx), (.tdxV5, .tdx)] {
            let id = tee == .sgx ? "SGX" : "TDX"
            var level = SyntheticDCAP.TCBLevel()
            level.status = "SWHardeningNeeded"
            level.advisories = ["INTEL-SA-00615"]
            let collateral = try w.collateral(
                tcbInfo: SyntheticDCAP.tcbInfo(tee: id, levels: [level]), qeIdentity: SyntheticDCAP.qeIdentity(tee: id))
            jobs.append(
                Job(
                    name: "synthetic \(kind)", quote: try w.quote(kind, padding: 64), collateral: collateral,
                    time: SyntheticDCAP.now, tee: tee, root: root))
            jobs.append(
                Job(
                    name: "synthetic \(kind) debug", quote: try w.quote(kind) { $0[kind == .sgxV3 ? 48 : 120] |= 3 },
                    collateral: collateral, time: SyntheticDCAP.now, tee: tee, root: root))
        }
        // TD 1.5 whose current TDX TCB (TEE_TCB_SVN2, all zero here) matches no level.
        jobs.append(
            Job(
                name: "synthetic tdxV5 current TCB unsupported",
                quote: try w.quote(.tdxV5) { $0.replaceSubrange(584..<600, with: Array(repeating: 0, count: 16)) },
                collateral: try w.collateral(
                    tcbInfo: SyntheticDCAP.tcbInfo(tee: "TDX"), qeIdentity: SyntheticDCAP.qeIdentity(tee: "TDX")),
                time: SyntheticDCAP.now, tee: .tdx, root: root))
        return jobs
    }

    @Test func enclaveKitAgreesWithDCAPQVL() throws {
        let jobs = try Self.vectorJobs() + Self.syntheticJobs()
        let theirs = try Self.dcapQVL(jobs)
        try #require(theirs.count == jobs.count)
        for (job, their) in zip(jobs, theirs) {
            var inputs = EvidenceInputs(evidence: job.quote, name: job.name)
            inputs.collateral = job.collateral
            var policy = AttestationPolicy(verificationTime: job.time)
            policy.allowedTCBStatuses = Set(TCBStatus.allCases.map(\.rawValue)).subtracting(["Revoked"])
            policy.allowedAdvisories = Set(their.advisories + ["INTEL-SA-00615"])
            let ours =
                if let root = job.root {
                    DCAPVerifier.verify(inputs, tee: job.tee, policy: policy, pinnedRootSHA256: Digest.sha256(root))
                } else {
                    DCAPVerifier.verify(inputs, tee: job.tee, policy: policy)
                }
            let register = job.tee == .tdx ? "MRTD" : "MRENCLAVE"
            #expect(ours.measurement(register)?.hex == their.register, "\(job.name)")
            if job.collateral == nil {
                // dcap-qvl cannot verify without collateral; both must find the signatures valid.
                let signatureChecks = ours.checks.filter {
                    ["structure", "root", "chain", "qe-report", "signature"].contains($0.id)
                }
                let allOK = signatureChecks.count == 5 && signatureChecks.allSatisfy { $0.ok }
                #expect(allOK, "\(job.name)")
                continue
            }
            #expect(
                ours.verified == their.ok,
                "\(job.name): EnclaveKit \(ours.failed), dcap-qvl \(their.ok ? "ok" : their.error)")
            if their.ok {
                #expect(ours.tcbStatus == their.status, "\(job.name)")
                #expect(ours.advisories.sorted() == their.advisories.sorted(), "\(job.name)")
            }
        }
        // The comparison must exercise both verdicts, on the vectors and on the synthetic quotes.
        let accepted = zip(jobs, theirs).filter { $0.1.ok }.map(\.0.name)
        #expect(
            accepted == [
                "tdx v4", "sgx v3", "synthetic sgxV3", "synthetic tdxV4", "synthetic tdxV5",
            ])
    }
}
