import EnclaveCore
import Subprocess
import SystemPackage

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The one runner of host tools (`curl`, `apt-get`, `pip`, `apt-ftparchive`, `mmdebstrap`, …), through
/// swift-subprocess: standard output and error are read concurrently (no deadlock when a child fills one
/// pipe while the other is being read), each up to a limit, and a failure is a ``ProcessRunner/Failure``
/// that shows the command and the last lines of its error output, which the caller turns into its
/// module's error (`as: RecipeError.init`, `as: EnvironmentError.init`).
///
/// ```swift
/// let outcome = try await ProcessRunner.check(
///     "apt-cache", ["show", "hello"], outputLimit: 1 << 20, what: "environment 'build'", as: RecipeError.init)
/// print(String(decoding: outcome.output, as: UTF8.self))
/// ```
public enum ProcessRunner {
    /// The child's environment variables.
    public enum Variables: Sendable, Hashable {
        /// This process's variables, with these set on top.
        case inherit(adding: [String: String])
        /// Exactly these variables (a clean environment for reproducible tools).
        case only([String: String])
    }

    /// How a child ended and what it printed.
    public struct Outcome: Sendable, Hashable {
        /// The exit status, or nil when a signal ended the child.
        public var exitCode: Int32?
        /// Standard output, when captured (`outputLimit` > 0).
        public var output: [UInt8]
        public var errorOutput: String
        public var succeeded: Bool { exitCode == 0 }

        /// The last `count` lines of the error output, joined with ` | `.
        public func tail(_ count: Int = 5) -> String { ProcessRunner.lastLines(errorOutput, count) }
    }

    /// A child that could not run, printed more than its limit, or (for `check`) did not exit with status 0.
    public struct Failure: KindedError, Hashable {
        public enum Kind: Sendable, Hashable {
            /// The program could not be started (not installed, not executable).
            case cannotRun
            /// It ran and failed, or printed more than the limit.
            case failed
        }

        public var kind: Kind
        /// One line: what was being done, the command, and the end of its error output.
        public var message: String
    }

    /// Runs `program` (a name looked up on PATH, or an absolute path) in `directory`. Standard output is
    /// captured up to `outputLimit` bytes (0: discarded), standard error up to `errorLimit`; more is a
    /// failure. `what` starts every message (e.g. `input 'zig' (pypi ziglang==0.13.0)`); `wrap` makes
    /// the caller's error from a ``Failure``.
    public static func run<E: Error>(
        _ program: String, _ arguments: [String], in directory: String? = nil,
        environment: Variables = .inherit(adding: [:]), outputLimit: Int = 0, errorLimit: Int = 4 << 20,
        what: String, as wrap: (Failure) -> E
    ) async throws(E) -> Outcome {
        let executable: Executable = program.hasPrefix("/") ? .path(FilePath(program)) : .name(program)
        let workingDirectory = directory.map { FilePath($0) }
        let variables = childEnvironment(environment)
        func outcome(_ status: TerminationStatus, _ output: [UInt8], _ error: [UInt8]) -> Outcome {
            let text = String(decoding: error, as: UTF8.self)
            guard case .exited(let code) = status else {
                return Outcome(exitCode: nil, output: output, errorOutput: text)
            }
            return Outcome(exitCode: Int32(code), output: output, errorOutput: text)
        }
        do {
            guard outputLimit > 0 else {
                let result = try await Subprocess.run(
                    executable, arguments: Arguments(arguments), environment: variables,
                    workingDirectory: workingDirectory, output: .discarded, error: .bytes(limit: errorLimit))
                return outcome(result.terminationStatus, [], result.standardError)
            }
            let result = try await Subprocess.run(
                executable, arguments: Arguments(arguments), environment: variables,
                workingDirectory: workingDirectory, output: .bytes(limit: outputLimit), error: .bytes(limit: errorLimit)
            )
            return outcome(result.terminationStatus, result.standardOutput, result.standardError)
        } catch let error as SubprocessError where error.code == .outputLimitExceeded {
            throw wrap(
                Failure(
                    kind: .failed,
                    message: "\(what): `\(commandLine(program, arguments))` printed more than its limit "
                        + "(\(outputLimit) bytes of output, \(errorLimit) of errors)"))
        } catch {
            throw wrap(
                Failure(
                    kind: .cannotRun,
                    message: "\(what): cannot run \(program): \(error) (is \(program) installed and on PATH?)"))
        }
    }

    /// Runs and requires exit status 0; the failure shows the command and the last lines of its errors.
    @discardableResult
    public static func check<E: Error>(
        _ program: String, _ arguments: [String], in directory: String? = nil,
        environment: Variables = .inherit(adding: [:]), outputLimit: Int = 0, errorLimit: Int = 4 << 20,
        what: String, as wrap: (Failure) -> E
    ) async throws(E) -> Outcome {
        let outcome = try await run(
            program, arguments, in: directory, environment: environment, outputLimit: outputLimit,
            errorLimit: errorLimit, what: what, as: wrap)
        guard outcome.succeeded else {
            let status = outcome.exitCode.map { "exit status \($0)" } ?? "killed by a signal"
            let tail = outcome.tail()
            throw wrap(
                Failure(
                    kind: .failed,
                    message: "\(what): `\(commandLine(program, arguments))` failed (\(status))"
                        + (tail.isEmpty ? "" : ": \(tail)")))
        }
        return outcome
    }

    /// The absolute path of `program` on `path` (default: this process's PATH), or nil.
    public static func find(_ program: String, path: String? = nil) -> String? {
        if program.hasPrefix("/") { return access(program, X_OK) == 0 ? program : nil }
        let search = path ?? getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin"
        for directory in search.split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/\(program)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// The last `count` lines of `text`, joined with ` | ` (one line for an error message).
    public static func lastLines(_ text: String, _ count: Int) -> String {
        text.split(whereSeparator: \.isNewline).suffix(count).joined(separator: " | ")
    }

    static func commandLine(_ program: String, _ arguments: [String]) -> String {
        ([program] + arguments).joined(separator: " ")
    }

    private static func childEnvironment(_ variables: Variables) -> Subprocess.Environment {
        switch variables {
        case .inherit(let adding):
            var updates: [Subprocess.Environment.Key: String?] = [:]
            for (key, value) in adding {
                if let key = Subprocess.Environment.Key(rawValue: key) { updates[key] = value }
            }
            return .inherit.updating(updates)
        case .only(let variables):
            var custom: [Subprocess.Environment.Key: String] = [:]
            for (key, value) in variables {
                if let key = Subprocess.Environment.Key(rawValue: key) { custom[key] = value }
            }
            return .custom(custom)
        }
    }
}

extension RecipeError {
    /// A host tool that failed while fetching an input.
    public init(_ failure: ProcessRunner.Failure) {
        self.init(.fetch, failure.message)
    }
}
