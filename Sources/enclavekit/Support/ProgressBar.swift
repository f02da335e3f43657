import EnclaveCore
import Synchronization

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
/// The CLI's ``ProgressSink``: libraries take it as `any ProgressSink`, or start one through
/// ``make(label:total:)`` as their ``ProgressFactory``.
///
/// ```swift
/// let bar = ProgressBar(label: "hashing image.eif", total: size)
/// bar.advance(by: n)
/// bar.finish()
/// ```
final class ProgressBar: ProgressSink {
    private struct State {
        var done: UInt64 = 0
        var lastDraw: Double = 0
        var drawn = false
    }

    private let label: String
    private let total: UInt64
    private let start: Double
    private let enabled: Bool
    private let state = Mutex(State())

    init(label: String, total: UInt64, enabled: Bool? = nil) {
        self.label = label
        self.total = total
        self.start = MonotonicClock.seconds()
        self.enabled = enabled ?? (isatty(2) == 1 && getenv("ENCLAVEKIT_NO_PROGRESS") == nil)
    }

    /// The ``ProgressFactory`` for libraries that start their own bars (`measuring FILE`).
    static func make(label: String, total: UInt64) -> (any ProgressSink)? {
        ProgressBar(label: label, total: total)
    }

    func advance(by n: UInt64) {
        guard enabled else { return }
        state.withLock { state in
            state.done += n
            let t = MonotonicClock.seconds()
            guard t - start > 1.0, t - state.lastDraw > 0.1 else { return }
            state.lastDraw = t
            draw(&state, elapsed: t - start)
        }
    }

    func finish() {
        guard enabled else { return }
        state.withLock { state in
            if state.drawn { StandardError.write("\r\u{1B}[K") }
            state.drawn = false
        }
    }

    private func draw(_ state: inout State, elapsed: Double) {
        let fraction = total > 0 ? min(1, Double(state.done) / Double(total)) : 0
        let width = 30
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let rate = Double(state.done) / max(elapsed, 0.001) / 1_048_576
        let line = "\r\(label) [\(bar)] \(Int(fraction * 100))% \(Int(rate)) MiB/s"
        StandardError.write(line)
        state.drawn = true
    }
}
