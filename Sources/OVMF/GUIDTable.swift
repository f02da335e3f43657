import EnclaveCore

/// A 16-byte EFI GUID in its binary (mixed-endian) layout, as it is stored in firmware.
public struct EFIGUID: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) {
        precondition(bytes.count == 16, "a GUID is 16 bytes")
        self.bytes = bytes
    }

    /// Parses the canonical text form `96b582de-1fb2-45f7-baea-a366c55a082d`; the first three groups
    /// are stored little-endian.
    public init?(_ text: String) {
        let groups = text.split(separator: "-").map(String.init)
        guard groups.count == 5, [8, 4, 4, 4, 12] == groups.map(\.count),
            let g0 = Hex.decode(groups[0]), let g1 = Hex.decode(groups[1]), let g2 = Hex.decode(groups[2]),
            let g3 = Hex.decode(groups[3]), let g4 = Hex.decode(groups[4])
        else { return nil }
        bytes = g0.reversed() + g1.reversed() + g2.reversed() + g3 + g4
    }

    /// A GUID written in this source file; a typo is a programming error.
    init(constant text: String) {
        guard let guid = EFIGUID(text) else { preconditionFailure("malformed GUID constant \(text)") }
        self = guid
    }

    public var description: String {
        let b = bytes
        let g0 = Hex.encode(b[0..<4].reversed())
        let g1 = Hex.encode(b[4..<6].reversed())
        let g2 = Hex.encode(b[6..<8].reversed())
        return "\(g0)-\(g1)-\(g2)-\(Hex.encode(b[8..<10]))-\(Hex.encode(b[10..<16]))"
    }

    // GUIDs of the OVMF reset-vector table (edk2 OvmfPkg/ResetVector/Ia16/ResetVectorVtf0.asm).
    public static let tableFooter = EFIGUID(constant: "96b582de-1fb2-45f7-baea-a366c55a082d")
    public static let tdxMetadataOffset = EFIGUID(constant: "e47a6535-984a-4798-865e-4685a7bf8ec2")
    public static let sevMetadataOffset = EFIGUID(constant: "dc886566-984a-4798-a75e-5585a7bf67cc")
    public static let sevHashTable = EFIGUID(constant: "7255371f-3a3b-4b04-927b-1da6efa8d454")
    public static let sevESResetBlock = EFIGUID(constant: "00f771de-1a7e-4fcb-890e-68c77e2fb44e")
    public static let sevSecretBlock = EFIGUID(constant: "4c2eb361-7d9b-4cc3-8081-127c90d3d294")
}

/// The OVMF reset-vector GUID table: a list of (GUID, data) entries stored just before the last
/// 32 bytes of the firmware image and read backwards from a footer GUID
/// (<doc:ResetVectorGUIDTable>).
///
/// ```swift
/// let table = try OVMFGUIDTable(firmware: bytes)
/// let tdvfOffset = table.u32(.tdxMetadataOffset)   // counted from the end of the image
/// ```
public struct OVMFGUIDTable: Sendable {
    public struct Entry: Sendable {
        public let guid: EFIGUID
        public let data: [UInt8]
        /// File offset of the entry's data.
        public let offset: Int
    }

    public let entries: [Entry]

    static let format = "OVMF GUID table"

    /// Parses the table from the whole firmware image.
    public init(firmware fw: [UInt8]) throws(FormatError) {
        let end = fw.count - 32
        guard end >= 18 else {
            throw FormatError(
                .truncated, format: Self.format, offset: 0,
                "firmware of \(fw.count) bytes is too small for a GUID table")
        }
        let footer = Array(fw[(end - 16)..<end])
        guard footer == EFIGUID.tableFooter.bytes else {
            throw FormatError(
                .missing, format: Self.format, offset: end - 16,
                "no OVMF GUID table footer (\(EFIGUID.tableFooter)); is this an OVMF/TDVF build with a reset vector?")
        }
        let totalLength = Int(fw.le(UInt16.self, at: end - 18) ?? 0)
        guard totalLength >= 18, totalLength <= end else {
            throw FormatError(
                .outOfBounds, format: Self.format, offset: end - 18,
                "table length \(totalLength) does not fit the image")
        }
        let regionStart = end - totalLength
        var cursor = end - 18  // end of the entries region (absolute)
        var entries: [Entry] = []
        while cursor - regionStart >= 18 {
            let guid = EFIGUID(bytes: Array(fw[(cursor - 16)..<cursor]))
            let length = Int(fw.le(UInt16.self, at: cursor - 18) ?? 0)
            guard length >= 18, length <= cursor - regionStart else {
                throw FormatError(
                    .outOfBounds, format: Self.format, offset: cursor - 18,
                    "entry \(guid) has length \(length), but only \(cursor - regionStart) bytes of table remain")
            }
            let dataStart = cursor - length
            entries.append(Entry(guid: guid, data: Array(fw[dataStart..<(cursor - 18)]), offset: dataStart))
            cursor -= length
        }
        self.entries = entries
    }

    public func entry(_ guid: EFIGUID) -> Entry? { entries.first { $0.guid == guid } }

    /// The first little-endian u32 of an entry's data (how sev-snp-measure reads them).
    public func u32(_ guid: EFIGUID) -> UInt32? { entry(guid).flatMap { $0.data.le(UInt32.self, at: 0) } }
}
