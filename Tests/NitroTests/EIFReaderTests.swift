import EnclaveCore
import Foundation
import TestSupport
import Testing

@testable import Nitro

/// Hostile and unusual EIFs: each one is a valid file with one thing broken.
@Suite struct EIFReaderTests {
    /// The V4 vector EIF as bytes.
    static func validEIF() throws -> [UInt8] {
        let dir = try TestDirectory()
        let out = dir.path + "/v4.eif"
        _ = try EIFBuilder.build(try EIFVector.all[1].request(), to: out)
        return Array(try Data(contentsOf: URL(fileURLWithPath: out)))
    }

    static func open(_ bytes: [UInt8]) throws -> EIFImage {
        let dir = try TestDirectory()
        let path = dir.path + "/t.eif"
        try AtomicOutput.write(bytes, to: path)
        return try EIFImage(file: FileInput(path: path))
    }

    static func setBE(_ bytes: inout [UInt8], _ offset: Int, _ value: UInt64, size: Int) {
        for i in 0..<size { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(size - 1 - i))) }
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var kind: FormatError.Kind
        var offset: UInt64?
        var mutate: @Sendable (inout [UInt8]) -> Void
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "truncated header", kind: .truncated, offset: 100) { $0 = Array($0.prefix(100)) },
        Case(name: "truncated in a section", kind: .outOfBounds, offset: 28 + 8 * 3) { $0 = Array($0.prefix(68_500)) },
        Case(name: "wrong magic", kind: .badMagic, offset: 0) { $0[0] = 0x7f },
        Case(name: "version 5", kind: .badVersion, offset: 4) { setBE(&$0, 4, 5, size: 2) },
        Case(name: "version 1", kind: .badVersion, offset: 4) { setBE(&$0, 4, 1, size: 2) },
        Case(name: "33 sections", kind: .badValue, offset: 26) { setBE(&$0, 26, 33, size: 2) },
        Case(name: "one section", kind: .badValue, offset: 26) { setBE(&$0, 26, 1, size: 2) },
        Case(name: "offset past the end", kind: .outOfBounds, offset: 28 + 8 * 2) {
            setBE(&$0, 28 + 16, 1 << 40, size: 8)
        },
        Case(name: "offset into the header", kind: .outOfBounds, offset: 28) { setBE(&$0, 28, 100, size: 8) },
        Case(name: "size overflows", kind: .outOfBounds, offset: 28 + 8 * 3) { bytes in
            setBE(&bytes, 284 + 8 * 3, UInt64.max - 4, size: 8)
        },
        Case(name: "table size differs from section header", kind: .badValue, offset: 66096 + 4) { bytes in
            setBE(&bytes, 284 + 8, 7, size: 8)
        },
        Case(name: "unknown section type", kind: .badValue, offset: 548) { setBE(&$0, 548, 9, size: 2) },
        Case(name: "unused slot not zero", kind: .badValue, offset: 28 + 8 * 31) {
            setBE(&$0, 28 + 8 * 31, 1, size: 8)
        },
        Case(name: "overlapping sections", kind: .overlap, offset: nil) { bytes in
            // Section 5 (extra.bin) becomes a second view of section 4's header and data.
            let off4 = bytes.be(UInt64.self, at: 28 + 32) ?? 0
            let size4 = bytes.be(UInt64.self, at: 284 + 32) ?? 0
            setBE(&bytes, 28 + 40, off4, size: 8)
            setBE(&bytes, 284 + 40, size4, size: 8)
        },
        Case(name: "no kernel", kind: .missing, offset: 26) { setBE(&$0, 548, 3, size: 2) },
        Case(name: "two cmdlines", kind: .missing, offset: 26) { bytes in
            let off = Int(bytes.be(UInt64.self, at: 28 + 40) ?? 0)
            setBE(&bytes, off, 2, size: 2)
        },
        Case(name: "no metadata in v4", kind: .missing, offset: 26) { bytes in
            let off = Int(bytes.be(UInt64.self, at: 28 + 16) ?? 0)
            setBE(&bytes, off, 3, size: 2)
        },
        Case(name: "signature in a v2 file", kind: .badValue, offset: nil) { bytes in
            setBE(&bytes, 4, 2, size: 2)
            let off = Int(bytes.be(UInt64.self, at: 28 + 16) ?? 0)
            setBE(&bytes, off, 4, size: 2)
        },
    ]

    @Test(arguments: cases)
    func malformedFileIsRejectedWithItsOffset(testCase: Case) throws {
        var bytes = try Self.validEIF()
        testCase.mutate(&bytes)
        let error = try #require(throws: FormatError.self) { try Self.open(bytes) }
        #expect(error.kind == testCase.kind)
        if let offset = testCase.offset { #expect(error.offset == offset) }
        #expect(error.file != nil)
        #expect(error.format == "EIF")
    }

    @Test func crcMismatchIsDetectedAndPCRsStillComputed() throws {
        var bytes = try Self.validEIF()
        bytes[600] ^= 0xff  // inside the kernel
        let v = try Self.open(bytes).measure(checkCRC: true)
        #expect(v.crcMatches == false)
        #expect(v.measurements.pcr0.hex != EIFVector.all[1].pcr0)
    }

    @Test func gapsBetweenSectionsAreReadThroughTheTable() throws {
        let valid = try Self.validEIF()
        var bytes = Array(valid.prefix(548)) + [UInt8](repeating: 0xee, count: 100) + valid.dropFirst(548)
        for i in 0..<6 {
            let off = bytes.be(UInt64.self, at: 28 + 8 * i) ?? 0
            Self.setBE(&bytes, 28 + 8 * i, off + 100, size: 8)
        }
        let image = try Self.open(bytes)
        #expect(!image.isContiguous)
        let m = try image.measure(checkCRC: true)
        #expect(m.measurements.pcr0.hex == EIFVector.all[1].pcr0)
        #expect(m.measurements.pcr1.hex == EIFVector.all[1].pcr1)
        #expect(m.crcMatches == false)  // the stored CRC covered the old layout
    }

    @Test func trailingBytesAreCountedNotMeasured() throws {
        let bytes = try Self.validEIF() + [1, 2, 3]
        let image = try Self.open(bytes)
        #expect(image.trailingBytes == 3)
        #expect(try image.measure().measurements.pcr2.hex == EIFVector.all[1].pcr2)
    }
}

