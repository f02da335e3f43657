import EnclaveCore

// The newc ("070701") format is written here directly rather than through libarchive: libarchive's
// newc writer uses uppercase hex, its own inode numbering, the device numbers of the source files,
// real link counts and a 10240-byte (or 4-byte) final block, so it cannot produce the bytes of
// linuxkit's vendored surma/gocpio writer (lowercase hex, inodes from 721, device 3/1, nlink 2 for
// directories, 512-byte final padding), nor reproduce `cpio --reproducible` exactly.

/// A file type in a cpio newc archive (the `S_IFMT` bits of `c_mode`).
///
/// ```swift
/// let kind: CPIOFileType = .directory   // c_mode 0o040000 | permissions
/// ```
public enum CPIOFileType: UInt32, Sendable, Hashable {
    case fifo = 0o010000
    case characterDevice = 0o020000
    case directory = 0o040000
    case blockDevice = 0o060000
    case regular = 0o100000
    case symlink = 0o120000
}

/// The dialect of newc header that a ``CPIOWriter`` writes.
///
/// - `linuxkit`: exactly what nitro-cli 1.x's linuxkit (vendored `surma/gocpio`) writes
///   (Nitro catalog, article "nitro-cli Ramdisks"; <doc:NewcArchives>): lowercase hex, inode numbers from 721 counting every entry and the trailer,
///   device 3/1 on every entry, nlink 2 for directories and 1 otherwise, check 0, the archive padded
///   with zeros to a multiple of 512 bytes after the trailer.
/// - `canonical`: the bytes of GNU cpio 2.13 `-o -H newc --reproducible` (uppercase hex, inode numbers
///   renumbered from 0 in archive order, device 0/0, the trailer with inode 0), with the link count
///   given by the caller and no padding after the trailer beyond 4-byte alignment.
///
/// ```swift
/// let writer = CPIOWriter(output: out, profile: .linuxkit)
/// ```
public enum CPIOProfile: String, Sendable, Hashable, CaseIterable {
    case linuxkit
    case canonical
}

/// One archive member's header fields.
///
/// ```swift
/// let e = CPIOEntry(name: "init", type: .regular, permissions: 0o755, mtime: 1492533000, size: 1000)
/// ```
public struct CPIOEntry: Sendable, Hashable {
    /// The member name, as raw bytes (not NUL-terminated).
    public var name: [UInt8]
    public var type: CPIOFileType
    /// `mode & 0o7777`: permissions and the setuid/setgid/sticky bits.
    public var permissions: UInt32
    public var uid: UInt32
    public var gid: UInt32
    /// Seconds since the epoch.
    public var mtime: Int64
    /// Data size in bytes (for a symlink: the length of the target).
    public var size: UInt64
    /// Device number of a character or block device node.
    public var rdevMajor: UInt32
    public var rdevMinor: UInt32
    /// Link count; used by the `canonical` profile (linuxkit derives it from the type).
    public var nlink: UInt32

    public init(
        name: [UInt8], type: CPIOFileType, permissions: UInt32, uid: UInt32 = 0, gid: UInt32 = 0, mtime: Int64,
        size: UInt64 = 0, rdevMajor: UInt32 = 0, rdevMinor: UInt32 = 0, nlink: UInt32? = nil
    ) {
        self.name = name
        self.type = type
        self.permissions = permissions & 0o7777
        self.uid = uid
        self.gid = gid
        self.mtime = mtime
        self.size = size
        self.rdevMajor = rdevMajor
        self.rdevMinor = rdevMinor
        self.nlink = nlink ?? (type == .directory ? 2 : 1)
    }

    public init(
        name: String, type: CPIOFileType, permissions: UInt32, uid: UInt32 = 0, gid: UInt32 = 0, mtime: Int64,
        size: UInt64 = 0, rdevMajor: UInt32 = 0, rdevMinor: UInt32 = 0, nlink: UInt32? = nil
    ) {
        self.init(
            name: Array(name.utf8), type: type, permissions: permissions, uid: uid, gid: gid, mtime: mtime,
            size: size, rdevMajor: rdevMajor, rdevMinor: rdevMinor, nlink: nlink)
    }
}

