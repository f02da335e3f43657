import Foundation
import Testing

/// `enclavekit snp measure` as a drop-in for `sev-snp-measure`: the same arguments to both binaries must
/// print the same thing; errors are one line; `enclavekit measure` recognises SEV firmware.
@Suite struct SNPCLITests {
    static let debianCode = "/usr/share/OVMF/OVMF_CODE.fd"
    static let debianFull = "/usr/share/ovmf/OVMF.fd"

    /// Runs the reference client with `args`.
    static func reference(_ args: [String], in directory: String? = nil) throws -> CLIRunner.Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sev-snp-measure"] + args
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CLIRunner.Result(
            status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
            stderr: String(decoding: e, as: UTF8.self))
    }

    static let amdSev = Fixtures.path("snp_ovmf_AmdSev_suffix.bin")
    static let ovmfX64 = Fixtures.path("snp_ovmf_OvmfX64_suffix.bin")
    static let seed = String(repeating: "a1b2c3", count: 16)

    static let sameOutput: [[String]] = [
        ["--mode", "snp", "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--ovmf", debianCode],
        [
            "--mode", "snp", "--vcpus", "4", "--vcpu-type", "EPYC-Milan", "--guest-features", "0x21", "--ovmf",
            debianFull,
        ],
        ["--mode", "snp", "--vcpus", "2", "--vcpu-sig", "0xa10f10", "--ovmf", debianCode, "--output-format", "base64"],
        [
            "--mode", "snp", "--vcpus=3", "--vcpu-family", "25", "--vcpu-model", "17", "--vcpu-stepping", "1", "--ovmf",
            debianFull,
        ],
        ["--mode", "snp", "--vcpus", "2", "--vmm-type", "ec2", "--ovmf", debianCode, "-v"],
        ["--mode", "snp", "--vcpus", "2", "--vmm-type", "gce", "--ovmf", debianFull, "--verbose"],
        ["--mode", "snp:ovmf-hash", "--ovmf", debianFull],
        ["--mode", "seves", "--vcpus", "2", "--vcpu-type", "EPYC-Rome", "--ovmf", debianCode],
        ["--mode", "sev", "--ovmf", debianCode, "--output-format", "base64", "-v"],
        ["--mode", "snp", "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--ovmf", amdSev, "--snp-ovmf-hash", seed],
        ["--mode", "snp", "--vcpus", "4", "--vcpu-type", "EPYC-Genoa", "--ovmf", ovmfX64, "--snp-ovmf-hash", seed],
    ]

    @Test(arguments: sameOutput)
    func printsWhatSevSnpMeasurePrints(_ args: [String]) throws {
        let reference = try Self.reference(args)
        #expect(reference.status == 0, "\(reference.stderr)")
        let ours = try CLIRunner.run(["snp", "measure"] + args)
        #expect(ours.status == 0, "\(ours.stderr)")
        #expect(ours.stdout == reference.stdout)
    }

    @Test func kernelHashesOnAmdSevBuild() throws {
        let dir = try TemporaryDirectory()
        let kernel = dir.path + "/bzImage"
        let initrd = dir.path + "/initrd.img"
        try Data((0..<50_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }).write(to: URL(fileURLWithPath: kernel))
        try Data((0..<7_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }).write(to: URL(fileURLWithPath: initrd))
        let args = [
            "--mode", "snp", "--vcpus", "2", "--vcpu-type", "EPYC-v4", "--ovmf", Self.amdSev, "--snp-ovmf-hash",
            Self.seed, "--kernel", kernel, "--initrd", initrd, "--append", "console=ttyS0 -- init=/bin/sh",
        ]
        let reference = try Self.reference(args)
        #expect(reference.status == 0, "\(reference.stderr)")
        let ours = try CLIRunner.run(["snp", "measure"] + args)
        #expect(ours.status == 0, "\(ours.stderr)")
        #expect(ours.stdout == reference.stdout)
    }

    @Test func jsonListsSteps() throws {
        let args = ["--mode", "snp", "--vcpus", "2", "--vcpu-type", "EPYC-v4", "--ovmf", Self.debianCode]
        let text = try CLIRunner.run(["snp", "measure"] + args)
        let json = try CLIRunner.run(["snp", "measure", "--json"] + args)
        #expect(json.status == 0)
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["measurement"] as? String == text.stdout.trimmingCharacters(in: .newlines))
        let steps = try #require(object["steps"] as? [[String: Any]])
        // firmware, 5 metadata sections, 2 VMSAs; the last step's digest is the measurement.
        #expect(steps.count == 8)
        #expect(steps.last?["digest"] as? String == object["measurement"] as? String)
        #expect(steps.first?["pages"] as? Int == 1_966_080 / 4096)
    }

    @Test func dumpVMSAWritesTheSameFiles() throws {
        let ref = try TemporaryDirectory()
        let ours = try TemporaryDirectory()
        let args = [
            "--mode", "snp", "--vcpus", "3", "--vcpu-type", "EPYC-v4", "--ovmf", Self.debianCode, "--dump-vmsa",
        ]
        #expect(try Self.reference(args, in: ref.path).status == 0)
        #expect(try CLIRunner.run(["snp", "measure"] + args, in: ours.path).status == 0)
        for i in 0..<3 {
            let a = try Data(contentsOf: URL(fileURLWithPath: "\(ref.path)/vmsa\(i).bin"))
            let b = try Data(contentsOf: URL(fileURLWithPath: "\(ours.path)/vmsa\(i).bin"))
            #expect(a == b)
        }
        #expect(!FileManager.default.fileExists(atPath: "\(ours.path)/vmsa3.bin"))
    }

    static let oneLineErrors: [([String], String)] = [
        (
            ["--mode", "snp", "--vcpus", "1", "--vcpu-type", "EPYC-v9", "--ovmf", debianCode],
            "unknown vCPU type 'EPYC-v9'"
        ),
        (
            ["--mode", "snp", "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--ovmf", amdSev, "--snp-ovmf-hash", "zz"],
            "bad --snp-ovmf-hash"
        ),
        (
            ["--mode", "snp", "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--ovmf", amdSev, "--snp-ovmf-hash", "abcd"],
            "96 hex digits"
        ),
        (
            ["--mode", "snp", "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--ovmf", debianCode, "--kernel", debianCode],
            "no SNP_KERNEL_HASHES section"
        ),
        (["--mode", "snp", "--vcpu-type", "EPYC-v4", "--ovmf", debianCode], "missing --vcpus"),
        (["--mode", "snp", "--vcpus", "1", "--ovmf", debianCode], "missing --vcpu-type"),
        (
            ["--mode", "snp", "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--vmm-type", "xen", "--ovmf", debianCode],
            "unknown VMM type"
        ),
        (["--mode", "snp:svsm", "--ovmf", debianCode], "unknown mode"),
        (
            ["--mode", "snp", "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--ovmf", debianCode, "--append", "x"],
            "--kernel required"
        ),
        (
            ["--mode", "snp", "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--ovmf", "/nonexistent/OVMF.fd"],
            "/nonexistent/OVMF.fd"
        ),
    ]

    @Test(arguments: oneLineErrors)
    func errorsAreOneLine(args: [String], expected: String) throws {
        let r = try CLIRunner.run(["snp", "measure"] + args)
        #expect(r.status != 0)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.contains(expected), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
    }

    @Test func firmwareWithoutGUIDTable() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/blank.fd"
        try Data(repeating: 0xff, count: 16384).write(to: URL(fileURLWithPath: path))
        let r = try CLIRunner.run([
            "snp", "measure", "--mode", "snp", "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--ovmf", path,
        ])
        #expect(r.status != 0)
        #expect(r.stderr.contains("no OVMF GUID table footer"))
        #expect(r.stderr.contains(path))
        #expect(r.stderr.split(separator: "\n").count == 1)
    }

    /// OVMF.fd (VARS ‖ CODE) is what QEMU maps with -bios; it also carries TDVF metadata, which the TDX
    /// format measures beside this one.
    @Test(arguments: [debianFull])
    func measureDetectsSEVFirmware(path: String) throws {
        let reference = try Self.reference([
            "--mode", "snp", "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--guest-features", "0x1", "--ovmf", path,
        ])
        let r = try CLIRunner.run(["measure", path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("1 vCPU, EPYC-v4, QEMU, guest features 0x1"))
        #expect(r.stdout.contains("snp-launch-digest  \(reference.stdout.trimmingCharacters(in: .newlines))"))
        let json = try CLIRunner.run(["measure", "--json", path])
        #expect(json.stdout.contains("\"ovmf-snp\""))
    }

    @Test func measureReportsDamagedASEV() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/damaged.fd"
        var fw = try Fixtures.bytes("snp_ovmf_OvmfX64_suffix.bin")
        fw[4096 - 0x548] = UInt8(ascii: "X")  // the ASEV signature
        // Hide the TDX metadata entry (GUID e47a6535-…), so only the SEV format claims the file.
        let tdxGUID: [UInt8] = [
            0x35, 0x65, 0x7a, 0xe4, 0x4a, 0x98, 0x98, 0x47, 0x86, 0x5e, 0x46, 0x85, 0xa7, 0xbf, 0x8e, 0xc2,
        ]
        let at = try #require((0...(fw.count - 16)).first { Array(fw[$0..<$0 + 16]) == tdxGUID })
        fw[at] ^= 0xff
        try Data(fw).write(to: URL(fileURLWithPath: path))
        let r = try CLIRunner.run(["measure", path])
        #expect(r.status != 0)
        #expect(r.stderr.contains("ASEV"))
        #expect(r.stderr.split(separator: "\n").count == 1)
    }
}

