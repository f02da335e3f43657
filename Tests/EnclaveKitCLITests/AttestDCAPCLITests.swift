import Foundation
import TestSupport
import Testing

/// `enclavekit attest verify` end to end on the public TDX and SGX quotes and their collateral
/// (AttestationTests/Fixtures/dcap), at the times the vectors give.
@Suite struct AttestDCAPCLITests {
    static let dcap = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("AttestationTests/Fixtures/dcap").path
    static let tdx = dcap + "/dcapqvl_tdx_quote"
    static let tdxCollateral = dcap + "/dcapqvl_tdx_quote_collateral.json"
    static let sgx = dcap + "/dcapqvl_sgx_quote"
    static let sgxCollateral = dcap + "/dcapqvl_sgx_quote_collateral.json"
    static let mrtd =
        "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7"

    @Test func tdxQuoteVerifiesAndIsDetected() throws {
        let r = try CLIRunner.run([
            "attest", "verify", Self.tdx, "--collateral", Self.tdxCollateral, "--at", "2025-07-04T10:24:15Z",
            "--expect", "MRTD=" + Self.mrtd,
        ])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.hasPrefix(Self.tdx + ": tdx, checked at 2025-07-04T10:24:15Z\n"))
        for id in ["root", "chain", "crl", "collateral", "qe-report", "qe-identity", "signature", "tcb-status"] {
            #expect(r.stdout.contains("  ok      \(id)"), "\(id)")
        }
        #expect(r.stdout.contains("  TCB status UpToDate\n"))
        #expect(r.stdout.hasSuffix("dcapqvl_tdx_quote: verified\n"))
    }

    @Test func tdxQuoteAfterTheCollateralExpiredFails() throws {
        let r = try CLIRunner.run([
            "attest", "verify", Self.tdx, "--collateral", Self.tdxCollateral, "--at", "2025-07-20T00:00:00Z", "--json",
        ])
        #expect(r.status == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(object["verified"] as? Bool == false)
        #expect(object["tee"] as? String == "tdx")
        #expect(object["failed"] as? [String] == ["crl", "collateral"])
        #expect((object["measurements"] as? [String: String])?["MRTD"] == Self.mrtd)
        let collateral = (object["checks"] as? [[String: Any]])?.first { $0["id"] as? String == "collateral" }
        #expect((collateral?["detail"] as? String)?.contains("TCB info expired") == true)
    }

    @Test func sgxQuoteNeedsItsStatusAndAdvisoriesAllowed() throws {
        let base = ["attest", "verify", Self.sgx, "--collateral", Self.sgxCollateral, "--at", "1751624924"]
        let strict = try CLIRunner.run(base)
        #expect(strict.status == 1)
        #expect(strict.stdout.contains("  FAILED  tcb-status    ConfigurationAndSWHardeningNeeded"))
        #expect(strict.stdout.contains("--allow-tcb-status ConfigurationAndSWHardeningNeeded"))
        #expect(strict.stdout.hasSuffix("dcapqvl_sgx_quote: NOT verified (failed: tcb-status)\n"))
        let allowed = try CLIRunner.run(
            base + [
                "--allow-tcb-status", "ConfigurationAndSWHardeningNeeded", "--allow-advisory", "INTEL-SA-00289",
                "--allow-advisory", "INTEL-SA-00615", "--report-data", "48656c6c6f2c20776f726c6421",
            ])
        #expect(allowed.status == 0, "\(allowed.stdout)\(allowed.stderr)")
        #expect(allowed.stdout.contains("  ok      freshness"))
        #expect(
            allowed.stdout.contains(
                "TCB status ConfigurationAndSWHardeningNeeded, advisories INTEL-SA-00289, INTEL-SA-00615"))
    }

    @Test func severalQuotesOneVerdictEach() throws {
        let dir = try TestDirectory()
        var bytes = try Data(contentsOf: URL(fileURLWithPath: Self.tdx))
        bytes[48 + 136] ^= 1
        let tampered = dir.path + "/tampered-mrtd.quote"
        try bytes.write(to: URL(fileURLWithPath: tampered))
        let r = try CLIRunner.run([
            "attest", "verify", Self.tdx, tampered, Self.tdx, "--collateral", Self.tdxCollateral, "--at", "1751624655",
        ])
        #expect(r.status == 1)
        let verdicts = r.stdout.split(separator: "\n").filter { !$0.hasPrefix(" ") && $0.contains("verified") }
        #expect(verdicts.count == 3)
        #expect(verdicts[0].hasSuffix(": verified") && verdicts[2].hasSuffix(": verified"))
        #expect(verdicts[1].hasSuffix("tampered-mrtd.quote: NOT verified (failed: signature)"))
    }

    @Test func aQuoteWithoutCollateralSaysHowToGetIt() throws {
        let r = try CLIRunner.run(["attest", "verify", Self.tdx, "--at", "1751624655"])
        #expect(r.status == 1)
        #expect(r.stdout.contains("  ok      signature"))
        #expect(r.stdout.contains("FAILED  collateral    no collateral: give the quote's collateral"))
    }

    @Test func aQuoteWithALengthPastItsEndIsOneLine() throws {
        let dir = try TestDirectory()
        var bytes = try Data(contentsOf: URL(fileURLWithPath: Self.tdx))
        bytes[632] = 0xff
        bytes[633] = 0xff
        let path = dir.path + "/bad.quote"
        try bytes.write(to: URL(fileURLWithPath: path))
        let r = try CLIRunner.run(["attest", "verify", path, "--collateral", Self.tdxCollateral, "--at", "1751624655"])
        #expect(r.status == 1)
        #expect(
            r.stdout.contains("FAILED  structure  " + path + ": DCAP quote: offset 632 (0x278): signature data length"))
    }
}
