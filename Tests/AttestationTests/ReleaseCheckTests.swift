import EnclaveCore
import Release
import TestSupport
import Testing

@testable import Attestation

/// The `release` check: a small release signed here, compared with the public samples' registers.
@Suite struct ReleaseCheckTests {
    static let pcrs: [(String, String)] = [
        ("PCR0", "f4d48b81a460c9916d1e685119074bf24660afd3e34fae9fca0a0d28d9d5599936332687e6f66fc890ac8cf150142d8b"),
        ("PCR1", "bcdf05fefccaa8e55bf2c8d6dee9e79bbff31e34bf28a99aa19e6b29c37ee80b214a414b7607236edf26fcb78654e63f"),
        ("PCR2", "d8f114da658de5481f8d9ec73907feb553560787522f705c92d7d96beed8e15e2aa611984e098c576832c292e8dc469a"),
        ("PCR8", "8790eb3cce6c83d07e84b126dc61ca923333d6f66615c4a79157de48c5ab2418bdc60746ea7b7afbff03a1c6210201cb"),
    ]
    static let measurement =
        "5feee30d6d7e1a29f403d70a4198237ddfb13051a2d6976439487c609388ed7f98189887920ab2fa0096903a0c23fca1"

    /// Flips the lowest bit of the last hex digit.
    static func flip(_ hex: String) -> String {
        guard var bytes = Hex.decode(hex), let last = bytes.indices.last else { return hex }
        bytes[last] ^= 1
        return Hex.encode(bytes)
    }

    /// A release with one Nitro and one SEV-SNP target, signed by one key, and the policy trusting it.
    static func release(
        pcrs: [(String, String)] = pcrs, measurement: String = measurement, trusted: Bool = true
    ) throws -> AttestationRelease {
        try signed(
            targets: [
                .init(name: "nitro", platform: .nitro, artifacts: ["node.eif"], measurements: pcrs),
                .init(
                    name: "snp", platform: .sevSNP, artifacts: ["node.eif"],
                    measurements: [("MEASUREMENT", measurement)]),
            ], trusted: trusted)
    }

    /// A release `node 1.0.0` with `targets`, signed by one key, and the policy trusting it (or another key).
    static func signed(targets: [ReleaseManifest.Target], trusted: Bool = true) throws -> AttestationRelease {
        let digest = String(repeating: "ab", count: 32)
        let manifest = ReleaseManifest(
            name: "node", version: "1.0.0", sourceDateEpoch: 0,
            recipe: .init(path: "recipe.toml", sha256: digest), lock: .init(path: "recipe.lock", sha256: digest),
            inputs: [], artifacts: [.init(name: "node.eif", size: 1, sha256: digest)], targets: targets)
        try manifest.validate()
        let key = SigningKey.generate(.p256)
        let signed = try ReleaseSigner.sign(bytes: manifest.canonicalBytes, format: "manifest", key: key, output: .dsse)
        let trustedKey = trusted ? key.publicKey : SigningKey.generate(.p256).publicKey
        let policy = ReleasePolicy(threshold: 1, keys: [TrustedKey(name: "alice", key: trustedKey)])
        return try AttestationRelease(documents: [(signed.bytes, "release.dsse.json")], policy: policy)
    }

    static func nitro(_ release: AttestationRelease, target: String? = nil) throws -> AttestationResult {
        Attestation.verify(
            EvidenceInputs(evidence: try Fixtures.bytes("nitro/evervault_valid-attestation-doc-bytes"), name: "doc"),
            tee: .nitro, policy: AttestationPolicy(verificationTime: 1_665_651_482), release: release, target: target)
    }

    static func snp(_ release: AttestationRelease) throws -> AttestationResult {
        var inputs = EvidenceInputs(evidence: try Fixtures.bytes("snp/mstav_milan_report.bin"), name: "report")
        inputs.vcek = try Fixtures.bytes("snp/mstav_milan_vcek.pem")
        return Attestation.verify(
            inputs, tee: .sevSNP, policy: AttestationPolicy(verificationTime: 1_780_000_000), release: release)
    }

    @Test func matchingReleaseVerifies() throws {
        let release = try Self.release()
        let nitro = try Self.nitro(release)
        #expect(nitro.verified, "\(nitro.checks)")
        #expect(nitro.release == ReleaseSummary(name: "node", version: "1.0.0", target: "nitro", matches: true))
        #expect(nitro.checks.last?.detail.contains("PCR0, PCR1, PCR2, PCR8 equal") == true)
        let snp = try Self.snp(release)
        #expect(snp.verified, "\(snp.checks)")
        #expect(snp.release?.target == "snp")
    }

    @Test(arguments: 0..<4) func nitroPCRDifferingByOneBitFails(index: Int) throws {
        var pcrs = Self.pcrs
        pcrs[index].1 = Self.flip(pcrs[index].1)
        let result = try Self.nitro(try Self.release(pcrs: pcrs))
        #expect(result.failed == ["release"])
        #expect(result.release?.matches == false)
        #expect(result.checks.last?.detail.contains(pcrs[index].0) == true)
    }

