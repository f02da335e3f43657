import EnclaveCore

/// One section of an EIF as the header table locates it.
public struct EIFSection: Sendable, Equatable {
    /// Position in the header table.
    public let index: Int
    public let type: EIFSectionType
    /// File offset of the 12-byte section header.
    public let headerOffset: UInt64
    /// Size of the section data.
    public let size: UInt64

    public var dataOffset: UInt64 { headerOffset + UInt64(EIFLayout.sectionHeaderSize) }
    public var end: UInt64 { dataOffset + size }
}

/// An EIF file opened for reading and validated structurally.
///
/// The reader follows the header's offset table, as the Nitro hypervisor does, and checks every
/// entry against its section header, the file size and the other sections (no overlaps, exactly one
/// kernel and one cmdline, at least one ramdisk, metadata present from version 4 on, at most one
/// signature). It also records whether the sections lie back to back from offset 548 — the layout
/// `eif_build` writes and the only one `nitro-cli describe-eif` can read, since nitro-cli walks the
/// sections contiguously and ignores the table (aws-nitro-enclaves-image-format#25).
///
/// ```swift
/// let eif = try EIFImage(file: FileInput(path: "image.eif"))
/// let m = try eif.measure()
/// print(m.pcr0.hex)
/// ```
public struct EIFImage: Sendable {
    public let file: FileInput
    public let header: EIFHeader
    /// Sections in header-table order.
    public let sections: [EIFSection]
    /// Sections lie back to back from the end of the header, in table order.
    public let isContiguous: Bool
    /// Bytes after the end of the last section.
    public let trailingBytes: UInt64

    static let format = "EIF"

    public init(file: FileInput) throws {
        do {
            try self.init(validating: file)
        } catch let error as FormatError {
            throw error.in(file: file.path)
        }
    }

