import EnclaveCore
import TestSupport
import Testing

@testable import Attestation

/// The public Nitro and SEV-SNP samples (Fixtures/nitro, Fixtures/snp) with their verdicts at fixed times.
@Suite struct VectorTests {
    static func time(_ text: String) -> Int64 { AttestationTime.parse(text) ?? -1 }

    static func nitro(_ name: String, at time: String, allowDebug: Bool = false) throws -> AttestationResult {
        let bytes = try Fixtures.bytes("nitro/\(name)")
        var policy = AttestationPolicy(verificationTime: Self.time(time))
        policy.allowDebug = allowDebug
        return Attestation.verify(EvidenceInputs(evidence: bytes, name: name), tee: .nitro, policy: policy)
    }

    static func snp(
        _ report: String, vcek: String, chain: String? = nil, at time: String = "2026-06-01T00:00:00Z",
        mutate: (inout [UInt8]) -> Void = { _ in }
    ) throws -> AttestationResult {
        var bytes = try Fixtures.bytes("snp/\(report)")
        mutate(&bytes)
        var inputs = EvidenceInputs(evidence: bytes, name: report)
        inputs.vcek = try Fixtures.bytes("snp/\(vcek)")
        inputs.certChain = try chain.map { try Fixtures.bytes("snp/\($0)") }
        return Attestation.verify(inputs, tee: .sevSNP, policy: AttestationPolicy(verificationTime: Self.time(time)))
    }

