import EnclaveCore
import Foundation

/// A fresh directory under the system's temporary folder, removed (read-only parts included) when the value
/// goes away. Paths given to its methods are relative to it; writes create missing parent directories.
public final class TestDirectory: Sendable {
    public let path: String
    /// The directory itself: EnclaveCore's one maker of temporary directories creates it (under `$TMPDIR` when
    /// that is absolute, else /tmp) and removes it with its tree, read-only parts included.
    private let owner: EnclaveCore.TemporaryDirectory

    public init(prefix: String = "enclavekit-test") throws {
        owner = try EnclaveCore.TemporaryDirectory(prefix: prefix + "-")
        path = owner.path
    }

    /// The path of `name` inside the directory (nothing is created).
    public func file(_ name: String) -> String { name.isEmpty ? path : path + "/" + name }

    /// Writes `bytes` to `name` with permissions `mode` and returns its path.
    @discardableResult
    public func write(_ name: String, _ bytes: [UInt8], mode: Int = 0o644) throws -> String {
        let full = file(name)
        try FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: full))
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: full)
        return full
    }

    /// Writes `text` as UTF-8 to `name` with permissions `mode` and returns its path.
    @discardableResult
    public func write(_ name: String, _ text: String, mode: Int = 0o644) throws -> String {
        try write(name, Array(text.utf8), mode: mode)
    }

    /// The bytes of the file `name`.
    public func read(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: file(name))))
    }

    /// Creates the directory `name` (and its parents) and returns its path.
    @discardableResult
    public func directory(_ name: String) throws -> String {
        let full = file(name)
        try FileManager.default.createDirectory(atPath: full, withIntermediateDirectories: true)
        return full
    }

    /// Creates a symbolic link `name` pointing at `target`.
    public func symlink(_ name: String, to target: String) throws {
        try FileManager.default.createSymbolicLink(atPath: file(name), withDestinationPath: target)
    }

    public func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: file(name)) }

    /// The names directly in `name` (the directory itself by default), sorted, hidden ones included.
    public func list(_ name: String = "") throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: file(name)).sorted()
    }

    /// Every entry below `name` as a relative path, sorted, hidden ones included.
    public func listing(_ name: String = "") -> [String] {
        (FileManager.default.subpaths(atPath: file(name)) ?? []).sorted()
    }
}
