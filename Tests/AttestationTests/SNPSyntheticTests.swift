import Crypto
import EnclaveCore
import Foundation
import TestSupport
import Testing

@testable import Attestation

/// A test AMD hierarchy made with the `openssl` CLI (RSASSA-PSS SHA-384, salt 48, as AMD signs): ARK,
/// ASK, ASVK, and VCEKs/VLEKs with AMD's extensions on demand (serial number 0, as AMD's).
final class TestAMD: Sendable {
    /// Owns `directory` and removes it with the value.
    private let scratch: TestDirectory
    let directory: String
    let ark: AMDCertificate
    let ask: AMDCertificate
    let asvk: AMDCertificate
    static let pss = [
        "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:48", "-sigopt", "rsa_mgf1_md:sha384",
    ]

    static let shared: TestAMD? = try? TestAMD()

    init() throws {
        scratch = try TestDirectory(prefix: "ek-amd")
        directory = scratch.path
        try Self.write(directory + "/ca.ext", "basicConstraints=critical,CA:true\n")
        try Self.openssl(
            ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "ark.key"], in: directory)
        try Self.openssl(
            [
                "req", "-x509", "-new", "-key", "ark.key", "-subj", "/CN=ARK-Test", "-days", "3650", "-sha384",
                "-addext", "basicConstraints=critical,CA:true", "-out", "ark.pem",
            ] + Self.pss, in: directory)
        for ca in ["ask", "asvk"] {
            try Self.openssl(
                ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "\(ca).key"], in: directory
            )
            try Self.openssl(
                ["req", "-new", "-key", "\(ca).key", "-subj", "/CN=\(ca)-Test", "-out", "\(ca).csr"], in: directory)
            try Self.openssl(
                [
                    "x509", "-req", "-in", "\(ca).csr", "-CA", "ark.pem", "-CAkey", "ark.key", "-set_serial", "1",
                    "-days", "3650", "-sha384", "-extfile", "ca.ext", "-out", "\(ca).pem",
                ] + Self.pss, in: directory)
        }
        let dir = directory
        func load(_ name: String) throws -> AMDCertificate {
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name)))
            guard let cert = try AMDCertificate.parseAll(bytes, name: name).first else {
                throw TestFailure("\(name): no certificate")
            }
            return cert
        }
        ark = try load("ark.pem")
        ask = try load("ask.pem")
        asvk = try load("asvk.pem")
    }

    static func write(_ path: String, _ text: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    static func openssl(_ args: [String], in directory: String) throws {
        let result = try ToolRunner.run("openssl", args, in: directory)
        guard result.status == 0 else {
            throw TestFailure("openssl \(args.joined(separator: " ")) failed: \(result.stderr)")
        }
    }

    var roots: SNPVerifier.Roots { SNPVerifier.Roots(ark: ark, ask: ask, asvk: asvk) }

    /// A VCEK (or VLEK, issued by the ASVK) for `key` with AMD's extensions.
    func endorsementKey(
        _ key: P384.Signing.PrivateKey, product: String, spls: [(String, Int)], hwid: [UInt8]?, vlek: Bool = false
    ) throws -> [UInt8] {
        let name = UUID().uuidString
        try Self.write(directory + "/\(name).key", key.pemRepresentation)
        var ext = "1.3.6.1.4.1.3704.1.1=ASN1:INTEGER:0\n1.3.6.1.4.1.3704.1.2=ASN1:IA5STRING:\(product)\n"
        for (suffix, value) in spls { ext += "1.3.6.1.4.1.3704.1.\(suffix)=ASN1:INTEGER:\(value)\n" }
        if let hwid { ext += "1.3.6.1.4.1.3704.1.4=DER:\(Hex.encode(hwid))\n" }
        try Self.write(directory + "/\(name).ext", ext)
        try Self.openssl(
            ["req", "-new", "-key", "\(name).key", "-subj", "/CN=SEV-VCEK", "-out", "\(name).csr"], in: directory)
        let issuer = vlek ? "asvk" : "ask"
        try Self.openssl(
            [
                "x509", "-req", "-in", "\(name).csr", "-CA", "\(issuer).pem", "-CAkey", "\(issuer).key", "-set_serial",
                "0",
                "-days", "3650", "-sha384", "-extfile", "\(name).ext", "-out", "\(name).pem",
            ] + Self.pss, in: directory)
        return Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/\(name).pem")))
    }
}

