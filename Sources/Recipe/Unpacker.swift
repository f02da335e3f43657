import Archive
import CLibArchive
import EnclaveCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Lays an input out as a step sees it at `/inputs/NAME` (`Recipes/README.md`, "Inputs"): `none` puts
/// the file there under its own name (a hard link to the cache, or a copy); `zip` and `tar` extract the
/// archive (libarchive, any compression); `deb` extracts the package's `data.tar.*`; `image` flattens a
/// docker-archive or OCI image as `docker export` would; `source` unpacks a Debian source package with
/// `dpkg-source -x` (``DebianSource``). Extraction refuses absolute names, `..`, links
/// that leave the tree, devices, fifos and duplicate paths, naming the input, the archive and the entry.
/// Permission bits are kept without setuid, setgid and sticky; owners are ignored. Path inputs are
/// copied as they are (the sandbox may bind-mount ``ResolvedInput/file`` instead).
///
/// ```swift
/// try Unpacker.unpack(resolved, into: "work/inputs/zig")
/// ```
public enum Unpacker {
    /// Unpacks `resolved` into `directory`, which is created and must not exist yet.
    public static func unpack(_ resolved: ResolvedInput, into directory: String) throws {
        if FileStatus(directory) != nil {
            throw RecipeError(.io, file: directory, "already exists; unpack into a new directory")
        }
        let input = resolved.input
        let archiveName = input.fileName
        if input.localPath != nil, input.kind == .path {
            if FileStatus.isDirectory(resolved.file) {
                try FileSystem.copyTree(from: resolved.file, to: directory)
            } else {
                try FileTree.makeDirectories(directory)
                try FileSystem.copyFile(
                    from: resolved.file, to: directory + "/" + archiveName, mode: fileMode(resolved.file))
            }
            return
        }
        if input.unpack == .source {
            try unpackSource(resolved, into: directory)
            return
        }
        try FileTree.makeDirectories(directory)
        do {
            let extractor = SafeExtractor(root: directory, input: input.name, archive: archiveName)
            switch input.unpack {
            case .none:
                let target = directory + "/" + archiveName
                if link(resolved.file, target) != 0 {
                    try FileSystem.copyFile(from: resolved.file, to: target, mode: 0o644)
                }
            case .zip:
                try extract(
                    LibArchiveReader(path: resolved.file, formats: .zip, name: archiveName, input: input.name),
                    into: extractor)
            case .tar:
                try extract(
                    LibArchiveReader(path: resolved.file, formats: .tar, name: archiveName, input: input.name),
                    into: extractor)
            case .deb:
                try extractDeb(resolved.file, name: archiveName, input: input.name, into: extractor)
            case .image:
                try extractImage(resolved.file, name: archiveName, input: input.name, into: extractor)
            case .source:
                throw RecipeError(.unpack, "input '\(input.name)': unpack 'source' is only for debian-source inputs")
            }
            try extractor.finish()
        } catch {
            FileTree.removeTree(directory)
            throw error
        }
    }

    static func fileMode(_ path: String) -> mode_t {
        var st = stat()
        guard stat(path, &st) == 0 else { return 0o644 }
        return mode_t(st.st_mode & 0o777)
    }

    static func extract(_ reader: LibArchiveReader, into extractor: SafeExtractor) throws {
        while let entry = try reader.next() {
            switch entry.type {
            case .directory:
                try extractor.directory(entry.path, permissions: entry.permissions)
            case .regular:
                try extractor.file(entry.path, permissions: entry.permissions) { fd, path in
                    try reader.copyData(to: fd, path: path)
                }
            case .symlink:
                try extractor.symlink(entry.path, target: entry.linkTarget ?? [])
            case .hardlink:
                try extractor.hardlink(entry.path, target: entry.linkTarget ?? [])
            case .special:
                throw extractor.refuse(
                    entry.path,
                    "is a device, fifo or socket; inputs may only hold files, "
                        + "directories and links")
            }
        }
    }

