import EnclaveCore

/// Constants of the SGX measurement records (Intel SDM Vol. 3D §38.x ECREATE/EADD/EEXTEND pseudo-code;
/// the same 64-byte blocks are the records of Fortanix's SGXS format).
public enum SGXRecord {
    public static let pageSize: UInt64 = 4096
    public static let chunkSize = 256
    public static let headerSize = 64
    /// "ECREATE\0" as a little-endian u64.
    public static let ecreateTag: UInt64 = 0x0045_5441_4552_4345
    /// "EADD\0\0\0\0".
    public static let eaddTag: UInt64 = 0x0000_0000_4444_4145
    /// "EEXTEND\0".
    public static let eextendTag: UInt64 = 0x0044_4E45_5458_4545
    /// ESGXS extension: an ECREATE whose size field is the offset where the size must be patched.
    public static let unsizedTag: UInt64 = 0x0044_455A_4953_4E55
    /// ESGXS extension: an EEXTEND whose 256 data bytes are loaded but not measured.
    public static let unmeasuredTag: UInt64 = 0x4452_5341_454D_4E55
}

/// One run of consecutive pages with the same flags and measurement, for layouts printed with `--verbose`.
public struct SGXPageRun: Sendable, Equatable {
    /// Offset of the first page from the enclave base.
    public var offset: UInt64
    public var pageCount: UInt64
    public var flags: SecInfoFlags
    /// How many of the pages' 256-byte chunks were EEXTENDed (16 per fully measured page).
    public var measuredChunks: UInt64
    /// What the pages hold, when the layout rule knows (`tcs`, `code`, `heap`…).
    public var label: String

    public var end: UInt64 { offset + pageCount * SGXRecord.pageSize }
    /// Merges neighbouring runs with the same flags and label that are both fully measured or both unmeasured.
    public static func merged(_ runs: [SGXPageRun]) -> [SGXPageRun] {
        var out: [SGXPageRun] = []
        for run in runs {
            if var last = out.last, last.end == run.offset, last.flags == run.flags, last.label == run.label,
                (last.measuredChunks == 0 && run.measuredChunks == 0)
                    || (last.measuredChunks == last.pageCount * 16 && run.measuredChunks == run.pageCount * 16)
            {
                last.pageCount += run.pageCount
                last.measuredChunks += run.measuredChunks
                out[out.count - 1] = last
            } else {
                out.append(run)
            }
        }
        return out
    }

    public var measurement: String {
        measuredChunks == 0 ? "unmeasured" : measuredChunks == pageCount * 16 ? "measured" : "partially measured"
    }
}

/// The MRENCLAVE engine: SHA-256 over ECREATE, EADD and EEXTEND records (Intel SDM Vol. 3D, <doc:EnclaveMeasurement>),
/// streamed page by page with constant memory. Records can be teed to a sink (an SGXS writer).
///
/// It enforces what the CPU enforces: SIZE a power of two ≥ 8192, SSAFRAMESIZE ≥ 1, EADD page aligned,
/// inside SIZE and once per page, SECINFO flags that EADD accepts, EEXTEND 256-aligned on an added page.
///
/// ```swift
/// let m = try MREnclaveBuilder(size: 0x2000, ssaFrameSize: 1)
/// try m.addPage(offset: 0, flags: .tcs, content: tcsPage)
/// let mrenclave = try m.finalize()
/// ```
public final class MREnclaveBuilder {
    public let size: UInt64
    public let ssaFrameSize: UInt32
    /// Format named in errors ("SGX", "ELF", "Gramine"…).
    public let format: String
    private let digest = Digest(.sha256)
    private let sink: ((UnsafeRawBufferPointer) throws -> Void)?
    private let staging: UnsafeMutableRawBufferPointer
    private var used = 0
    private var added: [UInt64: UInt64] = [:]  // sparse bitmap: page index / 64 -> bits
    private var finalized = false
    public private(set) var pagesAdded: UInt64 = 0
    public private(set) var chunksExtended: UInt64 = 0
    /// Page runs in EADD order (consecutive pages with equal flags and measurement merge).
    public var layout: [SGXPageRun] {
        var all = runs
        if pendingChunks > 0, !all.isEmpty { all[all.count - 1].measuredChunks += pendingChunks }
        return SGXPageRun.merged(all)
    }
    private var runs: [SGXPageRun] = []
    /// EEXTENDs of the last run not yet added to it (the hot path does not copy the run).
    private var pendingChunks: UInt64 = 0
    private var lastRunRange: Range<UInt64> = 0..<0
    public var recordLayout = true

    private static let stagingSize = 1 << 18

