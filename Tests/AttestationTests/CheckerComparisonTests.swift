import EnclaveCore
import Foundation
import TestSupport
import Testing

@testable import Attestation

/// EnclaveKit beside an independent checker (Fixtures/checker/reference_checker.py: Python `cryptography` +
/// `cbor2`, written from the format descriptions): same verdict and same registers on every Nitro and SNP
/// vector, and on altered copies of them.
@Suite struct CheckerComparisonTests {
    struct Case: Sendable, CustomStringConvertible {
        var tee: TEE
        var evidence: String
        var vcek: String?
        var chain: String?
        var time: Int64
        var allowDebug = false
        /// A byte to flip (offset), to compare verdicts on evidence neither has seen.
        var flip: Int?
        var description: String { "\(evidence) at \(time)" + (flip.map { " flipped at \($0)" } ?? "") }
    }

    static let cases: [Case] = [
        Case(tee: .nitro, evidence: "nitro/evervault_valid-attestation-doc-bytes", time: 1_665_651_482),
        Case(tee: .nitro, evidence: "nitro/evervault_valid-attestation-doc-bytes", time: 1_780_000_000),
        Case(tee: .nitro, evidence: "nitro/evervault_valid-attestation-doc-bytes", time: 1_665_651_482, flip: 4500),
        Case(tee: .nitro, evidence: "nitro/evervault_debug-mode-attestation-doc-bytes", time: 1_665_582_606),
        Case(
            tee: .nitro, evidence: "nitro/evervault_debug-mode-attestation-doc-bytes", time: 1_665_582_606,
            allowDebug: true),
        Case(
            tee: .sevSNP, evidence: "snp/mstav_milan_report.bin", vcek: "snp/mstav_milan_vcek.pem",
            chain: "snp/amd_ask_ark_milan.pem", time: 1_780_000_000),
        Case(
            tee: .sevSNP, evidence: "snp/mstav_genoa_report.bin", vcek: "snp/mstav_genoa_vcek.pem",
            chain: "snp/amd_ask_ark_genoa.pem", time: 1_780_000_000),
        Case(
            tee: .sevSNP, evidence: "snp/mstav_milan_report.bin", vcek: "snp/mstav_genoa_vcek.pem",
            chain: "snp/amd_ask_ark_milan.pem", time: 1_780_000_000),
        Case(
            tee: .sevSNP, evidence: "snp/mstav_milan_report.bin", vcek: "snp/mstav_milan_vcek.pem",
            chain: "snp/amd_ask_ark_milan.pem", time: 2_000_000_000),
        Case(
            tee: .sevSNP, evidence: "snp/mstav_milan_report.bin", vcek: "snp/mstav_milan_vcek.pem",
            chain: "snp/amd_ask_ark_milan.pem", time: 1_780_000_000, flip: 0x90),
        Case(
            tee: .sevSNP, evidence: "snp/mstav_genoa_report.bin", vcek: "snp/mstav_genoa_vcek.pem",
            chain: "snp/amd_ask_ark_genoa.pem", time: 1_780_000_000, flip: 0x1A0),
    ]

    @Test(arguments: cases) func sameVerdictAndRegisters(_ c: Case) throws {
        var bytes = try Fixtures.bytes(c.evidence)
        if let flip = c.flip { bytes[flip] ^= 0x01 }
        let directory = try TestDirectory(prefix: "ek-checker")
        let evidencePath = try directory.write("evidence", bytes)

        var inputs = EvidenceInputs(evidence: bytes, name: c.evidence)
        inputs.vcek = try c.vcek.map { try Fixtures.bytes($0) }
        inputs.certChain = try c.chain.map { try Fixtures.bytes($0) }
        var policy = AttestationPolicy(verificationTime: c.time)
        policy.allowDebug = c.allowDebug
        let ours = Attestation.verify(inputs, tee: c.tee, policy: policy)

        var args = [Fixtures.path("checker/reference_checker.py"), c.tee == .nitro ? "nitro" : "snp", evidencePath]
        args += [c.vcek, c.chain].compactMap { $0.map { Fixtures.path($0) } }
        args.append(String(c.time))
        if c.allowDebug { args.append("--allow-debug") }
        let checker = try ToolRunner.run("python3", args)
        try #require(checker.status == 0, "reference checker failed: \(checker.stderr)")
        let theirs = try #require(
            try JSONSerialization.jsonObject(with: Data(checker.stdoutBytes)) as? [String: Any])
        let verified = try #require(theirs["verified"] as? Bool)
        #expect(ours.verified == verified, "EnclaveKit \(ours.failed), checker: \(theirs["reason"] ?? "")")
        let registers = try #require(theirs["measurements"] as? [String: String])
        for (name, hex) in registers {
            #expect(ours.measurement(name).map(Hex.encode) == hex, "\(name)")
        }
        if c.flip == nil, ours.checks.first?.ok == true { #expect(!registers.isEmpty) }
    }
}
