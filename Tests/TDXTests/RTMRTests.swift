import EnclaveCore
import Foundation
import OVMF
import TestSupport
import Testing

@testable import TDX

/// TD HOB bytes, RTMR event digests and replay (TDX catalog, article "RTMR Replay").
@Suite struct RTMRTests {
    static let debianOVMF = "/usr/share/ovmf/OVMF.fd"

    static func debianMetadata() throws -> TDVFMetadata {
        try TDVFMetadata(firmware: Array(try Data(contentsOf: URL(fileURLWithPath: debianOVMF))))
    }

    @Test func tdHOBMatchesTheVectorFor2GiB() throws {
        let expected = try Fixtures.text("td_hob_debian_ovmf_2g.hex").split(separator: "\n").joined()
        let hob = try TDHOB(metadata: try Self.debianMetadata(), memorySize: 2 << 30)
        #expect(hob.bytes.count == 440)
        #expect(hob.bytes.hex == expected)
    }

    @Test func tdHOBAbove2_75GiBSplitsAt2GiBAnd4GiB() throws {
        let hob = try TDHOB(metadata: try Self.debianMetadata(), memorySize: 8 << 30)
        let tail = hob.ranges.suffix(2)
        #expect(tail.map(\.start) == [0x82_0000, 1 << 32])
        #expect(tail.last?.length == 6 << 30)
        #expect(tail.first.map { $0.start + $0.length } == 0x8000_0000)
        #expect(hob.ranges.allSatisfy { $0.accepted == false || $0.start < 0x100_0000 })
    }

