import EnclaveCore

/// What reading an SGXS stream found: the MRENCLAVE and the enclave's shape.
public struct SGXSSummary: Sendable {
    public var mrenclave: [UInt8]
    public var size: UInt64
    public var ssaFrameSize: UInt32
    public var pageCount: UInt64
    public var measuredChunks: UInt64
    /// ESGXS `UNMEASRD` records (loaded, not hashed).
    public var unmeasuredRecords: UInt64
    /// Fortanix's canonical-order rules (rust-sgx `doc/SGXS.md`, <doc:EnclaveMeasurement>); a valid stream may still be
    /// non-canonical.
    public var isCanonical: Bool
    public var nonCanonicalReason: String?
    public var layout: [SGXPageRun]
}

/// Reader and validator for Fortanix's SGX stream format (SGXS, with the ESGXS `UNSIZED` and `UNMEASRD`
/// records): the concatenation of the 64-byte measurement records, so that MRENCLAVE = SHA-256 of the
/// stream (without `UNMEASRD` records). Streams in bounded memory.
///
/// Hard errors (with the record's file offset): unknown tag, truncated record, ECREATE not first or
/// repeated, SIZE not a power of two ≥ 8192, EADD unaligned/outside SIZE/twice, flags EADD rejects (TCS with
/// R/W/X), EEXTEND without the EADD of its page, non-zero reserved bytes, an `UNSIZED` stream.
///
/// ```swift
/// let summary = try SGXSReader.read(path: "enclave.sgxs")
/// print(summary.mrenclave.hex)
/// ```
public struct SGXSReader {
    public static let format = "SGXS"

    /// Reads and validates an SGXS file, streaming it once.
    public static func read(path: String, requireCanonical: Bool = false, progress: (any ProgressSink)? = nil) throws
        -> SGXSSummary
    {
        let file = try FileInput(path: path)
        return try read(file: file, requireCanonical: requireCanonical, progress: progress)
    }

    public static func read(file: FileInput, requireCanonical: Bool = false, progress: (any ProgressSink)? = nil) throws
        -> SGXSSummary
    {
        var parser = SGXSParser(requireCanonical: requireCanonical)
        do {
            try FileStream.forEachChunk(of: file, ranges: [0..<file.size], progress: progress) { _, chunk in
                try parser.consume(chunk)
            }
            return try parser.finish()
        } catch let error as FormatError {
            throw error.in(file: file.path)
        }
    }

    /// Reads and validates an SGXS stream held in memory.
    public static func read(bytes: [UInt8], requireCanonical: Bool = false) throws -> SGXSSummary {
        var parser = SGXSParser(requireCanonical: requireCanonical)
        try bytes.withUnsafeBytes { try parser.consume($0) }
        return try parser.finish()
    }

    /// True when `prefix` starts with an ECREATE or UNSIZED record (cheap format detection).
    public static func looksLikeSGXS(prefix: [UInt8], fileSize: UInt64) -> Bool {
        guard fileSize >= 64, fileSize % 64 == 0, let tag = prefix.le(UInt64.self, at: 0) else { return false }
        return tag == SGXRecord.ecreateTag || tag == SGXRecord.unsizedTag
    }
}

/// The SGXS state machine: consumes the stream in pieces (any split) and hashes runs of measured bytes.
struct SGXSParser {
    let requireCanonical: Bool
    private let digest = Digest(.sha256)
    private var offset: UInt64 = 0
    private var header = [UInt8]()
    private var dataLeft = 0
    private var dataHashed = true
    private var size: UInt64 = 0
    private var ssaFrameSize: UInt32 = 0
    private var sawECreate = false
    private var added: [UInt64: UInt64] = [:]
    private var pageCount: UInt64 = 0
    private var measuredChunks: UInt64 = 0
    private var unmeasured: UInt64 = 0
    private var lastEADD: UInt64?
    private var chunkMask: UInt16 = 0
    private var nonCanonical: String?
    private var layout: [SGXPageRun] = []
    /// EEXTENDs of the last run not yet added to it (kept apart so the hot path does not copy the run).
    private var pendingChunks: UInt64 = 0
    private var lastRunRange: Range<UInt64> = 0..<0
    private static let maxLayoutRuns = 1 << 16

    init(requireCanonical: Bool) {
        self.requireCanonical = requireCanonical
        header.reserveCapacity(64)
    }

    private func fail(_ kind: FormatError.Kind, _ message: String, at position: UInt64) -> FormatError {
        FormatError(kind, format: SGXSReader.format, offset: position, message)
    }

