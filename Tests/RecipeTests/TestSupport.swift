import Foundation
import TestSupport

/// Runs a program and returns its standard output; throws when it fails.
func runProgram(_ program: String, _ arguments: [String], environment: [String: String] = [:]) throws -> String {
    let result = try ToolRunner.run(program, arguments, environment: environment)
    guard result.status == 0 else {
        throw ProgramFailed(description: "\(program) \(arguments) exited with \(result.status): \(result.stderr)")
    }
    return result.stdout
}

struct ProgramFailed: Error, CustomStringConvertible {
    var description: String
}

/// `sha256sum` of a file, as the reference for digests in tests.
func sha256sum(_ path: String) throws -> String {
    String(try runProgram("sha256sum", [path]).prefix(64))
}

/// `python3 -m http.server` bound to 127.0.0.1 on a free port, serving `directory`; stopped on deinit.
final class LocalHTTPServer {
    let process = Process()
    let port: Int
    var base: String { "http://127.0.0.1:\(port)" }

    init(directory: String) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", "-u", "-m", "http.server", "--bind", "127.0.0.1", "--directory", directory, "0",
        ]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        // "Serving HTTP on 127.0.0.1 port 40123 (http://127.0.0.1:40123/) ..."
        var text = ""
        var found: Int?
        while found == nil {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
            if let range = text.range(of: " port "), let end = text[range.upperBound...].firstIndex(of: " ") {
                found = Int(text[range.upperBound..<end])
            }
        }
        guard let port = found else {
            process.terminate()
            throw ProgramFailed(description: "http.server did not report its port: \(text)")
        }
        self.port = port
    }

    deinit {
        // SIGKILL: the test runner's threads may block SIGTERM, and a child inherits that mask.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