    @Test func nitroValidDocumentVerifiesAtItsTimestamp() throws {
        let result = try Self.nitro("evervault_valid-attestation-doc-bytes", at: "2022-10-13T08:58:02.136Z")
        #expect(result.verified, "\(result.checks)")
        #expect(
            result.checks.map(\.id) == [
                "structure", "root", "chain", "signature", "debug", "freshness", "measurements",
            ])
        #expect(
            result.measurement("PCR0").map(Hex.encode)
                == "f4d48b81a460c9916d1e685119074bf24660afd3e34fae9fca0a0d28d9d5599936332687e6f66fc890ac8cf150142d8b")
        #expect(
            result.measurement("PCR8").map(Hex.encode)
                == "8790eb3cce6c83d07e84b126dc61ca923333d6f66615c4a79157de48c5ab2418bdc60746ea7b7afbff03a1c6210201cb")
    }

    @Test func nitroDocumentParsesItsFields() throws {
        let doc = try NitroDocument(bytes: try Fixtures.bytes("nitro/evervault_valid-attestation-doc-bytes"))
        #expect(doc.moduleID == "i-020b6af9246d90e92-enc0183d09086c24190")
        #expect(doc.timestamp == 1_665_651_482_136)
        #expect(doc.nonce?.count == 256)
        #expect(doc.userData == nil && doc.publicKey == nil)
        #expect(Hex.encode(Array(doc.cabundle[0])) == Hex.encode(NitroVerifier.pinnedRootDER))
    }

    @Test func nitroValidDocumentExpiredNow() throws {
        let result = try Self.nitro("evervault_valid-attestation-doc-bytes", at: "2026-12-02T00:00:00Z")
        #expect(!result.verified)
        #expect(result.failed == ["chain"])
        #expect(result.checks.last?.detail.contains("not at 2026-12-02T00:00:00Z") == true)
    }

    @Test func nitroDebugDocumentRejectedUnlessAllowed() throws {
        let strict = try Self.nitro("evervault_debug-mode-attestation-doc-bytes", at: "2022-10-12T13:50:06Z")
        #expect(strict.failed == ["debug"])
        let allowed = try Self.nitro(
            "evervault_debug-mode-attestation-doc-bytes", at: "2022-10-12T13:50:06Z", allowDebug: true)
        #expect(allowed.verified, "\(allowed.checks)")
    }

    @Test func nitroTamperedPayloadByteFailsSignature() throws {
        var bytes = try Fixtures.bytes("nitro/evervault_valid-attestation-doc-bytes")
        let doc = try NitroDocument(bytes: bytes)
        // A byte inside the 256-byte nonce (in the signed payload) changes; the CBOR stays valid.
        let nonce = try #require(doc.nonce)
        let index = try #require(
            (0..<bytes.count - nonce.count).first { Array(bytes[$0..<$0 + nonce.count]) == nonce })
        bytes[index + 10] ^= 0x01
        let result = Attestation.verify(
            EvidenceInputs(evidence: bytes, name: "tampered"), tee: .nitro,
            policy: AttestationPolicy(verificationTime: Self.time("2022-10-13T08:58:02Z")))
        #expect(result.failed == ["signature"])
    }

    @Test func nitroWrongNonceFailsFreshness() throws {
        let bytes = try Fixtures.bytes("nitro/evervault_valid-attestation-doc-bytes")
        let doc = try NitroDocument(bytes: bytes)
        var policy = AttestationPolicy(verificationTime: Self.time("2022-10-13T08:58:02Z"))
        policy.expectedNonce = doc.nonce
        #expect(Attestation.verify(EvidenceInputs(evidence: bytes, name: "d"), tee: .nitro, policy: policy).verified)
        policy.expectedNonce = [UInt8](repeating: 0xAB, count: 32)
        let result = Attestation.verify(EvidenceInputs(evidence: bytes, name: "d"), tee: .nitro, policy: policy)
        #expect(result.failed == ["freshness"])
    }

    @Test func nitroDebugDocumentBindsUserData() throws {
        var policy = AttestationPolicy(verificationTime: Self.time("2022-10-12T13:50:06Z"))
        policy.allowDebug = true
        policy.expectedReportData = Array("hello, world!".utf8)
        let bytes = try Fixtures.bytes("nitro/evervault_debug-mode-attestation-doc-bytes")
        #expect(Attestation.verify(EvidenceInputs(evidence: bytes, name: "d"), tee: .nitro, policy: policy).verified)
        policy.expectedReportData = Array("hello, world?".utf8)
        #expect(
            Attestation.verify(EvidenceInputs(evidence: bytes, name: "d"), tee: .nitro, policy: policy).failed
                == ["freshness"])
    }

    @Test func snpMilanAndGenoaVerify() throws {
        for product in ["milan", "genoa"] {
            let result = try Self.snp(
                "mstav_\(product)_report.bin", vcek: "mstav_\(product)_vcek.pem",
                chain: "amd_ask_ark_\(product).pem")
            #expect(result.verified, "\(result.checks)")
            #expect(
                result.checks.map(\.id) == [
                    "structure", "root", "chain", "vcek-tcb", "vcek-hwid", "signature", "debug", "freshness",
                    "measurements",
                ])
            #expect(
                result.measurement("MEASUREMENT").map(Hex.encode)
                    == "5feee30d6d7e1a29f403d70a4198237ddfb13051a2d6976439487c609388ed7f98189887920ab2fa0096903a0c23fca1"
            )
        }
    }

    @Test func snpSampleChainFilesMatchThePins() throws {
        // The repository's separate ASK and ARK files are AMD's: concatenated in KDS order, they match.
        for product in ["milan", "genoa"] {
            let chain =
                try Fixtures.bytes("snp/mstav_\(product)_ask.pem") + Fixtures.bytes("snp/mstav_\(product)_ark.pem")
            var inputs = EvidenceInputs(evidence: try Fixtures.bytes("snp/mstav_\(product)_report.bin"), name: "r")
            inputs.vcek = try Fixtures.bytes("snp/mstav_\(product)_vcek.pem")
            inputs.certChain = chain
            let result = Attestation.verify(
                inputs, tee: .sevSNP, policy: AttestationPolicy(verificationTime: Self.time("2026-06-01T00:00:00Z")))
            #expect(result.verified, "\(result.checks)")
        }
    }

    @Test func snpReportFields() throws {
        let report = try SNPReport(bytes: try Fixtures.bytes("snp/mstav_milan_report.bin"))
        #expect(report.version == 3)
        #expect(report.policy == 0x3001f)
        #expect(report.reportedTCB == 0xdb18_0000_0000_0004)  // bytes 04000000000018db
        #expect(report.product == .milan)
        #expect(report.reportData.allSatisfy { $0 == 0 })
    }

    @Test func snpMilanWithGenoaChainOrVCEKFails() throws {
        let chain = try Self.snp("mstav_milan_report.bin", vcek: "mstav_milan_vcek.pem", chain: "amd_ask_ark_genoa.pem")
        #expect(chain.failed == ["root"])
        let vcek = try Self.snp("mstav_milan_report.bin", vcek: "mstav_genoa_vcek.pem")
        #expect(vcek.failed == ["chain"])
    }

    @Test func snpChangedMeasurementByteFailsSignature() throws {
        let result = try Self.snp("mstav_milan_report.bin", vcek: "mstav_milan_vcek.pem") { $0[0x90] ^= 1 }
        #expect(result.failed == ["signature"])
    }

    @Test func snpAfterTheVCEKExpiresFails() throws {
        let result = try Self.snp("mstav_milan_report.bin", vcek: "mstav_milan_vcek.pem", at: "2033-02-06T00:00:00Z")
        #expect(result.failed == ["chain"])
        let before = try Self.snp("mstav_milan_report.bin", vcek: "mstav_milan_vcek.pem", at: "2026-02-04T00:00:00Z")
        #expect(before.failed == ["chain"])
    }

    @Test func snpChainInWrongOrderOrWithALoop() throws {
        let reversed = try Fixtures.bytes("snp/mstav_milan_ark.pem") + Fixtures.bytes("snp/mstav_milan_ask.pem")
        let loop = try Fixtures.bytes("snp/mstav_milan_ask.pem") + Fixtures.bytes("snp/mstav_milan_ask.pem")
        for (chain, words) in [(reversed, "wrong order"), (loop, "loop")] {
            var inputs = EvidenceInputs(evidence: try Fixtures.bytes("snp/mstav_milan_report.bin"), name: "r")
            inputs.vcek = try Fixtures.bytes("snp/mstav_milan_vcek.pem")
            inputs.certChain = chain
            let result = Attestation.verify(
                inputs, tee: .sevSNP, policy: AttestationPolicy(verificationTime: Self.time("2026-06-01T00:00:00Z")))
            #expect(result.failed == ["root"])
            #expect(result.checks.last?.detail.contains(words) == true, "\(result.checks)")
        }
    }

    @Test func snpWrongReportDataFailsFreshness() throws {
        var inputs = EvidenceInputs(evidence: try Fixtures.bytes("snp/mstav_milan_report.bin"), name: "r")
        inputs.vcek = try Fixtures.bytes("snp/mstav_milan_vcek.pem")
        var policy = AttestationPolicy(verificationTime: Self.time("2026-06-01T00:00:00Z"))
        policy.expectedReportData = [0, 0]
        #expect(Attestation.verify(inputs, tee: .sevSNP, policy: policy).verified)
        policy.expectedReportData = [1]
        #expect(Attestation.verify(inputs, tee: .sevSNP, policy: policy).failed == ["freshness"])
    }

    @Test func detectRecognizesEachSample() throws {
        #expect(Attestation.detect(try Fixtures.bytes("nitro/evervault_valid-attestation-doc-bytes")) == .nitro)
        #expect(Attestation.detect(try Fixtures.bytes("snp/mstav_genoa_report.bin")) == .sevSNP)
        #expect(Attestation.detect([1, 2, 3]) == nil)
    }

    @Test func pinnedRootsAreCompiledIn() {
        #expect(Hex.encode(Array(NitroVerifier.pinnedRootDER)).count == NitroVerifier.pinnedRootDER.count * 2)
        for product in SNPProduct.allCases {
            let roots = SNPVerifier.Roots.pinned(product)
            #expect(roots != nil)
            #expect(roots?.asvk != nil)
            // Each ARK signs itself and its ASK and ASVK.
            if let roots {
                #expect(roots.ark.verifies(roots.ark) && roots.ark.verifies(roots.ask))
                if let asvk = roots.asvk { #expect(roots.ark.verifies(asvk)) }
            }
        }
    }
}