    @Test func tdHOBRejectsMemoryBelowTheSections() throws {
        let tooSmall = #expect(throws: FormatError.self) {
            try TDHOB(metadata: try Self.debianMetadata(), memorySize: 4 << 20)
        }
        #expect(tooSmall?.kind == .outOfBounds)
        #expect(tooSmall?.message.contains("is not inside unaccepted guest RAM of 4194304 bytes") == true)
        let notPages = #expect(throws: FormatError.self) {
            try TDHOB(metadata: try Self.debianMetadata(), memorySize: 12345)
        }
        #expect(notPages?.kind == .badValue)
        #expect(notPages?.message.contains("12345 bytes is not a positive multiple of 4 KiB") == true)
    }

    @Test func efiVariableEncoding() {
        // UEFI_VARIABLE_DATA for an unset SecureBoot: GUID, 10 characters, 0 bytes of data, UTF-16 name.
        let bytes = EFIVariableData.encode(vendor: EFIVariableData.efiGlobalVariable, name: "SecureBoot", data: [])
        let name = Array("SecureBoot".data(using: .utf16LittleEndian) ?? Data())
        #expect(
            bytes == EFIVariableData.efiGlobalVariable.bytes + [10, 0, 0, 0, 0, 0, 0, 0]
                + [UInt8](repeating: 0, count: 8) + name)
    }

    @Test(arguments: [
        ("console=ttyS0", true, CmdlineInitrdPlacement.suffix, "console=ttyS0 initrd=initrd"),
        ("console=ttyS0", true, .prefix, "initrd=initrd console=ttyS0"),
        ("console=ttyS0", false, .prefix, "console=ttyS0"),
        ("", true, .suffix, "initrd=initrd"),
    ])
    func loadOptions(cmdline: String, initrd: Bool, placement: CmdlineInitrdPlacement, expected: String) {
        #expect(TDXMeasurer.loadOptions(cmdline: cmdline, hasInitrd: initrd, placement: placement) == expected)
    }

    static func chain(_ digests: [[UInt8]]) -> [UInt8] {
        digests.reduce([UInt8](repeating: 0, count: 48)) { Digest.sha384($0 + $1) }
    }

    @Test func rtmr1And2FromAKernel() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tdx-rtmr-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let initrd = dir.appendingPathComponent("initrd").path
        let initrdBytes = (0..<5000).map { UInt8(truncatingIfNeeded: $0 * 31) }
        try Data(initrdBytes).write(to: URL(fileURLWithPath: initrd))

        var inputs = TDXMeasureInputs(firmware: Self.debianOVMF)
        inputs.kernel = Fixtures.path("pe64_kernel.efi")
        // No initrd: QEMU's patch gives the signify-checked digest of AuthenticodeTests.patched[0].
        var m = try TDXMeasurer.measure(inputs)
        let kernelDigest = try #require(Hex.decode(AuthenticodeTests.patched[0].2))
        let actions = [
            Digest.hash(.sha384, utf8: "Calling EFI Application from Boot Option"), Digest.sha384([0, 0, 0, 0]),
            Digest.hash(.sha384, utf8: "Exit Boot Services Invocation"),
            Digest.hash(.sha384, utf8: "Exit Boot Services Returned with Success"),
        ]
        #expect(m.rtmrs[1] == Self.chain([kernelDigest] + actions))
        // The synthetic kernel has no CC measurement protocol GUID: RTMR2 stays 0 and a note says why.
        #expect(m.rtmrs[2] == [UInt8](repeating: 0, count: 48))
        #expect(m.notes.contains { $0.contains("Debian 12's 6.1") })
        #expect(m.rtmrs[0] == nil && m.rtmrs[3] == [UInt8](repeating: 0, count: 48))

        // QEMU ≥ 10.2 measures the file as is.
        inputs.qemuVersion = try QEMUVersion("10.2")
        m = try TDXMeasurer.measure(inputs)
        let unpatched = try #require(Hex.decode(AuthenticodeTests.signify[0].2))
        #expect(m.events.first { $0.rtmr == 1 }?.digest == unpatched)

        // A stub that measures: cmdline as UTF-16LE with NUL and "initrd=initrd" appended, then the initrd.
        inputs.stubMeasures = .yes
        inputs.initrd = initrd
        inputs.cmdline = "console=ttyS0 root=/dev/vda"
        m = try TDXMeasurer.measure(inputs)
        let options = Array(("console=ttyS0 root=/dev/vda initrd=initrd").data(using: .utf16LittleEndian) ?? Data())
        #expect(m.rtmrs[2] == Self.chain([Digest.sha384(options + [0, 0]), Digest.sha384(initrdBytes)]))
        #expect(m.events.filter { $0.rtmr == 2 }.count == 2)
    }

    @Test func rtmr0EventsAndMemorySize() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tdx-rtmr0-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var paths: [String] = []
        for (i, name) in ["loader", "rsdp", "tables"].enumerated() {
            let path = dir.appendingPathComponent(name).path
            try Data((0..<(100 * (i + 1))).map { UInt8(truncatingIfNeeded: $0 + i) }).write(
                to: URL(fileURLWithPath: path))
            paths.append(path)
        }
        var inputs = TDXMeasureInputs(firmware: Self.debianOVMF)
        inputs.acpiLoader = paths[0]
        inputs.acpiRSDP = paths[1]
        inputs.acpiTables = paths[2]
        let two = try TDXMeasurer.measure(inputs)
        let rtmr0 = two.events.filter { $0.rtmr == 0 }
        #expect(rtmr0.count == 13)
        let hobHex = try Fixtures.text("td_hob_debian_ovmf_2g.hex").split(separator: "\n").joined()
        #expect(rtmr0[0].digest == Digest.sha384(Hex.decode(hobHex) ?? []))
        // Debian's CFV digest (f8730217…8298e8), as the TDX catalog's "RTMR Replay" gives it.
        #expect(rtmr0[1].digest.hex.hasPrefix("f8730217") && rtmr0[1].digest.hex.hasSuffix("8298e8"))
        #expect(rtmr0[7].digest == Digest.sha384([0, 0, 0, 0]))
        #expect(rtmr0[8].digest == Digest.sha384(try Data(contentsOf: URL(fileURLWithPath: paths[0])).map { $0 }))
        #expect(rtmr0[11].digest == Digest.sha384([0, 0]))
        #expect(rtmr0[12].digest.hex == TDXMeasurer.dstackBoot0000Digest)
        #expect(two.rtmrs[0] == Self.chain(rtmr0.map(\.digest)))

        // Only the TD HOB event changes with the memory size.
        inputs.memorySize = 4 << 30
        let four = try TDXMeasurer.measure(inputs)
        let differing = zip(two.events, four.events).enumerated().filter { $0.element.0.digest != $0.element.1.digest }
        #expect(differing.map(\.offset) == [0])
        #expect(two.mrtd == four.mrtd)
    }

    @Test func secureBootVariableData() throws {
        var inputs = TDXMeasureInputs(firmware: Self.debianOVMF)
        inputs.secureBootData["SecureBoot"] = [1]
        let events = try TDXMeasurer.measure(inputs).events
        let name = Array("SecureBoot".data(using: .utf16LittleEndian) ?? Data())
        let expected =
            EFIVariableData.efiGlobalVariable.bytes + [10, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0] + name + [1]
        #expect(events[2].digest == Digest.sha384(expected))
        #expect(events[2].name.hasPrefix("SecureBoot"))
    }

    @Test func partialACPIInputsLeaveRTMR0Uncomputed() throws {
        var inputs = TDXMeasureInputs(firmware: Self.debianOVMF)
        inputs.acpiLoader = Self.debianOVMF
        let m = try TDXMeasurer.measure(inputs)
        #expect(m.rtmrs[0] == nil)
        #expect(m.notes.contains { $0.contains("--acpi-rsdp") })
    }

    @Test func stubScannerFindsPatternsAcrossChunks() {
        var scanner = ByteScanner(pattern: TDXMeasurer.ccMeasurementGUIDPrefix)
        let data: [UInt8] = [1, 2, 3] + TDXMeasurer.ccMeasurementGUIDPrefix + [9]
        for split in 1..<data.count {
            scanner = ByteScanner(pattern: TDXMeasurer.ccMeasurementGUIDPrefix)
            Array(data[..<split]).withUnsafeBytes { scanner.feed($0) }
            Array(data[split...]).withUnsafeBytes { scanner.feed($0) }
            #expect(scanner.found, "split at \(split)")
        }
        scanner = ByteScanner(pattern: TDXMeasurer.ccMeasurementGUIDPrefix)
        Array(data.dropLast(3)).withUnsafeBytes { scanner.feed($0) }
        #expect(!scanner.found)
    }
}
