import EnclaveCore
import Recipe
import Subprocess
import SystemPackage

/// Runs the Debian tools an environment needs (`apt-get`, `apt-cache`, `apt-ftparchive`, `curl`,
/// `mmdebstrap`) through swift-subprocess and keeps their output for parsing and messages.
struct Tool {
    struct Outcome {
        var exitCode: Int32?
        var output: [UInt8]
        var errorOutput: String
        var succeeded: Bool { exitCode == 0 }
        /// The last lines of the error output, joined with ` | `.
        func tail(_ count: Int = 5) -> String {
            errorOutput.split(whereSeparator: \.isNewline).suffix(count).joined(separator: " | ")
        }
    }

    /// Runs `program` (a name looked up on PATH or an absolute path). With `environment`, the child gets
    /// exactly those variables; otherwise it inherits this process's environment.
    static func run(
        _ program: String, _ arguments: [String], in directory: String? = nil, environment: [String: String]? = nil,
        outputLimit: Int = 64 << 20, errorLimit: Int = 64 << 20, what: String
    ) async throws -> Outcome {
        let executable: Executable = program.hasPrefix("/") ? .path(FilePath(program)) : .name(program)
        let childEnvironment: Subprocess.Environment
        if let environment {
            var custom: [Subprocess.Environment.Key: String] = [:]
            for (key, value) in environment {
                if let key = Subprocess.Environment.Key(rawValue: key) { custom[key] = value }
            }
            childEnvironment = .custom(custom)
        } else {
            childEnvironment = .inherit
        }
        do {
            let result = try await Subprocess.run(
                executable, arguments: Arguments(arguments), environment: childEnvironment,
                workingDirectory: directory.map { FilePath($0) }, output: .bytes(limit: outputLimit),
                error: .bytes(limit: errorLimit))
            let text = String(decoding: result.standardError, as: UTF8.self)
            switch result.terminationStatus {
            case .exited(let code):
                return Outcome(exitCode: Int32(code), output: result.standardOutput, errorOutput: text)
            default: return Outcome(exitCode: nil, output: result.standardOutput, errorOutput: text)
            }
        } catch {
            throw EnvironmentError(
                .toolMissing,
                "\(what): cannot run \(program): \(error) (is it installed? apt-get install mmdebstrap apt-utils curl)")
        }
    }

    /// Runs and requires exit status 0.
    static func check(
        _ program: String, _ arguments: [String], in directory: String? = nil, environment: [String: String]? = nil,
        outputLimit: Int = 64 << 20, what: String
    ) async throws -> Outcome {
        let outcome = try await run(
            program, arguments, in: directory, environment: environment, outputLimit: outputLimit, what: what)
        guard outcome.succeeded else {
            let status = outcome.exitCode.map { "exit status \($0)" } ?? "killed by a signal"
            let tail = outcome.tail()
            throw EnvironmentError(
                .tool,
                "\(what): `\(program) \(arguments.joined(separator: " "))` failed (\(status))"
                    + (tail.isEmpty ? "" : ": \(tail)"))
        }
        return outcome
    }

    /// The absolute path of `program` on PATH, or nil.
    static func find(_ program: String, path: String? = nil) -> String? {
        if program.hasPrefix("/") { return access(program, X_OK) == 0 ? program : nil }
        let search = path ?? getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin"
        for directory in search.split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/\(program)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}

/// An error while resolving, fetching or assembling a Debian environment: one line that names the
/// environment, the package or tool, and says how to fix it.
///
/// ```swift
/// do { _ = try await assembler.assemble(env, recipe: recipe, lock: lock) } catch let e as EnvironmentError { print(e) }
/// ```
public struct EnvironmentError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        /// A package asked for is not in the suite.
        case unknownPackage
        /// No apt source names the suite or the archive a package comes from.
        case noSource
        /// A fetched `.deb` differs from its pin.
        case pinMismatch
        /// The lock has no entry for the environment, or one made for other packages.
        case notLocked
        /// The lock's closure lacks a package apt needs.
        case incompleteClosure
        /// mmdebstrap, apt-ftparchive, apt-get or curl is not installed.
        case toolMissing
        /// A tool failed.
        case tool
        /// Output of a tool or a sources file that does not parse.
        case format
        /// The file system refused something.
        case io
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif
