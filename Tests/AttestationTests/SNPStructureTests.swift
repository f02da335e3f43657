import EnclaveCore
import TestSupport
import Testing

@testable import Attestation

/// Malformed and unusual SEV-SNP reports: one failed `structure` check naming the offset, never a crash.
@Suite struct SNPStructureTests {
    static func verify(_ bytes: [UInt8], product: String? = nil) throws -> AttestationResult {
        var inputs = EvidenceInputs(evidence: bytes, name: "report.bin")
        inputs.vcek = try Fixtures.bytes("snp/mstav_milan_vcek.pem")
        inputs.product = product
        return SNPVerifier.verify(inputs, policy: AttestationPolicy(verificationTime: 1_780_000_000))
    }

    static func milan() throws -> [UInt8] { try Fixtures.bytes("snp/mstav_milan_report.bin") }

    static func setU32(_ bytes: inout [UInt8], _ offset: Int, _ value: UInt32) {
        for i in 0..<4 { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
    }

    @Test func malformedReports() throws {
        let good = try Self.milan()
        var cases: [(String, [UInt8], String)] = [
            ("truncated", Array(good.prefix(0x49F)), "offset 1183"),
            ("oversized", good + [0], "offset 1184"),
            ("empty", [], "offset 0"),
        ]
        for version: UInt32 in [0, 1, 6, 0xFFFF_FFFF] {
            var b = good
            Self.setU32(&b, 0, version)
            cases.append(("version \(version)", b, "offset 0 (0x0): VERSION"))
        }
        var algo = good
        Self.setU32(&algo, 0x34, 2)
        cases.append(("algo", algo, "offset 52"))
        var mbz = good
        mbz[0x1F8] = 1
        cases.append(("reserved", mbz, "offset 504"))
        var signer = good
        Self.setU32(&signer, 0x48, 0x100)
        cases.append(("signer info", signer, "offset 72"))
        var highR = good
        highR[0x2A0 + 60] = 1
        cases.append(("high R", highR, "offset 732"))
        for (label, bytes, offset) in cases {
            let result = try Self.verify(bytes)
            #expect(result.failed == ["structure"], "\(label)")
            #expect(result.checks.first?.detail.contains(offset) == true, "\(label): \(result.checks)")
        }
    }

    @Test func unknownProductFails() throws {
        var b = try Self.milan()
        b[0x188] = 0x17  // family 0x17 (Zen 2, no SNP)
        let result = try Self.verify(b)
        #expect(result.failed == ["structure"])
        #expect(result.checks.first?.detail.contains("unknown product") == true)
        #expect(try Self.verify(try Self.milan(), product: "Naples").failed == ["structure"])
        #expect(try Self.verify(try Self.milan(), product: "Genoa").failed == ["structure"])
    }

    @Test func version2NeedsTheProduct() throws {
        var b = try Self.milan()
        Self.setU32(&b, 0, 2)
        b[0x188] = 0
        b[0x189] = 0
        b[0x18A] = 0
        let none = try Self.verify(b)
        #expect(none.failed == ["structure"])
        #expect(none.checks.first?.detail.contains("--product") == true)
        // With the product it parses and reaches the signature, which the changed bytes break.
        let given = try Self.verify(b, product: "Milan")
        #expect(given.failed == ["signature"])
    }

    @Test func debugPolicyBitIsReported() throws {
        var b = try Self.milan()
        b[0x0A] |= 0x08  // POLICY bit 19
        let report = try SNPReport(bytes: b)
        #expect(report.debugAllowed)
        #expect(try Self.verify(b).failed == ["signature"])  // the bit is signed
    }

    @Test func missingVCEKNamesTheKDSURL() throws {
        let result = SNPVerifier.verify(
            EvidenceInputs(evidence: try Self.milan(), name: "r"), policy: AttestationPolicy(verificationTime: 0))
        #expect(result.failed == ["chain"])
        #expect(
            result.checks.last?.detail.contains("https://kdsintf.amd.com/vcek/v1/Milan/") == true
                && result.checks.last?.detail.contains("blSPL=4&teeSPL=0&snpSPL=24&ucodeSPL=219") == true)
    }

    @Test func turinTCBLayout() {
        let tcb = SNPTCB(raw: 0x2B00_0000_0403_0201, product: .turin)
        #expect(tcb.fmc == 1 && tcb.bootloader == 2 && tcb.tee == 3 && tcb.snp == 4 && tcb.microcode == 0x2B)
        let milan = SNPTCB(raw: 0xDB18_0000_0000_0004, product: .milan)
        #expect(milan.fmc == nil && milan.bootloader == 4 && milan.snp == 24 && milan.microcode == 219)
        #expect(SNPProduct(family: 0x19, model: 0x11) == .genoa && SNPProduct(family: 0x1A, model: 0x02) == .turin)
        #expect(SNPProduct(family: 0x19, model: 0x30) == nil)
    }