/// SEV-SNP reports made here (versions 2, 3 and 5; Milan and Turin layouts; VCEK and VLEK) and signed
/// with test keys, so the format is tested beyond the two public samples.
@Suite struct SNPSyntheticTests {
    struct Report {
        var version: UInt32 = 3
        var policy: UInt64 = 0x30000
        var signerInfo: UInt32 = 0
        var reportData = [UInt8](repeating: 0x5A, count: 64)
        var measurement = [UInt8](repeating: 0x42, count: 48)
        var reportedTCB: [UInt8] = [4, 0, 0, 0, 0, 0, 24, 219]  // Milan: bl 4, tee 0, snp 24, ucode 219
        var cpuid: [UInt8] = [0x19, 0x01, 0x01]
        var chipID = [UInt8](repeating: 0xC1, count: 64)

        func signed(with key: P384.Signing.PrivateKey) throws -> [UInt8] {
            var b = [UInt8](repeating: 0, count: 0x4A0)
            func put(_ offset: Int, _ bytes: [UInt8]) { b.replaceSubrange(offset..<offset + bytes.count, with: bytes) }
            func le(_ v: UInt64, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
            put(0, le(UInt64(version), 4))
            put(8, le(policy, 8))
            put(0x34, le(1, 4))
            put(0x48, le(UInt64(signerInfo), 4))
            put(0x50, reportData)
            put(0x90, measurement)
            put(0x180, reportedTCB)
            if version >= 3 { put(0x188, cpuid) }
            put(0x1A0, chipID)
            let raw = Array(try key.signature(for: b[0..<0x2A0]).rawRepresentation)
            put(0x2A0, Array(raw[0..<48].reversed()))
            put(0x2E8, Array(raw[48..<96].reversed()))
            return b
        }
    }

    static let milanSPLs = [("3.1", 4), ("3.2", 0), ("3.3", 24), ("3.8", 219)]

    func verify(
        _ report: [UInt8], vcek: [UInt8], amd: TestAMD, product: String? = nil,
        configure: (inout AttestationPolicy) -> Void = { _ in }
    ) -> AttestationResult {
        var inputs = EvidenceInputs(evidence: report, name: "report.bin")
        inputs.vcek = vcek
        inputs.product = product
        var policy = AttestationPolicy(verificationTime: AttestationTime.now)
        configure(&policy)
        return SNPVerifier.verify(inputs, policy: policy, roots: { _ in amd.roots })
    }