/// The PCR rules, checked against a direct computation on many ramdisk layouts.
@Suite struct PCRRuleTests {
    static func reference(_ parts: [[UInt8]]) -> (String, String, String) {
        func pcr(_ b: [UInt8]) -> String { Digest.sha384([UInt8](repeating: 0, count: 48) + Digest.sha384(b)).hex }
        return (pcr(parts.flatMap { $0 }), pcr(parts.prefix(3).flatMap { $0 }), pcr(parts.dropFirst(3).flatMap { $0 }))
    }

    @Test(arguments: [1, 2, 3, 5], [0, 1, 4095, 70_001])
    func pcrsFollowTheConcatenationRule(ramdiskCount: Int, ramdiskSize: Int) throws {
        let dir = try TestDirectory()
        let kernel = (0..<12_345).map { UInt8(truncatingIfNeeded: $0 * 7) }
        try AtomicOutput.write(kernel, to: dir.path + "/k")
        var ramdisks: [[UInt8]] = []
        for i in 0..<ramdiskCount {
            let r = (0..<(ramdiskSize + i)).map { UInt8(truncatingIfNeeded: $0 &* (i + 3)) }
            ramdisks.append(r)
            try AtomicOutput.write(r, to: dir.path + "/r\(i)")
        }
        let request = EIFBuildRequest(
            kernelPath: dir.path + "/k", cmdline: "console=ttyS0 quiet",
            ramdiskPaths: (0..<ramdiskCount).map { dir.path + "/r\($0)" },
            metadata: EIFMetadata(imageName: "t", imageVersion: "t", buildTime: "x"))
        let m = try EIFBuilder.build(request, to: dir.path + "/out.eif")
        let (p0, p1, p2) = Self.reference([kernel, Array("console=ttyS0 quiet".utf8)] + ramdisks)
        #expect(m.pcr0.hex == p0)
        #expect(m.pcr1.hex == p1)
        #expect(m.pcr2.hex == p2)
        let read = try EIFImage(file: FileInput(path: dir.path + "/out.eif")).measure(checkCRC: true)
        #expect(read.measurements == m)
        #expect(read.crcMatches == true)
    }

    /// Section boundaries are not measured: moving bytes from the cmdline into the kernel keeps PCR0/PCR1.
    @Test func kernelCmdlineBoundaryIsNotMeasured() throws {
        let dir = try TestDirectory()
        try AtomicOutput.write(try Fixtures.bytes("kernel.bin") + Array("console=".utf8), to: dir.path + "/k")
        var request = try EIFVector.all[0].request()
        request.kernelPath = dir.path + "/k"
        request.cmdline = "ttyS0"
        let m = try EIFBuilder.build(request, to: dir.path + "/out.eif")
        #expect(m.pcr0.hex == EIFVector.all[0].pcr0)
        #expect(m.pcr1.hex == EIFVector.all[0].pcr1)
    }

