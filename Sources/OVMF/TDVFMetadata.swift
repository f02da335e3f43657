import EnclaveCore

/// One section of the TDVF metadata table: a range of guest memory that the VMM adds to the TD before it
/// starts (TDVF design guide §11, QEMU `hw/i386/tdvf.c`; <doc:TDVFMetadataTable>).
///
/// ```swift
/// let bfv = metadata.sections.first { $0.type == .bfv }   // the firmware code, measured into MRTD
/// ```
public struct TDVFSection: Sendable, Hashable {
    /// The section type (`Type`, +24).
    public enum Kind: Sendable, Hashable, CustomStringConvertible {
        case bfv, cfv, tdHOB, tempMem, permMem, payload, payloadParam
        case unknown(UInt32)

        public init(raw: UInt32) {
            switch raw {
            case 0: self = .bfv
            case 1: self = .cfv
            case 2: self = .tdHOB
            case 3: self = .tempMem
            case 4: self = .permMem
            case 5: self = .payload
            case 6: self = .payloadParam
            default: self = .unknown(raw)
            }
        }

        public var raw: UInt32 {
            switch self {
            case .bfv: 0
            case .cfv: 1
            case .tdHOB: 2
            case .tempMem: 3
            case .permMem: 4
            case .payload: 5
            case .payloadParam: 6
            case .unknown(let raw): raw
            }
        }

        public var description: String {
            switch self {
            case .bfv: "BFV"
            case .cfv: "CFV"
            case .tdHOB: "TD_HOB"
            case .tempMem: "TEMP_MEM"
            case .permMem: "PERM_MEM"
            case .payload: "PAYLOAD"
            case .payloadParam: "PAYLOAD_PARAM"
            case .unknown(let raw): "type \(raw)"
            }
        }
    }

    /// `Attributes` bit 0: the VMM measures the section's contents (TDH.MR.EXTEND).
    public static let attributeMRExtend: UInt32 = 0x1
    /// `Attributes` bit 1: the pages are added after boot (TDH.MEM.PAGE.AUG), not at build time.
    public static let attributePageAug: UInt32 = 0x2

    /// Offset of the section's bytes in the firmware file (`DataOffset`, +0).
    public let dataOffset: UInt32
    /// Bytes present in the file (`RawDataSize`, +4).
    public let rawDataSize: UInt32
    /// Guest-physical address, 4 KiB aligned (`MemoryAddress`, +8).
    public let memoryAddress: UInt64
    /// Bytes of guest memory, a 4 KiB multiple ≥ `rawDataSize` (`MemoryDataSize`, +16).
    public let memoryDataSize: UInt64
    public let type: Kind
    /// `Attributes` (+28).
    public let attributes: UInt32
    /// File offset of this 32-byte entry (for error messages).
    public let entryOffset: Int

    public var measuresContents: Bool { attributes & Self.attributeMRExtend != 0 }
    public var isPageAug: Bool { attributes & Self.attributePageAug != 0 }
    public var pageCount: UInt64 { memoryDataSize / 4096 }

    public init(
        dataOffset: UInt32, rawDataSize: UInt32, memoryAddress: UInt64, memoryDataSize: UInt64, type: Kind,
        attributes: UInt32, entryOffset: Int = 0
    ) {
        self.dataOffset = dataOffset
        self.rawDataSize = rawDataSize
        self.memoryAddress = memoryAddress
        self.memoryDataSize = memoryDataSize
        self.type = type
        self.attributes = attributes
        self.entryOffset = entryOffset
    }
}

/// The TDVF metadata of an OVMF/TDVF firmware image: a `TDVF` descriptor found through the reset-vector
/// GUID table (entry `e47a6535-…`, an offset counted from the end of the image), followed by its sections
/// (<doc:TDVFMetadataTable>).
///
/// Parsing validates what QEMU and the reference tools validate, and more: a 4 KiB aligned address and
/// size, `MemoryDataSize ≥ RawDataSize`, file bytes inside the image (for a measured section, all
/// `MemoryDataSize` bytes, since QEMU maps the firmware file itself), no two sections overlapping in guest
/// memory or in the file, a section count that fits the descriptor and the file, no MR.EXTEND on TD_HOB.
///
/// ```swift
/// let metadata = try TDVFMetadata(firmware: try FileInput.contents(of: "OVMF.fd"))
/// for s in metadata.sections { print(s.type, s.memoryAddress) }
/// ```
public struct TDVFMetadata: Sendable {
    public static let format = "TDVF metadata"
    /// No real firmware has more than a handful of sections; a larger count is a corrupt table.
    public static let maxSections = 1024

