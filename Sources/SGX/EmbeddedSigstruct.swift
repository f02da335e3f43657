import EnclaveCore

/// Where a SIGSTRUCT was found.
public enum SigstructSource: String, Sendable {
    /// A raw 1808-byte `.sig` file (Gramine, Fortanix `sgxs-sign`, `sgx_sign dump -cssfile`).
    case raw = "sig"
    /// The `.note.sgxmeta` section of an Intel SGX SDK signed enclave (`metadata_t.enclave_css`).
    case sgxmeta = ".note.sgxmeta"
    /// The `.oeinfo` section of an Open Enclave / EGo enclave (`oe_sgx_enclave_properties_t.sigstruct`).
    case oeinfo = ".oeinfo"
}

/// Reads a SIGSTRUCT from a `.sig` file or from an enclave ELF that embeds one (<doc:EmbeddedSigstructs>).
///
/// ```swift
/// let (sig, source, offset) = try SigstructLocator.read(path: "enclave.signed.so")
/// ```
public enum SigstructLocator {
    /// `metadata_t.magic_num` of the Intel SDK.
    public static let sdkMetadataMagic: UInt64 = 0x86A8_0294_635D_0E4C
    /// Offsets of the SIGSTRUCT inside `oe_sgx_enclave_properties_t` across Open Enclave releases, newest first.
    public static let oeinfoOffsets = [144, 112, 96, 48]

    public struct Found: Sendable {
        public var sigstruct: Sigstruct
        public var source: SigstructSource
        /// File offset of the SIGSTRUCT.
        public var offset: UInt64
    }

    public static func read(path: String) throws -> Found {
        let file = try FileInput(path: path)
        do {
            let prefix = try file.read(at: 0, count: Int(min(file.size, 64)), format: "file")
            if ELFFile.looksLikeELF(prefix) {
                return try fromELF(ELFFile(file: file), file: file)
            }
            guard file.size == UInt64(Sigstruct.size) else {
                throw FormatError(
                    file.size < UInt64(Sigstruct.size) ? .truncated : .tooLarge, format: Sigstruct.format, offset: 0,
                    "expected a 1808-byte SIGSTRUCT (.sig) or an ELF with .note.sgxmeta or .oeinfo, got \(file.size) bytes"
                )
            }
            let bytes = try file.readAll(limit: UInt64(Sigstruct.size), format: Sigstruct.format)
            return Found(sigstruct: try Sigstruct(bytes: bytes), source: .raw, offset: 0)
        } catch let error as FormatError {
            throw error.in(file: path)
        }
    }

    public static func fromELF(_ elf: ELFFile, file: FileInput) throws -> Found {
        if let section = elf.section(named: ".note.sgxmeta") {
            let bytes = try elf.contents(of: section, in: file)
            return try fromSGXMeta(bytes, sectionOffset: section.offset)
        }
        if let section = elf.section(named: ".oeinfo") {
            let bytes = try elf.contents(of: section, in: file)
            return try fromOEInfo(bytes, sectionOffset: section.offset)
        }
        throw FormatError(
            .missing, format: ELFFile.format, offset: nil,
            "the ELF has neither a .note.sgxmeta (Intel SDK) nor an .oeinfo (Open Enclave) section; pass the .sig file")
    }

    /// `.note.sgxmeta`: an ELF note (namesz 13 "sgx_metadata", type 1, no padding after the name) whose
    /// descriptor is `metadata_t`; the SIGSTRUCT (`enclave_css`) is at byte 64 of `metadata_t`.
    public static func fromSGXMeta(_ bytes: [UInt8], sectionOffset: UInt64) throws -> Found {
        let format = ".note.sgxmeta"
        var r = ByteReader(bytes, format: format, baseOffset: sectionOffset)
        let namesz = try r.readU32LE("namesz")
        _ = try r.readU32LE("descsz")
        _ = try r.readU32LE("type")
        guard namesz == 13, let name = try? r.readBytes(13, "note name"), name == Array("sgx_metadata\0".utf8) else {
            throw FormatError(
                .badMagic, format: format, offset: sectionOffset,
                "expected an ELF note named \"sgx_metadata\" (namesz 13)")
        }
        let metadata = r.position
        let magic = try r.readU64LE("metadata magic")
        guard magic == sdkMetadataMagic else {
            throw FormatError(
                .badMagic, format: format, offset: sectionOffset + UInt64(metadata),
                "metadata magic 0x\(String(magic, radix: 16)), expected 0x\(String(sdkMetadataMagic, radix: 16))")
        }
        try r.seek(to: metadata + 64)
        let at = r.absoluteOffset
        let css = try r.readBytes(Sigstruct.size, "SIGSTRUCT (enclave_css)")
        return Found(sigstruct: try Sigstruct(bytes: css, baseOffset: at), source: .sgxmeta, offset: at)
    }

    /// `.oeinfo`: `oe_sgx_enclave_properties_t`, whose SIGSTRUCT moved between OE releases (48 → 144); the
    /// first known offset holding the SIGSTRUCT header wins. An all-zero SIGSTRUCT means "not signed".
    public static func fromOEInfo(_ bytes: [UInt8], sectionOffset: UInt64) throws -> Found {
        let format = ".oeinfo"
        for candidate in oeinfoOffsets where candidate + Sigstruct.size <= bytes.count {
            if Array(bytes[candidate..<candidate + 16]) == Sigstruct.header {
                let at = sectionOffset + UInt64(candidate)
                let sig = try Sigstruct(bytes: Array(bytes[candidate..<candidate + Sigstruct.size]), baseOffset: at)
                return Found(sigstruct: sig, source: .oeinfo, offset: at)
            }
        }
        if let first = oeinfoOffsets.first, first + Sigstruct.size <= bytes.count,
            bytes[first..<first + Sigstruct.size].allSatisfy({ $0 == 0 })
        {
            throw FormatError(
                .missing, format: format, offset: sectionOffset + UInt64(first),
                "the enclave is not signed (its SIGSTRUCT is all zeros); sign it with oesign or `ego sign` first")
        }
        throw FormatError(
            .badMagic, format: format, offset: sectionOffset,
            "no SIGSTRUCT header at the known offsets \(oeinfoOffsets) of oe_sgx_enclave_properties_t (\(bytes.count) bytes)"
        )
    }
}
