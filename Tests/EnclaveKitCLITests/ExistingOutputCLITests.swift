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
        /// The command line, writing to `output`.
        var arguments: @Sendable (_ output: String) -> [String]
    }

    static let nitro = Fixtures.directory(target: "NitroTests")
    static let sgx = Fixtures.directory(target: "SGXTests")
    static let ramdisk = Fixtures.path("nitro-ramdisk")
    static let mrenclave = "3ade326cde767dee16aabc53a0fb800646ef246213b0fdcbf2e09ea9b7dd5fd1"

    static let cases: [Case] = [
        Case(description: "eif build") { out in
            [
                "eif", "build", "--kernel", nitro + "/kernel.bin", "--cmdline", "x", "--ramdisk",
                nitro + "/bootstrap-fake.cpio", "--output", out,
            ]
        },
        Case(description: "eif ramdisk bootstrap") { out in
            [
                "eif", "ramdisk", "bootstrap", "--init", ramdisk + "/init.bin", "--nsm", ramdisk + "/nsm.ko",
                "--output", out,
            ]
        },
        Case(description: "sgx sign") { out in
            ["sgx", "sign", "--mrenclave", mrenclave, "--key", sgx + "/key3072_e3.pem", "--out", out]
        },
        Case(description: "sgx gendata") { out in ["sgx", "gendata", "--mrenclave", mrenclave, "--out", out] },
    ]

    @Test(arguments: cases)
    func existingFileIsRefusedThenReplacedWithForce(_ c: Case) throws {
        let dir = try TestDirectory()
        let mine = Array("the user's own file\n".utf8)
        let out = try dir.write("mine.out", mine)

        let refused = try CLIRunner.run(c.arguments(out))
        #expect(refused.status == 1, "\(refused.stderr)")
        let lines = refused.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(refused.stderr)")
        #expect(refused.stderr.contains("\(out): cannot replace the existing file (nothing was written)"))
        #expect(refused.stderr.contains("pass --force to replace it"))
        #expect(try dir.read("mine.out") == mine, "the user's file is unchanged")
        #expect(dir.listing() == ["mine.out"], "nothing else is left in the folder")

        let json = try CLIRunner.run(c.arguments(out) + ["--json"])
        #expect(json.status == 1)
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any], "\(json.stdout)")
        #expect(object["kind"] as? String == "exists")
        #expect(object["file"] as? String == out)

        let forced = try CLIRunner.run(c.arguments(out) + ["--force"])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(try dir.read("mine.out") != mine, "--force replaces the file")
        #expect(dir.listing() == ["mine.out"])
    }

    /// A dangling symbolic link is a name the user made, too: it is refused, not followed or replaced.
    @Test func danglingSymlinkIsRefused() throws {
        let dir = try TestDirectory()
        try dir.symlink("link.sig", to: "nowhere")
        let r = try CLIRunner.run(Self.cases[2].arguments(dir.file("link.sig")))
        #expect(r.status == 1)
        #expect(r.stderr.contains("cannot replace the existing file"))
        #expect(!dir.exists("nowhere"))
    }
}
