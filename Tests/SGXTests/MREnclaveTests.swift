import EnclaveCore
import Foundation
import SGX
import TestSupport
import Testing

/// MRENCLAVE engine and SGXS against the shared vectors V1/V2 (values produced by Gramine's `sgx_sign.py`,
/// the Linux selftest code and a second implementation; see Fixtures/README.md).
@Suite struct MREnclaveTests {
    static let vectors: [(String, String)] = [
        ("v1", "35ee1704ddb55f69b2b8420204b0024e0e08b3245c9ebd375b59b2cd6bca054b"),
        ("v2", "3ade326cde767dee16aabc53a0fb800646ef246213b0fdcbf2e09ea9b7dd5fd1"),
    ]

    @Test(arguments: vectors) func pageListGivesMRENCLAVEAndSGXSBytes(name: String, expected: String) throws {
        let list = try PageList(fixture: "\(name).json")
        var stream: [UInt8] = []
        let mrenclave = try list.measure { stream.append(contentsOf: $0) }
        #expect(mrenclave.hex == expected)
        #expect(stream == (try Fixtures.bytes("\(name).sgxs")))
    }

    @Test(arguments: vectors) func sgxsFileGivesMRENCLAVE(name: String, expected: String) throws {
        let summary = try SGXSReader.read(path: Fixtures.path("\(name).sgxs"))
        #expect(summary.mrenclave.hex == expected)
        #expect(Digest.sha256(try Fixtures.bytes("\(name).sgxs")).hex == expected)
    }

