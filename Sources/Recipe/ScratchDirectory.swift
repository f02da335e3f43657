import EnclaveCore

/// A scratch directory for the length of one call: removed when the call returns or throws, and on
/// SIGINT/SIGTERM while it runs (EnclaveCore's `Interruption`), so an interrupted fetch or assembly leaves nothing
/// behind in the cache.
///
/// ```swift
/// let digest = try ScratchDirectory.using(try cache.makeTemporaryDirectory()) { directory in
///     try FileSystem.copyFile(from: file, to: directory + "/file", mode: 0o644)
///     return try cache.adopt(directory + "/file")
/// }
/// ```
public enum ScratchDirectory {
    /// Runs `body` with `directory` (already made), then removes the directory.
    public static func using<T>(_ directory: String, _ body: (String) throws -> T) rethrows -> T {
        let cleanup = Interruption.removeOnInterrupt(directory)
        defer {
            FileTree.removeTree(directory)
            Interruption.unregister(cleanup)
        }
        return try body(directory)
    }

    /// Runs `body` with `directory` (already made), then removes the directory.
    public static func using<T>(_ directory: String, _ body: (String) async throws -> T) async rethrows -> T {
        let cleanup = Interruption.removeOnInterrupt(directory)
        defer {
            FileTree.removeTree(directory)
            Interruption.unregister(cleanup)
        }
        return try await body(directory)
    }
}