    private init(validating file: FileInput) throws {
        self.file = file
        guard file.size >= UInt64(EIFLayout.headerSize) else {
            if file.size >= 4, try file.read(at: 0, count: 4, format: Self.format) != EIFLayout.magic {
                throw FormatError(
                    .badMagic, format: Self.format, offset: 0, "not an EIF: the file does not start with \".eif\"")
            }
            throw FormatError(
                .truncated, format: Self.format, offset: file.size,
                "file of \(file.size) bytes is shorter than the \(EIFLayout.headerSize)-byte EIF header")
        }
        let header = try EIFHeader.parse(try file.read(at: 0, count: EIFLayout.headerSize, format: Self.format))
        self.header = header

        var sections: [EIFSection] = []
        for i in 0..<header.sectionOffsets.count {
            let offset = header.sectionOffsets[i]
            let size = header.sectionSizes[i]
            let tableField = 28 + 8 * i
            guard offset >= UInt64(EIFLayout.headerSize) else {
                throw FormatError(
                    .outOfBounds, format: Self.format, offset: tableField,
                    "section \(i) offset \(offset) points into the \(EIFLayout.headerSize)-byte header")
            }
            let (dataEnd, o1) = offset.addingReportingOverflow(UInt64(EIFLayout.sectionHeaderSize))
            let (end, o2) = dataEnd.addingReportingOverflow(size)
            guard !o1, !o2, end <= file.size else {
                throw FormatError(
                    .outOfBounds, format: Self.format, offset: tableField,
                    "section \(i) (offset \(offset), size \(size)) runs past the end of the file (\(file.size) bytes)")
            }
            let sh = try file.read(at: offset, count: EIFLayout.sectionHeaderSize, format: Self.format)
            var r = ByteReader(sh, format: Self.format, baseOffset: offset)
            let type = EIFSectionType(raw: try r.readU16BE("section type"))
            _ = try r.readU16BE("section flags")
            let headerSize = try r.readU64BE("section size")
            if case .unknown(let raw) = type {
                throw FormatError(
                    .badValue, format: Self.format, offset: offset,
                    "section \(i) has type \(raw), expected 1 (kernel) to 5 (metadata)")
            }
            guard headerSize == size else {
                throw FormatError(
                    .badValue, format: Self.format, offset: offset + 4,
                    "section \(i) header says \(headerSize) bytes, the header table says \(size)")
            }
            if type == .signature, header.version < 3 {
                throw FormatError(
                    .badValue, format: Self.format, offset: offset,
                    "signature section in a version \(header.version) EIF (needs 3+)")
            }
            if type == .metadata, header.version < 4 {
                throw FormatError(
                    .badValue, format: Self.format, offset: offset,
                    "metadata section in a version \(header.version) EIF (needs 4)")
            }
            sections.append(EIFSection(index: i, type: type, headerOffset: offset, size: size))
        }

        // No two sections (header + data) may share a byte.
        let byOffset = sections.sorted { $0.headerOffset < $1.headerOffset }
        for (a, b) in zip(byOffset, byOffset.dropFirst()) where b.headerOffset < a.end {
            throw FormatError(
                .overlap, format: Self.format, offset: b.headerOffset,
                "section \(b.index) (\(b.type)) starts inside section \(a.index) (\(a.type)), which ends at \(a.end)")
        }

        func count(_ t: EIFSectionType) -> Int { sections.filter { $0.type == t }.count }
        func firstOffset(_ t: EIFSectionType) -> UInt64 { sections.first { $0.type == t }?.headerOffset ?? 0 }
        guard count(.kernel) == 1 else {
            throw FormatError(
                .missing, format: Self.format, offset: 26, "found \(count(.kernel)) kernel sections, expected exactly 1"
            )
        }
        guard count(.cmdline) == 1 else {
            throw FormatError(
                .missing, format: Self.format, offset: 26,
                "found \(count(.cmdline)) cmdline sections, expected exactly 1")
        }
        guard count(.ramdisk) >= 1 else {
            throw FormatError(.missing, format: Self.format, offset: 26, "no ramdisk section, expected at least 1")
        }
        guard count(.signature) <= 1 else {
            throw FormatError(
                .badValue, format: Self.format, offset: firstOffset(.signature), "more than one signature section")
        }
        guard count(.metadata) <= 1 else {
            throw FormatError(
                .badValue, format: Self.format, offset: firstOffset(.metadata), "more than one metadata section")
        }
        if header.version >= 4, count(.metadata) == 0 {
            throw FormatError(
                .missing, format: Self.format, offset: 26, "version 4 EIF without the mandatory metadata section")
        }
        if let kernel = sections.first(where: { $0.type == .kernel }),
            let early = sections.first(where: { $0.type == .ramdisk && $0.headerOffset < kernel.headerOffset })
        {
            throw FormatError(
                .badValue, format: Self.format, offset: early.headerOffset,
                "ramdisk section \(early.index) comes before the kernel; ramdisks must follow it")
        }
        if let sig = sections.first(where: { $0.type == .signature }), sig.size > EIFLayout.maxSignatureSize {
            throw FormatError(
                .tooLarge, format: Self.format, offset: sig.headerOffset,
                "signature section of \(sig.size) bytes, at most \(EIFLayout.maxSignatureSize)")
        }

        self.sections = sections
        var expected = UInt64(EIFLayout.headerSize)
        var contiguous = true
        for s in sections {
            if s.headerOffset != expected { contiguous = false }
            expected = s.end
        }
        self.isContiguous = contiguous
        self.trailingBytes = file.size - (byOffset.last?.end ?? UInt64(EIFLayout.headerSize))
    }

    public var architecture: EIFArchitecture { header.architecture }

    public func section(_ type: EIFSectionType) -> EIFSection? { sections.first { $0.type == type } }

    public var ramdisks: [EIFSection] { sections.filter { $0.type == .ramdisk } }

    /// The data of a small section (cmdline, metadata, signature), at most `limit` bytes.
    public func data(of section: EIFSection, limit: UInt64 = 1 << 20) throws -> [UInt8] {
        guard section.size <= limit else {
            throw FormatError(
                .tooLarge, format: Self.format, offset: section.headerOffset,
                "\(section.type) section of \(section.size) bytes is larger than \(limit)", file: file.path)
        }
        return try file.read(at: section.dataOffset, count: Int(section.size), format: Self.format)
    }
}