    @Test func v2ShapeAndCanonicality() throws {
        let v2 = try SGXSReader.read(path: Fixtures.path("v2.sgxs"))
        #expect(v2.size == 0x20000)
        #expect(v2.ssaFrameSize == 4)
        #expect(v2.pageCount == 1 + 8 + 1 + 2 + 15)
        #expect(v2.measuredChunks == 12 * 16)
        // V2 adds the manifest page (0x1f000) before lower pages: valid, but not Fortanix-canonical.
        #expect(!v2.isCanonical)
        let error = #expect(throws: FormatError.self) {
            try SGXSReader.read(path: Fixtures.path("v2.sgxs"), requireCanonical: true)
        }
        #expect(error?.kind == .badValue)
        #expect(error?.offset == 5248)
        #expect(error?.message.contains("EADD offsets are not increasing") == true)
        let v1 = try SGXSReader.read(path: Fixtures.path("v1.sgxs"), requireCanonical: true)
        #expect(v1.isCanonical)
        #expect(v1.layout.map(\.flags.description) == ["TCS:---", "REG:R-X"])
    }

    @Test func sgxsWriterIsAtomicAndRoundTrips() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sgx-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let list = try PageList(fixture: "v2.json")
        let writer = try SGXSWriter(path: dir + "/out.sgxs")
        let mrenclave = try list.measure(sink: writer.sink)
        try writer.commit()
        #expect(try SGXSReader.read(path: dir + "/out.sgxs").mrenclave == mrenclave)
        // An abandoned writer leaves nothing behind.
        do { _ = try SGXSWriter(path: dir + "/partial.sgxs") }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["out.sgxs"])
    }

    @Test func unmeasuredRecordsAreSkipped() throws {
        var stream = try Fixtures.bytes("v1.sgxs")
        let expected = try SGXSReader.read(bytes: stream).mrenclave
        // Insert an UNMEASRD record for chunk 0 of page 0x1000 right after the v1 stream.
        var record = [UInt8](repeating: 0, count: 64)
        for i in 0..<8 { record[i] = UInt8(truncatingIfNeeded: SGXRecord.unmeasuredTag >> (8 * UInt64(i))) }
        record[9] = 0x10
        stream += record + [UInt8](repeating: 0xab, count: 256)
        let summary = try SGXSReader.read(bytes: stream)
        #expect(summary.mrenclave == expected)
        #expect(summary.unmeasuredRecords == 1)
    }

    // MARK: - bad input

    static func record(_ tag: UInt64, _ field8: UInt64, _ field16: UInt64 = 0, size12: UInt64? = nil) -> [UInt8] {
        var r = [UInt8](repeating: 0, count: 64)
        for i in 0..<8 { r[i] = UInt8(truncatingIfNeeded: tag >> (8 * UInt64(i))) }
        for i in 0..<8 { r[8 + i] = UInt8(truncatingIfNeeded: field8 >> (8 * UInt64(i))) }
        if let size12 {
            for i in 0..<8 { r[12 + i] = UInt8(truncatingIfNeeded: size12 >> (8 * UInt64(i))) }
        } else {
            for i in 0..<8 { r[16 + i] = UInt8(truncatingIfNeeded: field16 >> (8 * UInt64(i))) }
        }
        return r
    }

    static let ecreate = record(SGXRecord.ecreateTag, 1, size12: 0x4000)
    static let eaddTCS = record(SGXRecord.eaddTag, 0, 0x100)
    static let extend0 = record(SGXRecord.eextendTag, 0) + [UInt8](repeating: 0, count: 256)

    static let badStreams: [(String, [UInt8], FormatError.Kind, UInt64)] = [
        ("size not a power of two", record(SGXRecord.ecreateTag, 1, size12: 0x3000), .badValue, 0),
        ("size too small", record(SGXRecord.ecreateTag, 1, size12: 0x1000), .badValue, 0),
        ("ssaframesize zero", record(SGXRecord.ecreateTag, 0, size12: 0x4000), .badValue, 0),
        ("EADD outside", ecreate + record(SGXRecord.eaddTag, 0x4000, 0x201), .outOfBounds, 64),
        ("EADD twice", ecreate + eaddTCS + record(SGXRecord.eaddTag, 0, 0x201), .overlap, 128),
        ("EADD unaligned", ecreate + record(SGXRecord.eaddTag, 0x800, 0x201), .badValue, 64),
        ("EEXTEND without EADD", ecreate + extend0, .missing, 64),
        (
            "EEXTEND of another page",
            ecreate + eaddTCS + record(SGXRecord.eextendTag, 0x1000) + [UInt8](repeating: 0, count: 256), .missing, 128
        ),
        ("TCS with RWX", ecreate + record(SGXRecord.eaddTag, 0, 0x107), .badValue, 64),
        ("REG write-only", ecreate + record(SGXRecord.eaddTag, 0, 0x202), .badValue, 64),
        ("PENDING bit", ecreate + record(SGXRecord.eaddTag, 0, 0x209), .badValue, 64),
        ("truncated header", ecreate + Array(eaddTCS.prefix(40)), .truncated, 64),
        ("truncated EEXTEND data", ecreate + eaddTCS + Array(extend0.prefix(64 + 100)), .truncated, 64 + 64 + 64 + 100),
        ("unknown tag", ecreate + record(0x1234, 0), .badMagic, 64),
        ("ECREATE twice", ecreate + ecreate, .badValue, 64),
        ("EADD before ECREATE", eaddTCS, .badValue, 0),
        ("UNSIZED", record(SGXRecord.unsizedTag, 1, size12: 0x100), .unsupported, 0),
        ("empty", [], .truncated, 0),
    ]

    @Test(arguments: badStreams) func badSGXSThrowsWithOffset(
        name: String, bytes: [UInt8], kind: FormatError.Kind, offset: UInt64
    ) throws {
        let error = #expect(throws: FormatError.self, "\(name)") { try SGXSReader.read(bytes: bytes) }
        #expect(error?.kind == kind, "\(name): \(String(describing: error))")
        #expect(error?.offset == offset, "\(name): \(String(describing: error))")
        #expect(error?.format == "SGXS")
    }

    @Test func builderRejectsBadSECSAndPages() throws {
        let notPowerOfTwo = #expect(throws: FormatError.self) { try MREnclaveBuilder(size: 0x3000, ssaFrameSize: 1) }
        #expect(notPowerOfTwo?.kind == .badValue)
        #expect(notPowerOfTwo?.message.contains("SECS.SIZE 0x3000 must be a power of two") == true)
        let tooSmall = #expect(throws: FormatError.self) { try MREnclaveBuilder(size: 0x1000, ssaFrameSize: 1) }
        #expect(tooSmall?.kind == .badValue)
        #expect(tooSmall?.message.contains("SECS.SIZE 0x1000 must be a power of two") == true)
        let noSSA = #expect(throws: FormatError.self) { try MREnclaveBuilder(size: 0x2000, ssaFrameSize: 0) }
        #expect(noSSA?.kind == .badValue)
        #expect(noSSA?.message.contains("SSAFRAMESIZE must be at least 1 page") == true)
        let b = try MREnclaveBuilder(size: 0x2000, ssaFrameSize: 1)
        let outside = #expect(throws: FormatError.self) {
            try b.addPage(offset: 0x2000, flags: .reg(read: true), content: nil, measured: false)
        }
        #expect(outside?.kind == .outOfBounds)
        #expect(outside?.message.contains("EADD offset 0x2000 is outside the enclave") == true)
        let tcsPermissions = #expect(throws: FormatError.self) {
            try b.addPage(offset: 0, flags: SecInfoFlags(rawValue: 0x103), content: [UInt8](repeating: 0, count: 4096))
        }
        #expect(tcsPermissions?.kind == .badValue)
        #expect(tcsPermissions?.message.contains("a TCS page must have no R/W/X permissions") == true)
        let shortPage = #expect(throws: FormatError.self) {
            try b.addPage(offset: 0x1000, flags: .reg(read: true), content: [UInt8](repeating: 0, count: 100))
        }
        #expect(shortPage?.kind == .badValue)
        #expect(shortPage?.message.contains("a measured page needs 4096 bytes") == true)
        try b.addPage(offset: 0, flags: .reg(read: true), content: nil, measured: false)
        let twice = #expect(throws: FormatError.self) {
            try b.addPage(offset: 0, flags: .reg(read: true), content: nil, measured: false)
        }
        #expect(twice?.kind == .overlap)
        #expect(twice?.message.contains("EADD twice at offset 0x0") == true)
    }

    @Test func partialEEXTENDMasksAndUnmeasuredPagesChangeTheHash() throws {
        func measure(_ mask: UInt16) throws -> [UInt8] {
            let b = try MREnclaveBuilder(size: 0x2000, ssaFrameSize: 1)
            let page = [UInt8](repeating: 0x5a, count: 4096)
            try page.withUnsafeBytes {
                try b.addPage(offset: 0x1000, flags: .reg(read: true), content: $0, measuredChunks: mask)
            }
            #expect(b.chunksExtended == UInt64(mask.nonzeroBitCount))
            return try b.finalize()
        }
        let all = try measure(0xffff)
        let half = try measure(0x00ff)
        let none = try measure(0)
        #expect(Set([all, half, none]).count == 3)
        // An unmeasured page is exactly one EADD record: ECREATE ‖ EADD.
        var expected = [UInt8](repeating: 0, count: 128)
        for (i, b) in Array("ECREATE".utf8).enumerated() { expected[i] = b }
        expected[8] = 1
        expected[13] = 0x20  // SIZE 0x2000 at byte 12
        for (i, b) in Array("EADD".utf8).enumerated() { expected[64 + i] = b }
        expected[64 + 9] = 0x10
        expected[64 + 16] = 0x01
        expected[64 + 17] = 0x02
        #expect(none == Digest.sha256(expected))
    }
}