    @Test func singleRamdiskPCR2IsTheHashOfNothing() {
        #expect(PCR.of([]).hex == EIFVector.all[0].pcr2)
    }

    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00+00:00"), (1_700_000_000, "2023-11-14T22:13:20+00:00"),
        (951_782_400, "2000-02-29T00:00:00+00:00"), (4_102_444_799, "2099-12-31T23:59:59+00:00"),
    ])
    func buildTimeFromSourceDateEpoch(seconds: Int64, text: String) {
        #expect(EIFMetadata.rfc3339(epochSeconds: seconds) == text)
    }

    @Test func kernelConfigGivesOSAndVersionAsNitroCLI() {
        let config =
            "#\n# Automatically generated file; DO NOT EDIT.\n# Linux/x86_64 4.14.256-209.484.amzn2.x86_64 Kernel Configuration\n"
        let info = EIFMetadata.kernelInfo(fromConfig: config)
        #expect(info?.os == "Linux")
        #expect(info?.kernel == "4.14.256")
        #expect(EIFMetadata.kernelInfo(fromConfig: "short") == nil)
    }

    @Test func builderRefusesBadInputsAndLeavesNoFile() throws {
        let dir = try TestDirectory()
        let out = dir.path + "/out.eif"
        var request = try EIFVector.all[0].request()
        request.kernelPath = dir.path + "/missing-kernel"
        let missing = #expect(throws: NitroError.self) { try EIFBuilder.build(request, to: out) }
        guard case .unreadableInput(role: "kernel", _) = missing else {
            Issue.record("expected an unreadable kernel, got \(String(describing: missing))")
            return
        }
        request = try EIFVector.all[0].request()
        request.ramdiskPaths = []
        #expect(throws: NitroError.noRamdisk) { try EIFBuilder.build(request, to: out) }
        request = try EIFVector.all[0].request()
        request.cmdline = "a\u{0}b"
        #expect(throws: NitroError.nulInCommandLine) { try EIFBuilder.build(request, to: out) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }
}

@Suite struct CBORTests {
    @Test func encodesShortestHeads() {
        #expect(CBOR.unsigned(23).encoded() == [0x17])
        #expect(CBOR.unsigned(24).encoded() == [0x18, 24])
        #expect(CBOR.unsigned(0x100).encoded() == [0x19, 1, 0])
        #expect(CBOR.negative(34).encoded() == [0x38, 0x22])
        #expect(CBOR.map([(.unsigned(1), .negative(34))]).encoded() == [0xa1, 0x01, 0x38, 0x22])
    }

    @Test func roundTrips() throws {
        let v = CBOR.array([.bytes([1, 2]), .text("é"), .map([(.text("k"), .null)]), .tagged(18, .boolean(true))])
        #expect(try CBORDecoder().decode(v.encoded()) == v)
    }

    @Test(arguments: [
        ([0x5a, 0xff, 0xff, 0xff, 0xff] as [UInt8], FormatError.Kind.truncated),  // 4 GiB byte string
        ([0x9b, 0, 0, 0, 1, 0, 0, 0, 0], .truncated),  // huge array count (2^32, shortest head)
        ([0x5f], .unsupported),  // indefinite length
        ([0x01, 0x02], .badValue),  // trailing byte
        ([0x63, 0xff, 0xfe, 0xfd], .badValue),  // invalid UTF-8
        ([0xf9, 0, 0], .unsupported),  // half float
        ([], .truncated),
    ])
    func hostileCBORIsRejected(bytes: [UInt8], kind: FormatError.Kind) {
        let e = try? #require(throws: FormatError.self) { try CBORDecoder().decode(bytes) }
        #expect(e?.kind == kind)
    }

    /// Strict decoding (COSE, Nitro attestation documents): a head longer than needed, or a map key given
    /// twice, is rejected with the offset of the offending head or key.
    static let nonCanonical: [([UInt8], UInt64)] = [
        ([0x18, 0x17], 0),  // 23 in two bytes
        ([0x19, 0x00, 0xff], 0),  // 255 in three bytes
        ([0x1a, 0x00, 0x00, 0xff, 0xff], 0),  // 65535 in five bytes
        ([0x1b, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff], 0),  // 2^32-1 in nine bytes
        ([0x82, 0x01, 0x38, 0x05], 2),  // -6 in two bytes, inside an array
        ([0x58, 0x01, 0xaa], 0),  // byte string length 1 in two bytes
        ([0x81, 0x98, 0x01, 0x00], 1),  // array count 1 in two bytes
        ([0xf8, 0x10], 0),  // simple value 16 in two bytes
        ([0xa2, 0x61, 0x6b, 0x01, 0x61, 0x6b, 0x02], 4),  // {"k": 1, "k": 2}
        ([0xa2, 0x01, 0x00, 0x01, 0x00], 3),  // {1: 0, 1: 0}
    ]

    @Test(arguments: nonCanonical)
    func nonCanonicalCBORIsRejected(bytes: [UInt8], offset: UInt64) {
        let e = try? #require(throws: FormatError.self) { try CBORDecoder().decode(bytes) }
        #expect(e?.kind == .badValue)
        #expect(e?.offset == offset)
    }

    @Test func nestingDepthIsBounded() {
        let deep = [UInt8](repeating: 0x81, count: 1000) + [0x00]
        let e = try? #require(throws: FormatError.self) { try CBORDecoder().decode(deep) }
        #expect(e?.kind == .tooLarge)
    }
}
