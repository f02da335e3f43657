import CLibArchive
import EnclaveCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// One member header of a tar archive, as libarchive decoded it (ustar, GNU and PAX headers,
/// including PAX fractional times and long names).
///
/// ```swift
/// while let entry = try reader.next() { print(entry.pathString, entry.size) }
/// ```
public struct TarEntry: Sendable, Hashable {
    /// The member type.
    public enum Kind: Sendable, Hashable {
        case regular, directory, symlink, hardlink, characterDevice, blockDevice, fifo, socket
    }

    /// The member name as stored (raw bytes, not normalized).
    public var path: [UInt8]
    public var kind: Kind
    /// `mode & 0o7777`.
    public var permissions: UInt32
    public var uid: Int64
    public var gid: Int64
    /// Modification time: whole seconds (rounded down, as Go's `Time.Unix()`) and nanoseconds.
    public var mtime: Int64
    public var mtimeNanoseconds: Int
    /// Data size (0 for links and directories).
    public var size: UInt64
    /// The target of a symlink or a hard link.
    public var linkTarget: [UInt8]?
    public var rdevMajor: UInt32
    public var rdevMinor: UInt32
    /// The member name as text (invalid UTF-8 repaired), for messages.
    public var pathString: String { String(decoding: path, as: UTF8.self) }
}

/// Which bytes a ``TarReader`` reads: a whole file, or a byte range of one (a layer stored inside a
/// `docker save` tarball is read in place, without copying it out).
public struct TarSource: Sendable, Hashable {
    public var path: String
    public var offset: UInt64
    public var length: UInt64?
    /// The name used in error messages (`image.tar:blobs/sha256/ab…`).
    public var displayName: String

    public init(path: String, offset: UInt64 = 0, length: UInt64? = nil, displayName: String? = nil) {
        self.path = path
        self.offset = offset
        self.length = length
        self.displayName = displayName ?? path
    }

    /// Bytes in memory (fuzzing, tests).
    public init(bytes: [UInt8], displayName: String = "memory") {
        self.path = displayName
        self.offset = 0
        self.length = UInt64(bytes.count)
        self.displayName = displayName
        self.memory = bytes
    }

    var memory: [UInt8]?
}

/// A streaming tar reader over libarchive: plain, gzip- or zstd-compressed tar (detected from the
/// bytes), one member at a time, data in bounded chunks. It only reads: nothing is ever extracted
/// by it, so member names can never make it write anywhere; callers validate names with
/// ``SafePath``. Truncated or corrupt input throws a `FormatError` (format "tar").
///
/// One `TarReader` owns one libarchive `archive*`, freed in `deinit`.
///
/// ```swift
/// let reader = try TarReader(TarSource(path: "layer.tar.gz"))
/// while let entry = try reader.next() { try reader.skipData() }
/// ```
public final class TarReader {
    private let archive: OpaquePointer
    private let context: ReadContext
    public let source: TarSource
    private var entryOpen = false
    /// Headers read so far.
    public private(set) var count = 0

    /// Opens `source`. `raw: true` reads the decompressed byte stream instead of tar members
    /// (one pseudo-member), for hashing a compressed layer's uncompressed content.
    public init(_ source: TarSource, raw: Bool = false) throws {
        guard let archive = archive_read_new() else {
            throw FormatError(.unsupported, format: "tar", "libarchive could not allocate a reader")
        }
        self.archive = archive
        self.source = source
        if let memory = source.memory {
            self.context = ReadContext(memory: memory)
        } else {
            let input: FileInput
            do {
                input = try FileInput(path: source.path)
            } catch {
                archive_read_free(archive)
                throw error
            }
            let end = source.length.map { source.offset + $0 } ?? input.size
            guard source.offset <= end, end <= input.size else {
                archive_read_free(archive)
                throw FormatError(
                    .outOfBounds, format: "tar", offset: source.offset,
                    "member range ends at \(end), past the end of \(source.path) (\(input.size) bytes)")
            }
            self.context = ReadContext(input: input, offset: source.offset, end: end)
        }
        archive_read_support_filter_gzip(archive)
        archive_read_support_filter_zstd(archive)
        archive_read_support_filter_none(archive)
        if raw {
            archive_read_support_format_raw(archive)
        } else {
            archive_read_support_format_tar(archive)
            archive_read_support_format_gnutar(archive)
        }
        archive_read_set_callback_data(archive, Unmanaged.passUnretained(context).toOpaque())
        archive_read_set_read_callback(archive, tarReadCallback)
        archive_read_set_seek_callback(archive, tarSeekCallback)
        let status = archive_read_open1(archive)
        guard status == ARCHIVE_OK else {
            // Every stored property is set, so deinit runs on this throw and frees the archive.
            throw Self.error(archive, source: source, kind: .badMagic, what: "open")
        }
    }

