#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes to file descriptor 2 directly (the C `stderr` global is not concurrency-safe in Swift 6). For
/// the executables (the command-line tool, the fuzz driver): library modules report through callbacks
/// (``ProgressSink``, event handlers) and never write to standard error themselves.
public enum StandardError {
    public static func write(_ text: String) {
        var bytes = Array(text.utf8)  // mutable for withUnsafeMutableBytes
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { buffer -> Int in
                guard let base = buffer.baseAddress else { return -1 }
                return Glibc.write(2, base + done, buffer.count - done)
            }
            if n <= 0 { break }
            done += n
        }
    }
}
