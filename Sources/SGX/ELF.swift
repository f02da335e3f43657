import EnclaveCore

/// A minimal, bounds-checked ELF64 little-endian reader (System V gABI §4): the header, program headers
/// and section headers with names. Enough to lay out an enclave and find `.note.sgxmeta` / `.oeinfo`.
///
/// ```swift
/// let elf = try ELFFile(file: FileInput(path: "enclave.so"))
/// for segment in elf.loadSegments { print(segment.vaddr) }
/// ```
public struct ELFFile: Sendable {
    public static let format = "ELF"

    /// One program header.
    public struct ProgramHeader: Sendable, Equatable {
        public var index: Int
        public var type: UInt32
        public var flags: UInt32
        public var offset: UInt64
        public var vaddr: UInt64
        public var fileSize: UInt64
        public var memorySize: UInt64
        public var align: UInt64
        /// Where this header sits in the file (for errors).
        public var headerOffset: UInt64

        public static let load: UInt32 = 1
        public var readable: Bool { flags & 4 != 0 }
        public var writable: Bool { flags & 2 != 0 }
        public var executable: Bool { flags & 1 != 0 }
    }

    /// One section header.
    public struct Section: Sendable, Equatable {
        public var name: String
        public var type: UInt32
        public var offset: UInt64
        public var size: UInt64
        public var address: UInt64
        public var headerOffset: UInt64
    }

    public let fileSize: UInt64
    public let entry: UInt64
    public let type: UInt16
    public let programHeaders: [ProgramHeader]
    public let sections: [Section]

    public var loadSegments: [ProgramHeader] { programHeaders.filter { $0.type == ProgramHeader.load } }

    public func section(named name: String) -> Section? { sections.first { $0.name == name } }

    /// True when `prefix` starts with the ELF magic.
    public static func looksLikeELF(_ prefix: [UInt8]) -> Bool { prefix.starts(with: [0x7f, 0x45, 0x4c, 0x46]) }

    public init(file: FileInput) throws {
        do {
            let header = try file.read(at: 0, count: min(64, Int(file.size)), format: Self.format)
            try self.init(header: header, fileSize: file.size) { offset, count in
                try file.read(at: offset, count: count, format: Self.format)
            }
        } catch let error as FormatError {
            throw error.in(file: file.path)
        }
    }

    public init(bytes: [UInt8]) throws {
        try self.init(header: Array(bytes.prefix(64)), fileSize: UInt64(bytes.count)) { offset, count in
            guard offset <= UInt64(bytes.count), UInt64(count) <= UInt64(bytes.count) - offset else {
                throw FormatError(
                    .truncated, format: Self.format, offset: offset, "expected \(count) bytes, file too short")
            }
            return Array(bytes[Int(offset)..<Int(offset) + count])
        }
    }

    private static let maxHeaders = 4096