    /// A Debian package: an `ar` archive whose `data.tar[.gz|.xz|.zst|.bz2]` member is extracted.
    static func extractDeb(_ path: String, name: String, input: String, into extractor: SafeExtractor) throws {
        let outer = try LibArchiveReader(path: path, formats: .ar, name: name, input: input)
        var sawBinary = false
        while let entry = try outer.next() {
            let member = String(decoding: entry.path, as: UTF8.self)
            if member == "debian-binary" {
                sawBinary = true
                continue
            }
            guard member.hasPrefix("data.tar") else { continue }
            guard sawBinary else {
                throw RecipeError(
                    .unpack, "input '\(input)': archive '\(name)': not a Debian package (no debian-binary member first)"
                )
            }
            let scratchDirectory = try TemporaryDirectory(prefix: "enclavekit-deb-")
            defer { withExtendedLifetime(scratchDirectory) {} }
            let scratch = scratchDirectory.path
            let dataPath = scratch + "/" + member
            let fd = open(dataPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw SystemError("create", path: dataPath, errno: errno) }
            do {
                defer { close(fd) }
                try outer.copyData(to: fd, path: dataPath)
            }
            let inner = try LibArchiveReader(path: dataPath, formats: .tar, name: "\(name):\(member)", input: input)
            try extract(inner, into: extractor.renamed(archive: "\(name):\(member)"))
            return
        }
        throw RecipeError(
            .unpack, "input '\(input)': archive '\(name)': no data.tar member; is it a Debian package (.deb)?")
    }

    /// A docker-archive or OCI image, flattened as `docker export` does.
    static func extractImage(_ path: String, name: String, input: String, into extractor: SafeExtractor) throws {
        let image: ContainerImage
        let flat: FlattenedImage
        do {
            image = try ContainerImage.open(path: path)
            flat = try image.flatten()
        } catch let error as FormatError {
            throw RecipeError(.unpack, "input '\(input)': archive '\(name)': \(error.description)")
        }
        try flat.forEachEntry { entry in
            var entryName = entry.name
            if entryName.last == UInt8(ascii: "/") { entryName.removeLast() }
            switch entry.kind {
            case .directory:
                try extractor.directory(entryName, permissions: entry.permissions)
            case .regular:
                try extractor.file(entryName, permissions: entry.permissions) { fd, target in
                    try writeData(entry.data, size: entry.size, to: fd, path: target)
                }
            case .symlink(let target):
                try extractor.symlink(entryName, target: target)
            case .hardlink(let target):
                try extractor.hardlink(entryName, target: target)
            case .characterDevice, .blockDevice, .fifo:
                throw extractor.refuse(
                    entryName, "is a device or fifo; inputs may only hold files, directories and links")
            }
        }
    }

    static func writeData(_ data: CPIOData, size: UInt64, to fd: Int32, path: String) throws {
        switch data {
        case .none: return
        case .bytes(let bytes): try bytes.withUnsafeBytes { try writeAll(fd, $0, path: path) }
        case .file(let source):
            let input = try FileInput(path: source)
            try FileStream.forEachChunk(of: input, ranges: [0..<size]) { _, chunk in try writeAll(fd, chunk, path: path)
            }
        case .fileRange(let source, let offset, let length):
            let input = try FileInput(path: source)
            try FileStream.forEachChunk(of: input, ranges: [offset..<offset + length]) { _, chunk in
                try writeAll(fd, chunk, path: path)
            }
        }
    }

}

/// Writes archive entries below one root, refusing anything that could leave it. Parents are created as
/// directories; an entry below a symlink or a file, a second entry with the same path, an absolute or
/// `..` name, and a symlink or hard link that points outside are errors naming input, archive and entry.
final class SafeExtractor {
    enum Kind { case directory, file, symlink }

    let root: String
    let input: String
    var archive: String
    private var kinds: [[[UInt8]]: Kind] = [:]
    private var explicit = Set<[[UInt8]]>()
    private var directoryModes: [[UInt8]: mode_t] = [:]

    init(root: String, input: String, archive: String) {
        self.root = root
        self.input = input
        self.archive = archive
    }

    func renamed(archive: String) -> SafeExtractor {
        self.archive = archive
        return self
    }

    func refuse(_ name: [UInt8], _ why: String) -> RecipeError {
        RecipeError(
            .unpack, "input '\(input)': archive '\(archive)': entry '\(String(decoding: name, as: UTF8.self))' \(why)")
    }

    private func fullPath(_ parts: [[UInt8]]) -> String {
        root + "/" + String(decoding: Array(parts.joined(separator: [UInt8(ascii: "/")])), as: UTF8.self)
    }

