#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The one maker of temporary directories: a fresh `PARENT/PREFIXxxxxxx` from `mkdtemp` (mode 0700),
/// removed with everything in it when the value goes away or the process is interrupted
/// (``Interruption``). Without a parent the directory goes into ``systemBase``: `$TMPDIR` when it is
/// an absolute path, else `/tmp`.
///
/// Keep the value alive while the directory is used (Swift may release a value after its last use,
/// not at the end of the scope): read ``path`` from it each time, or use ``with(in:prefix:_:)``.
///
/// ```swift
/// let scratch = try TemporaryDirectory(prefix: "enclavekit-verify-")
/// try AtomicOutput.write(bytes, to: scratch.path + "/blob")
/// ```
public final class TemporaryDirectory: Sendable {
    /// The directory's absolute or parent-relative path.
    public let path: String
    private let cleanup: Interruption.Token

    /// Creates the directory and registers its removal on SIGINT, SIGTERM and SIGHUP, with no signal
    /// between the two.
    public init(in parent: String? = nil, prefix: String) throws {
        (path, cleanup) = try Interruption.critical {
            let made = try Self.make(in: parent, prefix: prefix)
            return (made, Interruption.removeOnInterrupt(made))
        }
    }

    deinit {
        FileTree.removeTree(path)
        Interruption.unregister(cleanup)
    }

    /// Runs `body` with the path of a new temporary directory and removes the directory afterwards.
    public static func with<T>(in parent: String? = nil, prefix: String, _ body: (String) throws -> T) throws -> T {
        let directory = try TemporaryDirectory(in: parent, prefix: prefix)
        return try withExtendedLifetime(directory) { try body(directory.path) }
    }

    /// The system's folder for temporary files: `$TMPDIR` when it is an absolute path, else `/tmp`.
    public static var systemBase: String { base(tmpdir: getenv("TMPDIR").map { String(cString: $0) }) }

    /// The rule behind ``systemBase`` for a given `TMPDIR` value.
    static func base(tmpdir: String?) -> String {
        if let tmpdir, tmpdir.hasPrefix("/") { return tmpdir }
        return "/tmp"
    }

    /// Creates a new empty directory `PARENT/PREFIXxxxxxx` (parents made as needed) and returns its path,
    /// for a caller that renames it into place or removes it itself (a staging directory). Without a
    /// parent it goes into ``systemBase``.
    public static func make(in parent: String? = nil, prefix: String) throws -> String {
        let base = parent ?? systemBase
        try FileTree.makeDirectories(base)
        var template = Array("\(base)/\(prefix)XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer -> Bool in
            guard let pointer = buffer.baseAddress else { return false }
            return mkdtemp(pointer) != nil
        }
        guard made else { throw SystemError("create a temporary directory in", path: base, errno: errno) }
        return String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
