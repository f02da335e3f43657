#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes all of `buffer` to `fd` (at `offset` with pwrite, else at the current position), retrying
/// on EINTR and short writes; errors name `path`.
public func writeAll(
    _ fd: Int32, _ buffer: UnsafeRawBufferPointer, at offset: UInt64? = nil, path: String
) throws(SystemError) {
    guard let base = buffer.baseAddress else { return }
    var done = 0
    while done < buffer.count {
        let n =
            if let offset {
                pwrite(fd, base + done, buffer.count - done, off_t(offset) + off_t(done))
            } else {
                write(fd, base + done, buffer.count - done)
            }
        if n < 0 {
            if errno == EINTR { continue }
            throw SystemError("write", path: path, errno: errno)
        }
        done += n
    }
}