/// Where a member's data comes from.
public enum CPIOData: Sendable {
    /// No data (directories, devices, fifos).
    case none
    /// Bytes in memory (symlink targets, small synthesized files).
    case bytes([UInt8])
    /// A file on disk, copied in bounded chunks; its size must equal the header's size.
    case file(String)
    /// A byte range of a file (a member stored uncompressed inside a tarball), copied in bounded chunks.
    case fileRange(path: String, offset: UInt64, length: UInt64)
}

/// A streaming writer of cpio "newc" archives (the Linux initramfs format, `070701`).
///
/// Headers and small data go through a bounded buffer; file data is copied in 1 MiB chunks, so
/// memory does not grow with the archive. Field values that do not fit the format's 32 bits
/// (files of 4 GiB or more, negative or far-future times) are rejected instead of being written as
/// a broken header.
///
/// ```swift
/// let out = MemoryByteOutput()
/// let cpio = CPIOWriter(output: out, profile: .linuxkit)
/// try cpio.append(CPIOEntry(name: "dev", type: .directory, permissions: 0o755, mtime: 1492533000))
/// try cpio.finish()
/// ```
public final class CPIOWriter {
    public let profile: CPIOProfile
    private let output: any ByteOutput
    private var buffer: [UInt8] = []
    private var nextInode: UInt64
    /// Bytes of archive produced so far (written or buffered).
    public private(set) var length: UInt64 = 0
    private var finished = false
    private static let flushThreshold = 1 << 18
    private static let chunkSize = 1 << 20

    public init(output: any ByteOutput, profile: CPIOProfile) {
        self.output = output
        self.profile = profile
        self.nextInode = profile == .linuxkit ? 721 : 0
        buffer.reserveCapacity(Self.flushThreshold + 4096)
    }

    /// Appends one member with its data. A symlink's data is its target (pass `.bytes(target)`).
    public func append(_ entry: CPIOEntry, data: CPIOData = .none) throws {
        precondition(!finished, "CPIOWriter.append after finish()")
        switch data {
        case .none:
            guard entry.size == 0 else {
                throw FormatError(
                    .badValue, format: "cpio", "\(Self.display(entry.name)): size \(entry.size) but no data")
            }
        case .bytes(let bytes):
            guard UInt64(bytes.count) == entry.size else {
                throw FormatError(
                    .badValue, format: "cpio",
                    "\(Self.display(entry.name)): header size \(entry.size) but \(bytes.count) bytes of data")
            }
        case .file: break
        case .fileRange(_, _, let length):
            guard length == entry.size else {
                throw FormatError(
                    .badValue, format: "cpio",
                    "\(Self.display(entry.name)): header size \(entry.size) but range of \(length)")
            }
        }
        try writeHeader(entry)
        switch data {
        case .none:
            break
        case .bytes(let bytes):
            append(bytes)
        case .file(let path):
            try copyFile(path, offset: 0, expectedSize: entry.size, wholeFile: true, name: entry.name)
        case .fileRange(let path, let offset, let length):
            try copyFile(path, offset: offset, expectedSize: length, wholeFile: false, name: entry.name)
        }
        pad(to: 4)
        try flushIfNeeded()
    }

    /// Writes the `TRAILER!!!` member and the final padding, and flushes everything to the output.
    public func finish() throws {
        precondition(!finished, "CPIOWriter.finish() called twice")
        let trailer = CPIOEntry(name: "TRAILER!!!", type: .regular, permissions: 0, mtime: 0, nlink: 1)
        if profile == .canonical { nextInode = 0 }
        try writeHeader(trailer, rawMode: 0)
        pad(to: profile == .linuxkit ? 512 : 4)
        finished = true
        try flush()
    }

    // MARK: - Header

