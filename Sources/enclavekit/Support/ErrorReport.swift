import ArgumentParser
import EnclaveCore

/// A failure the command has already shown in its output, e.g. `eif describe --json` of an EIF whose
/// CRC does not match prints the description with `"CheckCRC": false`. The message goes to stderr as
/// `Error: …` in both modes; under `--json` no error object follows on stdout, so stdout stays one
/// JSON document. Exit status 1, as for any other error.
///
/// ```swift
/// if !d.crcValid { throw ReportedFailure("\(file): CRC-32 mismatch: the file is corrupt") }
/// ```
struct ReportedFailure: Error, CustomStringConvertible {
    var message: String

    init(_ message: String) { self.message = message }

    var description: String { message }
}

/// The one place where a command's error becomes output and an exit status, for every command: in
/// text mode swift-argument-parser's `Error: …` line on stderr; under `--json` a JSON object on stdout
/// (`{"error": "…", "exit_status": 1, "file": "…", "offset": 28, …}`) with the same exit status, unless
/// the command already printed its JSON report (which then carries the failure, e.g. `"verified":
/// false`): then the `Error: …` line goes to stderr, so stdout stays one JSON document.
enum ErrorReport {
    /// Whether the command line asks for JSON (`--json` before any `--`). Decided from the arguments, not
    /// from the parsed command, so that a command line that does not parse is answered in JSON too.
    static func jsonRequested(_ arguments: [String] = CommandLine.arguments) -> Bool {
        arguments.dropFirst().prefix { $0 != "--" }.contains("--json")
    }

    /// Prints `error` the way the command line asked for and exits with its status.
    static func exit(with error: any Error, arguments: [String] = CommandLine.arguments) -> Never {
        let error = LibraryErrors.translated(error)
        let status = EnclaveKit.exitCode(for: error)
        // Help and --version are "errors" with status 0: printed as text in every mode.
        guard jsonRequested(arguments), status != .success else { EnclaveKit.exit(withError: error) }
        let message = EnclaveKit.message(for: error)
        if error is ReportedFailure || (Output.printedJSON && !message.isEmpty) {
            // The command's JSON on stdout already shows the failure (verify --json, describe --json):
            // stdout stays one document and the reason goes to stderr, as in text mode.
            StandardError.write("Error: \(message)\n")
        } else if !message.isEmpty {  // empty for ExitCode: the command printed its own report
            Output.json(json(for: error, message: message, status: status.rawValue))
        }
        EnclaveKit.exit(withError: ExitCode(status.rawValue))
    }

    /// The JSON object for one error: `error` is the line text mode prints; the fields after it say where.
    static func json(for error: any Error, message: String, status: Int32) -> JSONValue {
        var fields: [(String, JSONValue)] = [("error", .string(message)), ("exit_status", .int(status))]
        switch error {
        case let error as FormatError:
            fields.append(("kind", .string(error.kind.rawValue)))
            fields.append(("format", .string(error.format)))
            fields.append(("file", error.file.map { .string($0) } ?? .null))
            fields.append(("offset", error.offset.map { .int($0) } ?? .null))
        case let error as SystemError:
            fields.append(("file", .string(error.path)))
            fields.append(("operation", .string(error.operation)))
            fields.append(("errno", .int(error.errno)))
        case let error as UsageError:
            fields.append(("hint", error.hint.map { .string($0) } ?? .null))
        case let error as HintedError:
            if let kind = error.kind { fields.append(("kind", .string(kind))) }
            if let file = error.file { fields.append(("file", .string(file))) }
            fields.append(("hint", .string(error.hint)))
        default:
            // Other modules' errors (ReleaseError, RecipeError, …): their kind, file and offset when they
            // have such fields, found by name so new error types need no code here.
            fields += reflectedFields(of: error)
        }
        return .object(fields)
    }

    private static func reflectedFields(of error: any Error) -> [(String, JSONValue)] {
        var fields: [(String, JSONValue)] = []
        for child in Mirror(reflecting: error).children {
            guard let label = child.label, let value = unwrapped(child.value) else { continue }
            switch (label, value) {
            case ("file", let text as String), ("path", let text as String):
                if !fields.contains(where: { $0.0 == "file" }) { fields.append(("file", .string(text))) }
            case ("offset", let number as any BinaryInteger): fields.append(("offset", .int(number)))
            case ("kind", let kind as any RawRepresentable):
                if let raw = kind.rawValue as? String { fields.append(("kind", .string(raw))) }
            default: continue
            }
        }
        return fields
    }

    private static func unwrapped(_ value: Any) -> Any? {
        let mirror = Mirror(reflecting: value)
        guard mirror.displayStyle == .optional else { return value }
        return mirror.children.first?.value
    }
}
