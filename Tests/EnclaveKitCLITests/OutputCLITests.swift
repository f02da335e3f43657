import EnclaveCore
import Foundation
import TestSupport
import Testing

/// Issue 13 item 10: exit statuses and `--json` agree for every command; errors under `--json` are one
/// JSON object on stdout; hex arguments take an optional `0x`.
@Suite struct OutputCLITests {
    /// Parses stdout as exactly one JSON object (fails on text, on nothing, on two documents).
    static func object(_ stdout: String) throws -> [String: Any] {
        let value = try JSONSerialization.jsonObject(with: Data(stdout.utf8))
        return try #require(value as? [String: Any], "not one JSON object: \(stdout)")
    }

    static func v4(in dir: TestDirectory) throws -> (path: String, bytes: Data) {
        let out = dir.path + "/v4.eif"
        let built = try CLIRunner.run(try NitroCLITests.v4Args(output: out))
        #expect(built.status == 0, "\(built.stderr)")
        return (out, try Data(contentsOf: URL(fileURLWithPath: out)))
    }

    /// `eif describe --json` of an EIF whose CRC does not match exited 0 while text mode exited 1.
    @Test func describeJSONOfACorruptEIFExitsLikeText() throws {
        let dir = try TestDirectory()
        var (_, bytes) = try Self.v4(in: dir)
        bytes[1000] ^= 0x55
        let flipped = dir.path + "/flipped.eif"
        try bytes.write(to: URL(fileURLWithPath: flipped))
        let text = try CLIRunner.run(["eif", "describe", flipped])
        let json = try CLIRunner.run(["eif", "describe", flipped, "--json"])
        #expect(text.status == 1)
        #expect(json.status == text.status)
        #expect(try Self.object(json.stdout)["CheckCRC"] as? Bool == false)
        #expect(json.stderr.contains("CRC-32 mismatch"))
    }

    /// A file that cannot be read at all: under --json the error is a JSON object on stdout naming the
    /// file and the offset, with text mode's exit status; text mode is unchanged (one line on stderr).
    @Test(arguments: [["eif", "describe"], ["measure"]])
    func unreadableEIFIsAJSONErrorWithFileAndOffset(command: [String]) throws {
        let dir = try TestDirectory()
        let (_, bytes) = try Self.v4(in: dir)
        let short = dir.path + "/short.eif"
        try bytes.prefix(300).write(to: URL(fileURLWithPath: short))
        let text = try CLIRunner.run(command + [short])
        let json = try CLIRunner.run(command + [short, "--json"])
        #expect(text.status == 1)
        #expect(text.stdout.isEmpty)
        #expect(text.stderr.contains("short.eif: EIF: offset 300"))
        #expect(json.status == text.status)
        let error = try Self.object(json.stdout)
        #expect((error["error"] as? String)?.contains("short.eif: EIF: offset 300") == true)
        #expect(error["file"] as? String == short)
        #expect(error["offset"] as? Int == 300)
        #expect(error["kind"] as? String == "truncated")
        #expect(error["exit_status"] as? Int == 1)
    }

    /// A command line that does not parse: exit 64 in both modes, a JSON object under --json.
    @Test func usageErrorUnderJSONIsAJSONObjectWithStatus64() throws {
        let text = try CLIRunner.run(["eif", "describe"])
        let json = try CLIRunner.run(["eif", "describe", "--json"])
        #expect(text.status == 64)
        #expect(json.status == 64)
        #expect((try Self.object(json.stdout)["error"] as? String)?.contains("<file>") == true)
    }

    /// `measure` of an EIF whose CRC does not match printed PCRs and exited 0.
    @Test func measureOfACorruptEIFSaysSoAndFails() throws {
        let dir = try TestDirectory()
        let good = try Self.v4(in: dir).path
        var bytes = try Data(contentsOf: URL(fileURLWithPath: good))
        bytes[1000] ^= 0x55
        let flipped = dir.path + "/flipped.eif"
        try bytes.write(to: URL(fileURLWithPath: flipped))
        let text = try CLIRunner.run(["measure", flipped])
        #expect(text.status == 1)
        #expect(text.stdout.contains("problem: CRC-32 mismatch"))
        #expect(text.stderr.contains("CRC-32 mismatch"))
        let json = try CLIRunner.run(["measure", flipped, "--json"])
        #expect(json.status == 1)
        let problems = try Self.object(json.stdout)["problems"] as? [String]
        #expect(problems?.first?.contains("CRC-32 mismatch") == true)
        // A sound EIF still measures with exit 0 and no problems.
        let ok = try CLIRunner.run(["measure", good, "--json"])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect((try Self.object(ok.stdout)["problems"] as? [Any])?.isEmpty == true)
    }

