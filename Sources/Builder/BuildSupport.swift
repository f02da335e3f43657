import Dispatch
import EnclaveCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Wall-clock laps for the build summary (monotonic clock; never written into any artifact).
struct Stopwatch {
    private var last = Stopwatch.now()

    static func now() -> Double { MonotonicClock.seconds() }

    /// Seconds since the previous lap (or the start).
    mutating func lap() -> Double {
        let t = Self.now()
        defer { last = t }
        return t - last
    }
}

/// Progress on stderr while building. On a terminal: one status line, the elapsed time and the phase,
/// redrawn in place every second, so a long step (a compiler building its libc) visibly runs. Otherwise
/// (a CI log, a pipe): one line per finished phase and step with its time, e.g.
/// `step 3/7 compile-node: 12.4 s`, so the log of a long build is not silent. `ENCLAVEKIT_NO_PROGRESS`
/// set to a non-empty value turns both off.
final class BuildStatus: @unchecked Sendable {
    // @unchecked: the text and the timer are only touched on `queue`.
    private let enabled: Bool
    private let logging: Bool
    private let start = Stopwatch.now()
    private let queue = DispatchQueue(label: "enclavekit.build-status")
    private var text: String?
    private var timer: (any DispatchSourceTimer)?

    init(enabled: Bool) {
        let quiet = getenv("ENCLAVEKIT_NO_PROGRESS").map { $0.pointee != 0 } ?? false
        let terminal = isatty(2) != 0
        self.enabled = enabled && !quiet && terminal
        self.logging = enabled && !quiet && !terminal
        guard self.enabled else { return }
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + 1, repeating: 1)
        timer.setEventHandler { [weak self] in self?.draw() }
        timer.resume()
        self.timer = timer
    }

    deinit { timer?.cancel() }

    func phase(_ text: String) {
        guard enabled else { return }
        queue.sync {
            self.text = text
            draw()
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

    func finish() {
        guard enabled else { return }
        queue.sync {
            timer?.cancel()
            timer = nil
            if text != nil { StandardError.write("\r\u{1B}[K") }
            text = nil
        }
    }

    /// On `queue`.
    private func draw() {
        guard let text else { return }
        let seconds = Int(Stopwatch.now() - start)
        StandardError.write("\r\u{1B}[K[\(seconds / 60):\(seconds % 60 < 10 ? "0" : "")\(seconds % 60)] \(text)")
    }
}

/// Paths as the manifest records them: relative to the repository that holds the recipe (the nearest
/// folder above it with a `.git`), `/`-separated, without `.` or `..`; so the same checkout gives the
/// same manifest wherever it is cloned.
public struct RepositoryPaths: Sendable {
    public let root: String

    public init(recipePath: String) {
        let absolute = Self.absolute(recipePath)
        var dir = Self.parent(absolute)
        var found: String?
        while true {
            if FileStatus(dir + "/.git") != nil {
                found = dir
                break
            }
            if dir == "/" { break }
            dir = Self.parent(dir)
        }
        root = found ?? Self.absolute(".")
    }

    public func relative(_ path: String) -> String {
        let absolute = Self.absolute(path)
        let prefix = root == "/" ? "/" : root + "/"
        return absolute.hasPrefix(prefix) ? String(absolute.dropFirst(prefix.count)) : absolute
    }

    /// An absolute path with `.` and `..` folded (lexically; symlinks are not resolved).
    public static func absolute(_ path: String) -> String {
        var base = ""
        if !path.hasPrefix("/") {
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            if getcwd(&buffer, buffer.count) != nil {
                base = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
        }
        var parts: [Substring] = []
        for part in (base + "/" + path).split(separator: "/") {
            if part == "." { continue }
            if part == ".." {
                if !parts.isEmpty { parts.removeLast() }
                continue
            }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }

    static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }
}