    deinit {
        archive_read_free(archive)
    }

    /// The next member header, or `nil` at the end of the archive. The previous member's data is
    /// skipped if it was not read.
    public func next() throws -> TarEntry? {
        var entryPointer: OpaquePointer?
        let status = archive_read_next_header(archive, &entryPointer)
        if status == ARCHIVE_EOF { return nil }
        guard status == ARCHIVE_OK || status == ARCHIVE_WARN, let entry = entryPointer else {
            throw Self.error(archive, source: source, kind: .truncated, what: "read a header", failure: context.failure)
        }
        count += 1
        entryOpen = true
        let decoded = try decode(entry)
        currentDataOffset = nil
        if decoded.kind == .regular, decoded.size > 0, source.memory == nil, archive_entry_sparse_count(entry) == 0,
            archive_filter_code(archive, 0) == ARCHIVE_FILTER_NONE
        {
            let consumed = archive_filter_bytes(archive, 0)
            if consumed >= 0 { currentDataOffset = source.offset + UInt64(consumed) }
        }
        return decoded
    }

    /// For an uncompressed, non-sparse regular member of a file source: the absolute offset of its data
    /// in ``TarSource/path``, so the data can be copied later straight from the archive (it is the
    /// member's bytes in place; tested against libarchive's own reading).
    public private(set) var currentDataOffset: UInt64?

    /// Reads up to `buffer.count` bytes of the current member's data; 0 at its end.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let base = buffer.baseAddress else { return 0 }
        while true {
            let n = archive_read_data(archive, base, buffer.count)
            if n >= 0 { return n }
            if Int32(n) == ARCHIVE_RETRY { continue }
            throw Self.error(
                archive, source: source, kind: .truncated, what: "read member data", failure: context.failure)
        }
    }

    /// Calls `body` with each chunk of the current member's data (at most `chunkSize` bytes each).
    public func forEachChunk(chunkSize: Int = 1 << 20, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = try read(into: buffer)
            if n == 0 { return }
            try body(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
    }

    /// Skips the current member's data (still checking that it is all there).
    public func skipData() throws {
        let status = archive_read_data_skip(archive)
        guard status == ARCHIVE_OK || status == ARCHIVE_WARN else {
            throw Self.error(
                archive, source: source, kind: .truncated, what: "skip member data", failure: context.failure)
        }
    }

    /// A C string's bytes: the native (locale) form first, which keeps raw ustar bytes as stored; the
    /// UTF-8 form when the locale cannot represent it (PAX UTF-8 names under the C locale).
    private static func text(
        _ native: UnsafePointer<CChar>?, _ utf8: @autoclosure () -> UnsafePointer<CChar>?
    ) -> [UInt8]? {
        guard let p = native ?? utf8() else { return nil }
        return Array(UnsafeRawBufferPointer(start: p, count: strlen(p)))
    }

    private func decode(_ entry: OpaquePointer) throws -> TarEntry {
        guard
            let bytes = Self.text(archive_entry_pathname(entry), archive_entry_pathname_utf8(entry)),
            !bytes.isEmpty
        else {
            throw FormatError(
                .badValue, format: "tar", offset: UInt64(max(0, archive_read_header_position(archive))),
                "member name is empty or cannot be decoded", file: source.displayName)
        }
        let hardlink = Self.text(archive_entry_hardlink(entry), archive_entry_hardlink_utf8(entry))
        let symlink = Self.text(archive_entry_symlink(entry), archive_entry_symlink_utf8(entry))
        let type = UInt32(archive_entry_filetype(entry))
        var kind: TarEntry.Kind
        switch type {
        case CLA_AE_IFDIR: kind = .directory
        case CLA_AE_IFLNK: kind = .symlink
        case CLA_AE_IFCHR: kind = .characterDevice
        case CLA_AE_IFBLK: kind = .blockDevice
        case CLA_AE_IFIFO: kind = .fifo
        case CLA_AE_IFSOCK: kind = .socket
        default: kind = .regular
        }
        if hardlink != nil { kind = .hardlink }
        let size = archive_entry_size_is_set(entry) != 0 ? UInt64(max(0, archive_entry_size(entry))) : 0
        return TarEntry(
            path: bytes, kind: kind, permissions: UInt32(archive_entry_perm(entry)) & 0o7777,
            uid: archive_entry_uid(entry), gid: archive_entry_gid(entry), mtime: Int64(archive_entry_mtime(entry)),
            mtimeNanoseconds: Int(archive_entry_mtime_nsec(entry)), size: kind == .regular ? size : 0,
            linkTarget: hardlink ?? symlink, rdevMajor: UInt32(truncatingIfNeeded: archive_entry_rdevmajor(entry)),
            rdevMinor: UInt32(truncatingIfNeeded: archive_entry_rdevminor(entry)))
    }

    private static func error(
        _ archive: OpaquePointer, source: TarSource, kind: FormatError.Kind, what: String, failure: SystemError? = nil
    ) -> FormatError {
        let message = archive_error_string(archive).map { String(cString: $0) } ?? "unknown libarchive error"
        let offset = archive_read_header_position(archive)
        var error = FormatError(
            kind, format: "tar", offset: offset >= 0 ? UInt64(offset) : nil, "cannot \(what): \(message)")
        if let failure { error.message += " (\(failure))" }
        return error.in(file: source.displayName)
    }
}

