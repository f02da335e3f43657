import EnclaveCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The end of a stream of output, kept within a byte limit: the front is dropped, the tail kept.
struct OutputTail: Sendable {
    let limit: Int
    private(set) var bytes: [UInt8] = []
    private(set) var dropped: UInt64 = 0

    init(limit: Int) { self.limit = max(0, limit) }

    mutating func append(_ chunk: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: chunk)
        // Trim only when twice over the limit, so the cost of dropping the front stays linear overall.
        if bytes.count > 2 * limit + 4096 { trim() }
    }

    mutating func append(_ chunk: [UInt8]) { chunk.withUnsafeBytes { append($0) } }

    /// Drops everything but the last `limit` bytes.
    mutating func trim() {
        guard bytes.count > limit else { return }
        let excess = bytes.count - limit
        bytes.removeFirst(excess)
        dropped += UInt64(excess)
    }
}

/// Checks and fixes a step's output directory after the step (`Recipes/README.md`, "Build steps and the
/// sandbox"): it may hold only regular files, directories and symlinks, read without following symlinks.
/// Files and directories get the owner's read and write (and, for directories, search) permission, and
/// lose setuid, setgid and sticky bits, so the host user who ran the build can read and remove them.
///
/// Inside the sandbox the step is uid 1000, mapped to the user who started bubblewrap; so what it writes
/// is owned on the host by that user (by root, uid 0, when the build runs as root, as in CI).
enum SandboxOutput {
    /// Walks `directory` (depth first, no symlink followed) and returns the relative paths it checked.
    @discardableResult
    static func check(_ directory: String, step: String) throws(BuildError) -> [String] {
        var checked: [String] = []
        // The step may have changed the mode of /build/out itself.
        var rootInfo = stat()
        guard lstat(directory, &rootInfo) == 0, rootInfo.st_mode & S_IFMT == S_IFDIR else {
            throw .badOutput(step: step, path: ".", reason: "is no longer a directory")
        }
        try setMode(Array(directory.utf8), (rootInfo.st_mode & 0o777) | 0o700, display: ".", step: step)
        // A stack of (host path bytes, display path relative to the output directory).
        var pending: [([UInt8], String)] = [(Array(directory.utf8), "")]
        while let (path, display) = pending.popLast() {
            let names = try list(path, display: display.isEmpty ? "." : display, step: step)
            for name in names {
                let childPath = path + [UInt8(ascii: "/")] + name
                let childDisplay = (display.isEmpty ? "" : display + "/") + String(decoding: name, as: UTF8.self)
                var info = stat()
                let statResult = withCString(childPath) { lstat($0, &info) }
                guard statResult == 0 else {
                    throw .badOutput(step: step, path: childDisplay, reason: "cannot be read: \(errnoText())")
                }
                let type = info.st_mode & S_IFMT
                switch type {
                case S_IFDIR:
                    try setMode(childPath, (info.st_mode & 0o777) | 0o700, display: childDisplay, step: step)
                    pending.append((childPath, childDisplay))
                case S_IFREG:
                    try setMode(childPath, (info.st_mode & 0o777) | 0o600, display: childDisplay, step: step)
                case S_IFLNK:
                    break
                default:
                    throw .badOutput(
                        step: step, path: childDisplay,
                        reason: "is a \(typeName(type)); a step's output may hold only regular files, "
                            + "directories and symlinks")
                }
                checked.append(childDisplay)
            }
        }
        return checked
    }

    /// Whether `directory` is an existing directory (not a symlink to one) with no entries.
    static func isEmptyDirectory(_ directory: String) -> Bool {
        var info = stat()
        guard lstat(directory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else { return false }
        guard let names = try? list(Array(directory.utf8), display: directory, step: "") else { return false }
        return names.isEmpty
    }

    private static func typeName(_ type: mode_t) -> String {
        switch type {
        case S_IFIFO: return "fifo"
        case S_IFSOCK: return "socket"
        case S_IFCHR: return "character device"
        case S_IFBLK: return "block device"
        default: return "special file"
        }
    }

    private static func setMode(_ path: [UInt8], _ mode: mode_t, display: String, step: String) throws(BuildError) {
        let result = withCString(path) { chmod($0, mode) }
        guard result == 0 else {
            throw .badOutput(step: step, path: display, reason: "cannot be made readable: \(errnoText())")
        }
    }

    /// The entry names of a directory (without `.` and `..`), sorted by bytes.
    private static func list(_ path: [UInt8], display: String, step: String) throws(BuildError) -> [[UInt8]] {
        guard let stream = withCString(path, { opendir($0) }) else {
            throw .badOutput(step: step, path: display, reason: "cannot be listed: \(errnoText())")
        }
        defer { closedir(stream) }
        var names: [[UInt8]] = []
        while true {
            errno = 0
            guard let entry = readdir(stream) else {
                guard errno == 0 else {
                    throw .badOutput(step: step, path: display, reason: "cannot be listed: \(errnoText())")
                }
                break
            }
            let name = FileTree.entryName(entry)
            if name == [UInt8(ascii: ".")] || name == [UInt8(ascii: "."), UInt8(ascii: ".")] { continue }
            names.append(name)
        }
        return names.sorted { $0.lexicographicallyPrecedes($1) }
    }

    private static func withCString<R>(_ path: [UInt8], _ body: (UnsafePointer<CChar>) -> R) -> R {
        (path + [0]).withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                // A non-empty buffer always has a base address; fall back to "" for the type checker.
                guard let base = chars.baseAddress else { return "".withCString(body) }
                return body(base)
            }
        }
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}
