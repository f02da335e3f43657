import Foundation

/// Runs the built `enclavekit` binary, as a user would, and captures what it prints.
struct CLIRunner {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// The `enclavekit` executable that `swift build`/`swift test` built next to the test bundle.
    static let binary: String = {
        let fm = FileManager.default
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let candidates = [
            Bundle.main.bundleURL.appendingPathComponent("enclavekit").path,
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(
                "enclavekit"
            ).path,
            packageRoot.appendingPathComponent(".build/debug/enclavekit").path,
        ]
        return candidates.first { fm.isExecutableFile(atPath: $0) } ?? candidates[candidates.count - 1]
    }()

    /// Runs `enclavekit args…` in `directory` with extra environment variables.
    static func run(
        _ args: [String], in directory: String? = nil, environment: [String: String] = [:], stdin: Data? = nil,
        viaShell: Bool = false
    ) throws -> Result {
        let process = Process()
        // With viaShell, args[0] is a program (e.g. sh) run instead of enclavekit, to set a umask first.
        process.executableURL = URL(fileURLWithPath: viaShell ? "/bin/\(args[0])" : binary)
        process.arguments = viaShell ? Array(args.dropFirst()) : args
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        var env = ProcessInfo.processInfo.environment
        env["ENCLAVEKIT_NO_PROGRESS"] = "1"
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let input = Pipe()
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try input.fileHandleForWriting.close()
        // Read both pipes before waiting, so a large output cannot block the child.
        let group = DispatchGroup()
        nonisolated(unsafe) var outData = Data()
        nonisolated(unsafe) var errData = Data()
        group.enter()
        DispatchQueue.global().async {
            outData = out.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        errData = err.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self))
    }
}

/// A directory removed when the value goes away.
final class TemporaryDirectory: Sendable {
    let path: String
    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("enclavekit-cli-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}
