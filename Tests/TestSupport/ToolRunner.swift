import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What a program run by ``ToolRunner`` exited with and printed.
public struct ToolResult: Sendable {
    /// The exit status, or the signal number when a signal ended the program (see `signaled`).
    public var status: Int32
    public var signaled: Bool
    public var stdoutBytes: [UInt8]
    public var stderrBytes: [UInt8]

    public init(status: Int32, signaled: Bool = false, stdoutBytes: [UInt8], stderrBytes: [UInt8]) {
        self.status = status
        self.signaled = signaled
        self.stdoutBytes = stdoutBytes
        self.stderrBytes = stderrBytes
    }

    public var stdout: String { String(decoding: stdoutBytes, as: UTF8.self) }
    public var stderr: String { String(decoding: stderrBytes, as: UTF8.self) }
    /// Everything the program printed: standard output, then standard error (one stream, interleaved as
    /// written, when the runner merged them).
    public var output: String { String(decoding: stdoutBytes + stderrBytes, as: UTF8.self) }
    /// Standard output without leading and trailing white space.
    public var trimmedStdout: String { stdout.trimmingCharacters(in: .whitespacesAndNewlines) }
}

/// Runs a program to its end, feeding standard input and draining standard output and standard error together
/// (one `poll` loop), so a program that fills one pipe while the runner waits on another cannot block.
public enum ToolRunner {
    /// Runs `tool` (a path, or a name looked up on `PATH`) with `arguments` in `directory`, with `environment`
    /// added to this process's environment and `stdin` as standard input (`/dev/null` when nil). With
    /// `mergeStandardError`, standard error goes to the standard output pipe (interleaved as written).
    public static func run(
        _ tool: String, _ arguments: [String] = [], in directory: String? = nil,
        environment: [String: String] = [:], stdin: [UInt8]? = nil, mergeStandardError: Bool = false
    ) throws -> ToolResult {
        ignoreSIGPIPE
        let process = Process()
        if tool.contains("/") {
            process.executableURL = URL(fileURLWithPath: tool)
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [tool] + arguments
        }
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = mergeStandardError ? out : err
        let input = stdin.map { _ in Pipe() }
        process.standardInput = input ?? FileHandle.nullDevice
        try process.run()

        var streams = [Stream(fd: out.fileHandleForReading.fileDescriptor)]
        if !mergeStandardError { streams.append(Stream(fd: err.fileHandleForReading.fileDescriptor)) }
        var pending = stdin ?? []
        var written = 0
        var inputFD: Int32 = -1
        if let input {
            inputFD = input.fileHandleForWriting.fileDescriptor
            _ = fcntl(inputFD, F_SETFL, fcntl(inputFD, F_GETFL) | O_NONBLOCK)
        }
        func closeInput() {
            guard inputFD >= 0 else { return }
            try? input?.fileHandleForWriting.close()
            inputFD = -1
            pending = []
        }
        if written == pending.count { closeInput() }

        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while streams.contains(where: { !$0.done }) || inputFD >= 0 {
            var fds = streams.filter { !$0.done }.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            if inputFD >= 0 { fds.append(pollfd(fd: inputFD, events: Int16(POLLOUT), revents: 0)) }
            guard poll(&fds, nfds_t(fds.count), -1) >= 0 else {
                if errno == EINTR { continue }
                throw ToolRunnerError(description: "poll failed: errno \(errno)")
            }
            for entry in fds where entry.revents != 0 {
                if entry.fd == inputFD {
                    let n = pending[written...].withUnsafeBytes { write(inputFD, $0.baseAddress, $0.count) }
                    if n > 0 {
                        written += n
                        if written == pending.count { closeInput() }
                    } else if n < 0 && errno != EAGAIN && errno != EINTR {
                        closeInput()  // EPIPE: the program stopped reading.
                    }
                    continue
                }
                guard let i = streams.firstIndex(where: { $0.fd == entry.fd }) else { continue }
                let n = buffer.withUnsafeMutableBytes { read(entry.fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    streams[i].bytes += buffer[0..<n]
                } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
                    streams[i].done = true
                }
            }
        }
        process.waitUntilExit()
        return ToolResult(
            status: process.terminationStatus, signaled: process.terminationReason == .uncaughtSignal,
            stdoutBytes: streams[0].bytes, stderrBytes: mergeStandardError ? [] : streams[1].bytes)
    }

    /// Runs `command[0]` (a path, or a name looked up on `PATH`) with the rest as its arguments, standard error
    /// merged into standard output (read it as `output`).
    public static func combined(_ command: [String], environment: [String: String] = [:]) throws -> ToolResult {
        try run(command[0], Array(command.dropFirst()), environment: environment, mergeStandardError: true)
    }

    private struct Stream {
        var fd: Int32
        var bytes: [UInt8] = []
        var done = false
    }

    /// A program that exits before reading all of its input must give this process EPIPE, not SIGPIPE.
    private static let ignoreSIGPIPE: Void = { _ = signal(SIGPIPE, SIG_IGN) }()
}

public struct ToolRunnerError: Error, CustomStringConvertible {
    public var description: String
}
