import EnclaveCore
import Foundation
import TestSupport
import Testing

/// `enclavekit tdx measure|replay` and `enclavekit measure` on TDVF firmware, run as a user would.
@Suite struct TDXCLITests {
    static let ovmf = "/usr/share/ovmf/OVMF.fd"
    /// Debian 12 OVMF.fd MRTD (per-page / two-pass), checked in TDXTests.MRTDTests.
    static let debianPerPage =
        "4c7206f0f483c524f12c366c711e9049030a8d47c471ee5aa9c4999a08de4057fb887fed0744d5631a212967fb231c47"
    static let debianTwoPass =
        "acccbcc870a381adab0d3919d90a7f268ac3b0364771f202ed4bb4e892d045b33db3b32e6924cba830a724eed443f7e1"

    static func value(_ name: String, in stdout: String) -> String? {
        for line in stdout.split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            if parts.count >= 2, parts[0] == name { return String(parts[1]) }
        }
        return nil
    }

    @Test func measureDetectsTDVFFirmware() throws {
        let r = try CLIRunner.run(["measure", Self.ovmf])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("OVMF/TDVF firmware"))
        #expect(Self.value("mrtd", in: r.stdout) == Self.debianPerPage)
        #expect(Self.value("mrtd_two_pass", in: r.stdout) == Self.debianTwoPass)
        let json = try CLIRunner.run(["measure", Self.ovmf, "--json"])
        #expect(json.status == 0)
        #expect(json.stdout.contains("\"format\": \"tdvf\""))
    }

    @Test(arguments: [
        ([String](), debianPerPage), (["--qemu-version", "8.2"], debianTwoPass),
        (["--page-add-order", "two-pass"], debianTwoPass),
        (["--qemu-version", "8.2", "--page-add-order", "per-page"], debianPerPage),
    ])
    func mrtdFollowsTheQEMUVersionOrOrder(extra: [String], expected: String) throws {
        let r = try CLIRunner.run(["tdx", "measure", "--firmware", Self.ovmf] + extra)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(Self.value("mrtd", in: r.stdout) == expected)
        #expect(Self.value("rtmr0", in: r.stdout) == "not")  // "not computed": no ACPI blobs given
        #expect(r.stderr.contains("note: RTMR0 not computed"))
    }

    @Test func syntheticVectorThroughTheCLI() throws {
        let fw = Fixtures.path("tdx_synthetic_tdvf.bin")
        let r = try CLIRunner.run(["tdx", "measure", "--firmware", fw, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(
            r.stdout.contains(
                "\"mrtd\": \"9e33f6b2815fba2aa24ec71cf5fc2f8974365ed90e3d0128706ec79c4323295f8f8860424454005f935e6fee27017604\""
            ))
        let aug = try CLIRunner.run(["tdx", "measure", "--firmware", fw, "--page-aug-added", "--qemu-version", "8.1"])
        #expect(
            Self.value("mrtd", in: aug.stdout)
                == "27717273a3efdf6bc799becc96bdbee4d0f95c3a252ea33b2fa33653a5288ac6328d9c109bbd76f026f6b4819aeb682e")
    }

    static func eventLines(_ stdout: String) -> [String] {
        stdout.split(separator: "\n").filter { $0.hasPrefix("  rtmr") }.map(String.init)
    }

    @Test func eventsShowWhichEventAMemoryChangeMoves() throws {
        let dir = try TestDirectory()
        var acpi: [String] = []
        for name in ["loader", "rsdp", "tables"] {
            let path = dir.path + "/" + name
            try Data(name.utf8).write(to: URL(fileURLWithPath: path))
            acpi.append(path)
        }
        let base = [
            "tdx", "measure", "--firmware", Self.ovmf, "--kernel", Fixtures.path("tdx_pe64_kernel.efi"),
            "--initrd", acpi[2], "--acpi-loader", acpi[0], "--acpi-rsdp", acpi[1], "--acpi-tables", acpi[2],
            "--events",
        ]
        let two = try CLIRunner.run(base + ["--memory", "2G"])
        let one = try CLIRunner.run(base + ["--memory", "1024"])
        #expect(two.status == 0 && one.status == 0, "\(two.stderr) \(one.stderr)")
        let a = Self.eventLines(two.stdout)
        let b = Self.eventLines(one.stdout)
        #expect(a.count == 18 && b.count == 18)
        // 1 GiB changes the TD HOB (RTMR0) and, through QEMU's initrd placement, the kernel digest (RTMR1).
        let differing = zip(a, b).filter { $0 != $1 }.map { String($0.0.prefix(8)) }
        #expect(differing == ["  rtmr0[", "  rtmr1["])
        #expect(zip(a, b).first { $0 != $1 }?.0.contains("TD HOB") == true)
        // QEMU >= 10.2 does not patch the header: memory then only moves the TD HOB.
        let two102 = try CLIRunner.run(base + ["--memory", "2G", "--qemu-version", "10.2"])
        let one102 = try CLIRunner.run(base + ["--memory", "1G", "--qemu-version", "10.2"])
        let moved = zip(Self.eventLines(two102.stdout), Self.eventLines(one102.stdout)).filter { $0 != $1 }
        #expect(moved.count == 1)
    }

    @Test func replayMatchesMeasure() throws {
        let dir = try TestDirectory()
        let measured = try CLIRunner.run([
            "tdx", "measure", "--firmware", Self.ovmf, "--kernel", Fixtures.path("tdx_pe64_kernel.efi"), "--events",
        ])
        #expect(measured.status == 0)
        // Write the measured RTMR1 events as a CCEL-style TCG2 log (SHA-384 only), padded with 0xff
        // as a real CCEL area is, then replay it.
        let rtmr1Lines = Self.eventLines(measured.stdout).filter { $0.hasPrefix("  rtmr1") }
        let bytes = try Self.log(from: rtmr1Lines) + [UInt8](repeating: 0xff, count: 100)
        let log = dir.path + "/ccel.bin"
        try Data(bytes).write(to: URL(fileURLWithPath: log))
        let r = try CLIRunner.run(["tdx", "replay", log])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(Self.value("rtmr1", in: r.stdout) == Self.value("rtmr1", in: measured.stdout))
        let replayedDigests = Self.eventLines(r.stdout).map { $0.split(separator: " ")[1] }
        #expect(replayedDigests == rtmr1Lines.map { $0.split(separator: " ")[1] })
        let json = try CLIRunner.run(["tdx", "replay", log, "--json"])
        #expect(json.stdout.contains("\"rtmr1\": \"\(Self.value("rtmr1", in: measured.stdout) ?? "")\""))
    }

    /// Bad inputs: one error line naming the problem, non-zero exit.
    @Test(arguments: [
        (["tdx", "measure", "--firmware", "/usr/share/OVMF/OVMF_CODE.fd"], "runs past the end"),
        (["tdx", "measure", "--firmware", "KERNEL"], "no OVMF GUID table footer"),
        (["tdx", "measure", "--firmware", ovmf, "--kernel", ovmf], "PE/COFF"),
        (["tdx", "measure", "--firmware", ovmf, "--kernel", "SMALL"], "too small for QEMU's setup-header patch"),
        (["tdx", "measure", "--firmware", ovmf, "--memory", "lots"], "is not a size"),
        (["tdx", "measure", "--firmware", ovmf, "--qemu-version", "7.2"], "no TDX support"),
        (["tdx", "measure", "--firmware", ovmf, "--acpi-loader", ovmf], "all three"),
        (["tdx", "measure", "--firmware", ovmf, "--memory", "4M"], "give the guest more memory"),
        (["tdx", "replay", "KERNEL"], "TDX event log"),
        (["tdx", "measure", "--firmware", ovmf, "--efi-variable", "Foo=KERNEL"], "is not NAME=FILE"),
        (["tdx", "measure", "--firmware", ovmf, "--kernel", "KERNEL", "--cmdline", "vga=fast"], "invalid vga= value"),
    ])
    func badInputsGiveOneLine(args: [String], message: String) throws {
        let dir = try TestDirectory()
        let small = dir.path + "/small"
        try Data([UInt8](repeating: 0x4d, count: 100)).write(to: URL(fileURLWithPath: small))
        let resolved = args.map {
            $0 == "KERNEL" ? Fixtures.path("tdx_pe64_kernel.efi") : $0 == "SMALL" ? small : $0
        }
        let r = try CLIRunner.run(resolved)
        #expect(r.status == 1)
        #expect(r.stderr.contains(message), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(r.stdout.isEmpty)
    }

    @Test func helpHasExamples() throws {
        for command in [["tdx", "measure", "--help"], ["tdx", "replay", "--help"], ["tdx", "--help"]] {
            let r = try CLIRunner.run(command)
            #expect(r.status == 0)
            #expect(r.stdout.contains("Examples:"))
        }
    }
}

