import EnclaveCore

/// The byte ranges of a PE/COFF image that its Authenticode hash covers (PE/COFF spec Appendix A,
/// "Calculating the PE Image Hash"; edk2 `MeasurePeImageAndExtend`; <doc:KernelMeasurement>).
///
/// Only the headers are parsed (a few KiB); the hash itself streams the listed ranges, so a 14 MiB
/// kernel is read once in bounded memory.
///
/// ```swift
/// let file = try FileInput(path: "vmlinuz")
/// let layout = try AuthenticodeLayout(headers: try file.read(at: 0, count: 4096, format: "PE"), fileSize: file.size)
/// ```
public struct AuthenticodeLayout: Sendable, Equatable {
    public static let format = "PE/COFF"
    /// How many leading bytes of the file ``init(headers:fileSize:)`` may need (headers and section table).
    public static let maxHeaderBytes = 64 << 10

    /// The hashed ranges of the file, in hashing order.
    public let ranges: [Range<UInt64>]
    /// The certificate table (security directory) that is excluded from the hash, if any.
    public let certificateTable: Range<UInt64>?
    /// `SizeOfHeaders`.
    public let sizeOfHeaders: UInt64

    /// Parses the PE headers. `headers` is the start of the file (at least the headers and section table,
    /// or the whole file if it is smaller); `fileSize` the size of the whole file.
    public init(headers h: [UInt8], fileSize: UInt64) throws(FormatError) {
        func fail(_ kind: FormatError.Kind, _ offset: Int, _ message: String) -> FormatError {
            FormatError(kind, format: Self.format, offset: offset, message)
        }
        func u16(_ at: Int, _ what: String) throws(FormatError) -> UInt16 {
            guard let v = h.le(UInt16.self, at: at) else {
                throw fail(.truncated, at, "expected the 2-byte \(what) at offset \(at), the headers end at \(h.count)")
            }
            return v
        }
        func u32(_ at: Int, _ what: String) throws(FormatError) -> UInt32 {
            guard let v = h.le(UInt32.self, at: at) else {
                throw fail(.truncated, at, "expected the 4-byte \(what) at offset \(at), the headers end at \(h.count)")
            }
            return v
        }
        guard try u16(0, "DOS signature") == 0x5a4d else {
            throw fail(.badMagic, 0, "no \"MZ\" DOS signature: not a PE/COFF image (an EFI-stub kernel is)")
        }
        let pe = Int(try u32(0x3c, "e_lfanew"))
        guard pe <= Self.maxHeaderBytes, try u32(pe, "PE signature") == 0x0000_4550 else {
            throw fail(.badMagic, pe, "no \"PE\\0\\0\" signature at e_lfanew \(pe): not a PE/COFF image")
        }
        let sectionCount = Int(try u16(pe + 6, "NumberOfSections"))
        let optionalSize = Int(try u16(pe + 20, "SizeOfOptionalHeader"))
        let opt = pe + 24
        let magic = try u16(opt, "optional header magic")
        let (dataDirectory, rvaCountOffset): (Int, Int)
        switch magic {
        case 0x20b: (dataDirectory, rvaCountOffset) = (opt + 112, opt + 108)
        case 0x10b: (dataDirectory, rvaCountOffset) = (opt + 96, opt + 92)
        default:
            throw fail(.badMagic, opt, "optional header magic 0x\(String(magic, radix: 16)), expected 0x10b or 0x20b")
        }
        let rvaCount = Int(try u32(rvaCountOffset, "NumberOfRvaAndSizes"))
        guard rvaCount <= 16, dataDirectory + 8 * rvaCount <= opt + optionalSize else {
            throw fail(
                .badValue, rvaCountOffset,
                "NumberOfRvaAndSizes \(rvaCount) does not fit the \(optionalSize)-byte optional header")
        }
        let headerSize = UInt64(try u32(opt + 60, "SizeOfHeaders"))
        let checksum = opt + 64
        guard headerSize <= fileSize, headerSize >= UInt64(opt + optionalSize + 40 * sectionCount) else {
            throw fail(
                .outOfBounds, opt + 60,
                "SizeOfHeaders \(headerSize) must cover the \(opt + optionalSize + 40 * sectionCount) bytes of "
                    + "headers and section table and fit the \(fileSize)-byte file")
        }
        var ranges: [Range<UInt64>] = [0..<UInt64(checksum)]
        var certificate: Range<UInt64>? = nil
        if rvaCount <= 4 {
            ranges.append(UInt64(checksum + 4)..<headerSize)
        } else {
            let security = dataDirectory + 32
            ranges.append(UInt64(checksum + 4)..<UInt64(security))
            ranges.append(UInt64(security + 8)..<headerSize)
            let address = UInt64(try u32(security, "certificate table address"))
            let size = UInt64(try u32(security + 4, "certificate table size"))
            if size > 0 {
                guard address >= headerSize, address + size <= fileSize else {
                    throw fail(
                        .outOfBounds, security,
                        "certificate table 0x\(String(address, radix: 16))+0x\(String(size, radix: 16)) is outside "
                            + "the file (\(fileSize) bytes) or inside its headers")
                }
                certificate = address..<address + size
            }
        }
        let table = opt + optionalSize
        var sections: [Range<UInt64>] = []
        for i in 0..<sectionCount {
            let entry = table + 40 * i
            let size = UInt64(try u32(entry + 16, "SizeOfRawData"))
            let pointer = UInt64(try u32(entry + 20, "PointerToRawData"))
            guard size > 0 else { continue }
            guard pointer + size <= fileSize else {
                throw fail(
                    .outOfBounds, entry + 16,
                    "section \(i) raw data 0x\(String(pointer, radix: 16))+0x\(String(size, radix: 16)) runs past "
                        + "the end of the \(fileSize)-byte file")
            }
            sections.append(pointer..<pointer + size)
        }
        sections.sort { $0.lowerBound < $1.lowerBound }
        ranges += sections
        let hashed = sections.reduce(headerSize) { $0 + UInt64($1.count) }
        let certSize = UInt64(certificate?.count ?? 0)
        if fileSize > hashed {
            // edk2: hash what follows the sections, minus the certificate table; fail if they do not add up.
            guard fileSize >= hashed + certSize else {
                throw fail(
                    .outOfBounds, dataDirectory + 36,
                    "the certificate table (\(certSize) bytes) is larger than the \(fileSize - hashed) bytes after "
                        + "the sections")
            }
            if fileSize > hashed + certSize { ranges.append(hashed..<fileSize - certSize) }
        }
        self.ranges = ranges.filter { !$0.isEmpty }
        self.certificateTable = certificate
        self.sizeOfHeaders = headerSize
    }
}

