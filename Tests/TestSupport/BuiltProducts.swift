import Foundation

/// Executables of this package that `swift build`/`swift test` built, for tests that run them as a user would.
public enum BuiltProducts {
    /// The `enclavekit` executable next to the test bundle (or in `.build/debug`).
    public static let enclavekit: String = {
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let candidates = [
            Bundle.main.bundleURL.appendingPathComponent("enclavekit").path,
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(
                "enclavekit"
            ).path,
            packageRoot.appendingPathComponent(".build/debug/enclavekit").path,
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[candidates.count - 1]
    }()
}
