import EnclaveCore
import Foundation
import TestSupport
import Testing

/// A file the user names with `--output`/`--out` is never replaced unasked: without `--force` the command
/// exits 1 with one line naming the file and the fix, and leaves the file and its folder as they were; with
/// `--force` the new file replaces it.
@Suite struct ExistingOutputCLITests {
    struct Case: Sendable, CustomStringConvertible {
        var description: String
        /// The command line, reading what it needs from (or preparing it in) `inputs` and writing to `output`.
        var arguments: @Sendable (_ inputs: String, _ output: String) throws -> [String]
    }

    static let nitro = Fixtures.directory(target: "NitroTests")
    static let sgx = Fixtures.directory(target: "SGXTests")
    static let ramdisk = Fixtures.path("nitro-ramdisk")
    static let mrenclave = "3ade326cde767dee16aabc53a0fb800646ef246213b0fdcbf2e09ea9b7dd5fd1"

    /// Every command that writes a file the user names with `--output`/`--out`.
    static let cases: [Case] = [
        Case(description: "eif build") { _, out in
            [
                "eif", "build", "--kernel", nitro + "/kernel.bin", "--cmdline", "x", "--ramdisk",
                nitro + "/bootstrap-fake.cpio", "--output", out,
            ]
        },
        Case(description: "eif build-enclave") { inputs, out in
            [
                "eif", "build-enclave", "--image", try ArchiveCLITests.makeImage(in: inputs), "--blobs",
                try BuildEnclaveCLITests.blobs(in: inputs), "--output", out,
            ]
        },
        Case(description: "eif ramdisk bootstrap") { _, out in
            [
                "eif", "ramdisk", "bootstrap", "--init", ramdisk + "/init.bin", "--nsm", ramdisk + "/nsm.ko",
                "--output", out,
            ]
        },
        Case(description: "eif ramdisk app") { inputs, out in
            ["eif", "ramdisk", "app", "--image", try ArchiveCLITests.makeImage(in: inputs), "--output", out]
        },
        Case(description: "sgx sign") { _, out in
            ["sgx", "sign", "--mrenclave", mrenclave, "--key", sgx + "/key3072_e3.pem", "--out", out]
        },
        Case(description: "sgx gendata") { _, out in ["sgx", "gendata", "--mrenclave", mrenclave, "--out", out] },
        Case(description: "sgx catsig") { inputs, out in
            // The two-step signing inputs: the signed data, OpenSSL's signature of it, the public key.
            let key = sgx + "/key3072_e3.pem"
            let steps: [(String, [String])] = [
                (CLIRunner.binary, ["sgx", "gendata", "--mrenclave", mrenclave, "--out", inputs + "/data.bin"]),
                ("openssl", ["dgst", "-sha256", "-sign", key, "-out", inputs + "/sig.bin", inputs + "/data.bin"]),
                ("openssl", ["rsa", "-in", key, "-pubout", "-out", inputs + "/pub.pem"]),
            ]
            for (tool, arguments) in steps {
                let r = try ToolRunner.run(tool, arguments)
                guard r.status == 0 else { throw TestFailure("\(tool) failed while preparing the inputs: \(r.stderr)") }
            }
            return [
                "sgx", "catsig", "--data", inputs + "/data.bin", "--signature", inputs + "/sig.bin",
                "--public-key", inputs + "/pub.pem", "--out", out,
            ]
        },
    ]

    @Test(arguments: cases)
    func existingFileIsRefusedThenReplacedWithForce(_ c: Case) throws {
        let dir = try TestDirectory()
        let inputs = try TestDirectory()
        let mine = Array("the user's own file\n".utf8)
        let out = try dir.write("mine.out", mine)
        let arguments = try c.arguments(inputs.path, out)

        let refused = try CLIRunner.run(arguments)
        #expect(refused.status == 1, "\(refused.stderr)")
        let lines = refused.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(refused.stderr)")
        #expect(refused.stderr.contains("\(out): cannot replace the existing file (nothing was written)"))
        #expect(refused.stderr.contains("pass --force to replace it"))
        #expect(try dir.read("mine.out") == mine, "the user's file is unchanged")
        #expect(dir.listing() == ["mine.out"], "nothing else is left in the folder")

        let json = try CLIRunner.run(arguments + ["--json"])
        #expect(json.status == 1)
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any], "\(json.stdout)")
        #expect(object["kind"] as? String == "exists")
        #expect(object["file"] as? String == out)

        let forced = try CLIRunner.run(arguments + ["--force"])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(try dir.read("mine.out") != mine, "--force replaces the file")
        #expect(dir.listing() == ["mine.out"])
    }

    /// A dangling symbolic link is a name the user made, too: it is refused, not followed or replaced.
    @Test func danglingSymlinkIsRefused() throws {
        let dir = try TestDirectory()
        try dir.symlink("link.sig", to: "nowhere")
        let sign = try #require(Self.cases.first { $0.description == "sgx sign" })
        let r = try CLIRunner.run(try sign.arguments(dir.path, dir.file("link.sig")))
        #expect(r.status == 1)
        #expect(r.stderr.contains("cannot replace the existing file"))
        #expect(!dir.exists("nowhere"))
    }
}