extension TDXCLITests {
    /// A TCG2 log (SHA-384 only) of `rtmrN[i] DIGEST ...` lines, as a TD would log those events.
    static func log(from lines: [String]) throws -> [UInt8] {
        var w = ByteWriter()
        w.appendU32LE(0)
        w.appendU32LE(3)
        w.appendZeros(20)
        var spec = ByteWriter()
        spec.append(Array("Spec ID Event03".utf8) + [0, 0, 0, 0, 0, 0, 2, 0, 2])
        spec.appendU32LE(1)
        spec.appendU16LE(0x000c)
        spec.appendU16LE(48)
        spec.appendU8(0)
        w.appendU32LE(UInt32(spec.count))
        w.append(spec.bytes)
        for line in lines {
            let fields = line.split(separator: " ")
            let register = try #require(fields[0].dropFirst(4).first.flatMap { Int(String($0)) })
            w.appendU32LE(UInt32(register + 1))
            w.appendU32LE(0x8000_0007)
            w.appendU32LE(1)
            w.appendU16LE(0x000c)
            w.append(try #require(Hex.decode(String(fields[1]))))
            w.appendU32LE(0)
        }
        return w.bytes
    }

    @Test func replayComparesWithExpectedEvents() throws {
        let dir = try TestDirectory()
        let measured = try CLIRunner.run([
            "tdx", "measure", "--firmware", Self.ovmf, "--kernel", Fixtures.path("tdx_pe64_kernel.efi"), "--events",
        ])
        let expected = dir.path + "/expected.txt"
        try Data(measured.stdout.utf8).write(to: URL(fileURLWithPath: expected))
        var lines = Self.eventLines(measured.stdout)
        let good = dir.path + "/good.bin"
        try Data(try Self.log(from: lines)).write(to: URL(fileURLWithPath: good))
        let same = try CLIRunner.run(["tdx", "replay", good, "--expected", expected])
        #expect(same.status == 0, "\(same.stderr)")
        #expect(same.stdout.contains("comparison: 15 of 15 events match"))

        // The TD logged another kernel: rtmr1[1] differs, and the command fails with one error line.
        let index = try #require(lines.firstIndex { $0.hasPrefix("  rtmr1[1]") })
        let fields = lines[index].split(separator: " ", omittingEmptySubsequences: true)
        lines[index] =
            "  rtmr1[1] " + String(repeating: "ab", count: 48) + " " + fields.dropFirst(2).joined(separator: " ")
        let bad = dir.path + "/bad.bin"
        try Data(try Self.log(from: Array(lines.dropLast()))).write(to: URL(fileURLWithPath: bad))
        let r = try CLIRunner.run(["tdx", "replay", bad, "--expected", expected])
        #expect(r.status == 1)
        #expect(r.stdout.contains("rtmr1[1] differs: expected \(fields[1])"))
        #expect(r.stdout.contains("missing"))
        #expect(r.stderr.split(separator: "\n").count == 1)
        #expect(r.stderr.contains("events differ"))
    }
}
