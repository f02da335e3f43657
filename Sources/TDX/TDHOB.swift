import EnclaveCore
import OVMF

/// The TD HOB list QEMU writes into the TD_HOB section for OVMF (QEMU `hw/i386/tdvf-hob.c`,
/// <doc:RTMRReplay>, "The TD HOB"): a PHIT HOB, then one resource descriptor per guest RAM range, marked
/// accepted (SYSTEM_MEMORY, the TD_HOB and TEMP_MEM sections) or UNACCEPTED. OVMF measures it into RTMR0
/// without the final END_OF_HOB_LIST HOB, which is what ``bytes`` holds.
///
/// ```swift
/// let hob = try TDHOB(metadata: metadata, memorySize: 2 << 30)
/// let digest = Digest.sha384(hob.bytes)   // the first RTMR0 event
/// ```
public struct TDHOB: Sendable {
    public static let format = "TD HOB"
    /// One RAM range as QEMU reports it.
    public struct Range: Sendable, Equatable {
        public let start: UInt64
        public let length: UInt64
        public let accepted: Bool
    }

    /// The RAM ranges, ascending.
    public let ranges: [Range]
    /// The measured bytes (PHIT + resource descriptors, without END_OF_HOB_LIST).
    public let bytes: [UInt8]

    /// Builds the HOB list for `memorySize` bytes of guest RAM (q35 layout: up to 2 GiB below 4 GiB when
    /// the RAM is 2.75 GiB or more, otherwise all of it below 4 GiB; the rest from 4 GiB up).
    public init(metadata: TDVFMetadata, memorySize: UInt64) throws(FormatError) {
        guard let hobSection = metadata.sections.first(where: { $0.type == .tdHOB }) else {
            throw FormatError(
                .missing, format: Self.format, offset: nil, "the TDVF metadata has no TD_HOB section")
        }
        guard memorySize % 4096 == 0, memorySize > 0 else {
            throw FormatError(
                .badValue, format: Self.format, offset: nil,
                "guest memory of \(memorySize) bytes is not a positive multiple of 4 KiB")
        }
        let lowmem: UInt64 = memorySize >= 0xb000_0000 ? 0x8000_0000 : 0xb000_0000
        let below = min(memorySize, lowmem)
        var ranges: [Range] = [Range(start: 0, length: below, accepted: false)]
        if memorySize > below { ranges.append(Range(start: 1 << 32, length: memorySize - below, accepted: false)) }
        for s in metadata.sections where (s.type == .tdHOB || s.type == .tempMem) && s.memoryDataSize > 0 {
            let start = s.memoryAddress
            let end = s.memoryAddress + s.memoryDataSize
            guard
                let index = ranges.firstIndex(where: {
                    !$0.accepted && $0.start <= start && end <= $0.start + $0.length
                })
            else {
                throw FormatError(
                    .outOfBounds, format: Self.format, offset: s.entryOffset,
                    "\(s.type) section 0x\(String(start, radix: 16))-0x\(String(end, radix: 16)) is not inside "
                        + "unaccepted guest RAM of \(memorySize) bytes; give the guest more memory")
            }
            let r = ranges[index]
            var split: [Range] = []
            if start > r.start { split.append(Range(start: r.start, length: start - r.start, accepted: false)) }
            split.append(Range(start: start, length: end - start, accepted: true))
            if end < r.start + r.length {
                split.append(Range(start: end, length: r.start + r.length - end, accepted: false))
            }
            ranges.replaceSubrange(index...index, with: split)
        }
        var w = ByteWriter(capacity: 56 + 48 * ranges.count)
        w.appendU16LE(0x0001)  // EFI_HOB_TYPE_HANDOFF
        w.appendU16LE(56)
        w.appendU32LE(0)
        w.appendU32LE(9)  // EFI_HOB_HANDOFF_TABLE_VERSION
        w.appendU32LE(0)  // BootMode
        w.appendZeros(32)  // MemoryTop, MemoryBottom, FreeMemoryTop, FreeMemoryBottom
        w.appendU64LE(hobSection.memoryAddress + UInt64(56 + 48 * ranges.count) + 8)  // EndOfHobList
        for r in ranges {
            w.appendU16LE(0x0003)  // EFI_HOB_TYPE_RESOURCE_DESCRIPTOR
            w.appendU16LE(48)
            w.appendU32LE(0)
            w.appendZeros(16)  // Owner GUID
            w.appendU32LE(r.accepted ? 0 : 7)  // SYSTEM_MEMORY or UNACCEPTED
            w.appendU32LE(0x7)  // PRESENT | INITIALIZED | TESTED
            w.appendU64LE(r.start)
            w.appendU64LE(r.length)
        }
        self.ranges = ranges
        self.bytes = w.bytes
    }
}
