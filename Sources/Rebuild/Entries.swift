import Archive
import Builder
import EnclaveCore

/// One member of a cpio or tar archive, or one file of a directory tree, with everything `compare`
/// looks at: the header fields and the sha256 of the content (hashed while the archive is read).
struct TreeEntry: Sendable {
    enum Kind: String, Sendable {
        case regular = "regular file"
        case directory
        case symlink
        case hardlink = "hard link"
        case characterDevice = "character device"
        case blockDevice = "block device"
        case fifo
        case socket
        case unknown = "unknown type"
    }

    var path: [UInt8]
    var kind: Kind
    /// `mode & 0o7777`.
    var permissions: UInt32
    var uid: Int64
    var gid: Int64
    var mtime: Int64
    var mtimeNanoseconds: Int = 0
    var size: UInt64
    var sha256: [UInt8]?
    var linkTarget: [UInt8]?
    /// `major:minor` of a device node.
    var device: String?
    /// Format-specific header fields that make archives differ byte-wise (cpio inode, nlink, dev).
    var extra: [(String, String)] = []
    /// The content, to read again for a diff.
    var content: ContentSource?

    var displayPath: String { String(decoding: path, as: UTF8.self) }

    /// "regular file, 12 bytes, sha256 ab…" for an entry present on one side only.
    var summary: String {
        var parts = [kind.rawValue, "mode \(Self.octal(permissions))"]
        if kind == .regular { parts.append("\(size) bytes") }
        if let sha256 { parts.append("sha256 \(sha256.hex)") }
        if let linkTarget { parts.append("→ \(String(decoding: linkTarget, as: UTF8.self))") }
        return parts.joined(separator: ", ")
    }

    static func octal(_ mode: UInt32) -> String {
        let s = String(mode, radix: 8)
        return String(repeating: "0", count: max(0, 4 - s.count)) + s
    }

    static func kind(mode: UInt32) -> Kind {
        switch mode & 0o170000 {
        case 0o100000: .regular
        case 0o040000: .directory
        case 0o120000: .symlink
        case 0o020000: .characterDevice
        case 0o060000: .blockDevice
        case 0o010000: .fifo
        case 0o140000: .socket
        default: .unknown
        }
    }
}

/// A streaming reader of cpio "newc" archives (`070701`, and `070702` with checksums) over a byte
/// range of a file, e.g. a ramdisk section inside an EIF. Unlike `Archive.CPIOListing`, which parses
/// an archive held in memory, it reads headers with `pread` and hashes member data in bounded chunks,
/// so memory does not grow with the archive. Concatenated archives (which the Linux initramfs loader
/// accepts) are read one after the other. Every offset in an error is absolute in the file.
///
/// ```swift
/// let entries = try CPIOStream.entries(of: FileInput(path: "app.cpio"))
/// ```
enum CPIOStream {
    static let format = "cpio"
    static let headerSize = 110
    static let maxNameSize = 4096
    static let maxLinkSize = 65536

