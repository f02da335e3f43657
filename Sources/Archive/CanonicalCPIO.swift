import EnclaveCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A deterministic newc archive of a directory tree (<doc:NewcArchives>): the
/// same tree gives the same bytes whatever the creation order, umask, owner or later mtimes.
///
/// - members sorted by path bytes (the root itself is not a member);
/// - mtime clamped to `sourceDateEpoch` (later times become it, earlier ones stay);
/// - uid/gid 0; modes normalized as `tar --mode=go-w,u+rw,a+rX` (setuid/setgid/sticky kept);
/// - inode numbers renumbered from 0 in archive order, device 0/0 (GNU `cpio --reproducible`);
/// - nlink 2 + number of subdirectories for a directory, 1 otherwise; hard links are stored as
///   independent files (their data is repeated), so no inode numbering leaks;
/// - uppercase hex, trailer, 4-byte alignment.
///
/// With those rules the output equals GNU cpio 2.13's
/// `find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible` over the
/// normalized tree, minus its 512-byte block padding (tested).
///
/// ```swift
/// try CanonicalCPIO.write(directory: "rootfs", sourceDateEpoch: 1700000000, to: "rootfs.cpio")
/// ```
public enum CanonicalCPIO {
    /// The normalized permission bits: `go-w,u+rw,a+rX`.
    public static func normalize(permissions: UInt32, isDirectory: Bool) -> UInt32 {
        var mode = permissions & 0o7777
        mode &= ~0o022
        mode |= 0o644
        if isDirectory || mode & 0o111 != 0 { mode |= 0o111 }
        return mode
    }

    /// Writes the archive of `directory` to `path` atomically.
    public static func write(directory: String, sourceDateEpoch: Int64, to path: String) throws {
        let out = try FileByteOutput(path: path)
        try write(directory: directory, sourceDateEpoch: sourceDateEpoch, to: out)
        try out.commit()
    }

    /// Writes the archive of `directory` to any ``ByteOutput``.
    public static func write(directory: String, sourceDateEpoch: Int64, to output: any ByteOutput) throws {
        var entries: [(path: [UInt8], entry: ExportEntry, subdirs: UInt32)] = []
        var subdirCount: [[UInt8]: UInt32] = [:]
        try DirectoryExport(root: directory).forEachEntry { entry in
            var path = entry.name
            if case .directory = entry.kind { path.removeLast() }
            if case .directory = entry.kind {
                let parent = parentPath(path)
                subdirCount[parent, default: 0] += 1
            }
            entries.append((path, entry, 0))
        }
        entries.sort { $0.path.lexicographicallyPrecedes($1.path) }
        let cpio = CPIOWriter(output: output, profile: .canonical)
        for item in entries {
            let e = item.entry
            let mtime = min(e.mtime, sourceDateEpoch)
            func header(_ type: CPIOFileType, _ size: UInt64, nlink: UInt32 = 1) -> CPIOEntry {
                CPIOEntry(
                    name: item.path, type: type,
                    permissions: type == .symlink
                        ? 0o777 : normalize(permissions: e.permissions, isDirectory: type == .directory),
                    mtime: mtime, size: size, rdevMajor: e.rdevMajor, rdevMinor: e.rdevMinor, nlink: nlink)
            }
            switch e.kind {
            case .directory:
                try cpio.append(header(.directory, 0, nlink: 2 + subdirCount[item.path, default: 0]))
            case .regular:
                try cpio.append(header(.regular, e.size), data: e.data)
            case .hardlink(let target):
                // Dereferenced: store the first path's file again.
                let source = directory + "/" + String(decoding: target, as: UTF8.self)
                let size = try FileInput(path: source).size
                try cpio.append(header(.regular, size), data: .file(source))
            case .symlink(let target):
                try cpio.append(header(.symlink, UInt64(target.count)), data: .bytes(target))
            case .characterDevice: try cpio.append(header(.characterDevice, 0))
            case .blockDevice: try cpio.append(header(.blockDevice, 0))
            case .fifo: try cpio.append(header(.fifo, 0))
            }
        }
        try cpio.finish()
    }

    static func parentPath(_ path: [UInt8]) -> [UInt8] {
        guard let slash = path.lastIndex(of: UInt8(ascii: "/")) else { return [] }
        return Array(path[..<slash])
    }
}