@Suite struct SNPExpectedDigestCLITests {
    @Test func mismatchNamesTheSettingsThatMatch() throws {
        let args = ["--mode", "snp", "--vcpus", "4", "--vcpu-type", "EPYC-Rome", "--guest-features", "0x21"]
        let reference = try SNPCLITests.reference(args + ["--ovmf", SNPCLITests.debianFull])
        let expected = reference.stdout.trimmingCharacters(in: .newlines)
        let wrong = ["--mode", "snp", "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--ovmf", SNPCLITests.debianFull]
        let r = try CLIRunner.run(["snp", "measure"] + wrong + ["--expected", expected])
        #expect(r.status == 1)
        #expect(
            r.stderr.contains("--vcpus 4 --vcpu-type EPYC-Rome --vmm-type QEMU --guest-features 0x21"), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1)
        let base64 = Data(try #require(snpHexBytes(expected))).base64EncodedString()
        let ok = try CLIRunner.run(
            ["snp", "measure"] + args + ["--ovmf", SNPCLITests.debianFull, "--expected", base64])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout == reference.stdout)
    }

    @Test func mismatchWithOtherFirmwareSaysSo() throws {
        let args = ["--mode", "snp", "--vcpus", "2", "--vcpu-type", "EPYC-v4"]
        let reference = try SNPCLITests.reference(args + ["--ovmf", SNPCLITests.debianFull])
        let r = try CLIRunner.run(
            ["snp", "measure"] + args + [
                "--ovmf", SNPCLITests.debianCode, "--expected", reference.stdout.trimmingCharacters(in: .newlines),
            ])
        #expect(r.status == 1)
        #expect(r.stderr.contains("firmware file"))
    }
}

/// Hex text to bytes (for the base64 form of a digest).
private func snpHexBytes(_ text: String) -> [UInt8]? {
    var bytes: [UInt8] = []
    var index = text.startIndex
    while index < text.endIndex {
        let next = text.index(index, offsetBy: 2, limitedBy: text.endIndex) ?? text.endIndex
        guard let byte = UInt8(text[index..<next], radix: 16) else { return nil }
        bytes.append(byte)
        index = next
    }
    return bytes
}
