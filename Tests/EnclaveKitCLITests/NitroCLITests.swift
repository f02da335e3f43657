import EnclaveCore
import Foundation
import TestSupport
import Testing

/// End-to-end: the built `enclavekit` binary on the Nitro vectors (inputs live in NitroTests/Fixtures).
@Suite struct NitroCLITests {
    static let fixtures = Fixtures.directory(target: "NitroTests")

    static func v4Args(output: String) throws -> [String] {
        let cmdline = String(
            decoding: try Data(contentsOf: URL(fileURLWithPath: fixtures + "/cmdline.txt")), as: UTF8.self)
        return [
            "eif", "build", "--kernel", fixtures + "/kernel.bin", "--cmdline", cmdline, "--ramdisk",
            fixtures + "/bootstrap-fake.cpio", "--ramdisk", fixtures + "/customer-fake.cpio", "--ramdisk",
            fixtures + "/extra.bin", "--build-time", "1970-01-01T00:00:00+00:00", "--build-tool", "eif_build",
            "--build-tool-version", "0.3.1", "--img-os", "OS", "--img-kernel", "kernel", "--name", "test-v4",
            "--version", "test-v4", "--output", output,
        ]
    }

    static let v4PCR0 =
        "65956609f358c9b6da354e89f451032a4d8286bcb49d3c25629cb77edad0d3f1959c5819669e0e41f6554b44336b7657"
    static let v4SHA256 = "b5b23efb49b6187d5b9559cc0b3b57a7db8c99a94e9302782a15b9699ba57c24"

    static func sha256(_ path: String) throws -> String {
        String(try ToolRunner.run("/usr/bin/sha256sum", [path]).stdout.prefix(64))
    }

    @Test func buildWithEifBuildFlagsIsByteIdentical() throws {
        let dir = try TestDirectory()
        let out = dir.path + "/v4.eif"
        let r = try CLIRunner.run(try Self.v4Args(output: out) + ["--json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("\"PCR0\": \"\(Self.v4PCR0)\""))
        #expect(r.stdout.hasPrefix("{\n  \"Measurements\": {\n    \"HashAlgorithm\": \"Sha384 { ... }\""))
        #expect(try Self.sha256(out) == Self.v4SHA256)
    }

    /// Same inputs, different time zone, locale, umask, working directory and SOURCE_DATE_EPOCH source.
    @Test func buildIsDeterministicAcrossEnvironments() throws {
        let a = try TestDirectory()
        let b = try TestDirectory()
        var args = try Self.v4Args(output: "out.eif")
        if let i = args.firstIndex(of: "--build-time") { args.removeSubrange(i...(i + 1)) }
        let r1 = try CLIRunner.run(
            args, in: a.path, environment: ["TZ": "Pacific/Kiritimati", "LC_ALL": "C", "SOURCE_DATE_EPOCH": "0"])
        let r2 = try CLIRunner.run(
            ["sh", "-c", "umask 077; exec \"$0\" \"$@\"", CLIRunner.binary] + args, in: b.path,
            environment: ["TZ": "America/Adak", "LC_ALL": "et_EE.UTF-8", "SOURCE_DATE_EPOCH": "0"], viaShell: true)
        #expect(r1.status == 0, "\(r1.stderr)")
        #expect(r2.status == 0, "\(r2.stderr)")
        #expect(try Self.sha256(a.path + "/out.eif") == Self.v4SHA256)
        #expect(try Self.sha256(b.path + "/out.eif") == Self.v4SHA256)
        let attrs = try FileManager.default.attributesOfItem(atPath: b.path + "/out.eif")
        #expect((attrs[.posixPermissions] as? Int) == 0o644)
    }