    /// File offset of the `TDVF` descriptor.
    public let descriptorOffset: Int
    /// `Version` (always 1 for the layout this parser knows).
    public let version: UInt32
    public let sections: [TDVFSection]
    /// Size of the firmware image the metadata was read from.
    public let firmwareSize: Int

    /// True when the image has a GUID table with a TDX metadata entry (a cheap check for detection).
    public static func isPresent(in firmware: [UInt8]) -> Bool {
        guard let table = try? OVMFGUIDTable(firmware: firmware) else { return false }
        return table.entry(.tdxMetadataOffset) != nil
    }

    /// Parses and validates the metadata of the whole firmware image `fw`.
    public init(firmware fw: [UInt8]) throws(FormatError) {
        let table = try OVMFGUIDTable(firmware: fw)
        guard let entry = table.entry(.tdxMetadataOffset) else {
            throw FormatError(
                .missing, format: Self.format, offset: nil,
                "the OVMF GUID table has no TDX metadata entry (\(EFIGUID.tdxMetadataOffset)); "
                    + "this firmware was not built with TDX support (use an OvmfPkgX64 or IntelTdx build)")
        }
        guard entry.data.count >= 4, let fromEnd = entry.data.le(UInt32.self, at: entry.data.count - 4) else {
            throw FormatError(
                .truncated, format: Self.format, offset: entry.offset,
                "TDX metadata entry holds \(entry.data.count) bytes, expected a 4-byte offset")
        }
        guard Int(fromEnd) <= fw.count, Int(fromEnd) >= 16 else {
            throw FormatError(
                .outOfBounds, format: Self.format, offset: entry.offset,
                "TDVF descriptor offset \(fromEnd) (from the end) is outside the \(fw.count)-byte image")
        }
        let start = fw.count - Int(fromEnd)
        var reader = ByteReader(Array(fw[start..<fw.count]), format: Self.format, baseOffset: UInt64(start))
        let signature = try reader.readBytes(4, "TDVF signature")
        guard signature == Array("TDVF".utf8) else {
            throw FormatError(
                .badMagic, format: Self.format, offset: start,
                "expected the signature \"TDVF\", found \(signature.hex)")
        }
        let length = try reader.readU32LE("descriptor length")
        let version = try reader.readU32LE("descriptor version")
        guard version == 1 else {
            throw FormatError(
                .badVersion, format: Self.format, offset: start + 8, "TDVF version \(version), expected 1")
        }
        let count = try reader.readU32LE("number of section entries")
        let countFits = count <= Self.maxSections && UInt64(count) * 32 + 16 <= UInt64(fw.count - start)
        guard countFits else {
            throw FormatError(
                .outOfBounds, format: Self.format, offset: start + 12,
                "\(count) section entries of 32 bytes do not fit the \(fw.count - start) bytes "
                    + "from the descriptor to the end of the image")
        }
        guard UInt64(length) == 16 + UInt64(count) * 32 else {
            throw FormatError(
                .badValue, format: Self.format, offset: start + 4,
                "descriptor length \(length) does not match 16 + 32 × \(count) sections")
        }
        var sections: [TDVFSection] = []
        for index in 0..<Int(count) {
            let entryOffset = Int(reader.absoluteOffset)
            let section = TDVFSection(
                dataOffset: try reader.readU32LE("DataOffset"), rawDataSize: try reader.readU32LE("RawDataSize"),
                memoryAddress: try reader.readU64LE("MemoryAddress"),
                memoryDataSize: try reader.readU64LE("MemoryDataSize"),
                type: .init(raw: try reader.readU32LE("Type")), attributes: try reader.readU32LE("Attributes"),
                entryOffset: entryOffset)
            try Self.validate(section, index: index, firmwareSize: fw.count)
            sections.append(section)
        }
        try Self.checkOverlaps(sections)
        self.descriptorOffset = start
        self.version = version
        self.sections = sections
        self.firmwareSize = fw.count
    }