    @Test func snpMeasurementDifferingByOneBitFails() throws {
        let result = try Self.snp(try Self.release(measurement: Self.flip(Self.measurement)))
        #expect(result.failed == ["release"])
        #expect(result.checks.last?.detail.contains("MEASUREMENT is 5feee30d") == true)
    }

    @Test func untrustedReleaseFails() throws {
        let result = try Self.nitro(try Self.release(trusted: false))
        #expect(result.failed == ["release"])
        #expect(result.checks.last?.detail.contains("does not verify") == true)
    }

    @Test func unknownTargetFails() throws {
        let result = try Self.nitro(try Self.release(), target: "tdx-2g")
        #expect(result.failed == ["release"])
        #expect(result.checks.last?.detail.contains("has no nitro target 'tdx-2g'") == true)
    }

    /// SGX evidence against a target with isvProdId 258 and isvSvn 3: every register of the target (its
    /// measurements, then the settings as 2-byte little-endian ISVPRODID/ISVSVN) must be in the evidence
    /// and equal, reported one per register in manifest order.
    static let mrenclave = String(repeating: "11", count: 32)
    static let mrsigner = String(repeating: "22", count: 32)
    struct SGXCase: Sendable, CustomTestStringConvertible {
        var evidence: [Measurement]
        var ok: Bool
        var detail: String
        var testDescription: String { detail }
        init(_ evidence: [Measurement], _ ok: Bool, _ detail: String) {
            self.evidence = evidence
            self.ok = ok
            self.detail = detail
        }
    }
    static let sgxCases: [SGXCase] = [
        SGXCase(
            [
                Measurement("MRENCLAVE", [UInt8](repeating: 0x11, count: 32)),
                Measurement("MRSIGNER", [UInt8](repeating: 0x22, count: 32)), Measurement("ISVPRODID", [0x02, 0x01]),
                Measurement("ISVSVN", [0x03, 0x00]),
            ], true, "node 1.0.0 (signed by alice), target sgx: MRENCLAVE, MRSIGNER, ISVPRODID, ISVSVN equal"
        ),
        SGXCase(
            [
                Measurement("MRENCLAVE", [UInt8](repeating: 0x11, count: 32)),
                Measurement("MRSIGNER", [UInt8](repeating: 0x22, count: 32)), Measurement("ISVPRODID", [0x03, 0x01]),
                Measurement("ISVSVN", [0x03, 0x00]),
            ], false, "node 1.0.0 target sgx: ISVPRODID is 0301, the release has 0201"
        ),
        SGXCase(
            [
                Measurement("MRENCLAVE", [UInt8](repeating: 0x11, count: 32)),
                Measurement("MRSIGNER", [UInt8](repeating: 0x22, count: 32)), Measurement("ISVPRODID", [0x02, 0x01]),
            ], false, "node 1.0.0 target sgx: the evidence has no ISVSVN"
        ),
        SGXCase(
            [
                Measurement("ISVSVN", [0x04, 0x00]), Measurement("MRENCLAVE", [UInt8](repeating: 0x11, count: 32)),
                Measurement("ISVPRODID", [0x02, 0x01]),
            ], false, "node 1.0.0 target sgx: the evidence has no MRSIGNER; ISVSVN is 0400, the release has 0300"
        ),
        SGXCase(
            [
                Measurement("MRENCLAVE", [UInt8](repeating: 0x12, count: 32)),
                Measurement("MRENCLAVE", [UInt8](repeating: 0x11, count: 32)),
                Measurement("MRSIGNER", [UInt8](repeating: 0x22, count: 32)), Measurement("ISVPRODID", [0x02, 0x01]),
                Measurement("ISVSVN", [0x03, 0x00]),
            ], false,
            "node 1.0.0 target sgx: MRENCLAVE is " + String(repeating: "12", count: 32) + ", the release has "
                + String(repeating: "11", count: 32)
        ),
    ]

    @Test(arguments: sgxCases)
    func sgxEvidenceAgainstTargetWithSettings(_ c: SGXCase) throws {
        let release = try Self.signed(targets: [
            .init(
                name: "sgx", platform: .sgx, artifacts: ["node.eif"],
                measurements: [("MRENCLAVE", Self.mrenclave), ("MRSIGNER", Self.mrsigner)],
                settings: .object([("isvProdId", .int(258)), ("isvSvn", .int(3))]))
        ])
        var result = AttestationResult(tee: .sgx, verificationTime: 0)
        result.measurements = c.evidence
        release.check(&result)
        #expect(result.checks == [Check("release", ok: c.ok, c.detail)])
        #expect(result.release == ReleaseSummary(name: "node", version: "1.0.0", target: "sgx", matches: c.ok))
    }
}
