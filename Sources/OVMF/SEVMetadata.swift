import EnclaveCore

/// The type of one section of the OVMF SEV metadata
/// (edk2 `OvmfPkg/ResetVector/X64/OvmfSevMetadata.asm`; <doc:SEVMetadataTable>).
/// Values that edk2 does not define are kept as `.unknown(raw)`, so parsing never fails on them and the
/// launch-digest code can say which section it cannot measure.
///
/// ```swift
/// SEVSectionType(rawValue: 0x10) == .snpKernelHashes
/// ```
public enum SEVSectionType: Sendable, Hashable, CustomStringConvertible {
    /// `OVMF_SECTION_TYPE_SNP_SEC_MEM` (1): pre-validated memory, launched as zero pages.
    case snpSecMem
    /// `OVMF_SECTION_TYPE_SNP_SECRETS` (2): the secrets page.
    case snpSecrets
    /// `OVMF_SECTION_TYPE_CPUID` (3): the CPUID page.
    case cpuid
    /// `OVMF_SECTION_TYPE_SVSM_CAA` (4): the SVSM calling-area page, launched as zero pages.
    case svsmCAA
    /// `OVMF_SECTION_TYPE_SNP_KERNEL_HASHES` (0x10): the page holding the kernel/initrd/cmdline hashes table.
    case snpKernelHashes
    /// A type edk2 does not define.
    case unknown(UInt32)

    public init(rawValue: UInt32) {
        switch rawValue {
        case 1: self = .snpSecMem
        case 2: self = .snpSecrets
        case 3: self = .cpuid
        case 4: self = .svsmCAA
        case 0x10: self = .snpKernelHashes
        default: self = .unknown(rawValue)
        }
    }

    public var rawValue: UInt32 {
        switch self {
        case .snpSecMem: 1
        case .snpSecrets: 2
        case .cpuid: 3
        case .svsmCAA: 4
        case .snpKernelHashes: 0x10
        case .unknown(let raw): raw
        }
    }

    /// The edk2/sev-snp-measure name, e.g. `SNP_KERNEL_HASHES`.
    public var description: String {
        switch self {
        case .snpSecMem: "SNP_SEC_MEM"
        case .snpSecrets: "SNP_SECRETS"
        case .cpuid: "CPUID"
        case .svsmCAA: "SVSM_CAA"
        case .snpKernelHashes: "SNP_KERNEL_HASHES"
        case .unknown(let raw): "unknown type 0x\(String(raw, radix: 16))"
        }
    }
}

/// One 12-byte item of the `ASEV` table: `{u32 GPA; u32 Size; u32 Type}` (little-endian).
public struct SEVMetadataSection: Sendable, Hashable {
    /// Guest-physical address of the first page (4 KiB aligned).
    public let gpa: UInt32
    /// Size in bytes (a multiple of 4 KiB).
    public let size: UInt32
    public let type: SEVSectionType
    /// File offset of this item in the firmware image.
    public let offset: UInt64
}

/// Where the SEV hashes table lives in guest memory (GUID table entry `7255371f-…`, `u32 GPA, u32 Size`).
/// A GPA of 0 means the firmware does not support measured direct kernel boot.
public struct SEVHashTableLocation: Sendable, Hashable {
    public let gpa: UInt32
    public let size: UInt32
}

/// The SEV parts of an OVMF firmware image: the `ASEV` metadata sections (found through the GUID table
/// entry ``EFIGUID/sevMetadataOffset``, an offset counted from the end of the image), the SEV hashes
/// table location and the SEV-ES AP reset EIP (<doc:ResetVectorGUIDTable>, <doc:SEVMetadataTable>).
///
/// Every offset and count is checked: a descriptor outside the file, a bad signature or version, a
/// count that does not fit the declared size, unaligned or overlapping sections all throw a
/// `FormatError` (EnclaveCore) naming the file offset.
///
/// ```swift
/// let sev = try OVMFSEVMetadata(file: try FileInput(path: "OVMF.fd"))
/// for section in sev.sections { print(section.type, section.gpa) }
/// ```
public struct OVMFSEVMetadata: Sendable {
    public static let format = "OVMF SEV metadata"
    /// Size of the `ASEV` descriptor header: signature, size, version, item count.
    public static let headerSize = 16
    /// Size of one section item.
    public static let itemSize = 12
    /// The GUID table is at most 64 KiB (its length is a u16) and ends 32 bytes before the end of the image.
    static let tailSize = 0x10000 + 64

