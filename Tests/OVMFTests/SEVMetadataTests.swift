import EnclaveCore
import TestSupport
import Testing

@testable import OVMF

/// The `ASEV` table and the SEV GUID-table entries, on real firmware suffixes and on damaged copies.
@Suite struct SEVMetadataTests {
    /// (GPA, size, type) as sev-snp-measure's `OVMF.metadata_items()` lists them for these files.
    static let amdSevSections: [(UInt32, UInt32, UInt32)] = [
        (0x80_0000, 0x9000, 1), (0x80_a000, 0x3000, 1), (0x80_d000, 0x1000, 2), (0x80_e000, 0x1000, 3),
        (0x80_f000, 0x1000, 4), (0x81_0000, 0x1000, 0x10), (0x81_1000, 0xf000, 1),
    ]

    @Test func amdSevSuffix() throws {
        let sev = try OVMFSEVMetadata(firmware: try Fixtures.bytes("ovmf_AmdSev_suffix.bin"))
        #expect(sev.descriptorOffset == 4096 - 0x554)
        #expect(
            sev.sections.map { [$0.gpa, $0.size, $0.type.rawValue] } == Self.amdSevSections.map { [$0.0, $0.1, $0.2] })
        #expect(sev.hashTable == SEVHashTableLocation(gpa: 0x81_0c00, size: 0x400))
        #expect(sev.apResetEIP == 0x80_b004)
        #expect(sev.supportsKernelHashes)
        #expect(sev.has(.snpKernelHashes))
    }

    @Test func ovmfX64Suffix() throws {
        let sev = try OVMFSEVMetadata(firmware: try Fixtures.bytes("ovmf_OvmfX64_suffix.bin"))
        #expect(sev.sections.count == 6)
        #expect(sev.sections.last?.size == 0x10000)
        #expect(sev.hashTable == SEVHashTableLocation(gpa: 0, size: 0))
        #expect(!sev.supportsKernelHashes)
        #expect(!sev.has(.snpKernelHashes))
    }

    @Test func fileAndBytesAgree() throws {
        let fromFile = try OVMFSEVMetadata(file: try FileInput(path: Fixtures.path("ovmf_AmdSev_suffix.bin")))
        let fromBytes = try OVMFSEVMetadata(firmware: try Fixtures.bytes("ovmf_AmdSev_suffix.bin"))
        #expect(fromFile.sections == fromBytes.sections)
        #expect(fromFile.descriptorOffset == fromBytes.descriptorOffset)
    }

    @Test func sectionTypeNames() {
        #expect(SEVSectionType(rawValue: 0x10) == .snpKernelHashes)
        #expect(SEVSectionType(rawValue: 5) == .unknown(5))
        #expect(SEVSectionType(rawValue: 5).rawValue == 5)
        #expect(SEVSectionType.cpuid.description == "CPUID")
    }

    // MARK: damaged tables

    /// The AmdSev suffix with `edit` applied to the bytes of its `ASEV` descriptor (at `start`).
    func damaged(_ edit: (inout [UInt8], Int) -> Void) throws -> [UInt8] {
        var fw = try Fixtures.bytes("ovmf_AmdSev_suffix.bin")
        let start = 4096 - 0x554
        edit(&fw, start)
        return fw
    }

    func putU32(_ fw: inout [UInt8], _ at: Int, _ v: UInt32) {
        for i in 0..<4 { fw[at + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) }
    }

    @Test func badSignature() throws {
        let fw = try damaged { fw, s in fw[s] = UInt8(ascii: "X") }
        #expect(throws: FormatError(.badMagic, format: OVMFSEVMetadata.format, offset: UInt64(4096 - 0x554), "")) {
            try OVMFSEVMetadata(firmware: fw)
        }
    }

    @Test func badVersion() throws {
        let fw = try damaged { fw, s in putU32(&fw, s + 8, 2) }
        #expect(throws: FormatError(.badVersion, format: OVMFSEVMetadata.format, offset: UInt64(4096 - 0x554 + 8), ""))
        {
            try OVMFSEVMetadata(firmware: fw)
        }
    }

    @Test func lengthTooSmallForCount() throws {
        let fw = try damaged { fw, s in putU32(&fw, s + 4, 16 + 12 * 6) }
        #expect(throws: FormatError(.badValue, format: OVMFSEVMetadata.format, offset: UInt64(4096 - 0x554 + 4), "")) {
            try OVMFSEVMetadata(firmware: fw)
        }
    }

    @Test func countPastEndOfFile() throws {
        let fw = try damaged { fw, s in
            putU32(&fw, s + 12, 0x1000_0000)
            putU32(&fw, s + 4, 0xffff_fff0)
        }
        let error = try #require(throws: FormatError.self) { try OVMFSEVMetadata(firmware: fw) }
        #expect(error.kind == .badValue || error.kind == .outOfBounds)
        let past = try damaged { fw, s in
            putU32(&fw, s + 12, 200)
            putU32(&fw, s + 4, 16 + 12 * 200)
        }
        #expect(throws: FormatError(.outOfBounds, format: OVMFSEVMetadata.format, offset: UInt64(4096 - 0x554 + 4), ""))
        {
            try OVMFSEVMetadata(firmware: past)
        }
    }

    @Test(arguments: [0, 8, 4097, 0xffff_ffff] as [UInt32])
    func descriptorOffsetOutsideImage(fromEnd: UInt32) throws {
        var fw = try Fixtures.bytes("ovmf_AmdSev_suffix.bin")
        let entry = try #require(try OVMFGUIDTable(firmware: fw).entry(.sevMetadataOffset))
        putU32(&fw, entry.offset, fromEnd)
        #expect(throws: FormatError(.outOfBounds, format: OVMFSEVMetadata.format, offset: UInt64(entry.offset), "")) {
            try OVMFSEVMetadata(firmware: fw)
        }
    }

    @Test func unalignedSection() throws {
        let fw = try damaged { fw, s in putU32(&fw, s + 16, 0x80_0010) }
        #expect(throws: FormatError(.badValue, format: OVMFSEVMetadata.format, offset: UInt64(4096 - 0x554 + 16), "")) {
            try OVMFSEVMetadata(firmware: fw)
        }
    }

    @Test func sectionPastFourGiB() throws {
        let fw = try damaged { fw, s in
            putU32(&fw, s + 16, 0xffff_f000); putU32(&fw, s + 20, 0x2000)
        }
        #expect(
            throws: FormatError(.outOfBounds, format: OVMFSEVMetadata.format, offset: UInt64(4096 - 0x554 + 16), "")
        ) {
            try OVMFSEVMetadata(firmware: fw)
        }
    }

    @Test func overlappingSections() throws {
        // Second section (0x80a000) moved into the first (0x800000, 0x9000 bytes).
        let fw = try damaged { fw, s in putU32(&fw, s + 16 + 12, 0x80_8000) }
        let error = try #require(throws: FormatError.self) { try OVMFSEVMetadata(firmware: fw) }
        #expect(error.kind == .overlap)
        #expect(error.offset == UInt64(4096 - 0x554 + 16 + 12))
    }

    @Test func noGUIDTable() {
        #expect(throws: FormatError(.missing, format: "OVMF GUID table", offset: 4096 - 48, "")) {
            try OVMFSEVMetadata(firmware: [UInt8](repeating: 0, count: 4096))
        }
    }

    @Test func guidTableErrorsNameFileOffsets() throws {
        // A 128 KiB image: only its tail is parsed, but the error offset is the file's.
        var fw = [UInt8](repeating: 0, count: 0x20000 - 4096) + (try Fixtures.bytes("ovmf_AmdSev_suffix.bin"))
        fw[fw.count - 48] ^= 0xff  // damage the footer GUID
        #expect(throws: FormatError(.missing, format: "OVMF GUID table", offset: UInt64(0x20000 - 48), "")) {
            try OVMFSEVMetadata(firmware: fw)
        }
    }

    @Test func shortEntryData() throws {
        // Shrink the SEV-ES reset block entry's data to 2 bytes by growing the preceding... simplest: rebuild a table.
        var w = ByteWriter()
        w.append([0xaa, 0xbb])  // 2 data bytes
        w.appendU16LE(18 + 2)
        w.append(EFIGUID.sevESResetBlock.bytes)
        w.appendU16LE(UInt16(w.count + 18))
        w.append(EFIGUID.tableFooter.bytes)
        w.appendZeros(32)
        let fw = [UInt8](repeating: 0, count: 4096 - w.count) + w.bytes
        let error = try #require(throws: FormatError.self) { try OVMFSEVMetadata(firmware: fw) }
        #expect(error.kind == .truncated)
    }

    @Test func tableWithoutSEVEntries() throws {
        var w = ByteWriter()
        w.appendU16LE(18)
        w.append(EFIGUID.tableFooter.bytes)
        w.appendZeros(32)
        let fw = [UInt8](repeating: 0, count: 4096 - w.count) + w.bytes
        let sev = try OVMFSEVMetadata(firmware: fw)
        #expect(!sev.hasMetadata)
        #expect(sev.apResetEIP == nil)
        #expect(sev.hashTable == nil)
    }
}
