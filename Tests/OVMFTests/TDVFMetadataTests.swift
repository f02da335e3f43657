import EnclaveCore
import Foundation
import TestSupport
import Testing

@testable import OVMF

/// TDVF metadata parsing (OVMF catalog, article "TDVF Metadata Table") on the public synthetic vector and Debian 12's
/// OVMF, and every validation error on corrupted copies of the vector.
@Suite struct TDVFMetadataTests {
    static let descriptor = 0x3000  // where the synthetic vector keeps its TDVF descriptor
    static func entry(_ i: Int) -> Int { descriptor + 16 + 32 * i }

    static func synthetic() throws -> [UInt8] { try Fixtures.bytes("synthetic_tdvf.bin") }

    static func put32(_ fw: inout [UInt8], _ at: Int, _ v: UInt32) {
        for i in 0..<4 { fw[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) }
    }
    static func put64(_ fw: inout [UInt8], _ at: Int, _ v: UInt64) {
        for i in 0..<8 { fw[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) }
    }

    @Test func parsesTheSyntheticVector() throws {
        let m = try TDVFMetadata(firmware: try Self.synthetic())
        #expect(m.descriptorOffset == Self.descriptor)
        #expect(m.sections.map(\.type) == [.bfv, .cfv, .tdHOB, .tempMem, .tempMem])
        #expect(m.sections.map(\.attributes) == [1, 0, 0, 0, 2])
        #expect(m.sections[0].memoryAddress == 0xffff_c000 && m.sections[0].rawDataSize == 0x2000)
        #expect(m.sections[4].isPageAug && !m.sections[4].measuresContents)
    }

    @Test func parsesDebianOVMF() throws {
        // Debian 12 `ovmf` 2022.11: OVMF.fd = VARS ‖ CODE, descriptor 0x840 bytes from the end.
        let fw = Array(try Data(contentsOf: URL(fileURLWithPath: "/usr/share/ovmf/OVMF.fd")))
        let m = try TDVFMetadata(firmware: fw)
        #expect(m.descriptorOffset == fw.count - 0x840)
        #expect(m.sections.map(\.type) == [.bfv, .cfv, .tempMem, .tempMem, .tdHOB, .tempMem])
        #expect(m.sections[0].dataOffset == 0x20000 && m.sections[0].rawDataSize == 0x1e_0000)
        #expect(m.sections[4].memoryAddress == 0x80_9000)
        #expect(TDVFMetadata.isPresent(in: fw))
    }

    @Test func codeOnlyImageRunsPastTheEnd() throws {
        // OVMF_CODE.fd alone: the BFV section (DataOffset 0x20000, 0x1e0000 bytes) runs past EOF.
        let fw = Array(try Data(contentsOf: URL(fileURLWithPath: "/usr/share/OVMF/OVMF_CODE.fd")))
        let error = try #require(throws: FormatError.self) { try TDVFMetadata(firmware: fw) }
        #expect(error.kind == .outOfBounds)
        #expect(error.message.contains("OVMF.fd"))
    }

    @Test func firmwareWithoutGUIDTable() {
        #expect(throws: FormatError(.missing, format: "OVMF GUID table", offset: 8192 - 48, "")) {
            try TDVFMetadata(firmware: [UInt8](repeating: 0xff, count: 8192))
        }
    }

    @Test func firmwareWithoutTDXEntry() throws {
        var fw = try Self.synthetic()
        let guid = EFIGUID.tdxMetadataOffset.bytes
        let at = try #require((0...(fw.count - 16)).first { Array(fw[$0..<$0 + 16]) == guid })
        fw[at] ^= 0xff
        let error = try #require(throws: FormatError.self) { try TDVFMetadata(firmware: fw) }
        #expect(error.kind == .missing)
        #expect(!TDVFMetadata.isPresent(in: fw))
    }

    /// Each corruption of the synthetic vector and the error it must give (kind and offset).
    static let corruptions: [(String, @Sendable (inout [UInt8]) -> Void, FormatError.Kind, Int)] = [
        ("bad signature", { $0[descriptor] = UInt8(ascii: "X") }, .badMagic, descriptor),
        ("bad version", { put32(&$0, descriptor + 8, 2) }, .badVersion, descriptor + 8),
        ("count that does not fit", { put32(&$0, descriptor + 12, 1000) }, .outOfBounds, descriptor + 12),
        ("huge count", { put32(&$0, descriptor + 12, 0xffff_ffff) }, .outOfBounds, descriptor + 12),
        ("length mismatch", { put32(&$0, descriptor + 4, 16 + 32 * 4) }, .badValue, descriptor + 4),
        ("section past EOF", { put32(&$0, entry(0), 0x3800) }, .outOfBounds, entry(0)),
        ("raw size past EOF", { put32(&$0, entry(1) + 4, 0xffff_f000) }, .badValue, entry(1) + 16),
        ("overlap in memory", { put64(&$0, entry(1) + 8, 0xffff_d000) }, .overlap, entry(1) + 8),
        ("overlap in file", { put32(&$0, entry(1), 0x1000) }, .overlap, entry(1)),
        ("unaligned address", { put64(&$0, entry(3) + 8, 0x80_0800) }, .badValue, entry(3) + 8),
        ("unaligned size", { put64(&$0, entry(3) + 16, 0x1800) }, .badValue, entry(3) + 16),
        ("memory smaller than raw", { put64(&$0, entry(1) + 16, 0) }, .badValue, entry(1) + 16),
        ("TD_HOB with MR.EXTEND", { put32(&$0, entry(2) + 28, 1) }, .badValue, entry(2) + 28),
        ("unknown type", { put32(&$0, entry(3) + 24, 9) }, .unsupported, entry(3) + 24),
        ("unknown attribute", { put32(&$0, entry(3) + 28, 0x10) }, .unsupported, entry(3) + 28),
        ("descriptor offset outside", { fw in Self.setTDXOffset(&fw, 0x10_0000) }, .outOfBounds, -1),
    ]

    static func setTDXOffset(_ fw: inout [UInt8], _ value: UInt32) {
        let guid = EFIGUID.tdxMetadataOffset.bytes
        guard let at = (0...(fw.count - 16)).first(where: { Array(fw[$0..<$0 + 16]) == guid }) else { return }
        // Entry layout: data (u32) ‖ u16 length ‖ GUID.
        put32(&fw, at - 6, value)
    }

    @Test(arguments: 0..<corruptions.count)
    func corruptedMetadataIsRejected(index: Int) throws {
        let (name, corrupt, kind, offset) = Self.corruptions[index]
        var fw = try Self.synthetic()
        corrupt(&fw)
        let error = try #require(throws: FormatError.self, "\(name)") { try TDVFMetadata(firmware: fw) }
        #expect(error.kind == kind, "\(name): \(error)")
        if offset >= 0 { #expect(error.offset == UInt64(offset), "\(name): \(error)") }
        #expect(error.format == "TDVF metadata")
    }
}