    /// A SIGSTRUCT whose signature does not verify was measured with exit 0.
    @Test func measureOfASigstructWithABadSignatureFails() throws {
        let dir = try TestDirectory()
        var bytes = try Data(contentsOf: URL(fileURLWithPath: SGXCLITests.fixture("v2_ref.sigstruct")))
        #expect(try CLIRunner.run(["measure", SGXCLITests.fixture("v2_ref.sigstruct")]).status == 0)
        bytes[500] ^= 0x01  // inside SIGNATURE (offset 388, 384 bytes)
        try bytes.write(to: URL(fileURLWithPath: dir.path + "/bad.sig"))
        let r = try CLIRunner.run(["measure", dir.path + "/bad.sig"])
        #expect(r.status == 1)
        #expect(r.stdout.contains("problem: the signature does not verify"))
    }

    /// `measure OVMF --expect RELEASE` matched "tdx" after comparing MRTD alone without saying so: it now
    /// lists the registers compared and the release's registers the file does not give.
    @Test func measureExpectListsComparedAndUncomparedRegisters() throws {
        let dir = try TestDirectory()
        let firmware = Fixtures.path("tdx_synthetic_tdvf.bin")
        let measured = try CLIRunner.run(["measure", firmware, "--json"])
        #expect(measured.status == 0, "\(measured.stderr)")
        let results = try #require(try Self.object(measured.stdout)["results"] as? [[String: Any]])
        let mrtds = results.compactMap { result -> String? in
            guard let values = result["measurements"] as? [String: String] else { return nil }
            return values["mrtd"]
        }
        let mrtd = try #require(mrtds.first)
        // The example release with its tdx target's MRTD set to this firmware's.
        let example = MeasureExpectCLITests.example + "/manifest.json"
        let manifest = try String(contentsOfFile: example, encoding: .utf8).replacingOccurrences(
            of: "9e33f6b2815fba2aa24ec71cf5fc2f8974365ed90e3d0128706ec79c4323295f8f8860424454005f935e6fee27017604",
            with: mrtd)
        try manifest.write(toFile: dir.path + "/manifest.json", atomically: true, encoding: .utf8)
        let text = try CLIRunner.run(["measure", firmware, "--expect", dir.path + "/manifest.json"])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(
            text.stdout.contains(
                "matches release example-node 0.1.0, target tdx: compared MRTD; "
                    + "not compared (this file does not give them): RTMR1, RTMR2, RTMR3, RTMR0"))
        let json = try CLIRunner.run(["measure", firmware, "--expect", dir.path + "/manifest.json", "--json"])
        #expect(json.status == 0)
        let expect = try #require(try Self.object(json.stdout)["expect"] as? [String: Any])
        let targets = try #require(expect["targets"] as? [[String: Any]])
        #expect(targets.count == 1)
        #expect(targets.first?["compared"] as? [String] == ["MRTD"])
        #expect(targets.first?["not_compared"] as? [String] == ["RTMR1", "RTMR2", "RTMR3", "RTMR0"])
        #expect(targets.first?["match"] as? Bool == true)
    }

    /// `measure --expect --json` printed two JSON documents; a mismatch is one object and exit 1.
    @Test func measureExpectMismatchUnderJSONIsOneObject() throws {
        let dir = try TestDirectory()
        let (eif, _) = try Self.v4(in: dir)
        var manifest = try String(contentsOfFile: MeasureExpectCLITests.example + "/manifest.json", encoding: .utf8)
        manifest = manifest.replacingOccurrences(of: "\"PCR1\":\"343e", with: "\"PCR1\":\"443e")
        try manifest.write(toFile: dir.path + "/manifest.json", atomically: true, encoding: .utf8)
        let json = try CLIRunner.run(["measure", eif, "--expect", dir.path + "/manifest.json", "--json"])
        #expect(json.status == 1)
        let expect = try #require(try Self.object(json.stdout)["expect"] as? [String: Any])
        #expect(expect["match"] as? Bool == false)
        #expect(json.stderr.contains("match no target"))
    }

