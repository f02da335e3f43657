import Foundation
import TestSupport
import Testing

/// End-to-end tests of `enclavekit attest verify` and `attest collect` through the built binary, on the
/// public Nitro and SNP samples (AttestationTests/Fixtures) and a small release signed here.
@Suite struct AttestCLITests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("AttestationTests/Fixtures").path
    static let releaseExample = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("ReleaseTests/Fixtures/example/manifest.json").path
    static let nitroDoc = fixtures + "/nitro/evervault_valid-attestation-doc-bytes"
    static let debugDoc = fixtures + "/nitro/evervault_debug-mode-attestation-doc-bytes"
    static let milan = fixtures + "/snp/mstav_milan_report.bin"
    static let milanVCEK = fixtures + "/snp/mstav_milan_vcek.pem"
    static let docTime = "2022-10-13T08:58:02Z"
    static let pcr0 = "f4d48b81a460c9916d1e685119074bf24660afd3e34fae9fca0a0d28d9d5599936332687e6f66fc890ac8cf150142d8b"
    static let measurement =
        "5feee30d6d7e1a29f403d70a4198237ddfb13051a2d6976439487c609388ed7f98189887920ab2fa0096903a0c23fca1"

    @Test func nitroDocumentVerifiesWithItsOwnTime() throws {
        let r = try CLIRunner.run(["attest", "verify", Self.nitroDoc, "--at", Self.docTime])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("  ok      signature"))
        #expect(r.stdout.hasSuffix("evervault_valid-attestation-doc-bytes: verified\n"))
    }

    @Test func severalFilesOneVerdictEachAndExit1WhenOneFails() throws {
        let r = try CLIRunner.run(["attest", "verify", Self.nitroDoc, Self.debugDoc, "--at", "1665651482"])
        #expect(r.status == 1)
        let verdicts = r.stdout.split(separator: "\n").filter { $0.contains("verified") && !$0.hasPrefix(" ") }
        #expect(verdicts.count == 2)
        #expect(verdicts.last?.contains("NOT verified (failed: chain)") == true)
    }

    @Test func jsonOutputHasTheDocumentedFields() throws {
        let r = try CLIRunner.run([
            "attest", "verify", Self.milan, "--vcek", Self.milanVCEK, "--at", "2026-06-01T00:00:00Z", "--json",
            "--expect", "MEASUREMENT=0x" + Self.measurement,
        ])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        for key in [
            "verified", "tee", "verificationTime", "checks", "failed", "measurements", "tcbStatus", "advisories",
            "release",
        ] {
            #expect(object[key] != nil, "\(key)")
        }
        #expect(object["tee"] as? String == "sev-snp")
        #expect(object["verificationTime"] as? String == "2026-06-01T00:00:00Z")
        #expect((object["measurements"] as? [String: String])?["MEASUREMENT"] == Self.measurement)
        let ids = (object["checks"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
        #expect(ids?.first == "structure" && ids?.contains("vcek-hwid") == true)
    }

    @Test func failedChecksAreNamed() throws {
        let tampered = try TestDirectory()
        var bytes = try Data(contentsOf: URL(fileURLWithPath: Self.milan))
        bytes[0x90] ^= 1
        let path = tampered.path + "/tampered.bin"
        try bytes.write(to: URL(fileURLWithPath: path))
        let r = try CLIRunner.run(["attest", "verify", path, "--vcek", Self.milanVCEK, "--at", "1780000000"])
        #expect(r.status == 1)
        #expect(r.stdout.contains("  FAILED  signature"))
        #expect(r.stdout.contains("NOT verified (failed: signature)"))
        let wrongNonce = try CLIRunner.run(["attest", "verify", Self.nitroDoc, "--at", Self.docTime, "--nonce", "00"])
        #expect(wrongNonce.status == 1)
        #expect(wrongNonce.stdout.contains("FAILED  freshness"))
    }

    @Test func unrecognizedOrUnreadableEvidenceExits1() throws {
        let dir = try TestDirectory()
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: dir.path + "/junk"))
        let r = try CLIRunner.run(["attest", "verify", dir.path + "/junk"])
        #expect(r.status == 1)
        #expect(r.stdout.contains("junk: evidence: offset 0 (0x0): not a Nitro attestation document"))
        let truncated = try CLIRunner.run(["attest", "verify", dir.path + "/junk", "--tee", "sev-snp"])
        #expect(truncated.status == 1)
        #expect(truncated.stdout.contains("FAILED  structure"))
        #expect(truncated.stdout.contains("offset 3"))
    }

    @Test(arguments: [
        ["attest", "verify"],
        ["attest", "verify", "x", "--at", "yesterday"],
        ["attest", "verify", "x", "--product", "Naples"],
        ["attest", "verify", "x", "--nonce", "xyz"],
        ["attest", "verify", "x", "--nonce", "0x0xab"],
        ["attest", "verify", "x", "--release", "r.json"],
        ["attest", "verify", "x", "--tee", "sev"],
        ["attest", "verify", "x", "--expect", "PCR0"],
        ["attest", "collect", "--report-data", "00", "--out", "o", "--nonce", "0xZZ"],
        ["attest", "collect", "--report-data", String(repeating: "00", count: 65), "--out", "o"],
    ])
    func usageErrorsExit64(args: [String]) throws {
        let r = try CLIRunner.run(args)
        #expect(r.status == 64, "\(args): \(r.stderr)")
    }

    @Test func helpHasExamples() throws {
        let r = try CLIRunner.run(["attest", "verify", "--help"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("Examples:") && r.stdout.contains("--release"))
        #expect(r.stdout.contains("--allow-service-td") && r.stdout.contains("--max-age 600"))
    }

    @Test func maxAgeAcceptsTheVectorAtItsOwnTimeAndRejectsItAnHourLater() throws {
        let fresh = try CLIRunner.run(["attest", "verify", Self.nitroDoc, "--at", Self.docTime, "--max-age", "600"])
        #expect(fresh.status == 0, "\(fresh.stdout)\(fresh.stderr)")
        let stale = try CLIRunner.run([
            "attest", "verify", Self.nitroDoc, "--at", "2022-10-13T09:58:02Z", "--max-age", "600", "--json",
        ])
        #expect(stale.status == 1, "\(stale.stdout)\(stale.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(stale.stdout.utf8)) as? [String: Any])
        #expect(object["failed"] as? [String] == ["freshness"], "\(stale.stdout)")
        let negative = try CLIRunner.run(["attest", "verify", Self.nitroDoc, "--max-age", "-1"])
        #expect(negative.status == 64)
    }

    @Test func allowServiceTDIsAcceptedAndDoesNotChangeANitroVerdict() throws {
        let r = try CLIRunner.run(["attest", "verify", Self.nitroDoc, "--at", Self.docTime, "--allow-service-td"])
        #expect(r.status == 0, "\(r.stderr)")
    }

    /// A release whose Nitro target has the sample's PCRs and whose SEV-SNP target has its MEASUREMENT,
    /// signed with `keygen`/`sign`; then the same with PCR0 or MEASUREMENT one bit off.
    func signedRelease(pcr0: String = pcr0, measurement: String = measurement) throws -> TestDirectory {
        let dir = try TestDirectory()
        var manifest = try String(contentsOfFile: Self.releaseExample, encoding: .utf8)
        manifest = manifest.replacingOccurrences(
            of:
                "\"PCR0\":\"65956609f358c9b6da354e89f451032a4d8286bcb49d3c25629cb77edad0d3f1959c5819669e0e41f6554b44336b7657\"",
            with: "\"PCR0\":\"\(pcr0)\"")
        manifest = manifest.replacingOccurrences(
            of:
                "\"PCR1\":\"343e2f560954b639d1410fe761bec99c795928c35882850899761e886a10a23b065c977b1c2e82c90abe2130aaee0654\"",
            with:
                "\"PCR1\":\"bcdf05fefccaa8e55bf2c8d6dee9e79bbff31e34bf28a99aa19e6b29c37ee80b214a414b7607236edf26fcb78654e63f\""
        )
        manifest = manifest.replacingOccurrences(
            of:
                "\"PCR2\":\"dfa5c717708543e055c64a68740dee6d88da5146be6afe0b74b121043c14b7175fec624340526a427eaa17dad19dfefc\"",
            with:
                "\"PCR2\":\"d8f114da658de5481f8d9ec73907feb553560787522f705c92d7d96beed8e15e2aa611984e098c576832c292e8dc469a\""
        )
        manifest = manifest.replacingOccurrences(
            of: "\"targets\":[",
            with:
                "\"targets\":[{\"artifacts\":[],\"measurements\":{\"MEASUREMENT\":\"\(measurement)\"},\"name\":\"snp\",\"platform\":\"sev-snp\",\"settings\":{}},"
        )
        try Data(manifest.utf8).write(to: URL(fileURLWithPath: dir.path + "/manifest.json"))
        let key = try CLIRunner.run(["keygen", "--type", "p256", "--out", "alice.pem"], in: dir.path)
        #expect(key.status == 0, "\(key.stderr)")
        let sign = try CLIRunner.run(["sign", "manifest.json", "--key", "alice.pem"], in: dir.path)
        #expect(sign.status == 0, "\(sign.stderr)")
        let policy = """
            {"policyVersion": 1, "threshold": 1, "keys": [{"name": "alice", "publicKeyFile": "alice.pub.pem"}]}
            """
        try Data(policy.utf8).write(to: URL(fileURLWithPath: dir.path + "/policy.json"))
        return dir
    }

    static func envelope(in dir: TestDirectory) throws -> String {
        let name = try #require(
            try FileManager.default.contentsOfDirectory(atPath: dir.path).first { $0.hasSuffix(".dsse.json") })
        return dir.path + "/" + name
    }

    @Test func evidenceAgainstTheRelease() throws {
        let good = try signedRelease()
        let envelope = try Self.envelope(in: good)
        let nitro = try CLIRunner.run([
            "attest", "verify", Self.nitroDoc, "--at", Self.docTime, "--release", envelope, "--policy",
            good.path + "/policy.json", "--target", "nitro",
        ])
        #expect(nitro.status == 0, "\(nitro.stdout)\(nitro.stderr)")
        #expect(nitro.stdout.contains("verified, runs example-node 0.1.0 (nitro)"))
        let snp = try CLIRunner.run([
            "attest", "verify", Self.milan, "--vcek", Self.milanVCEK, "--at", "1780000000", "--release", envelope,
            "--policy", good.path + "/policy.json", "--json",
        ])
        #expect(snp.status == 0, "\(snp.stdout)\(snp.stderr)")
        #expect(snp.stdout.contains("\"target\": \"snp\""))
    }

    /// `--release DIR` reads a release directory's signed documents, as `verify DIR` does.
    @Test func releaseDirectory() throws {
        let good = try signedRelease()
        let r = try CLIRunner.run([
            "attest", "verify", Self.nitroDoc, "--at", Self.docTime, "--release", good.path, "--policy",
            good.path + "/policy.json", "--target", "nitro",
        ])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("verified, runs example-node 0.1.0 (nitro)"))

        // A directory without a signed document: one line naming it, exit 1.
        let empty = try TestDirectory()
        let none = try CLIRunner.run([
            "attest", "verify", Self.nitroDoc, "--at", Self.docTime, "--release", empty.path, "--policy",
            good.path + "/policy.json",
        ])
        #expect(none.status == 1)
        #expect(none.stderr.contains("\(empty.path): holds no signed release"), "\(none.stderr)")
    }

    @Test func releaseDifferingByOneBitFails() throws {
        var pcr0 = Array(Self.pcr0)
        pcr0[pcr0.count - 1] = "a"  // …8b → …8a: one bit
        let badPCR = try signedRelease(pcr0: String(pcr0))
        let nitro = try CLIRunner.run([
            "attest", "verify", Self.nitroDoc, "--at", Self.docTime, "--release", try Self.envelope(in: badPCR),
            "--policy", badPCR.path + "/policy.json",
        ])
        #expect(nitro.status == 1)
        #expect(nitro.stdout.contains("FAILED  release"))
        #expect(nitro.stdout.contains("PCR0 is f4d48b81"))
        var measurement = Array(Self.measurement)
        measurement[measurement.count - 1] = "0"  // …a1 → …a0
        let badSNP = try signedRelease(measurement: String(measurement))
        let snp = try CLIRunner.run([
            "attest", "verify", Self.milan, "--vcek", Self.milanVCEK, "--at", "1780000000", "--release",
            try Self.envelope(in: badSNP), "--policy", badSNP.path + "/policy.json",
        ])
        #expect(snp.status == 1)
        #expect(snp.stdout.contains("NOT verified (failed: release)"))
    }

    @Test func collectThroughADirectoryMimickingConfigfsTSM() throws {
        let dir = try TestDirectory()
        let entry = dir.path + "/tsm/enclavekit"
        try FileManager.default.createDirectory(atPath: entry, withIntermediateDirectories: true)
        // A fake provider: outblob and auxblob already there (the kernel makes them when the entry is made).
        let report = try Data(contentsOf: URL(fileURLWithPath: Self.milan))
        try report.write(to: URL(fileURLWithPath: entry + "/outblob"))
        try Data("certs".utf8).write(to: URL(fileURLWithPath: entry + "/auxblob"))
        try Data("sev_guest\n".utf8).write(to: URL(fileURLWithPath: entry + "/provider"))
        let r = try CLIRunner.run([
            "attest", "collect", "--report-data", "0x" + String(repeating: "ab", count: 32), "--out",
            dir.path + "/report.bin", "--tsm-dir", dir.path + "/tsm",
        ])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir.path + "/report.bin")) == report)
        #expect(try String(contentsOfFile: dir.path + "/report.bin.auxblob", encoding: .utf8) == "certs")
        #expect(r.stdout.contains("sev_guest"))
        // The report data went to inblob, zero-padded to 64 bytes.
        #expect(
            try Data(contentsOf: URL(fileURLWithPath: entry + "/inblob")) == Data(repeating: 0xab, count: 32)
                + Data(count: 32))
        // An existing evidence file is never replaced without --force.
        try Data("earlier".utf8).write(to: URL(fileURLWithPath: dir.path + "/report.bin"))
        let again = ["attest", "collect", "--report-data", "00", "--out", dir.path + "/report.bin"]
        let refused = try CLIRunner.run(again + ["--tsm-dir", dir.path + "/tsm"])
        #expect(refused.status == 1 && refused.stderr.contains("already exists"), "\(refused.stderr)")
        #expect(try String(contentsOfFile: dir.path + "/report.bin", encoding: .utf8) == "earlier")
        let forced = try CLIRunner.run(again + ["--tsm-dir", dir.path + "/tsm", "--force"])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir.path + "/report.bin")) == report)
        let missing = try CLIRunner.run([
            "attest", "collect", "--report-data", "00", "--out", dir.path + "/x", "--tsm-dir", dir.path + "/nope",
        ])
        #expect(missing.status == 1)
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/x"))
    }
}