    static func entries(
        of file: FileInput, range: Range<UInt64>? = nil, maxMembers: Int = 1 << 20
    ) throws -> [TreeEntry] {
        let range = range ?? 0..<file.size
        guard range.upperBound <= file.size else {
            throw FormatError(
                .truncated, format: format, offset: file.size,
                "archive expected up to offset \(range.upperBound), the file ends at \(file.size)", file: file.path)
        }
        let base = range.lowerBound
        var position = base
        var result: [TreeEntry] = []
        func fail(_ kind: FormatError.Kind, _ at: UInt64, _ message: String) -> FormatError {
            FormatError(kind, format: format, offset: at, message, file: file.path)
        }
        func pad(_ p: UInt64) -> UInt64 { (4 - (p - base) % 4) % 4 }
        func need(_ count: UInt64, at offset: UInt64, _ what: String) throws {
            let (end, overflow) = offset.addingReportingOverflow(count)
            guard !overflow, end <= range.upperBound else {
                throw fail(
                    .truncated, offset,
                    "\(what) of \(count) bytes runs past the end of the archive at \(range.upperBound)")
            }
        }
        while true {
            guard result.count < maxMembers else { throw fail(.tooLarge, position, "more than \(maxMembers) members") }
            let start = position
            guard start < range.upperBound else {
                throw fail(.truncated, start, "archive ends without a TRAILER!!! member")
            }
            try need(UInt64(headerSize), at: start, "member header")
            let header = try file.read(at: start, count: headerSize, format: format)
            guard header.starts(with: Array("070701".utf8)) || header.starts(with: Array("070702".utf8)) else {
                throw fail(.badMagic, start, "expected newc magic \"070701\"")
            }
            var fields: [UInt32] = []
            for index in 0..<13 {
                var value: UInt32 = 0
                for c in header[(6 + 8 * index)..<(14 + 8 * index)] {
                    guard let digit = Hex.digitValue(c) else {
                        throw fail(
                            .badValue, start + UInt64(6 + 8 * index), "header field \(index) is not 8 hex digits")
                    }
                    value = value << 4 | UInt32(digit)
                }
                fields.append(value)
            }
            let mode = fields[1]
            let size = UInt64(fields[6])
            let nameSize = Int(fields[11])
            let nameAt = start + UInt64(headerSize)
            guard nameSize >= 1 else { throw fail(.badValue, start + 94, "name size 0 (must include the NUL)") }
            guard nameSize <= maxNameSize else {
                throw fail(.tooLarge, start + 94, "name size \(nameSize), at most \(maxNameSize)")
            }
            try need(UInt64(nameSize), at: nameAt, "member name")
            let nameWithNul = try file.read(at: nameAt, count: nameSize, format: format)
            guard nameWithNul.last == 0, !nameWithNul.dropLast().contains(0) else {
                throw fail(.badValue, nameAt, "member name is not a NUL-terminated string")
            }
            let name = Array(nameWithNul.dropLast())
            var dataAt = nameAt + UInt64(nameSize)
            dataAt += pad(dataAt)
            try need(size, at: dataAt, "member data")
            let dataRange = dataAt..<(dataAt + size)
            position = dataRange.upperBound

            if name == Array("TRAILER!!!".utf8) {
                // Zero padding, then either the end or another archive (initramfs concatenation).
                guard let next = try nextNonZero(file, from: position, to: range.upperBound) else { return result }
                guard pad(next) == 0, next + 6 <= range.upperBound,
                    try file.read(at: next, count: 6, format: format).starts(with: Array("0707".utf8))
                else {
                    throw fail(.badValue, next, "non-zero byte after the trailer (expected padding or another archive)")
                }
                position = next
                continue
            }
            position += min(pad(position), range.upperBound - position)

            let kind = TreeEntry.kind(mode: mode)
            var entry = TreeEntry(
                path: name, kind: kind, permissions: mode & 0o7777, uid: Int64(fields[2]), gid: Int64(fields[3]),
                mtime: Int64(fields[5]), size: size)
            entry.extra = [
                ("inode", String(fields[0])), ("nlink", String(fields[4])), ("dev", "\(fields[7]):\(fields[8])"),
                ("check", String(fields[12])),
            ]
            if kind == .characterDevice || kind == .blockDevice { entry.device = "\(fields[9]):\(fields[10])" }
            if kind == .symlink {
                guard size <= UInt64(maxLinkSize) else {
                    throw fail(.tooLarge, start + 54, "symlink target of \(size) bytes, at most \(maxLinkSize)")
                }
                entry.linkTarget = try file.read(at: dataAt, count: Int(size), format: format)
                entry.size = 0
            } else if kind == .regular || size > 0 {
                entry.sha256 = try sha256(file, dataRange)
                entry.content = .range(path: file.path, dataRange)
            }
            result.append(entry)
        }
    }

    static func sha256(_ file: FileInput, _ range: Range<UInt64>) throws -> [UInt8] {
        let digest = Digest(.sha256)
        if !range.isEmpty {
            let chunk = Int(min(UInt64(FileStream.defaultChunkSize), range.count))
            try FileStream.forEachChunk(of: file, ranges: [range], chunkSize: chunk) { _, bytes in digest.update(bytes)
            }
        }
        return digest.finalize()
    }

    /// The offset of the first non-zero byte in `from..<to`, or `nil`.
    private static func nextNonZero(_ file: FileInput, from: UInt64, to: UInt64) throws -> UInt64? {
        var offset = from
        while offset < to {
            let count = Int(min(65536, to - offset))
            let bytes = try file.read(at: offset, count: count, format: format)
            if let i = bytes.firstIndex(where: { $0 != 0 }) { return offset + UInt64(i) }
            offset += UInt64(count)
        }
        return nil
    }
}

