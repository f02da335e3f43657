import Archive
import EnclaveCore

/// Where the bytes of one compared item live, so they can be read again (for a text diff, the first
/// differing offset or diffoscope) without keeping them in memory.
enum ContentSource: Sendable {
    /// A byte range of a file (an EIF section, a cpio member, a plain file, an uncompressed tar member).
    case range(path: String, Range<UInt64>)
    /// Member number `index` (1-based, in archive order) of a possibly compressed tar archive.
    case tarMember(TarSource, index: Int)
    /// Bytes already in memory (small sections, symlink targets).
    case bytes([UInt8])

    /// A pull reader over the bytes.
    func open() throws -> ContentReader {
        switch self {
        case .range(let path, let range): try ContentReader(file: FileInput(path: path), range: range)
        case .bytes(let bytes): ContentReader(bytes: bytes)
        case .tarMember(let source, let index): try ContentReader(tar: source, index: index)
        }
    }

    /// All the bytes, or `nil` when there are more than `limit`.
    func readAll(limit: Int) throws -> [UInt8]? {
        let reader = try open()
        var out: [UInt8] = []
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = try reader.read(into: buffer)
            if n == 0 { return out }
            guard out.count + n <= limit else { return nil }
            out.append(contentsOf: buffer[0..<n])
        }
    }
}

/// Reads a ``ContentSource`` in pieces.
final class ContentReader {
    private enum Backing {
        case file(FileInput, Range<UInt64>)
        case bytes([UInt8])
        case tar(TarReader)
    }
    private let backing: Backing
    private var position: UInt64 = 0

    init(file: FileInput, range: Range<UInt64>) throws {
        guard range.upperBound <= file.size else {
            throw FormatError(
                .truncated, format: "file", offset: file.size,
                "expected data up to offset \(range.upperBound), the file ends at \(file.size)", file: file.path)
        }
        backing = .file(file, range)
    }

    init(bytes: [UInt8]) { backing = .bytes(bytes) }

    init(tar source: TarSource, index: Int) throws {
        let reader = try TarReader(source)
        while reader.count < index {
            guard try reader.next() != nil else {
                throw FormatError(
                    .truncated, format: "tar", "member \(index) is missing on the second reading",
                    file: source.displayName)
            }
        }
        backing = .tar(reader)
    }

    /// Reads up to `buffer.count` bytes; 0 at the end.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        switch backing {
        case .file(let file, let range):
            let left = range.count - Int(position)
            let want = min(buffer.count, left)
            guard want > 0 else { return 0 }
            let got = try file.read(
                into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<want]), at: range.lowerBound + position)
            guard got == want else {
                throw FormatError(
                    .truncated, format: "file", offset: range.lowerBound + position + UInt64(got),
                    "file shrank while reading", file: file.path)
            }
            position += UInt64(got)
            return got
        case .bytes(let bytes):
            let start = Int(position)
            let n = min(buffer.count, bytes.count - start)
            guard n > 0 else { return 0 }
            bytes.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[start..<(start + n)])) }
            position += UInt64(n)
            return n
        case .tar(let reader):
            return try reader.read(into: buffer)
        }
    }
}

extension Range where Bound == UInt64 {
    var count: UInt64 { upperBound - lowerBound }
}

/// Byte-level helpers over two ``ContentSource``s.
enum ContentCompare {
    /// The offset of the first byte that differs, or where the shorter one ends; `nil` if equal.
    /// Reads both in lockstep in 1 MiB pieces (bounded memory).
    static func firstDifference(_ a: ContentSource, _ b: ContentSource) throws -> UInt64? {
        let ra = try a.open()
        let rb = try b.open()
        let size = 1 << 20
        let ba = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
        let bb = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
        defer {
            ba.deallocate()
            bb.deallocate()
        }
        guard let pa = ba.baseAddress, let pb = bb.baseAddress else { return nil }
        var offset: UInt64 = 0
        var (sa, ea) = (0, 0)  // unread window [sa, ea) of ba
        var (sb, eb) = (0, 0)
        while true {
            if sa == ea {
                sa = 0
                ea = try ra.read(into: ba)
            }
            if sb == eb {
                sb = 0
                eb = try rb.read(into: bb)
            }
            if sa == ea || sb == eb { return (sa == ea && sb == eb) ? nil : offset }
            let n = min(ea - sa, eb - sb)
            if memcmp(pa + sa, pb + sb, n) != 0 {
                for i in 0..<n where ba[sa + i] != bb[sb + i] { return offset + UInt64(i) }
            }
            sa += n
            sb += n
            offset += UInt64(n)
        }
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
