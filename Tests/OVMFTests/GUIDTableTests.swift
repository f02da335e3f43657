import EnclaveCore
import TestSupport
import Testing

@testable import OVMF

@Suite struct GUIDTableTests {
    @Test func guidTextRoundTrips() throws {
        let g = try #require(EFIGUID("96b582de-1fb2-45f7-baea-a366c55a082d"))
        #expect(g.bytes.hex == "de82b596b21ff745baeaa366c55a082d")
        #expect(g.description == "96b582de-1fb2-45f7-baea-a366c55a082d")
    }

    @Test(arguments: ["ovmf_AmdSev_suffix.bin", "ovmf_OvmfX64_suffix.bin"])
    func readsTheTableOfRealFirmwareSuffixes(name: String) throws {
        let table = try OVMFGUIDTable(firmware: try Fixtures.bytes(name))
        #expect(table.entry(.sevMetadataOffset) != nil)
        #expect(table.u32(.sevESResetBlock) != nil)
        // The AmdSev build supports kernel hashes: its hash-table entry has a non-zero GPA.
        let hashTableGPA = table.u32(.sevHashTable)
        #expect((hashTableGPA ?? 0 != 0) == (name == "ovmf_AmdSev_suffix.bin"))
    }

    @Test func firmwareWithoutFooterIsRejected() {
        let fw = [UInt8](repeating: 0, count: 4096)
        #expect(throws: FormatError(.missing, format: "OVMF GUID table", offset: 4096 - 48, "")) {
            try OVMFGUIDTable(firmware: fw)
        }
    }

    @Test func entryLongerThanTableIsRejected() throws {
        var fw = try Fixtures.bytes("ovmf_OvmfX64_suffix.bin")
        let end = fw.count - 32
        // Corrupt the length of the last entry (just before the 18-byte footer).
        fw[end - 18 - 18] = 0xff
        fw[end - 18 - 17] = 0x7f
        let error = #expect(throws: FormatError.self) { try OVMFGUIDTable(firmware: fw) }
        #expect(error?.kind == .outOfBounds)
        #expect(error?.offset == UInt64(end - 18 - 18))
        #expect(error?.message.contains("has length 32767") == true)
    }

    @Test func tinyInputIsTruncated() {
        #expect(throws: FormatError(.truncated, format: "OVMF GUID table", offset: 0, "")) {
            try OVMFGUIDTable(firmware: [1, 2, 3])
        }
    }
}
