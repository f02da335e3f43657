import Builder
import Dispatch
import EnclaveCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// `build` and `rebuild`'s progress on stderr, drawn from the builder's ``BuildEvent``s. On a terminal: one
/// status line, the elapsed time and the phase, redrawn in place every second, so a long step (a compiler
/// building its libc) visibly runs. Otherwise (a CI log, a pipe): one line per finished phase and step with
/// its time, e.g. `step 3/7 compile-node: 12.4 s`, so the log of a long build is not silent.
/// `ENCLAVEKIT_NO_PROGRESS` set to a non-empty value turns both off. Notes are printed either way.
///
/// ```swift
/// let status = BuildStatus()
/// defer { status.finish() }
/// options.events = { status.handle($0) }
/// ```
final class BuildStatus: Sendable {
    private struct State {
        var text: String?
        var timer: (any DispatchSourceTimer)?
    }

    private let enabled: Bool
    private let logging: Bool
    private let start = MonotonicClock.seconds()
    private let state: Mutex<State>

    /// Whether `ENCLAVEKIT_NO_PROGRESS` turns progress off.
    static var quiet: Bool { getenv("ENCLAVEKIT_NO_PROGRESS").map { $0.pointee != 0 } ?? false }

    init(enabled: Bool = true) {
        let terminal = isatty(2) != 0
        self.enabled = enabled && !Self.quiet && terminal
        self.logging = enabled && !Self.quiet && !terminal
        guard self.enabled else {
            state = Mutex(State())
            return
        }
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "enclavekit.build-status"))
        timer.schedule(deadline: .now() + 1, repeating: 1)
        state = Mutex(State(timer: timer))
        state.withLock { state in
            state.timer?.setEventHandler { [weak self] in self?.redraw() }
            state.timer?.resume()
        }
    }

    deinit { state.withLock { $0.timer?.cancel() } }

    /// What one event shows: the status line's new text (on a terminal), the log line (otherwise), and
    /// whether the build is over.
    static func lines(for event: BuildEvent) -> (phase: String?, log: String?, finishes: Bool) {
        func step(_ number: Int, _ count: Int, _ name: String) -> String { "step \(number)/\(count) \(name)" }
        switch event {
        case .fetchingInputs(let count): return ("fetching \(count) inputs", nil, false)
        case .fetchedInputs(let count, let s): return (nil, "fetched \(count) inputs: \(seconds(s))", false)
        case .upToDate: return (nil, nil, true)
        case .assemblingEnvironment(let name): return ("assembling environment \(name)", nil, false)
        case .assembledEnvironments(let count, let s):
            return (nil, "assembled \(count) environments: \(seconds(s))", false)
        case .stepCached(let number, let count, let name, let s):
            let label = step(number, count, name)
            return ("\(label): cached", "\(label): cached (\(seconds(s)))", false)
        case .stepStarted(let number, let count, let name):
            return ("\(step(number, count, name)): running in the sandbox", nil, false)
        case .stepRan(let number, let count, let name, let s):
            return (nil, "\(step(number, count, name)): \(seconds(s))", false)
        case .packingTargets(let count): return ("packing and measuring \(count) targets", nil, false)
        case .packedTargets(let count, let s):
            return (nil, "packed and measured \(count) targets: \(seconds(s))", true)
        case .note: return (nil, nil, false)
        }
    }

    /// Shows one event (a note always, as `note: …`; the rest only with progress on).
    func handle(_ event: BuildEvent) {
        if case .note(let text) = event {
            StandardError.write("note: \(text)\n")
            return
        }
        let shown = Self.lines(for: event)
        if let text = shown.phase { phase(text) }
        if let line = shown.log { log(line) }
        if shown.finishes { finish() }
    }

    func phase(_ text: String) {
        guard enabled else { return }
        state.withLock { state in
            state.text = text
            draw(state)
        }
    }

    /// One line in the log when stderr is not a terminal (nothing on a terminal: the status line shows it).
    func log(_ line: String) {
        guard logging else { return }
        StandardError.write(line + "\n")
    }

    /// `12.4 s`.
    static func seconds(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10) s"
    }

    /// Stops the redraws and clears the status line (again is harmless).
    func finish() {
        guard enabled else { return }
        state.withLock { state in
            state.timer?.cancel()
            state.timer = nil
            if state.text != nil { StandardError.write("\r\u{1B}[K") }
            state.text = nil
        }
    }

    private func redraw() { state.withLock { draw($0) } }

    private func draw(_ state: State) {
        guard let text = state.text else { return }
        let seconds = Int(MonotonicClock.seconds() - start)
        StandardError.write("\r\u{1B}[K[\(seconds / 60):\(seconds % 60 < 10 ? "0" : "")\(seconds % 60)] \(text)")
    }
}