    /// Starts a measurement with the ECREATE record. Throws when SIZE or SSAFRAMESIZE break SDM rules.
    public init(
        size: UInt64, ssaFrameSize: UInt32, format: String = "SGX", errorOffset: UInt64? = nil,
        sink: ((UnsafeRawBufferPointer) throws -> Void)? = nil
    ) throws {
        try Self.checkSECS(size: size, ssaFrameSize: ssaFrameSize, format: format, offset: errorOffset)
        self.size = size
        self.ssaFrameSize = ssaFrameSize
        self.format = format
        self.sink = sink
        staging = .allocate(byteCount: Self.stagingSize, alignment: 64)
        var header = [UInt8](repeating: 0, count: 64)
        Self.put(SGXRecord.ecreateTag, into: &header, at: 0)
        Self.put(UInt64(ssaFrameSize), into: &header, at: 8, bytes: 4)
        Self.put(size, into: &header, at: 12)
        try append(header)
    }

    deinit { staging.deallocate() }

    /// The ECREATE checks of the SDM that concern the measured fields.
    public static func checkSECS(size: UInt64, ssaFrameSize: UInt32, format: String, offset: UInt64?) throws {
        guard size >= 8192, size.nonzeroBitCount == 1 else {
            throw FormatError(
                .badValue, format: format, offset: offset,
                "SECS.SIZE 0x\(String(size, radix: 16)) must be a power of two of at least 0x2000 bytes")
        }
        guard ssaFrameSize >= 1 else {
            throw FormatError(.badValue, format: format, offset: offset, "SECS.SSAFRAMESIZE must be at least 1 page")
        }
        guard UInt64(ssaFrameSize) * SGXRecord.pageSize <= size else {
            throw FormatError(
                .badValue, format: format, offset: offset,
                "SSAFRAMESIZE \(ssaFrameSize) pages does not fit in an enclave of 0x\(String(size, radix: 16)) bytes")
        }
    }

    @inline(__always)
    static func put(_ value: UInt64, into bytes: inout [UInt8], at offset: Int, bytes count: Int = 8) {
        for i in 0..<count { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
    }

    /// Writes a 64-byte record header (tag, u64 at 8, u64 at 16, zeros) straight into the staging buffer.
    @inline(__always)
    private func appendHeader(_ tag: UInt64, _ field8: UInt64, _ field16: UInt64) throws {
        if Self.stagingSize - used < 64 { try flush() }
        guard let base = staging.baseAddress else { return }
        let p = base + used
        p.initializeMemory(as: UInt8.self, repeating: 0, count: 64)
        p.storeBytes(of: tag.littleEndian, toByteOffset: 0, as: UInt64.self)
        p.storeBytes(of: field8.littleEndian, toByteOffset: 8, as: UInt64.self)
        p.storeBytes(of: field16.littleEndian, toByteOffset: 16, as: UInt64.self)
        used += 64
        if used == Self.stagingSize { try flush() }
    }

    private func append(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try append($0) }
    }

    private func append(_ buffer: UnsafeRawBufferPointer) throws {
        var rest = buffer
        while !rest.isEmpty {
            let n = min(rest.count, Self.stagingSize - used)
            if let src = rest.baseAddress, let dst = staging.baseAddress {
                (dst + used).copyMemory(from: src, byteCount: n)
            }
            used += n
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
            if used == Self.stagingSize { try flush() }
        }
    }

    private func flush() throws {
        guard used > 0 else { return }
        let window = UnsafeRawBufferPointer(rebasing: staging[0..<used])
        digest.update(window)
        try sink?(window)
        used = 0
    }

    private var lastAdded = UInt64.max

    private func isAdded(_ page: UInt64) -> Bool {
        page == lastAdded || (added[page >> 6] ?? 0) & (1 << (page & 63)) != 0
    }