    @Test func malformedSourceDateEpochIsAnError() throws {
        let dir = try TestDirectory()
        var args = try Self.v4Args(output: dir.path + "/x.eif")
        if let i = args.firstIndex(of: "--build-time") { args.removeSubrange(i...(i + 1)) }
        let r = try CLIRunner.run(args, environment: ["SOURCE_DATE_EPOCH": "yesterday"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("SOURCE_DATE_EPOCH"))
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/x.eif"))
    }

    @Test func describeAndMeasurePrintThePCRs() throws {
        let dir = try TestDirectory()
        let out = dir.path + "/v4.eif"
        #expect(try CLIRunner.run(try Self.v4Args(output: out)).status == 0)
        let d = try CLIRunner.run(["eif", "describe", out, "--json"])
        #expect(d.status == 0)
        #expect(d.stdout.hasPrefix("{\n  \"EifVersion\": 4,\n  \"Measurements\": {"))
        #expect(d.stdout.contains("\"CheckCRC\": true"))
        #expect(d.stdout.contains("\"IsSigned\": false"))
        #expect(d.stdout.contains("\"ImageName\": \"test-v4\""))
        let m = try CLIRunner.run(["measure", out])
        #expect(m.status == 0)
        #expect(m.stdout.contains("PCR0  \(Self.v4PCR0)"))
        let text = try CLIRunner.run(["eif", "describe", out])
        #expect(text.stdout.contains("CRC"))
    }

    @Test func signedBuildReportsPCR8() throws {
        let dir = try TestDirectory()
        let out = dir.path + "/s.eif"
        let r = try CLIRunner.run(
            try Self.v4Args(output: out) + [
                "--private-key", Self.fixtures + "/sign-key-p384.pem", "--signing-certificate",
                Self.fixtures + "/sign-cert-p384.pem",
            ])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(
            r.stdout.contains(
                "PCR8  e3ce076aa9b19509c330975097e5097c0b3c820996564527e02e4fd2abd62b51f6754011ea9bdf486737fef2295984ae"
            ))
        let d = try CLIRunner.run(["eif", "describe", out, "--json"])
        #expect(d.stdout.contains("\"SignatureCheck\": true"))
    }

    @Test func corruptFilesGiveOneLineAndNonZeroExit() throws {
        let dir = try TestDirectory()
        let out = dir.path + "/v4.eif"
        #expect(try CLIRunner.run(try Self.v4Args(output: out)).status == 0)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: out))
        try bytes.prefix(300).write(to: URL(fileURLWithPath: dir.path + "/short.eif"))
        let short = try CLIRunner.run(["measure", dir.path + "/short.eif"])
        #expect(short.status == 1)
        #expect(short.stderr.split(separator: "\n").count == 1)
        #expect(short.stderr.contains("short.eif: EIF: offset 300"))
        bytes[1000] ^= 0x55
        try bytes.write(to: URL(fileURLWithPath: dir.path + "/flipped.eif"))
        let flipped = try CLIRunner.run(["eif", "describe", dir.path + "/flipped.eif"])
        #expect(flipped.status == 1)
        #expect(flipped.stderr.contains("CRC-32 mismatch"))
    }

    @Test func missingInputLeavesNoOutput() throws {
        let dir = try TestDirectory()
        var args = try Self.v4Args(output: dir.path + "/o.eif")
        let k = try #require(args.firstIndex(of: "--kernel"))
        args[k + 1] = dir.path + "/nope"
        let r = try CLIRunner.run(args)
        #expect(r.status == 1)
        #expect(r.stderr.contains("/nope"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }
}

@Suite struct NitroPCRCLITests {
    @Test func pcrOfAFileAndOfACertificate() throws {
        let r = try CLIRunner.run([
            "eif", "pcr", "--signing-certificate", NitroCLITests.fixtures + "/sign-cert-p384.pem",
        ])
        #expect(r.status == 0)
        #expect(
            r.stdout.contains(
                "e3ce076aa9b19509c330975097e5097c0b3c820996564527e02e4fd2abd62b51f6754011ea9bdf486737fef2295984ae"))
        let f = try CLIRunner.run(["eif", "pcr", "--input", NitroCLITests.fixtures + "/bootstrap-fake.cpio", "--json"])
        #expect(f.status == 0)
        // The vector lists the ramdisk's SHA-384; the PCR extends it into a zero register.
        let sha384 = try #require(
            Hex.decode(
                "174dedd73237f89f05e0f2009c600d30f4fb8e86bc286969cddae1f7ef33e5d87a39a294541b9eaaaad38c047dd1da09"))
        let expected = Digest.sha384([UInt8](repeating: 0, count: 48) + sha384).hex
        #expect(f.stdout.contains("\"PCR\": \"\(expected)\""))
        let both = try CLIRunner.run(["eif", "pcr"])
        #expect(both.status == 64, "neither a file nor --certificate is a usage error")
    }
}

/// `eif build-enclave`: an image tarball and nitro-cli-style blobs to the PCRs nitro-cli would give.
@Suite struct BuildEnclaveCLITests {
    /// A blobs folder from the vector inputs: the bootstrap ramdisk they give is bootstrap-fake.cpio.
    static func blobs(in dir: String) throws -> String {
        let blobs = dir + "/blobs"
        try FileManager.default.createDirectory(atPath: blobs, withIntermediateDirectories: true)
        let nitro = NitroCLITests.fixtures
        try FileManager.default.copyItem(atPath: nitro + "/kernel.bin", toPath: blobs + "/bzImage")
        try FileManager.default.copyItem(atPath: ArchiveCLITests.fixture("init.bin"), toPath: blobs + "/init")
        try FileManager.default.copyItem(atPath: ArchiveCLITests.fixture("nsm.ko"), toPath: blobs + "/nsm.ko")
        // The blob ends with a newline, which nitro-cli trims before measuring.
        let cmdline = try Data(contentsOf: URL(fileURLWithPath: nitro + "/cmdline.txt")) + Data("\n".utf8)
        try cmdline.write(to: URL(fileURLWithPath: blobs + "/cmdline"))
        return blobs
    }