    /// Size of the whole firmware image in bytes.
    public let firmwareSize: UInt64
    /// File offset of the `ASEV` descriptor, or nil when the GUID table has no SEV metadata entry.
    public let descriptorOffset: UInt64?
    /// The sections in table order (empty without an `ASEV` table).
    public let sections: [SEVMetadataSection]
    /// The SEV hashes table location, or nil when the GUID table has no such entry.
    public let hashTable: SEVHashTableLocation?
    /// The SEV-ES AP reset EIP (what application processors start at), or nil without a reset block entry.
    public let apResetEIP: UInt32?

    /// True when the image has an `ASEV` table.
    public var hasMetadata: Bool { descriptorOffset != nil }

    /// True when the hashes table entry is present with a non-zero GPA (sev-snp-measure's
    /// `is_sev_hashes_table_supported`, used in SEV and SEV-ES modes).
    public var supportsKernelHashes: Bool { (hashTable?.gpa ?? 0) != 0 }

    /// True when a section of `type` is present.
    public func has(_ type: SEVSectionType) -> Bool { sections.contains { $0.type == type } }

    /// Parses a whole firmware image held in memory.
    public init(firmware: [UInt8]) throws {
        let size = UInt64(firmware.count)
        try self.init(size: size) { offset, count in
            guard offset <= size, UInt64(count) <= size - offset else {
                throw FormatError(
                    .truncated, format: Self.format, offset: offset,
                    "expected \(count) bytes, the image has \(size > offset ? size - offset : 0) left")
            }
            return Array(firmware[Int(offset)..<Int(offset) + count])
        }
    }

    /// Parses a firmware file, reading only its tail and the descriptor (not the whole image).
    public init(file: FileInput) throws {
        try self.init(size: file.size) { offset, count in
            try file.read(at: offset, count: count, format: Self.format)
        }
    }

