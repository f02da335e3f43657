import EnclaveCore

/// One member of a `docker export` tar stream: what linuxkit reads to build the app ramdisk
/// (Nitro catalog, article "nitro-cli Ramdisks"). Names are relative, directories end in `/` (`bin/`), hard links name the
/// member that came first (`usr/bin/a`), as Docker's archive writer produces them.
///
/// ```swift
/// let e = ExportEntry(name: "bin/", kind: .directory, permissions: 0o755, mtime: 1700000000)
/// ```
public struct ExportEntry: Sendable {
    /// The member type and, for links, the target.
    public enum Kind: Sendable, Hashable {
        case directory
        case regular
        case symlink(target: [UInt8])
        case hardlink(target: [UInt8])
        case characterDevice
        case blockDevice
        case fifo

        /// Whether this is a symbolic link.
        public var isSymlink: Bool {
            if case .symlink = self { return true }
            return false
        }
    }

    /// The mode bits Linux reports for every symbolic link (`lstat(2)`): a link has no permissions of
    /// its own, so a layer header's mode for it is lost once the layer is extracted, and `docker export`
    /// writes 0777.
    public static let symlinkPermissions: UInt32 = 0o777

    /// The tar member name, raw bytes.
    public var name: [UInt8]
    public var kind: Kind
    /// `mode & 0o7777` (permissions, setuid, setgid, sticky).
    public var permissions: UInt32
    public var uid: UInt32
    public var gid: UInt32
    /// Seconds since the epoch (fractions already dropped, rounding down as Go's `Time.Unix()`).
    public var mtime: Int64
    /// Data size of a regular file; 0 for every other kind.
    public var size: UInt64
    public var rdevMajor: UInt32
    public var rdevMinor: UInt32
    /// Where a regular file's bytes come from.
    public var data: CPIOData

    public init(
        name: [UInt8], kind: Kind, permissions: UInt32, uid: UInt32 = 0, gid: UInt32 = 0, mtime: Int64,
        size: UInt64 = 0, rdevMajor: UInt32 = 0, rdevMinor: UInt32 = 0, data: CPIOData = .none
    ) {
        self.name = name
        self.kind = kind
        self.permissions = permissions & 0o7777
        self.uid = uid
        self.gid = gid
        self.mtime = mtime
        self.size = size
        self.rdevMajor = rdevMajor
        self.rdevMinor = rdevMinor
        self.data = data
    }

    public init(
        name: String, kind: Kind, permissions: UInt32, uid: UInt32 = 0, gid: UInt32 = 0, mtime: Int64,
        size: UInt64 = 0, rdevMajor: UInt32 = 0, rdevMinor: UInt32 = 0, data: CPIOData = .none
    ) {
        self.init(
            name: Array(name.utf8), kind: kind, permissions: permissions, uid: uid, gid: gid, mtime: mtime,
            size: size, rdevMajor: rdevMajor, rdevMinor: rdevMinor, data: data)
    }
}

/// Anything that yields `docker export` entries in export order: a flattened container image
/// (``FlattenedImage``), a directory walked as Docker would (``DirectoryExport``), or a list.
///
/// ```swift
/// try source.forEachEntry { entry in print(entry.name) }
/// ```
public protocol ExportSource {
    /// Calls `body` for each entry, in export order.
    func forEachEntry(_ body: (ExportEntry) throws -> Void) throws
}

/// A fixed list of entries (tests, and callers that already hold the stream).
///
/// ```swift
/// let source = ExportList([ExportEntry(name: "bin/", kind: .directory, permissions: 0o755, mtime: 0)])
/// ```
public struct ExportList: ExportSource, Sendable {
    public var entries: [ExportEntry]

    public init(_ entries: [ExportEntry]) { self.entries = entries }

    public func forEachEntry(_ body: (ExportEntry) throws -> Void) throws {
        for entry in entries { try body(entry) }
    }
}

/// Path helpers with Go's `path/filepath` semantics on `/`-separated byte strings.
public enum PathBytes {
    /// The cleaned components of a relative path (`.` and empty parts dropped, `..` folded), as
    /// `filepath.Clean` splits it: `PathBytes.clean(Array("a/./b/../c".utf8))` is `["a", "c"]`.
    public static func clean(_ path: [UInt8]) -> [[UInt8]] {
        var parts: [[UInt8]] = []
        for part in path.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true) {
            if part.elementsEqual([UInt8(ascii: ".")]) { continue }
            if part.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")]) {
                if let last = parts.last, last != [UInt8(ascii: "."), UInt8(ascii: ".")] {
                    parts.removeLast()
                } else {
                    parts.append(Array(part))
                }
                continue
            }
            parts.append(Array(part))
        }
        return parts
    }
}
