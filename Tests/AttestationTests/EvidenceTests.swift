import Testing

@testable import Attestation

@Suite struct EvidenceTests {
    @Test func verdictNeedsAtLeastOneCheckAndAllPassing() {
        var result = AttestationResult(tee: .nitro, verificationTime: 0)
        #expect(!result.verified)
        result.checks = [Check("structure", ok: true, "ok"), Check("signature", ok: false, "bad")]
        #expect(!result.verified)
        #expect(result.failed == ["signature"])
        result.checks[1].ok = true
        #expect(result.verified)
    }
}
