#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The one monotonic clock for durations shown to people (progress bars, phase times): seconds since
/// an arbitrary start, never going back when the wall clock is set. Never written into an artifact.
///
/// ```swift
/// let start = MonotonicClock.seconds()
/// // ... work ...
/// print("took", MonotonicClock.seconds() - start, "s")
/// ```
public enum MonotonicClock {
    /// Seconds on `CLOCK_MONOTONIC`.
    public static func seconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
