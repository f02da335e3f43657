#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A file opened for reading. One object owns one descriptor and closes it in `deinit`; reads retry on
/// EINTR and report short files as ``FormatError`` `.truncated` with the offset.
///
/// ```swift
/// let f = try FileInput(path: "image.eif")
/// let header = try f.read(at: 0, count: 548, format: "EIF")
/// ```
public final class FileInput: @unchecked Sendable {
    // @unchecked: the descriptor is immutable after init and pread is safe to call from several threads.
    public let path: String
    public let size: UInt64
    private let fd: Int32

    public init(path: String) throws(SystemError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError("open for reading", path: path, errno: errno) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let e = errno
            close(fd)
            throw SystemError("stat", path: path, errno: e)
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw SystemError("read (not a regular file)", path: path, errno: EINVAL)
        }
        self.fd = fd
        self.path = path
        self.size = UInt64(st.st_size)
        posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_SEQUENTIAL))
    }

    deinit { close(fd) }

    /// Reads up to `buffer.count` bytes at `offset`; returns how many were read (0 at end of file).
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(SystemError) -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        var done = 0
        while done < buffer.count {
            let n = pread(fd, base + done, buffer.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError("read", path: path, errno: errno)
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Reads exactly `count` bytes at `offset`, or throws `.truncated` naming `format` and the offset.
    public func read(at offset: UInt64, count: Int, format: String) throws -> [UInt8] {
        guard count >= 0 else { throw FormatError(.badValue, format: format, offset: offset, "negative length") }
        let (end, overflow) = offset.addingReportingOverflow(UInt64(count))
        guard !overflow, end <= size else {
            throw FormatError(
                .truncated, format: format, offset: offset,
                "expected \(count) bytes, the file has \(size > offset ? size - offset : 0) left", file: path)
        }
        var out = [UInt8](repeating: 0, count: count)
        let n = try out.withUnsafeMutableBytes { try read(into: $0, at: offset) }
        guard n == count else {
            throw FormatError(
                .truncated, format: format, offset: offset + UInt64(n), "file shrank while reading", file: path)
        }
        return out
    }

    /// The whole file, refusing files over `limit` bytes (for small inputs such as keys and manifests).
    public func readAll(limit: UInt64, format: String) throws -> [UInt8] {
        guard size <= limit else {
            throw FormatError(
                .tooLarge, format: format, offset: nil, "file is \(size) bytes, limit \(limit)", file: path)
        }
        return try read(at: 0, count: Int(size), format: format)
    }

    /// Convenience: the whole file at `path`, at most `limit` bytes.
    public static func contents(of path: String, limit: UInt64 = 64 << 20, format: String = "file") throws -> [UInt8] {
        try FileInput(path: path).readAll(limit: limit, format: format)
    }
}
