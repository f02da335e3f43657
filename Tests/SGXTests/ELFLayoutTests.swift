import EnclaveCore
import Foundation
import SGX
import TestSupport
import Testing

/// The Linux selftest ELF rule against MRENCLAVEs and a SIGSTRUCT produced by the kernel's own
/// `sigstruct.c` run locally (see Fixtures/README.md).
@Suite struct ELFLayoutTests {
    static let cases: [(UInt64, ELFTailRule, String)] = [
        (4096, .file, "2a023b8e88ba930431eedcd2c1ac675fea8ff0284bd5e1b87d7832ec4e0e62aa"),
        (0x10000, .file, "b0c0e906b9748fe0197ce5d32f7a94ca2cc8425ed1aaffdd0ff449b4d6f2a1d1"),
        // The reference run on a copy of the ELF whose bytes past p_filesz (0x6080..<0x7000) were zeroed.
        (4096, .zero, "7780123bc6549ca29575d03be11a6510bd72dd6ea8794f3ed585595b9081687d"),
    ]

    @Test(arguments: cases) func selftestRuleMatchesTheKernelSelftest(heap: UInt64, tail: ELFTailRule, expected: String)
        throws
    {
        let m = try SGXMeasurer.measure(.elf(path: Fixtures.path("selftest_encl.elf"), heapSize: heap, tail: tail))
        #expect(m.mrenclave.hex == expected)
        #expect(m.ssaFrameSize == 1)
    }

    @Test func layoutAndSGXSOutput() throws {
        let dir = try TestDirectory()
        let out = dir.path + "/encl.sgxs"
        let m = try SGXMeasurer.measure(
            .elf(path: Fixtures.path("selftest_encl.elf"), heapSize: 4096, tail: .file), sgxsOut: out)
        #expect(m.size == 0x8000)
        #expect(
            m.layout.map { "\($0.offset):\($0.pageCount):\($0.flags):\($0.measurement)" } == [
                "0:2:TCS:---:measured", "8192:1:REG:R-X:measured", "12288:3:REG:RW-:measured",
                "24576:1:REG:RW-:unmeasured",
            ])
        let summary = try SGXSReader.read(path: out, requireCanonical: true)
        #expect(summary.mrenclave == m.mrenclave)
        #expect(Digest.sha256(Array(try Data(contentsOf: URL(fileURLWithPath: out)))) == m.mrenclave)
    }

    @Test func selftestSigstructIsReproducedByteForByte() throws {
        // sigstruct.c: DATE 0, ATTRIBUTES 0x4/XFRM 0x3, all masks 0, MISC 0, ISV ids 0.
        let m = try SGXMeasurer.measure(.elf(path: Fixtures.path("selftest_encl.elf"), heapSize: 4096, tail: .file))
        var sig = Sigstruct(enclaveHash: m.mrenclave)
        #expect(sig.attributesFlags == 4 && sig.attributesXfrm == 3 && sig.dateRaw == 0)
        try sig.sign(with: SGXRSAKey(pem: Fixtures.bytes("key3072_e3.pem")))
        #expect(sig.serialized == (try Fixtures.bytes("selftest_heap4096.sig")))
    }

    // MARK: - bad ELFs (program headers start at 64, 56 bytes each: p_flags +4, p_offset +8, p_vaddr +16)

    static func patched(_ edits: [(Int, [UInt8])]) throws -> String {
        var bytes = try Fixtures.bytes("selftest_encl.elf")
        for (at, value) in edits { bytes.replaceSubrange(at..<at + value.count, with: value) }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).elf").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func le64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }

    static let badELFs: [(String, [(Int, [UInt8])], FormatError.Kind, UInt64?)] = [
        ("first PT_LOAD is not RW", [(64 + 4, [5, 0, 0, 0])], .badValue, 64),
        ("segment flags beyond RWX", [(64 + 56 + 4, [0x15, 0, 0, 0])], .badValue, 120),
        // text moved onto the TCS pages (file offset 0x2000, vaddr 0x2000 keeps alignment).
        ("overlapping segments", [(64 + 56 + 8, le64(0x2000)), (64 + 56 + 16, le64(0x2000))], .overlap, 120),
        ("misaligned segment", [(64 + 56 + 8, le64(0x3010))], .badValue, 120),
        ("p_filesz past the end of the file", [(64 + 112 + 32, le64(0x10_0000))], .outOfBounds, 176),
        ("not ELF", [(0, [0x7f, 0x45, 0x4c, 0x47])], .badMagic, 0),
        ("32-bit ELF", [(4, [1])], .unsupported, 4),
        ("program headers past the end", [(32, le64(0x10_0000))], .outOfBounds, 0x10_0000),
    ]

    @Test(arguments: badELFs) func badELFThrowsWithOffset(
        name: String, edits: [(Int, [UInt8])], kind: FormatError.Kind, offset: UInt64?
    ) throws {
        let path = try Self.patched(edits)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = #expect(throws: FormatError.self, "\(name)") {
            try SGXMeasurer.measure(.elf(path: path, heapSize: 4096, tail: .file))
        }
        #expect(error?.kind == kind, "\(name): \(String(describing: error))")
        #expect(error?.offset == offset, "\(name): \(String(describing: error))")
        #expect(error?.file == path)
    }

    @Test func failedMeasurementLeavesNoSGXSFile() throws {
        let dir = try TestDirectory()
        let path = try Self.patched([(64 + 56 + 8, Self.le64(0x2000)), (64 + 56 + 16, Self.le64(0x2000))])
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = #expect(throws: FormatError.self) {
            try SGXMeasurer.measure(.elf(path: path, heapSize: 4096, tail: .file), sgxsOut: dir.path + "/x.sgxs")
        }
        #expect(error?.kind == .overlap)
        #expect(error?.offset == 120)
        #expect(error?.message.contains("overlaps the tcs segment") == true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    @Test func elfWithoutLoadSegmentsOrWithOddHeapIsRefused() throws {
        // e_phnum = 0
        let path = try Self.patched([(56, [0, 0])])
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = #expect(throws: FormatError.self) {
            try SGXMeasurer.measure(.elf(path: path, heapSize: 0, tail: .file))
        }
        #expect(error?.kind == .missing)
        #expect(throws: SGXError.heapSizeNotPageMultiple(100)) {
            try SGXMeasurer.measure(.elf(path: Fixtures.path("selftest_encl.elf"), heapSize: 100, tail: .file))
        }
    }
}