    init(header: [UInt8], fileSize: UInt64, read: (UInt64, Int) throws -> [UInt8]) throws {
        var r = ByteReader(header, format: Self.format)
        let ident = try r.readBytes(16, "e_ident")
        guard ident.starts(with: [0x7f, 0x45, 0x4c, 0x46]) else {
            throw FormatError(.badMagic, format: Self.format, offset: 0, "not an ELF file (expected 7f 45 4c 46)")
        }
        guard ident[4] == 2, ident[5] == 1 else {
            throw FormatError(
                .unsupported, format: Self.format, offset: 4,
                "only 64-bit little-endian ELF is supported (EI_CLASS \(ident[4]), EI_DATA \(ident[5]))")
        }
        self.fileSize = fileSize
        type = try r.readU16LE("e_type")
        _ = try r.readU16LE("e_machine")
        _ = try r.readU32LE("e_version")
        entry = try r.readU64LE("e_entry")
        let phoff = try r.readU64LE("e_phoff")
        let shoff = try r.readU64LE("e_shoff")
        _ = try r.readU32LE("e_flags")
        _ = try r.readU16LE("e_ehsize")
        let phentsize = try r.readU16LE("e_phentsize")
        let phnum = Int(try r.readU16LE("e_phnum"))
        let shentsize = try r.readU16LE("e_shentsize")
        let shnum = Int(try r.readU16LE("e_shnum"))
        let shstrndx = Int(try r.readU16LE("e_shstrndx"))

        var phdrs: [ProgramHeader] = []
        if phnum > 0 {
            guard phentsize == 56 else {
                throw FormatError(
                    .badValue, format: Self.format, offset: 54, "e_phentsize is \(phentsize), expected 56")
            }
            let table = try Self.table(
                read, offset: phoff, count: phnum, entrySize: 56, fileSize: fileSize, what: "program")
            var t = ByteReader(table, format: Self.format, baseOffset: phoff)
            for i in 0..<phnum {
                let at = t.absoluteOffset
                let type = try t.readU32LE()
                let flags = try t.readU32LE()
                let offset = try t.readU64LE()
                let vaddr = try t.readU64LE()
                _ = try t.readU64LE()
                let filesz = try t.readU64LE()
                let memsz = try t.readU64LE()
                let align = try t.readU64LE()
                if type == ProgramHeader.load {
                    let (end, overflow) = offset.addingReportingOverflow(filesz)
                    guard !overflow, end <= fileSize else {
                        throw FormatError(
                            .outOfBounds, format: Self.format, offset: at,
                            "PT_LOAD \(i): p_offset 0x\(String(offset, radix: 16)) + p_filesz 0x\(String(filesz, radix: 16)) is past the end of the file (\(fileSize) bytes)"
                        )
                    }
                    guard memsz >= filesz, vaddr.addingReportingOverflow(memsz).overflow == false else {
                        throw FormatError(
                            .badValue, format: Self.format, offset: at,
                            "PT_LOAD \(i): p_memsz 0x\(String(memsz, radix: 16)) is smaller than p_filesz or overflows")
                    }
                }
                phdrs.append(
                    ProgramHeader(
                        index: i, type: type, flags: flags, offset: offset, vaddr: vaddr, fileSize: filesz,
                        memorySize: memsz, align: align, headerOffset: at))
            }
        }
        programHeaders = phdrs

        var sections: [Section] = []
        if shnum > 0 && shoff != 0 {
            guard shentsize == 64 else {
                throw FormatError(
                    .badValue, format: Self.format, offset: 58, "e_shentsize is \(shentsize), expected 64")
            }
            let table = try Self.table(
                read, offset: shoff, count: shnum, entrySize: 64, fileSize: fileSize, what: "section")
            var raw: [(UInt32, UInt32, UInt64, UInt64, UInt64, UInt64)] = []
            var t = ByteReader(table, format: Self.format, baseOffset: shoff)
            for _ in 0..<shnum {
                let at = t.absoluteOffset
                let name = try t.readU32LE()
                let type = try t.readU32LE()
                _ = try t.readU64LE()
                let addr = try t.readU64LE()
                let offset = try t.readU64LE()
                let size = try t.readU64LE()
                try t.skip(24)
                raw.append((name, type, addr, offset, size, at))
            }
            var names: [UInt8] = []
            if shstrndx < raw.count, raw[shstrndx].1 != 8 {
                let (_, _, _, offset, size, at) = raw[shstrndx]
                guard size <= 1 << 24, offset.addingReportingOverflow(size).overflow == false, offset + size <= fileSize
                else {
                    throw FormatError(
                        .outOfBounds, format: Self.format, offset: at, "section name table is outside the file")
                }
                names = try read(offset, Int(size))
            }
            for (nameOffset, type, addr, offset, size, at) in raw {
                var name = ""
                if Int(nameOffset) < names.count {
                    let tail = names[Int(nameOffset)...]
                    name = String(decoding: tail.prefix { $0 != 0 }, as: UTF8.self)
                }
                sections.append(
                    Section(name: name, type: type, offset: offset, size: size, address: addr, headerOffset: at))
            }
        }
        self.sections = sections
    }

    private static func table(
        _ read: (UInt64, Int) throws -> [UInt8], offset: UInt64, count: Int, entrySize: Int, fileSize: UInt64,
        what: String
    ) throws -> [UInt8] {
        guard count <= maxHeaders else {
            throw FormatError(
                .tooLarge, format: format, offset: 0, "\(count) \(what) headers, at most \(maxHeaders) accepted")
        }
        let bytes = UInt64(count * entrySize)
        guard offset.addingReportingOverflow(bytes).overflow == false, offset + bytes <= fileSize else {
            throw FormatError(
                .outOfBounds, format: format, offset: offset,
                "the \(what) header table (\(count) × \(entrySize) bytes) is past the end of the file (\(fileSize) bytes)"
            )
        }
        return try read(offset, Int(bytes))
    }

    /// The bytes of a section that has file contents (not SHT_NOBITS), bounds-checked.
    public func contents(of section: Section, in file: FileInput, limit: UInt64 = 64 << 20) throws -> [UInt8] {
        guard section.type != 8 else {
            throw FormatError(
                .badValue, format: Self.format, offset: section.headerOffset,
                "section \(section.name) has no file contents")
        }
        guard section.size <= limit, section.offset.addingReportingOverflow(section.size).overflow == false,
            section.offset + section.size <= fileSize
        else {
            throw FormatError(
                .outOfBounds, format: Self.format, offset: section.headerOffset,
                "section \(section.name) (offset 0x\(String(section.offset, radix: 16)), size 0x\(String(section.size, radix: 16))) is outside the file"
            )
        }
        return try file.read(at: section.offset, count: Int(section.size), format: Self.format)
    }
}