    /// Validates `name`, creates its parents, and claims the path.
    private func claim(_ name: [UInt8], as kind: Kind) throws -> [[UInt8]] {
        let parts: [[UInt8]]
        do {
            parts = try SafePath.components(name, format: "archive")
        } catch {
            throw refuse(name, name.first == UInt8(ascii: "/") ? "is absolute" : "contains '..'")
        }
        if parts.contains(where: { $0.contains(0) }) { throw refuse(name, "contains a NUL byte") }
        guard !parts.isEmpty else {
            if kind == .directory { return [] }
            throw refuse(name, "has no name")
        }
        for depth in 1..<parts.count + 1 where depth < parts.count {
            let prefix = Array(parts[0..<depth])
            switch kinds[prefix] {
            case .directory: continue
            case .file, .symlink:
                throw refuse(
                    name,
                    "is below '\(String(decoding: Array(prefix.joined(separator: [47])), as: UTF8.self))', "
                        + "which is not a directory")
            case nil:
                let path = fullPath(prefix)
                guard mkdir(path, 0o755) == 0 else {
                    throw SystemError("create the directory", path: path, errno: errno)
                }
                kinds[prefix] = .directory
            }
        }
        guard explicit.insert(parts).inserted else { throw refuse(name, "appears twice in the archive") }
        if let existing = kinds[parts] {
            guard existing == .directory, kind == .directory else {
                throw refuse(name, "appears twice in the archive")
            }
        }
        return parts
    }

    func directory(_ name: [UInt8], permissions: UInt32) throws {
        let parts = try claim(name, as: .directory)
        guard !parts.isEmpty else { return }
        if kinds[parts] == nil {
            let path = fullPath(parts)
            guard mkdir(path, 0o755) == 0 else { throw SystemError("create the directory", path: path, errno: errno) }
            kinds[parts] = .directory
        }
        directoryModes[Array(parts.joined(separator: [UInt8(ascii: "/")]))] = mode_t(permissions & 0o777) | 0o700
    }

    func file(_ name: [UInt8], permissions: UInt32, write: (Int32, String) throws -> Void) throws {
        let parts = try claim(name, as: .file)
        let path = fullPath(parts)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SystemError("create", path: path, errno: errno) }
        defer { close(fd) }
        kinds[parts] = .file
        try write(fd, path)
        guard fchmod(fd, mode_t(permissions & 0o777)) == 0 else {
            throw SystemError("set the mode of", path: path, errno: errno)
        }
    }

    func symlink(_ name: [UInt8], target: [UInt8]) throws {
        guard !target.isEmpty, !target.contains(0) else { throw refuse(name, "is a symlink with an empty target") }
        let parts = try claim(name, as: .symlink)
        guard SafePath.symlinkStaysInside(linkComponents: parts, target: target) else {
            throw refuse(name, "is a symlink to '\(String(decoding: target, as: UTF8.self))', which leaves the tree")
        }
        let path = fullPath(parts)
        try FileSystem.makeSymlink(target: target, at: path)
        kinds[parts] = .symlink
    }

    func hardlink(_ name: [UInt8], target: [UInt8]) throws {
        let targetParts: [[UInt8]]
        do {
            targetParts = try SafePath.components(target, format: "archive")
        } catch {
            throw refuse(name, "is a hard link to '\(String(decoding: target, as: UTF8.self))', which leaves the tree")
        }
        guard kinds[targetParts] == .file else {
            throw refuse(
                name,
                "is a hard link to '\(String(decoding: target, as: UTF8.self))', which is not a file earlier in the archive"
            )
        }
        let parts = try claim(name, as: .file)
        let path = fullPath(parts)
        guard link(fullPath(targetParts), path) == 0 else {
            throw SystemError("create the hard link", path: path, errno: errno)
        }
        kinds[parts] = .file
    }

    /// Sets directory modes, deepest first (directories stay writable until their contents are in).
    func finish() throws {
        for (relative, mode) in directoryModes.sorted(by: { $0.key.count > $1.key.count }) {
            let path = root + "/" + String(decoding: relative, as: UTF8.self)
            guard chmod(path, mode) == 0 else { throw SystemError("set the mode of", path: path, errno: errno) }
        }
    }
}

/// A libarchive reader over a file, for zip, tar (any compression) and the `ar` container of a `.deb`.
/// One object owns one `archive*`, freed in `deinit`.
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
    let input: String

    init(path: String, formats: Formats, name: String, input: String) throws {
        guard let archive = archive_read_new() else {
            throw RecipeError(.unpack, "input '\(input)': libarchive could not allocate a reader")
        }
        self.archive = archive
        self.name = name
        self.input = input
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

    func error(_ what: String) -> RecipeError {
        let detail = archive_error_string(archive).map { String(cString: $0) } ?? "unknown libarchive error"
        return RecipeError(.unpack, "input '\(input)': archive '\(name)': \(what): \(detail)")
    }

    private static func bytes(_ pointer: UnsafePointer<CChar>?) -> [UInt8]? {
        guard let pointer else { return nil }
        return Array(UnsafeRawBufferPointer(start: pointer, count: strlen(pointer)))
    }

    func next() throws -> Entry? {
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
