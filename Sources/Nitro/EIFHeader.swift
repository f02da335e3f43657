import EnclaveCore

/// The fixed layout of an Enclave Image File (<doc:EIFFileFormat>). All integers are
/// big-endian; section offsets point at 12-byte section headers, sizes count data only.
public enum EIFLayout {
    public static let magic: [UInt8] = Array(".eif".utf8)
    public static let headerSize = 548
    public static let sectionHeaderSize = 12
    public static let maxSections = 32
    public static let currentVersion: UInt16 = 4
    /// Offset of the CRC-32 field; the checksum covers everything before it and every section after it.
    public static let crcOffset = 544
    /// Flags bit 0: the image is for aarch64.
    public static let archARM64Flag: UInt16 = 1
    /// Section sizes nitro-cli rejects above: the signature section is at most 32 KiB.
    public static let maxSignatureSize: UInt64 = 32_768
}

/// An EIF section type (u16 in each section header).
public enum EIFSectionType: Sendable, Hashable, CustomStringConvertible {
    case kernel, cmdline, ramdisk, signature, metadata
    case unknown(UInt16)

    public init(raw: UInt16) {
        switch raw {
        case 1: self = .kernel
        case 2: self = .cmdline
        case 3: self = .ramdisk
        case 4: self = .signature
        case 5: self = .metadata
        default: self = .unknown(raw)
        }
    }

    public var raw: UInt16 {
        switch self {
        case .kernel: 1
        case .cmdline: 2
        case .ramdisk: 3
        case .signature: 4
        case .metadata: 5
        case .unknown(let v): v
        }
    }

    public var description: String {
        switch self {
        case .kernel: "Kernel"
        case .cmdline: "Cmdline"
        case .ramdisk: "Ramdisk"
        case .signature: "Signature"
        case .metadata: "Metadata"
        case .unknown(let v): "Unknown(\(v))"
        }
    }
}

/// CPU architecture recorded in the EIF header flags.
public enum EIFArchitecture: String, Sendable, CaseIterable {
    case x86_64, aarch64

    var flags: UInt16 { self == .aarch64 ? EIFLayout.archARM64Flag : 0 }
}

/// The 548-byte EIF header.
public struct EIFHeader: Sendable, Equatable {
    public var version: UInt16 = EIFLayout.currentVersion
    public var flags: UInt16 = 0
    public var defaultMemory: UInt64 = 1 << 30
    public var defaultCPUs: UInt64 = 2
    public var reserved: UInt16 = 0
    /// Offsets of the section headers, one per section (at most 32).
    public var sectionOffsets: [UInt64] = []
    /// Sizes of the section data, one per section.
    public var sectionSizes: [UInt64] = []
    public var unused: UInt32 = 0
    public var crc32: UInt32 = 0

    public init() {}

    public var architecture: EIFArchitecture { flags & EIFLayout.archARM64Flag != 0 ? .aarch64 : .x86_64 }

    /// The header bytes; `crc32` is written as stored.
    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: EIFLayout.headerSize)
        w.append(EIFLayout.magic)
        w.appendU16BE(version)
        w.appendU16BE(flags)
        w.appendU64BE(defaultMemory)
        w.appendU64BE(defaultCPUs)
        w.appendU16BE(reserved)
        w.appendU16BE(UInt16(sectionOffsets.count))
        for i in 0..<EIFLayout.maxSections { w.appendU64BE(i < sectionOffsets.count ? sectionOffsets[i] : 0) }
        for i in 0..<EIFLayout.maxSections { w.appendU64BE(i < sectionSizes.count ? sectionSizes[i] : 0) }
        w.appendU32BE(unused)
        w.appendU32BE(crc32)
        return w.bytes
    }

    /// Parses and checks the header fields that need no other part of the file.
    public static func parse(_ bytes: [UInt8]) throws(FormatError) -> EIFHeader {
        var r = ByteReader(bytes, format: "EIF")
        let magic = try r.readBytes(4, "magic")
        guard magic == EIFLayout.magic else {
            throw FormatError(
                .badMagic, format: "EIF", offset: 0, "magic is \(magic.hex), expected 2e656966 (\".eif\")")
        }
        var h = EIFHeader()
        h.version = try r.readU16BE("version")
        guard (2...EIFLayout.currentVersion).contains(h.version) else {
            throw FormatError(.badVersion, format: "EIF", offset: 4, "version \(h.version), expected 2 to 4")
        }
        h.flags = try r.readU16BE("flags")
        h.defaultMemory = try r.readU64BE("default memory")
        h.defaultCPUs = try r.readU64BE("default CPUs")
        h.reserved = try r.readU16BE("reserved")
        let count = Int(try r.readU16BE("section count"))
        guard count >= 2, count <= EIFLayout.maxSections else {
            throw FormatError(
                .badValue, format: "EIF", offset: 26, "section count \(count), expected 2 to \(EIFLayout.maxSections)")
        }
        var offsets: [UInt64] = []
        for _ in 0..<EIFLayout.maxSections { offsets.append(try r.readU64BE("section offset")) }
        var sizes: [UInt64] = []
        for _ in 0..<EIFLayout.maxSections { sizes.append(try r.readU64BE("section size")) }
        for i in count..<EIFLayout.maxSections where offsets[i] != 0 || sizes[i] != 0 {
            throw FormatError(
                .badValue, format: "EIF", offset: 28 + 8 * i,
                "unused section slot \(i) is not zero (the header says \(count) sections)")
        }
        h.sectionOffsets = Array(offsets.prefix(count))
        h.sectionSizes = Array(sizes.prefix(count))
        h.unused = try r.readU32BE("unused")
        h.crc32 = try r.readU32BE("crc32")
        return h
    }
}
