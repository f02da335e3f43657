#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A progress bar on standard error, shown only when standard error is a terminal and the work has
/// run for more than a second (so scripts and short runs see nothing). Redraws at most 10 times a second.
///
/// ```swift
/// let bar = ProgressBar(label: "hashing image.eif", total: size)
/// bar.advance(by: n)
/// bar.finish()
/// ```
public final class ProgressBar: @unchecked Sendable {
    // @unchecked: state is guarded by `lock`.
    private let label: String
    private let total: UInt64
    private var done: UInt64 = 0
    private let start: Double
    private var lastDraw: Double = 0
    private var drawn = false
    private let enabled: Bool
    private let lock = NSLockLite()

    public init(label: String, total: UInt64, enabled: Bool? = nil) {
        self.label = label
        self.total = total
        self.start = ProgressBar.now()
        self.enabled = enabled ?? (isatty(2) == 1 && getenv("ENCLAVEKIT_NO_PROGRESS") == nil)
    }

    public func advance(by n: UInt64) {
        guard enabled else { return }
        lock.withLock {
            done += n
            let t = ProgressBar.now()
            guard t - start > 1.0, t - lastDraw > 0.1 else { return }
            lastDraw = t
            draw(elapsed: t - start)
        }
    }

    public func finish() {
        guard enabled else { return }
        lock.withLock {
            if drawn { StandardError.write("\r\u{1B}[K") }
            drawn = false
        }
    }

    private func draw(elapsed: Double) {
        let fraction = total > 0 ? min(1, Double(done) / Double(total)) : 0
        let width = 30
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let rate = Double(done) / max(elapsed, 0.001) / 1_048_576
        let line = "\r\(label) [\(bar)] \(Int(fraction * 100))% \(Int(rate)) MiB/s"
        StandardError.write(line)
        drawn = true
    }

    private static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

/// A minimal mutex over pthread, so EnclaveCore needs no Foundation.
final class NSLockLite: @unchecked Sendable {
    // @unchecked: the pthread mutex is the synchronization itself.
    private var mutex = pthread_mutex_t()
    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }
    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return try body()
    }
}

/// Writes to file descriptor 2 directly (the C `stderr` global is not concurrency-safe in Swift 6).
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
