import CLibArchive
import EnclaveCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A libarchive reader over a file, for zip, tar (any compression) and the `ar` container of a `.deb`,
/// used by ``ArchiveExtraction``. One object owns one `archive*`, freed in `deinit`. Errors are
/// ``ArchiveError``s (``ArchiveError/Kind/malformed``) carrying libarchive's message.
final class LibArchiveReader {
    enum Formats { case zip, tar, ar }

    enum EntryType { case regular, directory, symlink, hardlink, special }

    struct Entry {
        var path: [UInt8]
        var type: EntryType
        var permissions: UInt32
        var size: Int64
        var linkTarget: [UInt8]?
    }

    private let archive: OpaquePointer
    let name: String

    init(path: String, formats: Formats, name: String) throws(ArchiveError) {
        guard let archive = archive_read_new() else {
            throw ArchiveError(.malformed, path: name, "libarchive could not allocate a reader")
        }
        self.archive = archive
        self.name = name
        switch formats {
        case .zip:
            archive_read_support_format_zip(archive)
            archive_read_support_filter_none(archive)
        case .tar:
            archive_read_support_format_tar(archive)
            archive_read_support_format_gnutar(archive)
            for enable in [
                archive_read_support_filter_gzip, archive_read_support_filter_bzip2, archive_read_support_filter_xz,
                archive_read_support_filter_lzma, archive_read_support_filter_zstd, archive_read_support_filter_lz4,
                archive_read_support_filter_none,
            ] {
                _ = enable(archive)
            }
        case .ar:
            archive_read_support_format_ar(archive)
            archive_read_support_filter_none(archive)
        }
        guard archive_read_open_filename(archive, path, 1 << 16) == ARCHIVE_OK else {
            throw error("cannot open it")
        }
    }

    deinit { archive_read_free(archive) }

    func error(_ what: String) -> ArchiveError {
        let detail = archive_error_string(archive).map { String(cString: $0) } ?? "unknown libarchive error"
        return ArchiveError(.malformed, path: name, "\(what): \(detail)")
    }

    private static func bytes(_ pointer: UnsafePointer<CChar>?) -> [UInt8]? {
        guard let pointer else { return nil }
        return Array(UnsafeRawBufferPointer(start: pointer, count: strlen(pointer)))
    }

    func next() throws(ArchiveError) -> Entry? {
        var entryPointer: OpaquePointer?
        let status = archive_read_next_header(archive, &entryPointer)
        if status == ARCHIVE_EOF { return nil }
        guard status == ARCHIVE_OK || status == ARCHIVE_WARN, let entry = entryPointer else {
            throw error("cannot read an entry header")
        }
        guard
            let path = Self.bytes(archive_entry_pathname(entry)) ?? Self.bytes(archive_entry_pathname_utf8(entry)),
            !path.isEmpty
        else {
            throw error("an entry has no name")
        }
        let hardlink = Self.bytes(archive_entry_hardlink(entry)) ?? Self.bytes(archive_entry_hardlink_utf8(entry))
        let symlink = Self.bytes(archive_entry_symlink(entry)) ?? Self.bytes(archive_entry_symlink_utf8(entry))
        var type: EntryType
        switch UInt32(archive_entry_filetype(entry)) {
        case CLA_AE_IFREG: type = .regular
        case CLA_AE_IFDIR: type = .directory
        case CLA_AE_IFLNK: type = .symlink
        default: type = .special
        }
        if hardlink != nil { type = .hardlink }
        return Entry(
            path: path, type: type, permissions: UInt32(archive_entry_perm(entry)) & 0o7777,
            size: archive_entry_size(entry), linkTarget: hardlink ?? symlink)
    }

    /// Copies the current entry's data to `fd`.
    func copyData(to fd: Int32, path: String) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        guard let base = buffer.baseAddress else { return }
        while true {
            let n = archive_read_data(archive, base, buffer.count)
            if n == 0 { return }
            if n < 0 {
                if Int32(n) == ARCHIVE_RETRY { continue }
                throw error("cannot read the data of an entry")
            }
            try writeAll(fd, UnsafeRawBufferPointer(rebasing: buffer[0..<n]), path: path)
        }
    }
}