    mutating func consume(_ buffer: UnsafeRawBufferPointer) throws {
        var i = 0
        var runStart = 0  // start of bytes to hash in this buffer
        let n = buffer.count
        while i < n {
            if dataLeft > 0 {
                let take = min(dataLeft, n - i)
                if !dataHashed {
                    hash(buffer, runStart, i)
                    runStart = i + take
                }
                dataLeft -= take
                i += take
                offset += UInt64(take)
                if dataLeft == 0 { dataHashed = true }
                continue
            }
            let recordStart = offset
            let hashed: Bool
            if header.isEmpty && n - i >= 64 {
                // Fast path: the whole header is in this buffer.
                hashed = try record(UnsafeRawBufferPointer(rebasing: buffer[i..<i + 64]), at: recordStart)
                i += 64
                offset += 64
            } else {
                let take = min(64 - header.count, n - i)
                header.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[i..<i + take]))
                i += take
                offset += UInt64(take)
                guard header.count == 64 else { continue }
                let start = offset - 64
                let bytes = header
                header.removeAll(keepingCapacity: true)
                hashed = try bytes.withUnsafeBytes { try record($0, at: start) }
            }
            if !hashed {
                // The 64-byte header of an UNMEASRD record is not hashed either.
                let headerStartInBuffer = i - 64
                guard headerStartInBuffer >= runStart else {
                    throw fail(.unsupported, "UNMEASRD record header split across reads", at: offset - 64)
                }
                hash(buffer, runStart, headerStartInBuffer)
                runStart = i
            }
        }
        hash(buffer, runStart, n)
    }

    private func hash(_ buffer: UnsafeRawBufferPointer, _ from: Int, _ to: Int) {
        if to > from { digest.update(UnsafeRawBufferPointer(rebasing: buffer[from..<to])) }
    }

    private mutating func noteNonCanonical(_ reason: String, at position: UInt64) throws {
        if requireCanonical {
            throw fail(.badValue, "not a canonical SGXS stream: \(reason)", at: position)
        }
        if nonCanonical == nil { nonCanonical = "\(reason) (record at offset \(position))" }
    }

    private func reservedZero(_ header: UnsafeRawBufferPointer, _ from: Int, _ what: String, at position: UInt64) throws
    {
        var any: UInt64 = 0
        var k = from
        while k + 8 <= 64 {
            any |= header.loadUnaligned(fromByteOffset: k, as: UInt64.self)
            k += 8
        }
        while k < 64 {
            any |= UInt64(header[k])
            k += 1
        }
        guard any != 0 else { return }
        for j in from..<64 where header[j] != 0 {
            throw fail(
                .badValue, "\(what) reserved byte \(j) of the record is 0x\(String(header[j], radix: 16)), expected 0",
                at: position)
        }
    }

    private func isAdded(_ page: UInt64) -> Bool { (added[page >> 6] ?? 0) & (1 << (page & 63)) != 0 }

    /// Validates one record header; returns false when the record (header and data) is not hashed.
    private mutating func record(_ header: UnsafeRawBufferPointer, at position: UInt64) throws -> Bool {
        func u64(_ at: Int) -> UInt64 {
            UInt64(littleEndian: header.loadUnaligned(fromByteOffset: at, as: UInt64.self))
        }
        let tag = u64(0)
        let field8 = u64(8)
        switch tag {
        case SGXRecord.ecreateTag, SGXRecord.unsizedTag:
            guard !sawECreate, position == 0 else {
                throw fail(.badValue, "ECREATE must be the first record and appear once", at: position)
            }
            if tag == SGXRecord.unsizedTag {
                throw fail(
                    .unsupported, "an UNSIZED (ESGXS) stream cannot be measured until its size is fixed",
                    at: position)
            }
            sawECreate = true
            ssaFrameSize = UInt32(truncatingIfNeeded: field8)
            size = u64(12)
            try MREnclaveBuilder.checkSECS(
                size: size, ssaFrameSize: ssaFrameSize, format: SGXSReader.format, offset: position)
            try reservedZero(header, 20, "ECREATE", at: position)
            return true
        case SGXRecord.eaddTag:
            try requireECreate(position)
            let flags = SecInfoFlags(rawValue: u64(16))
            guard field8 % SGXRecord.pageSize == 0 else {
                throw fail(.badValue, "EADD offset 0x\(String(field8, radix: 16)) is not page aligned", at: position)
            }
            guard field8 < size else {
                throw fail(
                    .outOfBounds,
                    "EADD offset 0x\(String(field8, radix: 16)) is outside the enclave (SIZE 0x\(String(size, radix: 16)))",
                    at: position)
            }
            if let problem = flags.eaddProblem { throw fail(.badValue, "EADD: \(problem)", at: position) }
            try reservedZero(header, 24, "EADD SECINFO", at: position)
            let page = field8 / SGXRecord.pageSize
            guard !isAdded(page) else {
                throw fail(.overlap, "EADD twice at offset 0x\(String(field8, radix: 16))", at: position)
            }
            added[page >> 6, default: 0] |= 1 << (page & 63)
            if let last = lastEADD, field8 <= last {
                try noteNonCanonical("EADD offsets are not increasing", at: position)
            }
            lastEADD = field8
            chunkMask = 0
            pageCount += 1
            foldPendingChunks()
            if var run = layout.last, run.end == field8, run.flags == flags, run.measuredChunks == 0 {
                run.pageCount += 1
                layout[layout.count - 1] = run
            } else {
                if layout.count >= Self.maxLayoutRuns { layout = SGXPageRun.merged(layout) }
                // A hostile stream can make every page its own run: stop recording the layout, not hashing.
                if layout.count < Self.maxLayoutRuns {
                    layout.append(SGXPageRun(offset: field8, pageCount: 1, flags: flags, measuredChunks: 0, label: ""))
                }
            }
            if let run = layout.last { lastRunRange = run.offset..<run.end }
            return true
        case SGXRecord.eextendTag, SGXRecord.unmeasuredTag:
            try requireECreate(position)
            let what = tag == SGXRecord.eextendTag ? "EEXTEND" : "UNMEASRD"
            guard field8 % 256 == 0 else {
                throw fail(
                    .badValue, "\(what) offset 0x\(String(field8, radix: 16)) is not 256-byte aligned", at: position)
            }
            let page = field8 / SGXRecord.pageSize
            guard field8 < size, lastEADD.map({ $0 / SGXRecord.pageSize == page }) ?? false || isAdded(page) else {
                throw fail(
                    .missing, "\(what) at 0x\(String(field8, radix: 16)) without an EADD of its page", at: position)
            }
            try reservedZero(header, 16, what, at: position)
            let chunk = UInt16(1) << ((field8 % SGXRecord.pageSize) / 256)
            if lastEADD != field8 & ~(SGXRecord.pageSize - 1) {
                try noteNonCanonical("\(what) does not follow the EADD of its page", at: position)
            } else if chunkMask & chunk != 0 {
                try noteNonCanonical("chunk 0x\(String(field8, radix: 16)) extended twice", at: position)
            }
            chunkMask |= chunk
            dataLeft = 256
            if tag == SGXRecord.eextendTag {
                measuredChunks += 1
                if lastRunRange.contains(field8) { pendingChunks += 1 }
                dataHashed = true
                return true
            }
            unmeasured += 1
            dataHashed = false
            return false
        default:
            throw fail(
                .badMagic,
                "unknown record tag 0x\(String(tag, radix: 16)) (expected ECREATE, EADD, EEXTEND, UNMEASRD)",
                at: position)
        }
    }

    private func requireECreate(_ position: UInt64) throws {
        guard sawECreate else { throw fail(.badValue, "the stream must start with an ECREATE record", at: position) }
    }

    private mutating func foldPendingChunks() {
        guard pendingChunks > 0, !layout.isEmpty else { return }
        layout[layout.count - 1].measuredChunks += pendingChunks
        pendingChunks = 0
    }

    mutating func finish() throws -> SGXSSummary {
        foldPendingChunks()
        guard header.isEmpty else {
            throw fail(
                .truncated, "record header cut short: \(header.count) of 64 bytes", at: offset - UInt64(header.count))
        }
        guard dataLeft == 0 else {
            throw fail(.truncated, "EEXTEND data cut short: \(256 - dataLeft) of 256 bytes", at: offset)
        }
        guard sawECreate else { throw fail(.truncated, "empty stream: expected an ECREATE record", at: 0) }
        return SGXSSummary(
            mrenclave: digest.finalize(), size: size, ssaFrameSize: ssaFrameSize, pageCount: pageCount,
            measuredChunks: measuredChunks, unmeasuredRecords: unmeasured, isCanonical: nonCanonical == nil,
            nonCanonicalReason: nonCanonical, layout: SGXPageRun.merged(layout))
    }
}

/// Writes an SGXS file atomically from an ``MREnclaveBuilder``'s records (the file appears only on success).
///
/// ```swift
/// let out = try SGXSWriter(path: "enclave.sgxs")
/// let m = try MREnclaveBuilder(size: size, ssaFrameSize: 1, sink: out.sink)
/// …; _ = try m.finalize(); try out.commit()
/// ```
public final class SGXSWriter {
    private let output: AtomicOutput
    public init(path: String) throws { output = try AtomicOutput(path: path) }
    public var sink: (UnsafeRawBufferPointer) throws -> Void { { [output] in try output.write($0) } }
    public func commit() throws { try output.commit() }
}