/// A byte patch applied to a file's bytes as they stream past (QEMU's kernel header rewrite).
public struct BytePatch: Sendable, Equatable {
    public let offset: UInt64
    public let bytes: [UInt8]
    public init(offset: UInt64, bytes: [UInt8]) {
        self.offset = offset
        self.bytes = bytes
    }
}

/// The Authenticode hash of a PE/COFF image (SHA-384 for TDX RTMR1, SHA-256 for Secure Boot db entries).
///
/// ```swift
/// let digest = try Authenticode.hash(path: "vmlinuz", .sha384)
/// ```
public enum Authenticode {
    /// Hashes an in-memory image.
    public static func hash(_ image: [UInt8], _ algorithm: HashAlgorithm) throws(FormatError) -> [UInt8] {
        let layout = try AuthenticodeLayout(headers: image, fileSize: UInt64(image.count))
        let d = Digest(algorithm)
        image.withUnsafeBytes { buffer in
            for r in layout.ranges {
                d.update(UnsafeRawBufferPointer(rebasing: buffer[Int(r.lowerBound)..<Int(r.upperBound)]))
            }
        }
        return d.finalize()
    }

    /// Hashes a file, streamed, with `patches` applied to the bytes as read (the file is not changed).
    /// `observe` sees every chunk of the file that is hashed (used to scan the kernel in the same pass).
    public static func hash(
        file: FileInput, _ algorithm: HashAlgorithm, patches: [BytePatch] = [], progress: (any ProgressSink)? = nil,
        observe: ((UnsafeRawBufferPointer) -> Void)? = nil
    ) throws -> [UInt8] {
        let headers = try file.read(
            at: 0, count: Int(min(file.size, UInt64(AuthenticodeLayout.maxHeaderBytes))),
            format: AuthenticodeLayout.format)
        let layout: AuthenticodeLayout
        do {
            layout = try AuthenticodeLayout(headers: headers, fileSize: file.size)
        } catch {
            throw error.in(file: file.path)
        }
        let d = Digest(algorithm)
        var offsets = layout.ranges.map(\.lowerBound)
        var scratch: [UInt8] = []
        try FileStream.forEachChunk(of: file, ranges: layout.ranges, progress: progress) { index, chunk in
            let start = offsets[index]
            offsets[index] += UInt64(chunk.count)
            observe?(chunk)
            let end = start + UInt64(chunk.count)
            let touching = patches.filter { $0.offset < end && $0.offset + UInt64($0.bytes.count) > start }
            guard !touching.isEmpty else {
                d.update(chunk)
                return
            }
            scratch = Array(chunk)
            for p in touching {
                for (i, b) in p.bytes.enumerated() {
                    let at = p.offset + UInt64(i)
                    if at >= start && at < end { scratch[Int(at - start)] = b }
                }
            }
            d.update(scratch)
        }
        return d.finalize()
    }

    /// Hashes the file at `path`.
    public static func hash(path: String, _ algorithm: HashAlgorithm) throws -> [UInt8] {
        try hash(file: try FileInput(path: path), algorithm)
    }
}
