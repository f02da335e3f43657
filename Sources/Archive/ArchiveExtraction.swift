import EnclaveCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Extracts an archive file into a directory through ``SafeExtractor``: `zip` and `tar` (libarchive, any
/// compression), `deb` (the package's `data.tar.*`), `image` (a docker-archive or OCI image flattened as
/// `docker export` would, ``FlattenedImage``). Refused entries (absolute names, `..`, links that leave
/// the tree, devices, fifos, duplicate paths) and unreadable archives are ``ArchiveError``s naming the
/// archive and the entry; file system failures are `SystemError`s. On error the directory may hold part
/// of the archive: the caller removes it.
///
/// ```swift
/// try ArchiveExtraction.extract("downloads/zig.tar.xz", format: .tar, name: "zig.tar.xz", into: "work/zig")
/// ```
public enum ArchiveExtraction {
    /// How the archive file is read.
    public enum Format: Sendable, Hashable {
        case zip, tar, deb, image
    }

    /// Extracts `path` (named `name` in errors) into `directory`, which must exist and be empty, then
    /// sets directory modes.
    public static func extract(_ path: String, format: Format, name: String, into directory: String) throws {
        let extractor = SafeExtractor(root: directory, archive: name)
        switch format {
        case .zip: try extract(LibArchiveReader(path: path, formats: .zip, name: name), into: extractor)
        case .tar: try extract(LibArchiveReader(path: path, formats: .tar, name: name), into: extractor)
        case .deb: try extractDeb(path, name: name, into: extractor)
        case .image: try extractImage(path, name: name, into: extractor)
        }
        try extractor.finish()
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
                    entry.path, "is a device, fifo or socket; inputs may only hold files, directories and links")
            }
        }
    }

    /// A Debian package: an `ar` archive whose `data.tar[.gz|.xz|.zst|.bz2]` member is extracted.
    static func extractDeb(_ path: String, name: String, into extractor: SafeExtractor) throws {
        let outer = try LibArchiveReader(path: path, formats: .ar, name: name)
        var sawBinary = false
        while let entry = try outer.next() {
            let member = String(decoding: entry.path, as: UTF8.self)
            if member == "debian-binary" {
                sawBinary = true
                continue
            }
            guard member.hasPrefix("data.tar") else { continue }
            guard sawBinary else {
                throw ArchiveError(
                    .wrongContainer, path: name, "not a Debian package (no debian-binary member first)")
            }
            let scratchDirectory = try TemporaryDirectory(prefix: "enclavekit-deb-")
            defer { withExtendedLifetime(scratchDirectory) {} }
            let dataPath = scratchDirectory.path + "/" + member
            let fd = open(dataPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw SystemError("create", path: dataPath, errno: errno) }
            do {
                defer { close(fd) }
                try outer.copyData(to: fd, path: dataPath)
            }
            let innerName = "\(name):\(member)"
            let inner = try LibArchiveReader(path: dataPath, formats: .tar, name: innerName)
            extractor.archive = innerName
            try extract(inner, into: extractor)
            return
        }
        throw ArchiveError(.wrongContainer, path: name, "no data.tar member; is it a Debian package (.deb)?")
    }

    /// A docker-archive or OCI image, flattened as `docker export` does.
    static func extractImage(_ path: String, name: String, into extractor: SafeExtractor) throws {
        let image: ContainerImage
        let flat: FlattenedImage
        do {
            image = try ContainerImage.open(path: path)
            flat = try image.flatten()
        } catch let error as FormatError {
            throw ArchiveError(.malformed, path: name, error.description)
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
            try FileStream.forEachChunk(of: input, ranges: [0..<size]) { _, chunk in
                try writeAll(fd, chunk, path: path)
            }
        case .fileRange(let source, let offset, let length):
            let input = try FileInput(path: source)
            try FileStream.forEachChunk(of: input, ranges: [offset..<offset + length]) { _, chunk in
                try writeAll(fd, chunk, path: path)
            }
        }
    }
}