    static func validate(_ s: TDVFSection, index: Int, firmwareSize: Int) throws(FormatError) {
        func fail(_ kind: FormatError.Kind, _ at: Int, _ message: String) -> FormatError {
            FormatError(kind, format: format, offset: s.entryOffset + at, "section \(index) (\(s.type)): \(message)")
        }
        if case .unknown(let raw) = s.type { throw fail(.unsupported, 24, "unknown section type \(raw)") }
        guard s.memoryAddress % 4096 == 0 else {
            throw fail(.badValue, 8, "MemoryAddress 0x\(String(s.memoryAddress, radix: 16)) is not 4 KiB aligned")
        }
        guard s.memoryDataSize % 4096 == 0 else {
            throw fail(.badValue, 16, "MemoryDataSize 0x\(String(s.memoryDataSize, radix: 16)) is not a 4 KiB multiple")
        }
        guard s.memoryDataSize >= UInt64(s.rawDataSize) else {
            throw fail(.badValue, 16, "MemoryDataSize \(s.memoryDataSize) is smaller than RawDataSize \(s.rawDataSize)")
        }
        let (memoryEnd, overflow) = s.memoryAddress.addingReportingOverflow(s.memoryDataSize)
        guard !overflow, memoryEnd <= 1 << 52 else {
            throw fail(.outOfBounds, 8, "guest range past the 52-bit physical address space")
        }
        guard s.attributes & ~(TDVFSection.attributeMRExtend | TDVFSection.attributePageAug) == 0 else {
            throw fail(.unsupported, 28, "unknown attribute bits 0x\(String(s.attributes, radix: 16))")
        }
        if s.type == .tdHOB && s.measuresContents {
            throw fail(.badValue, 28, "a TD_HOB section cannot have MR.EXTEND (QEMU rejects it)")
        }
        // Bytes that come from the file: RawDataSize, or the whole MemoryDataSize when measured, because
        // QEMU maps BFV/CFV sections straight from the firmware image.
        let fromFile =
            (s.type == .bfv || s.type == .cfv) && s.measuresContents ? s.memoryDataSize : UInt64(s.rawDataSize)
        if fromFile > 0 && UInt64(s.dataOffset) + fromFile > UInt64(firmwareSize) {
            throw fail(
                .outOfBounds, 0,
                "data 0x\(String(s.dataOffset, radix: 16))+0x\(String(fromFile, radix: 16)) runs past the end "
                    + "of the \(firmwareSize)-byte image (measure the image QEMU maps with -bios, e.g. OVMF.fd, "
                    + "not OVMF_CODE.fd)")
        }
    }

    static func checkOverlaps(_ sections: [TDVFSection]) throws(FormatError) {
        for (i, a) in sections.enumerated() {
            for (j, b) in sections.enumerated() where j > i {
                if a.memoryDataSize > 0, b.memoryDataSize > 0, a.memoryAddress < b.memoryAddress + b.memoryDataSize,
                    b.memoryAddress < a.memoryAddress + a.memoryDataSize
                {
                    throw FormatError(
                        .overlap, format: format, offset: b.entryOffset + 8,
                        "section \(j) (\(b.type)) overlaps section \(i) (\(a.type)) in guest memory at "
                            + "0x\(String(max(a.memoryAddress, b.memoryAddress), radix: 16))")
                }
                let aEnd = UInt64(a.dataOffset) + UInt64(a.rawDataSize)
                let bEnd = UInt64(b.dataOffset) + UInt64(b.rawDataSize)
                if a.rawDataSize > 0, b.rawDataSize > 0, UInt64(a.dataOffset) < bEnd, UInt64(b.dataOffset) < aEnd {
                    throw FormatError(
                        .overlap, format: format, offset: b.entryOffset,
                        "section \(j) (\(b.type)) file bytes overlap section \(i) (\(a.type)) at file offset "
                            + "0x\(String(max(a.dataOffset, b.dataOffset), radix: 16))")
                }
            }
        }
    }
}