    @Test func timesParse() {
        #expect(AttestationTime.parse("2022-10-13T08:58:02Z") == 1_665_651_482)
        #expect(AttestationTime.parse("2022-10-13T08:58:02.136Z") == 1_665_651_482)
        #expect(AttestationTime.parse("2022-10-13T10:58:02+02:00") == 1_665_651_482)
        #expect(AttestationTime.parse("1665651482") == 1_665_651_482)
        #expect(AttestationTime.parse("2022-13-01T00:00:00Z") == nil)
        #expect(AttestationTime.parse("yesterday") == nil)
        #expect(AttestationTime.format(seconds: 1_665_651_482) == "2022-10-13T08:58:02Z")
        #expect(AttestationTime.format(milliseconds: 1_665_651_482_036) == "2022-10-13T08:58:02.036Z")
    }
}

/// The host's certificate table (configfs-tsm auxblob) in place of a VCEK file.
@Suite struct SNPCertificateTableTests {
    static func table(_ entries: [(SNPCertificateTable.Kind, [UInt8])]) -> [UInt8] {
        func guidBytes(_ text: String) -> [UInt8] {
            let hex = Hex.decode(String(text.filter { $0 != "-" })) ?? []
            return Array(hex[0..<4].reversed()) + Array(hex[4..<6].reversed()) + Array(hex[6..<8].reversed())
                + Array(hex[8...])
        }
        func le(_ v: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        var offset = (entries.count + 1) * 24
        var head: [UInt8] = []
        var body: [UInt8] = []
        for (kind, der) in entries {
            head += guidBytes(kind.rawValue) + le(offset) + le(der.count)
            offset += der.count
            body += der
        }
        return head + [UInt8](repeating: 0, count: 24) + body
    }

    static func der(_ pem: String) throws -> [UInt8] {
        try #require(try AMDCertificate.parseAll(try Fixtures.bytes(pem), name: pem).first).der
    }

    @Test func vcekFromTheTable() throws {
        let chain = try AMDCertificate.parseAll(try Fixtures.bytes("snp/amd_ask_ark_milan.pem"), name: "chain")
        let table = Self.table([
            (.vcek, try Self.der("snp/mstav_milan_vcek.pem")), (.ask, chain[0].der), (.ark, chain[1].der),
        ])
        let parsed = try SNPCertificateTable(bytes: table)
        #expect(
            parsed.entries.map(\.guid) == [
                SNPCertificateTable.Kind.vcek.rawValue, "4ab7b379-bbac-4fe4-a02f-05aef327c782",
                SNPCertificateTable.Kind.ark.rawValue,
            ])
        var inputs = EvidenceInputs(evidence: try Fixtures.bytes("snp/mstav_milan_report.bin"), name: "r")
        inputs.vcek = table
        let policy = AttestationPolicy(verificationTime: 1_780_000_000)
        #expect(SNPVerifier.verify(inputs, policy: policy).verified)
        // Another product's ARK in the table is refused.
        let genoa = try AMDCertificate.parseAll(try Fixtures.bytes("snp/amd_ask_ark_genoa.pem"), name: "chain")
        inputs.vcek = Self.table([(.vcek, try Self.der("snp/mstav_milan_vcek.pem")), (.ark, genoa[1].der)])
        #expect(SNPVerifier.verify(inputs, policy: policy).failed == ["chain"])
        // A table without a VCEK.
        inputs.vcek = Self.table([(.ark, chain[1].der)])
        #expect(SNPVerifier.verify(inputs, policy: policy).failed == ["chain"])
    }

    @Test func malformedTables() {
        var pastEnd = Self.table([(.vcek, [0x30, 0x00])])
        pastEnd[20] = 0xFF  // length
        let longEntry = #expect(throws: FormatError.self) { try SNPCertificateTable(bytes: pastEnd) }
        #expect(longEntry?.kind == .outOfBounds)
        #expect(longEntry?.offset == 16)
        #expect(longEntry?.message.contains("past the 50 bytes") == true)
        let noEntries = #expect(throws: FormatError.self) {
            try SNPCertificateTable(bytes: [UInt8](repeating: 0, count: 24))
        }
        #expect(noEntries?.kind == .missing)
        #expect(noEntries?.offset == 0)
        #expect(noEntries?.message.contains("no entries") == true)
        let tooShort = #expect(throws: FormatError.self) { try SNPCertificateTable(bytes: [1, 2, 3]) }
        #expect(tooShort?.kind == .truncated)
        #expect(tooShort?.offset == 0)
    }
}