/// Tar members through `Archive.TarReader` (plain, gzip or zstd), content hashed while reading.
enum TarListing {
    static func entries(path: String, maxMembers: Int = 1 << 20) throws -> [TreeEntry] {
        let source = TarSource(path: path)
        let reader = try TarReader(source)
        var result: [TreeEntry] = []
        while let member = try reader.next() {
            guard result.count < maxMembers else {
                throw FormatError(.tooLarge, format: "tar", "more than \(maxMembers) members", file: path)
            }
            let kind: TreeEntry.Kind =
                switch member.kind {
                case .regular: .regular
                case .directory: .directory
                case .symlink: .symlink
                case .hardlink: .hardlink
                case .characterDevice: .characterDevice
                case .blockDevice: .blockDevice
                case .fifo: .fifo
                case .socket: .socket
                }
            var entry = TreeEntry(
                path: member.path, kind: kind, permissions: member.permissions, uid: member.uid, gid: member.gid,
                mtime: member.mtime, mtimeNanoseconds: member.mtimeNanoseconds, size: member.size,
                linkTarget: member.linkTarget)
            if kind == .characterDevice || kind == .blockDevice {
                entry.device = "\(member.rdevMajor):\(member.rdevMinor)"
            }
            if kind == .regular {
                if let offset = reader.currentDataOffset {
                    entry.content = .range(path: path, offset..<(offset + member.size))
                } else {
                    entry.content = .tarMember(source, index: reader.count)
                }
                let digest = Digest(.sha256)
                var total: UInt64 = 0
                try reader.forEachChunk { chunk in
                    digest.update(chunk)
                    total += UInt64(chunk.count)
                }
                guard total == member.size else {
                    throw FormatError(
                        .truncated, format: "tar",
                        "member \(member.pathString) has \(total) bytes, its header says "
                            + "\(member.size)", file: path)
                }
                entry.sha256 = digest.finalize()
            }
            result.append(entry)
        }
        return result
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A directory tree walked without following symlinks, names sorted bytewise, files hashed.
enum DirectoryListing {
    static func entries(root: String, maxEntries: Int = 1 << 20) throws -> [TreeEntry] {
        var result: [TreeEntry] = []
        try walk(root: root, relative: [], depth: 0, maxEntries: maxEntries, into: &result)
        return result
    }

    private static func names(in directory: String) throws -> [[UInt8]] {
        guard let dir = opendir(directory) else { throw SystemError("open directory", path: directory, errno: errno) }
        defer { closedir(dir) }
        var names: [[UInt8]] = []
        while let entry = readdir(dir) {
            let name = FileTree.entryName(entry)
            if name == [0x2E] || name == [0x2E, 0x2E] { continue }
            names.append(name)
        }
        return names.sorted { $0.lexicographicallyPrecedes($1) }
    }

    private static func walk(
        root: String, relative: [UInt8], depth: Int, maxEntries: Int, into result: inout [TreeEntry]
    ) throws {
        guard depth < 256 else {
            throw RebuildError(.tooLarge, "\(root): directories nested more than 256 levels deep")
        }
        let directory = relative.isEmpty ? root : root + "/" + String(decoding: relative, as: UTF8.self)
        for name in try names(in: directory) {
            guard result.count < maxEntries else {
                throw RebuildError(.tooLarge, "\(root): more than \(maxEntries) entries")
            }
            let rel = relative.isEmpty ? name : relative + [0x2F] + name
            let full = root + "/" + String(decoding: rel, as: UTF8.self)
            var st = stat()
            guard lstat(full, &st) == 0 else { throw SystemError("stat", path: full, errno: errno) }
            let mode = UInt32(st.st_mode)
            var entry = TreeEntry(
                path: rel, kind: TreeEntry.kind(mode: mode), permissions: mode & 0o7777, uid: Int64(st.st_uid),
                gid: Int64(st.st_gid), mtime: Int64(st.st_mtim.tv_sec), mtimeNanoseconds: Int(st.st_mtim.tv_nsec),
                size: 0)
            switch entry.kind {
            case .regular:
                entry.size = UInt64(st.st_size)
                entry.sha256 = try FileStream.hash(path: full, .sha256)
                entry.content = .range(path: full, 0..<entry.size)
            case .symlink:
                entry.linkTarget = try SymbolicLink.target(of: full, sizeHint: Int(st.st_size))
            case .characterDevice, .blockDevice:
                let dev = UInt64(st.st_rdev)
                let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & ~UInt64(0xfff))
                let minor = (dev & 0xff) | ((dev >> 12) & ~UInt64(0xff))
                entry.device = "\(major):\(minor)"
            default: break
            }
            result.append(entry)
            if entry.kind == .directory {
                try walk(root: root, relative: rel, depth: depth + 1, maxEntries: maxEntries, into: &result)
            }
        }
    }
}