    /// EADD of the page at `offset` with `flags`.
    public func eadd(offset: UInt64, flags: SecInfoFlags, label: String = "", errorOffset: UInt64? = nil) throws {
        guard offset % SGXRecord.pageSize == 0 else {
            throw FormatError(
                .badValue, format: format, offset: errorOffset,
                "EADD offset 0x\(String(offset, radix: 16)) is not page aligned")
        }
        guard offset < size else {
            throw FormatError(
                .outOfBounds, format: format, offset: errorOffset,
                "EADD offset 0x\(String(offset, radix: 16)) is outside the enclave (SIZE 0x\(String(size, radix: 16)))")
        }
        if let problem = flags.eaddProblem {
            throw FormatError(
                .badValue, format: format, offset: errorOffset, "EADD at 0x\(String(offset, radix: 16)): \(problem)")
        }
        let page = offset / SGXRecord.pageSize
        guard !isAdded(page) else {
            throw FormatError(
                .overlap, format: format, offset: errorOffset,
                "EADD twice at offset 0x\(String(offset, radix: 16))")
        }
        added[page >> 6, default: 0] |= 1 << (page & 63)
        lastAdded = page
        pagesAdded += 1
        try appendHeader(SGXRecord.eaddTag, offset, flags.rawValue)
        if recordLayout {
            if pendingChunks > 0, !runs.isEmpty {
                runs[runs.count - 1].measuredChunks += pendingChunks
                pendingChunks = 0
            }
            if var last = runs.last, last.end == offset, last.flags == flags, last.label == label,
                last.measuredChunks == 0
            {
                last.pageCount += 1
                runs[runs.count - 1] = last
            } else {
                if runs.count >= 4096 { runs = SGXPageRun.merged(runs) }
                runs.append(SGXPageRun(offset: offset, pageCount: 1, flags: flags, measuredChunks: 0, label: label))
            }
            if let last = runs.last { lastRunRange = last.offset..<last.end }
        }
    }

    /// EEXTEND of the 256 bytes at `offset` (the page must have been added).
    public func eextend(offset: UInt64, chunk: UnsafeRawBufferPointer, errorOffset: UInt64? = nil) throws {
        guard chunk.count == SGXRecord.chunkSize else {
            throw FormatError(
                .badValue, format: format, offset: errorOffset, "EEXTEND needs 256 bytes, got \(chunk.count)")
        }
        guard offset % UInt64(SGXRecord.chunkSize) == 0 else {
            throw FormatError(
                .badValue, format: format, offset: errorOffset,
                "EEXTEND offset 0x\(String(offset, radix: 16)) is not 256-byte aligned")
        }
        guard offset < size, isAdded(offset / SGXRecord.pageSize) else {
            throw FormatError(
                .missing, format: format, offset: errorOffset,
                "EEXTEND at 0x\(String(offset, radix: 16)) without an EADD of its page")
        }
        try appendHeader(SGXRecord.eextendTag, offset, 0)
        try append(chunk)
        chunksExtended += 1
        if recordLayout, lastRunRange.contains(offset) { pendingChunks += 1 }
    }

    /// EADD of one page and EEXTEND of the chunks selected by `measuredChunks` (bit i = chunk i; all 16
    /// by default, none for an unmeasured page). Page bytes are measured exactly as given, TCS pages
    /// included, as Gramine's `sgx_sign.py`, the Linux selftest and the SDK signing tools do (the CPU would
    /// measure a TCS after EADD clears STATE/CSSA/AEP/DBGOPTIN; layouts here write those as zero anyway).
    public func addPage(
        offset: UInt64, flags: SecInfoFlags, content: UnsafeRawBufferPointer?, measuredChunks: UInt16 = 0xffff,
        label: String = "", errorOffset: UInt64? = nil
    ) throws {
        try eadd(offset: offset, flags: flags, label: label, errorOffset: errorOffset)
        guard measuredChunks != 0 else { return }
        guard let content, content.count == Int(SGXRecord.pageSize) else {
            throw FormatError(.badValue, format: format, offset: errorOffset, "a measured page needs 4096 bytes")
        }
        try extendChunks(offset: offset, page: content, mask: measuredChunks, errorOffset)
    }

    private func extendChunks(
        offset: UInt64, page: UnsafeRawBufferPointer, mask: UInt16, _ errorOffset: UInt64?
    ) throws {
        for i in 0..<16 where mask & (1 << i) != 0 {
            let start = i * SGXRecord.chunkSize
            try eextend(
                offset: offset + UInt64(start),
                chunk: UnsafeRawBufferPointer(rebasing: page[start..<start + SGXRecord.chunkSize]),
                errorOffset: errorOffset)
        }
    }

    /// Convenience for tests and small generated pages.
    public func addPage(
        offset: UInt64, flags: SecInfoFlags, content: [UInt8]?, measured: Bool = true, label: String = ""
    )
        throws
    {
        if let content {
            try content.withUnsafeBytes {
                try addPage(
                    offset: offset, flags: flags, content: $0, measuredChunks: measured ? 0xffff : 0, label: label)
            }
        } else {
            try addPage(offset: offset, flags: flags, content: nil, measuredChunks: 0, label: label)
        }
    }

    /// EINIT's SHA256FINAL: the MRENCLAVE. Flushes the last records to the sink.
    public func finalize() throws -> [UInt8] {
        precondition(!finalized, "MREnclaveBuilder finalized twice")
        finalized = true
        try flush()
        return digest.finalize()
    }
}
