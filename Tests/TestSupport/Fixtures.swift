import Foundation

/// The fixtures of the calling test target: `Tests/<target>/Fixtures/`, found from the caller's `#filePath`.
///
/// `Bundle.module` cannot be shared between targets, so every lookup takes the calling file's path (a default
/// argument) and resolves it against the `Tests/` folder that holds this file. Tests never read `../shared`.
public enum Fixtures {
    /// The package's `Tests/` folder.
    static let testsRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .path

    /// The name of the test target that holds `file` (the first folder below `Tests/`).
    public static func target(of file: StaticString = #filePath) -> String {
        let path = "\(file)"
        let prefix = testsRoot + "/"
        guard path.hasPrefix(prefix), let name = path.dropFirst(prefix.count).split(separator: "/").first,
            path.dropFirst(prefix.count).contains("/")
        else { preconditionFailure("\(path) is not a file of a test target under \(testsRoot)") }
        return String(name)
    }

    /// `Tests/<target>/Fixtures` for the test target that holds `file`.
    public static func directory(_ file: StaticString = #filePath) -> String {
        testsRoot + "/" + target(of: file) + "/Fixtures"
    }

    /// `Tests/<name>/Fixtures`: another test target's fixtures (tests of the command line reuse the modules' ones).
    public static func directory(target name: String) -> String { testsRoot + "/" + name + "/Fixtures" }

    /// The path of the fixture `name` of the calling test target.
    public static func path(_ name: String, file: StaticString = #filePath) -> String {
        directory(file) + "/" + name
    }

    /// The bytes of the fixture `name` of the calling test target.
    public static func bytes(_ name: String, file: StaticString = #filePath) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: path(name, file: file))))
    }

    /// The fixture `name` of the calling test target as UTF-8 text.
    public static func text(_ name: String, file: StaticString = #filePath) throws -> String {
        String(decoding: try bytes(name, file: file), as: UTF8.self)
    }
}