    /// Parses an image of `size` bytes through `read(offset, count)`, which returns exactly `count`
    /// bytes or throws.
    public init(size: UInt64, read: (UInt64, Int) throws -> [UInt8]) throws {
        firmwareSize = size
        let tailCount = Int(min(size, UInt64(Self.tailSize)))
        let tailStart = size - UInt64(tailCount)
        let table: OVMFGUIDTable
        do {
            table = try OVMFGUIDTable(firmware: try read(tailStart, tailCount))
        } catch var error as FormatError {
            // The table parser counts from the start of the tail; report file offsets.
            if let offset = error.offset, error.format == OVMFGUIDTable.format, tailStart > 0 {
                error.offset = offset + tailStart
            }
            throw error
        }

        if let entry = table.entry(.sevHashTable) {
            guard let gpa = entry.data.le(UInt32.self, at: 0) else {
                throw Self.shortEntry("SEV hash table", entry, tailStart)
            }
            hashTable = SEVHashTableLocation(gpa: gpa, size: entry.data.le(UInt32.self, at: 4) ?? 0)
        } else {
            hashTable = nil
        }
        if let entry = table.entry(.sevESResetBlock) {
            guard let eip = entry.data.le(UInt32.self, at: 0) else {
                throw Self.shortEntry("SEV-ES reset block", entry, tailStart)
            }
            apResetEIP = eip
        } else {
            apResetEIP = nil
        }

        guard let entry = table.entry(.sevMetadataOffset) else {
            descriptorOffset = nil
            sections = []
            return
        }
        guard let fromEnd = entry.data.le(UInt32.self, at: 0) else {
            throw Self.shortEntry("SEV metadata offset", entry, tailStart)
        }
        let entryOffset = tailStart + UInt64(entry.offset)
        guard UInt64(fromEnd) >= UInt64(Self.headerSize), UInt64(fromEnd) <= size else {
            throw FormatError(
                .outOfBounds, format: Self.format, offset: entryOffset,
                "the SEV metadata offset \(fromEnd) (counted from the end) points outside the \(size)-byte image")
        }
        let start = size - UInt64(fromEnd)
        var header = ByteReader(try read(start, Self.headerSize), format: Self.format, baseOffset: start)
        let signature = try header.readBytes(4, "signature")
        guard signature == Array("ASEV".utf8) else {
            throw FormatError(
                .badMagic, format: Self.format, offset: start,
                "expected the signature \"ASEV\", found \(signature.hex)")
        }
        let length = try header.readU32LE("length")
        let version = try header.readU32LE("version")
        let count = try header.readU32LE("item count")
        guard version == 1 else {
            throw FormatError(
                .badVersion, format: Self.format, offset: start + 8, "expected version 1, found \(version)")
        }
        let needed = UInt64(Self.headerSize) + UInt64(count) * UInt64(Self.itemSize)
        guard UInt64(length) >= needed else {
            throw FormatError(
                .badValue, format: Self.format, offset: start + 4,
                "descriptor length \(length) is too small for \(count) sections (\(needed) bytes)")
        }
        guard UInt64(length) <= UInt64(fromEnd) else {
            throw FormatError(
                .outOfBounds, format: Self.format, offset: start + 4,
                "descriptor length \(length) runs past the end of the image (\(fromEnd) bytes left)")
        }
        let itemsStart = start + UInt64(Self.headerSize)
        var items = ByteReader(
            try read(itemsStart, Int(count) * Self.itemSize), format: Self.format, baseOffset: itemsStart)
        var parsed: [SEVMetadataSection] = []
        parsed.reserveCapacity(Int(count))
        for _ in 0..<count {
            let offset = items.absoluteOffset
            let gpa = try items.readU32LE("section GPA")
            let sectionSize = try items.readU32LE("section size")
            let type = SEVSectionType(rawValue: try items.readU32LE("section type"))
            guard gpa % 4096 == 0, sectionSize % 4096 == 0 else {
                throw FormatError(
                    .badValue, format: Self.format, offset: offset,
                    "section \(type) at GPA 0x\(String(gpa, radix: 16)) size 0x\(String(sectionSize, radix: 16)) "
                        + "is not 4 KiB aligned")
            }
            guard UInt64(gpa) + UInt64(sectionSize) <= 1 << 32 else {
                throw FormatError(
                    .outOfBounds, format: Self.format, offset: offset,
                    "section \(type) at GPA 0x\(String(gpa, radix: 16)) runs past 4 GiB")
            }
            parsed.append(SEVMetadataSection(gpa: gpa, size: sectionSize, type: type, offset: offset))
        }
        let ordered = parsed.filter { $0.size > 0 }.sorted { $0.gpa < $1.gpa }
        for (a, b) in zip(ordered, ordered.dropFirst()) where UInt64(a.gpa) + UInt64(a.size) > UInt64(b.gpa) {
            throw FormatError(
                .overlap, format: Self.format, offset: b.offset,
                "section \(b.type) at GPA 0x\(String(b.gpa, radix: 16)) overlaps section \(a.type) "
                    + "at 0x\(String(a.gpa, radix: 16)) (size 0x\(String(a.size, radix: 16)))")
        }
        descriptorOffset = start
        sections = parsed
    }

    private static func shortEntry(_ name: String, _ entry: OVMFGUIDTable.Entry, _ base: UInt64) -> FormatError {
        FormatError(
            .truncated, format: OVMFGUIDTable.format, offset: base + UInt64(entry.offset),
            "the \(name) entry has \(entry.data.count) data bytes, expected at least 4")
    }
}