    /// `eif pcr`, `sgx gendata` and `sgx catsig` take --json; text stays the default.
    @Test func pcrGendataAndCatsigTakeJSON() throws {
        let dir = try TestDirectory()
        let cpio = NitroCLITests.fixtures + "/bootstrap-fake.cpio"
        let text = try CLIRunner.run(["eif", "pcr", "--input", cpio])
        let json = try CLIRunner.run(["eif", "pcr", "--input", cpio, "--json"])
        #expect(text.status == 0)
        let pcr = try #require(try Self.object(json.stdout)["PCR"] as? String)
        #expect(pcr.count == 96)
        #expect(text.stdout == "PCR  \(pcr)\n")
        let cert = try CLIRunner.run([
            "eif", "pcr", "--signing-certificate", NitroCLITests.fixtures + "/sign-cert-p384.pem", "--json",
        ])
        #expect((try Self.object(cert.stdout)["PCR8"] as? String)?.hasPrefix("e3ce076a") == true)

        let sgx = SGXCLITests.fixture
        let gen = try CLIRunner.run([
            "sgx", "gendata", "--sgxs", sgx("v2.sgxs"), "--date", "2024-01-15", "--debug", "--isvprodid", "4660",
            "--isvsvn", "7", "--out", dir.path + "/data.bin", "--json",
        ])
        #expect(gen.status == 0, "\(gen.stderr)")
        let data = try Data(contentsOf: URL(fileURLWithPath: dir.path + "/data.bin"))
        let genJSON = try Self.object(gen.stdout)
        #expect(genJSON["sha256"] as? String == Digest.sha256(Array(data)).hex)
        #expect(genJSON["written"] as? String == dir.path + "/data.bin")
        #expect(
            try runOpenSSL([
                "dgst", "-sha256", "-sign", sgx("key3072_e3.pem"), "-out", dir.path + "/sig.bin",
                dir.path + "/data.bin",
            ]) == 0)
        let cat = try CLIRunner.run([
            "sgx", "catsig", "--data", dir.path + "/data.bin", "--signature", dir.path + "/sig.bin", "--public-key",
            sgx("key3072_e3.pem"), "--out", dir.path + "/out.sig", "--json",
        ])
        #expect(cat.status == 0, "\(cat.stderr)")
        let catJSON = try Self.object(cat.stdout)
        #expect(catJSON["mrenclave"] as? String == genJSON["mrenclave"] as? String)
        #expect((catJSON["mrsigner"] as? String)?.count == 64)
        // An error under --json: one object, exit 1, nothing written.
        let bad = try CLIRunner.run([
            "sgx", "catsig", "--data", dir.path + "/data.bin", "--signature", dir.path + "/data.bin", "--public-key",
            sgx("key3072_e3.pem"), "--out", dir.path + "/bad.sig", "--json",
        ])
        #expect(bad.status == 1)
        #expect(try Self.object(bad.stdout)["error"] is String)
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/bad.sig"))
    }

    /// Hex arguments take an optional 0x: `verify --expect-pcr0 0x…` was refused.
    @Test func hexArgumentsTakeAnOptional0x() throws {
        let example = MeasureExpectCLITests.example
        let pcr0 =
            "65956609f358c9b6da354e89f451032a4d8286bcb49d3c25629cb77edad0d3f1959c5819669e0e41f6554b44336b7657"
        for value in [pcr0, "0x" + pcr0, "0X" + pcr0.uppercased()] {
            let r = try CLIRunner.run([
                "verify", example + "/release.dsse.json", "--policy", example + "/policy.json", "--expect-pcr0", value,
                "--expect",
                "tdx.MRTD=0x9e33f6b2815fba2aa24ec71cf5fc2f8974365ed90e3d0128706ec79c4323295f8f8860424454005f935e6fee27017604",
            ])
            #expect(r.status == 0, "\(value): \(r.stderr)")
        }
        let dir = try TestDirectory()
        var outputs: [Data] = []
        for (mrenclave, miscselect) in [("", "0"), ("0x", "0x0")] {
            let out = dir.path + "/d\(outputs.count).bin"
            let r = try CLIRunner.run([
                "sgx", "gendata", "--mrenclave",
                mrenclave + "3ade326cde767dee16aabc53a0fb800646ef246213b0fdcbf2e09ea9b7dd5fd1", "--miscselect",
                miscselect, "--vendor", "0x8086", "--out", out,
            ])
            #expect(r.status == 0, "\(r.stderr)")
            outputs.append(try Data(contentsOf: URL(fileURLWithPath: out)))
        }
        #expect(outputs.count == 2 && outputs[0] == outputs[1])
    }
}

private func runOpenSSL(_ args: [String]) throws -> Int32 {
    try ToolRunner.run("/usr/bin/openssl", args).status
}
