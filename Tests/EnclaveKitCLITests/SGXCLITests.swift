import Foundation
import TestSupport
import Testing

/// `enclavekit sgx …` and `enclavekit measure` on SGX files, run as a user would. Inputs are the SGX module's
/// fixtures (Tests/SGXTests/Fixtures; their provenance is in its README).
@Suite struct SGXCLITests {
    static func fixture(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("SGXTests/Fixtures/\(name)").path
    }

    static let v2 = "3ade326cde767dee16aabc53a0fb800646ef246213b0fdcbf2e09ea9b7dd5fd1"
    static let mrsigner = "ddaafb5addf150acda0cf5a01ef1e5b807c90e5d068890c634f58101c84d7a69"

    static func bytes(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }

    @Test(arguments: [
        (["sgx", "measure", "--sgxs", fixture("v2.sgxs")], v2),
        (
            ["sgx", "measure", "--sgxs", fixture("v1.sgxs")],
            "35ee1704ddb55f69b2b8420204b0024e0e08b3245c9ebd375b59b2cd6bca054b"
        ),
        (
            ["sgx", "measure", "--elf", fixture("selftest_encl.elf")],
            "2a023b8e88ba930431eedcd2c1ac675fea8ff0284bd5e1b87d7832ec4e0e62aa"
        ),
        (
            ["sgx", "measure", "--elf", fixture("selftest_encl.elf"), "--heap-size", "0x10000"],
            "b0c0e906b9748fe0197ce5d32f7a94ca2cc8425ed1aaffdd0ff449b4d6f2a1d1"
        ),
        (
            ["sgx", "measure", "--elf", fixture("selftest_encl.elf"), "--tail", "zero"],
            "7780123bc6549ca29575d03be11a6510bd72dd6ea8794f3ed585595b9081687d"
        ),
        (
            [
                "sgx", "measure", "--gramine-manifest", fixture("gramine_m1.manifest.sgx"), "--libpal",
                fixture("gramine_libpal.so"),
            ],
            "df363d6f5693490e5ed9860ea80e3dc270d3791e4e131e37269ac344bf16c4dd"
        ),
    ])
    func measurePrintsMRENCLAVE(args: [String], expected: String) throws {
        let r = try CLIRunner.run(args)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == "mrenclave  \(expected)\n")
        let json = try CLIRunner.run(args + ["--json", "--verbose"])
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect(object?["mr_enclave"] as? String == expected)
        #expect((object?["layout"] as? [Any])?.isEmpty == false)
    }

    @Test func verboseLayoutLooksLikeGramineSign() throws {
        let r = try CLIRunner.run(["sgx", "measure", "--elf", Self.fixture("selftest_encl.elf"), "--verbose"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("    0000000000000000-0000000000002000 [TCS:---] (tcs) measured\n"))
        #expect(r.stdout.contains("    0000000000006000-0000000000007000 [REG:RW-] (heap) unmeasured\n"))
        #expect(
            r.stdout.hasSuffix("Measurement:\n    2a023b8e88ba930431eedcd2c1ac675fea8ff0284bd5e1b87d7832ec4e0e62aa\n"))
    }

    @Test func signReproducesTheReferenceSigstructAndViewReadsIt() throws {
        let dir = try TestDirectory()
        let out = dir.path + "/s2.sig"
        let r = try CLIRunner.run([
            "sgx", "sign", "--mrenclave", Self.v2, "--key", Self.fixture("key3072_e3.pem"), "--out", out, "--date",
            "2024-01-15", "--debug", "--isvprodid", "0x1234", "--isvsvn", "7",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try Self.bytes(out) == Self.bytes(Self.fixture("v2_ref.sigstruct")))

        let view = try CLIRunner.run(["sgx", "view", out, "--json"])
        #expect(view.status == 0)
        let object = try JSONSerialization.jsonObject(with: Data(view.stdout.utf8)) as? [String: Any]
        #expect(object?["mr_enclave"] as? String == Self.v2)
        #expect(object?["mr_signer"] as? String == Self.mrsigner)
        #expect(object?["isv_prod_id"] as? Int == 0x1234)
        #expect(object?["date"] as? String == "2024-01-15")
        #expect(object?["debug_enclave"] as? Bool == true)
        #expect(object?["signature_valid"] as? Bool == true)
        let text = try CLIRunner.run(["sgx", "view", out])
        #expect(text.stdout.hasPrefix("Attributes:\n    mr_signer: \(Self.mrsigner)\n    mr_enclave: \(Self.v2)\n"))
    }

    @Test func signMeasuresGramineInputsLikeGramineSgxSign() throws {
        let dir = try TestDirectory()
        let out = dir.path + "/m1.sig"
        let r = try CLIRunner.run([
            "sgx", "sign", "--gramine-manifest", Self.fixture("gramine_m1.manifest.sgx"), "--libpal",
            Self.fixture("gramine_libpal.so"), "--key", Self.fixture("key3072_e3.pem"), "--out", out, "--debug",
            "--isvprodid", "5", "--isvsvn", "3", "--date", "2025-03-09",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try Self.bytes(out) == Self.bytes(Self.fixture("gramine_m1.sig")))
    }

    @Test func twoStepSigningWithOpenSSL() throws {
        let dir = try TestDirectory()
        let gen = try CLIRunner.run([
            "sgx", "gendata", "--sgxs", Self.fixture("v2.sgxs"), "--date", "2024-01-15", "--debug", "--isvprodid",
            "4660",
            "--isvsvn", "7", "--out", dir.path + "/data.bin",
        ])
        #expect(gen.status == 0, "\(gen.stderr)")
        #expect(try Self.bytes(dir.path + "/data.bin").count == 256)
        #expect(
            try openssl([
                "dgst", "-sha256", "-sign", Self.fixture("key3072_e3.pem"), "-out", dir.path + "/sig.bin",
                dir.path + "/data.bin",
            ]) == 0)
        #expect(
            try openssl(["rsa", "-in", Self.fixture("key3072_e3.pem"), "-pubout", "-out", dir.path + "/pub.pem"]) == 0)
        let cat = try CLIRunner.run([
            "sgx", "catsig", "--data", dir.path + "/data.bin", "--signature", dir.path + "/sig.bin", "--public-key",
            dir.path + "/pub.pem", "--out", dir.path + "/out.sig",
        ])
        #expect(cat.status == 0, "\(cat.stderr)")
        #expect(try Self.bytes(dir.path + "/out.sig") == Self.bytes(Self.fixture("v2_ref.sigstruct")))

        // A signature by another key: one error line, no output file.
        #expect(try openssl(["genrsa", "-3", "-out", dir.path + "/other.pem", "3072"]) == 0)
        #expect(
            try openssl([
                "dgst", "-sha256", "-sign", dir.path + "/other.pem", "-out", dir.path + "/bad.bin",
                dir.path + "/data.bin",
            ]) == 0)
        let bad = try CLIRunner.run([
            "sgx", "catsig", "--data", dir.path + "/data.bin", "--signature", dir.path + "/bad.bin", "--public-key",
            dir.path + "/pub.pem", "--out", dir.path + "/bad.sig",
        ])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("does not verify"))
        #expect(bad.stderr.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/bad.sig"))
    }

    @Test func measureDetectsSGXSAndSigstruct() throws {
        let sgxs = try CLIRunner.run(["measure", Self.fixture("v2.sgxs"), "--json"])
        #expect(sgxs.status == 0, "\(sgxs.stderr)")
        #expect(sgxs.stdout.contains("\"format\": \"sgxs\""))
        #expect(sgxs.stdout.contains("\"MRENCLAVE\": \"\(Self.v2)\""))
        let sig = try CLIRunner.run(["measure", Self.fixture("v2_ref.sigstruct")])
        #expect(sig.status == 0, "\(sig.stderr)")
        #expect(sig.stdout.contains("MRSIGNER   \(Self.mrsigner)"))
        #expect(sig.stdout.contains("signature  valid"))
    }

    // MARK: - errors: one line, non-zero exit, no partial output

    @Test func badInputsFailWithOneLine() throws {
        let dir = try TestDirectory()
        var truncated = try Self.bytes(Self.fixture("v2.sgxs"))
        truncated.removeLast(100)
        try Data(truncated).write(to: URL(fileURLWithPath: dir.path + "/t.sgxs"))
        var header = try Self.bytes(Self.fixture("v2_ref.sigstruct"))
        header[3] = 9
        try Data(header).write(to: URL(fileURLWithPath: dir.path + "/h.sig"))
        var tampered = try Self.bytes(Self.fixture("v2_ref.sigstruct"))
        tampered[1026] ^= 1
        try Data(tampered).write(to: URL(fileURLWithPath: dir.path + "/x.sig"))
        #expect(try openssl(["genrsa", "-out", dir.path + "/e65537.pem", "3072"]) == 0)

        // Errors found while working: exactly one line.
        let cases: [([String], String)] = [
            (
                ["sgx", "measure", "--sgxs", dir.path + "/t.sgxs"],
                "SGXS: offset 63104 (0xf680): record header cut short"
            ),
            (["sgx", "view", dir.path + "/h.sig"], "HEADER is"),
            (["sgx", "view", dir.path + "/x.sig"], "does not verify"),
            (["sgx", "measure", "--elf", Self.fixture("v2.sgxs")], "not an ELF file"),
            (
                [
                    "sgx", "sign", "--mrenclave", Self.v2, "--key", dir.path + "/e65537.pem", "--out",
                    dir.path + "/o.sig",
                ],
                "3072-bit key with e = 3"
            ),
            (
                ["sgx", "sign", "--key", Self.fixture("key3072_e3.pem"), "--out", dir.path + "/o.sig"],
                "nothing to sign"
            ),
        ]
        for (args, expected) in cases {
            let r = try CLIRunner.run(args)
            #expect(r.status == 1, "\(args)")
            #expect(r.stderr.contains(expected), "\(args): \(r.stderr)")
            #expect(
                r.stderr.trimmingCharacters(in: .newlines).split(separator: "\n").count == 1, "\(args): \(r.stderr)")
        }
        // Option mistakes: ArgumentParser's validation message (first line) plus the usage.
        let usage: [([String], String)] = [
            (["sgx", "measure", "--sgxs", Self.fixture("v2.sgxs"), "--elf", "x"], "only one of"),
            (["sgx", "measure", "--gramine-manifest", Self.fixture("gramine_m1.manifest.sgx")], "needs --libpal"),
            (["sgx", "measure", "--elf", Self.fixture("selftest_encl.elf"), "--heap-size", "100"], "multiple of 4096"),
            (["sgx", "sign", "--mrenclave", "abc", "--key", "k", "--out", "o"], "64 hex digits"),
            (["sgx", "sign", "--mrenclave", Self.v2, "--key", "k", "--out", "o", "--date", "2024-1-5"], "YYYY-MM-DD"),
        ]
        for (args, expected) in usage {
            let r = try CLIRunner.run(args)
            #expect(r.status == 64, "\(args)")
            #expect(r.stderr.split(separator: "\n").first?.contains(expected) == true, "\(args): \(r.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/o.sig"))
    }

    @Test func sgxsOutIsWrittenOnlyOnSuccess() throws {
        let dir = try TestDirectory()
        let ok = try CLIRunner.run([
            "sgx", "measure", "--elf", Self.fixture("selftest_encl.elf"), "--sgxs-out", dir.path + "/e.sgxs",
        ])
        #expect(ok.status == 0)
        let again = try CLIRunner.run(["sgx", "measure", "--sgxs", dir.path + "/e.sgxs"])
        #expect(again.stdout == ok.stdout)
        let bad = try CLIRunner.run([
            "sgx", "measure", "--elf", Self.fixture("v1.sgxs"), "--sgxs-out", dir.path + "/bad.sgxs",
        ])
        #expect(bad.status == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["e.sgxs"])
    }

    @Test func mrsignerOfAKeyIsTheLittleEndianModulusHash() throws {
        let r = try CLIRunner.run(["sgx", "mrsigner", Self.fixture("key3072_e3.pem")])
        #expect(r.status == 0)
        #expect(r.stdout == "mrsigner  \(Self.mrsigner)\n")
        let bad = try CLIRunner.run(["sgx", "mrsigner", Self.fixture("v1.json")])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("not an unencrypted PEM RSA private or public key"))
    }

    @Test func helpHasExamples() throws {
        for command in ["measure", "sign", "gendata", "catsig", "view", "mrsigner"] {
            let r = try CLIRunner.run(["sgx", command, "--help"])
            #expect(r.status == 0)
            #expect(r.stdout.contains("Examples:"), "\(command)")
        }
    }

    func openssl(_ args: [String]) throws -> Int32 {
        try ToolRunner.run("openssl", args).status
    }
}