    private func writeHeader(_ entry: CPIOEntry, rawMode: UInt32? = nil) throws {
        let mode = rawMode ?? (entry.type.rawValue | entry.permissions)
        let nlink: UInt64 = profile == .linuxkit ? (entry.type == .directory ? 2 : 1) : UInt64(entry.nlink)
        guard entry.mtime >= 0, entry.mtime <= 0xFFFF_FFFF else {
            throw FormatError(
                .unsupported, format: "cpio",
                "\(Self.display(entry.name)): mtime \(entry.mtime) does not fit the newc header (0...4294967295)")
        }
        guard entry.size <= 0xFFFF_FFFF else {
            throw FormatError(
                .tooLarge, format: "cpio",
                "\(Self.display(entry.name)): \(entry.size) bytes; newc members must be smaller than 4 GiB")
        }
        guard entry.name.count < 0xFFFF_FFFF, !entry.name.contains(0) else {
            throw FormatError(.badValue, format: "cpio", "member name contains a NUL byte or is too long")
        }
        let (devMajor, devMinor): (UInt64, UInt64) = profile == .linuxkit ? (3, 1) : (0, 0)
        let fields: [UInt64] = [
            nextInode, UInt64(mode), UInt64(entry.uid), UInt64(entry.gid), nlink, UInt64(entry.mtime), entry.size,
            devMajor, devMinor, UInt64(entry.rdevMajor), UInt64(entry.rdevMinor), UInt64(entry.name.count + 1), 0,
        ]
        guard nextInode <= 0xFFFF_FFFF else {
            throw FormatError(.tooLarge, format: "cpio", "too many members for 32-bit inode numbers")
        }
        append(Array("070701".utf8))
        let digits: [UInt8] = Array((profile == .linuxkit ? "0123456789abcdef" : "0123456789ABCDEF").utf8)
        for value in fields {
            for shift in stride(from: 28, through: 0, by: -4) {
                buffer.append(digits[Int((value >> UInt64(shift)) & 0xF)])
            }
            length += 8
        }
        append(entry.name)
        append([0])
        pad(to: 4)
        nextInode += 1
    }

    // MARK: - Data

    private func copyFile(_ path: String, offset start: UInt64, expectedSize: UInt64, wholeFile: Bool, name: [UInt8])
        throws
    {
        let input = try FileInput(path: path)
        let fits = wholeFile ? input.size == expectedSize : start <= input.size && input.size - start >= expectedSize
        guard fits else {
            throw FormatError(
                .badValue, format: "cpio",
                "\(Self.display(name)): \(path) is \(input.size) bytes, expected \(expectedSize) (file changed?)")
        }
        try flush()
        var offset: UInt64 = 0
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.chunkSize, alignment: 16)
        defer { chunk.deallocate() }
        while offset < expectedSize {
            let want = Int(min(UInt64(Self.chunkSize), expectedSize - offset))
            let got = try input.read(
                into: UnsafeMutableRawBufferPointer(rebasing: chunk[0..<want]), at: start + offset)
            guard got > 0 else {
                throw FormatError(
                    .truncated, format: "cpio", offset: offset, "\(path) ended early (file changed while reading?)")
            }
            try output.write(UnsafeRawBufferPointer(rebasing: chunk[0..<got]))
            offset += UInt64(got)
            length += UInt64(got)
        }
    }

    private func append(_ bytes: [UInt8]) {
        buffer.append(contentsOf: bytes)
        length += UInt64(bytes.count)
    }

    private func appendZeros(_ count: Int) {
        guard count > 0 else { return }
        buffer.append(contentsOf: repeatElement(0, count: count))
        length += UInt64(count)
    }

    private func pad(to alignment: UInt64) {
        appendZeros(Int((alignment - length % alignment) % alignment))
    }

    private func flushIfNeeded() throws {
        if buffer.count >= Self.flushThreshold { try flush() }
    }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        try output.write(buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    static func display(_ name: [UInt8]) -> String {
        String(decoding: name, as: UTF8.self)
    }
}
