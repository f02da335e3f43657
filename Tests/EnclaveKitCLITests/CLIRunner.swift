import Foundation
import TestSupport

/// Runs the built `enclavekit` binary, as a user would, and captures what it prints.
enum CLIRunner {
    typealias Result = ToolResult

    /// The `enclavekit` executable that `swift build`/`swift test` built next to the test bundle.
    static let binary = BuiltProducts.enclavekit

    /// Runs `enclavekit args…` in `directory` with extra environment variables (progress lines off unless
    /// `environment` says otherwise) and `stdin` as standard input (empty by default).
    static func run(
        _ args: [String], in directory: String? = nil, environment: [String: String] = [:], stdin: [UInt8] = [],
        viaShell: Bool = false
    ) throws -> Result {
        // With viaShell, args[0] is a program (e.g. sh) run instead of enclavekit, to set a umask first.
        try ToolRunner.run(
            viaShell ? "/bin/\(args[0])" : binary, viaShell ? Array(args.dropFirst()) : args, in: directory,
            environment: ["ENCLAVEKIT_NO_PROGRESS": "1"].merging(environment) { $1 }, stdin: stdin)
    }
}
