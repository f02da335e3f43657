import EnclaveCore
import Subprocess
import SystemPackage

/// Runs the host tools that fetch inputs (`curl`, `apt-get`, `pip`) through swift-subprocess and
/// turns failures into ``RecipeError``s that show the command and the end of its error output.
enum ProcessRunner {
    struct Outcome {
        var exitCode: Int32?
        var errorOutput: String
    }

    static func run(
        _ program: String, _ arguments: [String], in directory: String? = nil, environment: [String: String] = [:],
        what: String
    ) async throws -> Outcome {
        let executable: Executable = program.hasPrefix("/") ? .path(FilePath(program)) : .name(program)
        var updates: [Environment.Key: String?] = [:]
        for (key, value) in environment {
            if let key = Environment.Key(rawValue: key) { updates[key] = value }
        }
        do {
            let result = try await Subprocess.run(
                executable, arguments: Arguments(arguments), environment: .inherit.updating(updates),
                workingDirectory: directory.map { FilePath($0) }, output: .discarded, error: .bytes(limit: 4 << 20))
            let text = String(decoding: result.standardError, as: UTF8.self)
            switch result.terminationStatus {
            case .exited(let code): return Outcome(exitCode: Int32(code), errorOutput: text)
            default: return Outcome(exitCode: nil, errorOutput: text)
            }
        } catch {
            throw RecipeError(
                .fetch, "\(what): cannot run \(program): \(error) (is \(program) installed and on PATH?)")
        }
    }

    /// Runs and requires exit status 0.
    static func check(
        _ program: String, _ arguments: [String], in directory: String? = nil, environment: [String: String] = [:],
        what: String
    ) async throws {
        let outcome = try await run(program, arguments, in: directory, environment: environment, what: what)
        guard outcome.exitCode == 0 else {
            let status = outcome.exitCode.map { "exit status \($0)" } ?? "killed by a signal"
            let tail = lastLines(outcome.errorOutput, 5)
            throw RecipeError(
                .fetch,
                "\(what): `\(([program] + arguments).joined(separator: " "))` failed (\(status))"
                    + (tail.isEmpty ? "" : ": \(tail)"))
        }
    }

    static func lastLines(_ text: String, _ count: Int) -> String {
        text.split(whereSeparator: \.isNewline).suffix(count).joined(separator: " | ")
    }
}
