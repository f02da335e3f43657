import Archive
import EnclaveCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Extracts an environment's tar (mmdebstrap's output) into a directory: names through ``SafePath``
/// (no absolute names, no `..`), nothing written below a symlink or a file, a path only once;
/// permission bits as stored (setuid, setgid and sticky included), owners when running as root,
/// modification times as stored; symlinks as they are, including absolute targets (the tree is a root
/// filesystem: they resolve inside it when it is `/`); hard links to files earlier in the archive;
/// device nodes, fifos and sockets skipped (counted in the summary).
///
/// ```swift
/// let summary = try TreeExtractor.extract(tar: "env.tar", into: "env/root", environment: "build")
/// ```
enum TreeExtractor {
    struct Summary: Sendable, Hashable {
        var files = 0
        var directories = 0
        var symlinks = 0
        var hardlinks = 0
        /// Devices, fifos and sockets left out.
        var skipped = 0
    }

    private enum Kind { case directory, file, symlink }

    private struct DirectoryAttributes {
        var mode: mode_t
        var uid: Int64
        var gid: Int64
        var mtime: Int64
    }

    static func extract(tar: String, into root: String, environment: String) throws -> Summary {
        guard mkdir(root, 0o700) == 0 else { throw SystemError("create the directory", path: root, errno: errno) }
        let reader = try TarReader(TarSource(path: tar))
        let asRoot = geteuid() == 0
        var kinds: [[[UInt8]]: Kind] = [[]: .directory]
        var directories: [[[UInt8]]: DirectoryAttributes] = [:]
        var summary = Summary()
        func fail(_ entry: TarEntry, _ why: String) -> EnvironmentError {
            EnvironmentError(.format, "environment '\(environment)': \(tar): entry '\(entry.pathString)' \(why)")
        }
        func path(_ parts: [[UInt8]]) -> String {
            parts.isEmpty ? root : root + "/" + String(decoding: Array(parts.joined(separator: [47])), as: UTF8.self)
        }
        while let entry = try reader.next() {
            let parts: [[UInt8]]
            do {
                parts = try SafePath.components(entry.path, format: "tar", file: tar)
            } catch {
                throw fail(entry, "leaves the tree (absolute or '..')")
            }
            if parts.contains(where: { $0.contains(0) }) { throw fail(entry, "contains a NUL byte") }
            for depth in 0..<parts.count {
                let prefix = Array(parts[0..<depth])
                switch kinds[prefix] {
                case .directory: continue
                case .file, .symlink: throw fail(entry, "is below a file or a symlink")
                case nil:
                    guard mkdir(path(prefix), 0o700) == 0 else {
                        throw SystemError("create the directory", path: path(prefix), errno: errno)
                    }
                    kinds[prefix] = .directory
                    directories[prefix] = DirectoryAttributes(mode: 0o755, uid: 0, gid: 0, mtime: entry.mtime)
                }
            }
            if entry.kind != .directory, kinds[parts] != nil { throw fail(entry, "appears twice") }
            let target = path(parts)
            let mode = mode_t(entry.permissions & 0o7777)
            switch entry.kind {
            case .directory:
                if let existing = kinds[parts], existing != .directory { throw fail(entry, "appears twice") }
                if kinds[parts] == nil {
                    guard mkdir(target, 0o700) == 0 else {
                        throw SystemError("create the directory", path: target, errno: errno)
                    }
                    kinds[parts] = .directory
                }
                directories[parts] = DirectoryAttributes(mode: mode, uid: entry.uid, gid: entry.gid, mtime: entry.mtime)
                summary.directories += 1
            case .regular:
                let fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
                guard fd >= 0 else { throw SystemError("create", path: target, errno: errno) }
                defer { close(fd) }
                kinds[parts] = .file
                try reader.forEachChunk { chunk in try writeAll(fd, chunk, path: target) }
                if asRoot, fchown(fd, uid_t(clamping: entry.uid), gid_t(clamping: entry.gid)) != 0 {
                    throw SystemError("set the owner of", path: target, errno: errno)
                }
                // Without root, setuid/setgid may be refused for a group the user is not in: keep the rest.
                if fchmod(fd, mode) != 0, fchmod(fd, mode & 0o1777) != 0 {
                    throw SystemError("set the mode of", path: target, errno: errno)
                }
                var times = [
                    timespec(tv_sec: Int(entry.mtime), tv_nsec: 0), timespec(tv_sec: Int(entry.mtime), tv_nsec: 0),
                ]
                guard futimens(fd, &times) == 0 else {
                    throw SystemError("set the time of", path: target, errno: errno)
                }
                summary.files += 1
            case .symlink:
                guard let link = entry.linkTarget, !link.isEmpty, !link.contains(0) else {
                    throw fail(entry, "is a symlink without a target")
                }
                let made = (link + [0]).withUnsafeBufferPointer { buffer in
                    buffer.baseAddress.map { base in
                        base.withMemoryRebound(to: CChar.self, capacity: buffer.count) { symlink($0, target) }
                    } ?? -1
                }
                guard made == 0 else { throw SystemError("create the symlink", path: target, errno: errno) }
                kinds[parts] = .symlink
                if asRoot,
                    fchownat(
                        AT_FDCWD, target, uid_t(clamping: entry.uid), gid_t(clamping: entry.gid), AT_SYMLINK_NOFOLLOW)
                        != 0
                {
                    throw SystemError("set the owner of", path: target, errno: errno)
                }
                var times = [
                    timespec(tv_sec: Int(entry.mtime), tv_nsec: 0), timespec(tv_sec: Int(entry.mtime), tv_nsec: 0),
                ]
                guard utimensat(AT_FDCWD, target, &times, AT_SYMLINK_NOFOLLOW) == 0 else {
                    throw SystemError("set the time of", path: target, errno: errno)
                }
                summary.symlinks += 1
            case .hardlink:
                let targetParts: [[UInt8]]
                do {
                    targetParts = try SafePath.components(entry.linkTarget ?? [], format: "tar", file: tar)
                } catch {
                    throw fail(entry, "is a hard link that leaves the tree")
                }
                guard kinds[targetParts] == .file else {
                    throw fail(entry, "is a hard link to something that is not a file earlier in the archive")
                }
                guard link(path(targetParts), target) == 0 else {
                    throw SystemError("create the hard link", path: target, errno: errno)
                }
                kinds[parts] = .file
                summary.hardlinks += 1
            case .characterDevice, .blockDevice, .fifo, .socket:
                summary.skipped += 1
            }
        }
        for (parts, attributes) in directories.sorted(by: { $0.key.count > $1.key.count }) {
            let target = path(parts)
            if asRoot, chown(target, uid_t(clamping: attributes.uid), gid_t(clamping: attributes.gid)) != 0 {
                throw SystemError("set the owner of", path: target, errno: errno)
            }
            if chmod(target, attributes.mode) != 0, chmod(target, attributes.mode & 0o1777) != 0 {
                throw SystemError("set the mode of", path: target, errno: errno)
            }
            var times = [
                timespec(tv_sec: Int(attributes.mtime), tv_nsec: 0),
                timespec(tv_sec: Int(attributes.mtime), tv_nsec: 0),
            ]
            guard utimensat(AT_FDCWD, target, &times, AT_SYMLINK_NOFOLLOW) == 0 else {
                throw SystemError("set the time of", path: target, errno: errno)
            }
        }
        return summary
    }
}
