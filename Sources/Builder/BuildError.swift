/// An error while building a recipe's steps: a missing tool, a step the sandbox cannot run, a step that
/// failed, or a step whose output breaks the rules of `Recipes/README.md` ("Build steps and the sandbox").
///
/// The description is what the CLI prints after `Error: `; it names the step and says how to fix the
/// problem, e.g. `step 'node' exited with 2; the last lines of its output: …`.
///
/// ```swift
/// do { _ = try await sandbox.run(step) } catch let error as BuildError { print(error) }
/// ```
public enum BuildError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A tool the build needs is not installed: `tool` is its name, `hint` how to install it.
    case toolMissing(tool: String, hint: String)
    /// The step cannot be run as described (a bad mount, environment variable or output directory).
    case invalidStep(step: String, reason: String)
    /// The step ran and failed; `outputTail` is the end of what it printed (stdout and stderr).
    case stepFailed(step: String, status: SandboxExitStatus, outputTail: [UInt8])
    /// The step succeeded but left something in its output directory that may not be there
    /// (`path` is relative to the output directory).
    case badOutput(step: String, path: String, reason: String)
    /// The sandbox itself could not be set up or started (a system call failed).
    case sandboxFailed(step: String, reason: String)
    /// The environment a step or the root filesystem uses could not be assembled (or its assembly gave
    /// something unusable); `reason` is the assembler's error.
    case environmentFailed(environment: String, reason: String)

    /// Two errors are equal when their case and fields are, except a failed step's output, which is
    /// not compared (tests and callers match on the step and its status).
    public static func == (lhs: BuildError, rhs: BuildError) -> Bool {
        switch (lhs, rhs) {
        case (.toolMissing(let a, let b), .toolMissing(let c, let d)): return a == c && b == d
        case (.invalidStep(let a, let b), .invalidStep(let c, let d)): return a == c && b == d
        case (.stepFailed(let a, let b, _), .stepFailed(let c, let d, _)): return a == c && b == d
        case (.badOutput(let a, let b, let c), .badOutput(let d, let e, let f)): return a == d && b == e && c == f
        case (.sandboxFailed(let a, let b), .sandboxFailed(let c, let d)): return a == c && b == d
        case (.environmentFailed(let a, let b), .environmentFailed(let c, let d)): return a == c && b == d
        default: return false
        }
    }

    /// How many lines of a failed step's output the description shows.
    public static let failureTailLines = 20

    public var description: String {
        switch self {
        case .toolMissing(let tool, let hint):
            return "\(tool) not found: \(hint)"
        case .invalidStep(let step, let reason):
            return "step '\(step)': \(reason)"
        case .stepFailed(let step, let status, let outputTail):
            let lines = BuildError.lastLines(of: outputTail, count: BuildError.failureTailLines)
            guard !lines.isEmpty else { return "step '\(step)' \(status) and printed nothing" }
            let shown = lines.map { "  | \($0)" }.joined(separator: "\n")
            return "step '\(step)' \(status); the last \(lines.count) lines of its output:\n\(shown)"
        case .badOutput(let step, let path, let reason):
            return "step '\(step)': output '\(path)' \(reason)"
        case .sandboxFailed(let step, let reason):
            return "step '\(step)': the sandbox could not run: \(reason)"
        case .environmentFailed(let environment, let reason):
            return "environment '\(environment)' could not be assembled: \(reason)"
        }
    }

    /// The last `count` lines of `output`, decoded as UTF-8 with invalid bytes replaced, control
    /// characters other than tab shown as `\u{…}` escapes, and a trailing newline not counted as an
    /// empty last line.
    static func lastLines(of output: [UInt8], count: Int) -> [String] {
        guard count > 0, !output.isEmpty else { return [] }
        var end = output.endIndex
        if end > output.startIndex, output[end - 1] == UInt8(ascii: "\n") { end -= 1 }
        var start = end
        var found = 0
        while start > output.startIndex {
            if output[start - 1] == UInt8(ascii: "\n") {
                found += 1
                if found == count { break }
            }
            start -= 1
        }
        let text = String(decoding: output[start..<end], as: UTF8.self)
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            var shown = ""
            for scalar in line.unicodeScalars {
                if scalar.value < 0x20 && scalar != "\t" || scalar.value == 0x7f {
                    shown += "\\u{\(String(scalar.value, radix: 16))}"
                } else {
                    shown.unicodeScalars.append(scalar)
                }
            }
            return shown
        }
    }
}