    @Test func pcrsMatchTheVectorsAndTheRamdiskCommands() throws {
        let dir = try TestDirectory()
        let blobs = try Self.blobs(in: dir.path)
        let image = try ArchiveCLITests.makeImage(in: dir.path)
        let r = try CLIRunner.run([
            "eif", "build-enclave", "--image", image, "--blobs", blobs, "--output", dir.path + "/app.eif", "--json",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        // kernel.bin ‖ cmdline.txt ‖ bootstrap ramdisk of init.bin + nsm.ko is vector V4's PCR1.
        #expect(
            r.stdout.contains(
                "\"PCR1\": \"343e2f560954b639d1410fe761bec99c795928c35882850899761e886a10a23b065c977b1c2e82c90abe2130aaee0654\""
            ))
        // PCR2 is the PCR of the app ramdisk that `eif ramdisk app` writes for the same image.
        #expect(
            try CLIRunner.run(["eif", "ramdisk", "app", "--image", image, "--output", dir.path + "/app.cpio"]).status
                == 0)
        let pcr = try CLIRunner.run(["eif", "pcr", "--input", dir.path + "/app.cpio", "--json"])
        let pcr2 = try #require(pcr.stdout.split(separator: "\"").dropFirst(3).first)
        #expect(r.stdout.contains("\"PCR2\": \"\(pcr2)\""))
        // No work files are left next to the output.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(".") }.isEmpty)
    }

    @Test func missingBlobIsNamedAndNothingIsWritten() throws {
        let dir = try TestDirectory()
        let blobs = try Self.blobs(in: dir.path)
        try FileManager.default.removeItem(atPath: blobs + "/nsm.ko")
        let image = try ArchiveCLITests.makeImage(in: dir.path)
        let r = try CLIRunner.run([
            "eif", "build-enclave", "--image", image, "--blobs", blobs, "--output", dir.path + "/app.eif",
        ])
        #expect(r.status == 1)
        #expect(r.stderr.contains("nsm.ko is missing"))
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/app.eif"))
    }
}

/// `measure --expect`: an operator checks an EIF against a (signed) release.
@Suite struct MeasureExpectCLITests {
    /// The example release in ReleaseTests/Fixtures names vector V4's PCRs for its nitro target.
    static let example = Fixtures.directory(target: "ReleaseTests") + "/example"

    @Test func matchingEIFPassesAgainstManifestAndSignedRelease() throws {
        let dir = try TestDirectory()
        let eif = dir.path + "/v4.eif"
        #expect(try CLIRunner.run(try NitroCLITests.v4Args(output: eif)).status == 0)
        let unsigned = try CLIRunner.run(["measure", eif, "--expect", Self.example + "/manifest.json"])
        #expect(unsigned.status == 0, "\(unsigned.stderr)")
        #expect(unsigned.stdout.contains("matches release example-node"))
        #expect(unsigned.stderr.contains("signatures not checked"))
        let signed = try CLIRunner.run([
            "measure", eif, "--expect", Self.example + "/release.dsse.json", "--policy", Self.example + "/policy.json",
        ])
        #expect(signed.status == 0, "\(signed.stderr)")
        #expect(!signed.stderr.contains("signatures not checked"))
    }

    @Test func otherEIFFailsAndNamesTheRegister() throws {
        let dir = try TestDirectory()
        let eif = dir.path + "/other.eif"
        var args = try NitroCLITests.v4Args(output: eif)
        let i = try #require(args.firstIndex(of: "--cmdline"))
        args[i + 1] = "console=ttyS1"
        #expect(try CLIRunner.run(args).status == 0)
        let r = try CLIRunner.run(["measure", eif, "--expect", Self.example + "/manifest.json", "--json"])
        #expect(r.status == 1)
        #expect(r.stdout.contains("\"register\": \"PCR0\""))
        #expect(r.stdout.contains("\"register\": \"PCR1\""))
        #expect(!r.stdout.contains("\"register\": \"PCR2\""))
        #expect(r.stderr.contains("match no target"))
    }
}