/// The state behind libarchive's read callback: a byte range of a file and the buffer libarchive
/// reads from (valid until the next callback, as libarchive requires).
///
/// `@unchecked Sendable`: used only by the one `TarReader` that owns it, on one thread at a time.
final class ReadContext: @unchecked Sendable {
    let input: FileInput?
    let memory: [UInt8]
    let start: UInt64
    var offset: UInt64
    let end: UInt64
    let buffer: UnsafeMutableRawBufferPointer
    var failure: SystemError?

    init(input: FileInput, offset: UInt64, end: UInt64) {
        self.input = input
        self.memory = []
        self.start = offset
        self.offset = offset
        self.end = end
        self.buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
    }

    init(memory: [UInt8]) {
        self.input = nil
        self.memory = memory
        self.start = 0
        self.offset = 0
        self.end = UInt64(memory.count)
        self.buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
    }

    deinit { buffer.deallocate() }
}

private func tarSeekCallback(
    _ archive: OpaquePointer?, _ clientData: UnsafeMutableRawPointer?, _ offset: la_int64_t, _ whence: Int32
) -> la_int64_t {
    guard let clientData else { return Int64(ARCHIVE_FATAL) }
    let context = Unmanaged<ReadContext>.fromOpaque(clientData).takeUnretainedValue()
    let start = Int64(context.start)
    let end = Int64(context.end)
    var target: Int64
    switch whence {
    case SEEK_SET: target = start + offset
    case SEEK_CUR: target = Int64(context.offset) + offset
    case SEEK_END: target = end + offset
    default: return Int64(ARCHIVE_FATAL)
    }
    target = min(max(target, start), end)
    context.offset = UInt64(target)
    return target - start
}

private func tarReadCallback(
    _ archive: OpaquePointer?, _ clientData: UnsafeMutableRawPointer?,
    _ out: UnsafeMutablePointer<UnsafeRawPointer?>?
) -> la_ssize_t {
    guard let clientData, let out else { return -1 }
    let context = Unmanaged<ReadContext>.fromOpaque(clientData).takeUnretainedValue()
    let want = Int(min(UInt64(context.buffer.count), context.end - context.offset))
    if want == 0 { return 0 }
    guard let input = context.input else {
        let start = Int(context.offset)
        context.memory.withUnsafeBytes { bytes in
            context.buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[start..<(start + want)]))
        }
        context.offset += UInt64(want)
        out.pointee = UnsafeRawPointer(context.buffer.baseAddress)
        return la_ssize_t(want)
    }
    do {
        let n = try input.read(
            into: UnsafeMutableRawBufferPointer(rebasing: context.buffer[0..<want]), at: context.offset)
        context.offset += UInt64(n)
        out.pointee = UnsafeRawPointer(context.buffer.baseAddress)
        return la_ssize_t(n)
    } catch {
        context.failure = error
        return -1
    }
}
