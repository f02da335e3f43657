import EnclaveCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes archive entries below one root, refusing anything that could leave it. Parents are created as
/// directories; an entry below a symlink or a file, a second entry with the same path, an absolute or
/// `..` name, and a symlink or hard link that points outside are ``ArchiveError``s naming the archive and
/// the entry. Permission bits are kept without setuid, setgid and sticky; owners are ignored.
///
/// ```swift
/// let extractor = SafeExtractor(root: "out", archive: "src.tar")
/// try extractor.directory(Array("bin".utf8), permissions: 0o755)
/// try extractor.finish()
/// ```
public final class SafeExtractor {
    enum Kind { case directory, file, symlink }

    public let root: String
    /// The archive named in errors (changes when a `.deb`'s data member is extracted).
    public var archive: String
    private var kinds: [[[UInt8]]: Kind] = [:]
    private var explicit = Set<[[UInt8]]>()
    private var directoryModes: [[UInt8]: mode_t] = [:]

    /// An extractor into `root`, an existing directory (normally empty).
    public init(root: String, archive: String) {
        self.root = root
        self.archive = archive
    }

    /// The error for an entry that cannot be extracted, naming the archive and the entry.
    public func refuse(_ name: [UInt8], _ why: String) -> ArchiveError {
        ArchiveError(.refusedEntry, path: archive, entry: name, why)
    }

    private func fullPath(_ parts: [[UInt8]]) -> String {
        root + "/" + SafePath.text(parts)
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
                throw refuse(name, "is below '\(SafePath.text(prefix))', which is not a directory")
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

    /// A directory; its mode is set by ``finish()`` (owner bits rwx until then).
    public func directory(_ name: [UInt8], permissions: UInt32) throws {
        let parts = try claim(name, as: .directory)
        guard !parts.isEmpty else { return }
        if kinds[parts] == nil {
            let path = fullPath(parts)
            guard mkdir(path, 0o755) == 0 else { throw SystemError("create the directory", path: path, errno: errno) }
            kinds[parts] = .directory
        }
        directoryModes[SafePath.join(parts)] = mode_t(permissions & 0o777) | 0o700
    }

    /// A regular file whose bytes `write` puts into the descriptor (the second argument is its path).
    public func file(_ name: [UInt8], permissions: UInt32, write: (Int32, String) throws -> Void) throws {
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

    /// A symlink; absolute targets are allowed (they resolve inside the root in a chroot).
    public func symlink(_ name: [UInt8], target: [UInt8]) throws {
        guard !target.isEmpty, !target.contains(0) else { throw refuse(name, "is a symlink with an empty target") }
        let parts = try claim(name, as: .symlink)
        guard SafePath.symlinkStaysInside(linkComponents: parts, target: target) else {
            throw refuse(name, "is a symlink to '\(String(decoding: target, as: UTF8.self))', which leaves the tree")
        }
        let path = fullPath(parts)
        let status = (target + [0]).withUnsafeBufferPointer { buffer in
            buffer.baseAddress.map { base in
                base.withMemoryRebound(to: CChar.self, capacity: buffer.count) { symlinkat($0, AT_FDCWD, path) }
            } ?? -1
        }
        guard status == 0 else { throw SystemError("create the symlink", path: path, errno: errno) }
        kinds[parts] = .symlink
    }

    /// A hard link to a regular file extracted earlier from the same archive.
    public func hardlink(_ name: [UInt8], target: [UInt8]) throws {
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
    public func finish() throws {
        for (relative, mode) in directoryModes.sorted(by: { $0.key.count > $1.key.count }) {
            let path = root + "/" + String(decoding: relative, as: UTF8.self)
            guard chmod(path, mode) == 0 else { throw SystemError("set the mode of", path: path, errno: errno) }
        }
    }
}