    @Test func milanVersion3AndItsFaults() throws {
        let amd = try #require(TestAMD.shared)
        let key = P384.Signing.PrivateKey()
        let report = Report()
        let vcek = try amd.endorsementKey(key, product: "Milan-B0", spls: Self.milanSPLs, hwid: report.chipID)
        let good = verify(try report.signed(with: key), vcek: vcek, amd: amd)
        #expect(good.verified, "\(good.checks)")
        #expect(good.measurement("MEASUREMENT") == report.measurement)

        var otherTCB = report
        otherTCB.reportedTCB[6] = 23
        #expect(verify(try otherTCB.signed(with: key), vcek: vcek, amd: amd).failed == ["vcek-tcb"])
        var otherChip = report
        otherChip.chipID[5] ^= 1
        #expect(verify(try otherChip.signed(with: key), vcek: vcek, amd: amd).failed == ["vcek-hwid"])
        var masked = otherChip
        masked.signerInfo = 2  // MASK_CHIP_ID
        masked.chipID = [UInt8](repeating: 0, count: 64)
        #expect(verify(try masked.signed(with: key), vcek: vcek, amd: amd).verified)
        var debug = report
        debug.policy |= 1 << 19
        #expect(verify(try debug.signed(with: key), vcek: vcek, amd: amd).failed == ["debug"])
        #expect(verify(try debug.signed(with: key), vcek: vcek, amd: amd) { $0.allowDebug = true }.verified)
        #expect(
            verify(try report.signed(with: P384.Signing.PrivateKey()), vcek: vcek, amd: amd).failed == ["signature"])
        let genoaCert = try amd.endorsementKey(key, product: "Genoa", spls: Self.milanSPLs, hwid: report.chipID)
        #expect(verify(try report.signed(with: key), vcek: genoaCert, amd: amd).failed == ["vcek-tcb"])
        let fresh = verify(try report.signed(with: key), vcek: vcek, amd: amd) {
            $0.expectedReportData = [UInt8](repeating: 0x5A, count: 64)
        }
        #expect(fresh.verified)
        #expect(
            verify(try report.signed(with: key), vcek: vcek, amd: amd) { $0.expectedReportData = [0x5A] }.failed
                == ["freshness"])
    }

    @Test func turinVersion5UsesItsTCBLayoutAndShortHWID() throws {
        let amd = try #require(TestAMD.shared)
        let key = P384.Signing.PrivateKey()
        var report = Report()
        report.version = 5
        report.cpuid = [0x1A, 0x02, 0x01]
        report.reportedTCB = [1, 2, 3, 4, 0, 0, 0, 0x2B]  // fmc 1, bl 2, tee 3, snp 4, ucode 0x2B
        report.chipID = [UInt8](repeating: 0xD7, count: 8) + [UInt8](repeating: 0, count: 56)
        let spls = [("3.9", 1), ("3.1", 2), ("3.2", 3), ("3.3", 4), ("3.8", 0x2B)]
        let vcek = try amd.endorsementKey(key, product: "Turin-B0", spls: spls, hwid: Array(report.chipID.prefix(8)))
        let result = verify(try report.signed(with: key), vcek: vcek, amd: amd)
        #expect(result.verified, "\(result.checks)")
        #expect(result.checks.first?.detail.contains("fmc 1 bl 2 tee 3 snp 4") == true)
        // The Milan reading of the same bytes gives other SPLs: a Milan-layout VCEK does not match.
        let milanReading = try amd.endorsementKey(
            key, product: "Turin-B0", spls: [("3.1", 1), ("3.2", 2), ("3.3", 0), ("3.8", 0x2B)],
            hwid: Array(report.chipID.prefix(8)))
        #expect(verify(try report.signed(with: key), vcek: milanReading, amd: amd).failed == ["vcek-tcb"])
    }

    @Test func vlekChainsToTheASVK() throws {
        let amd = try #require(TestAMD.shared)
        let key = P384.Signing.PrivateKey()
        var report = Report()
        report.signerInfo = 1 << 2  // SIGNING_KEY = 1 (VLEK)
        let vlek = try amd.endorsementKey(key, product: "Milan-B0", spls: Self.milanSPLs, hwid: nil, vlek: true)
        let result = verify(try report.signed(with: key), vcek: vlek, amd: amd)
        #expect(result.verified, "\(result.checks)")
        // A VLEK presented for a report that says VCEK: the ASK did not sign it.
        report.signerInfo = 0
        #expect(verify(try report.signed(with: key), vcek: vlek, amd: amd).failed == ["chain"])
    }

    @Test func version2NeedsTheOperatorsProduct() throws {
        let amd = try #require(TestAMD.shared)
        let key = P384.Signing.PrivateKey()
        var report = Report()
        report.version = 2
        let vcek = try amd.endorsementKey(key, product: "Milan-B0", spls: Self.milanSPLs, hwid: report.chipID)
        let bytes = try report.signed(with: key)
        #expect(verify(bytes, vcek: vcek, amd: amd).failed == ["structure"])
        #expect(verify(bytes, vcek: vcek, amd: amd, product: "Milan").verified)
        #expect(verify(bytes, vcek: vcek, amd: amd, product: "Genoa").failed == ["vcek-tcb"])
    }
}
