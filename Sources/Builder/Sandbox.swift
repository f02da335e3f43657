import EnclaveCore
import Subprocess
import SystemPackage

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The build-step sandbox: runs one ``SandboxStep`` under bubblewrap (`bwrap`, Debian's `bubblewrap`)
/// exactly as `Recipes/README.md`, "Build steps and the sandbox", describes: new user, PID, IPC, UTS,
/// network and cgroup namespaces (only a loopback, no route out), uid and gid 1000 (`builder`), hostname
/// `enclavekit`, a read-only tmpfs root holding only the step's mounts, `/dev`, `/proc` and a generated
/// `/etc` (`passwd`, `group`, `hostname`), writable `/build/out`, `/tmp` and `/home/builder`, working
/// directory `/build`, the fixed environment plus the step's, umask 022, no capabilities.
///
/// The umask: bubblewrap 0.8 has no `--umask`, and swift-subprocess 1.0.2 offers no pre-spawn hook on
/// Linux (`preSpawnProcessConfigurator` is Darwin only). Calling `umask(2)` in this process around the
/// spawn would change the mask of every thread for that moment. So bwrap is started through a one-line
/// POSIX shell trampoline, `/bin/sh -c 'umask 022 && exec "$0" "$@"' bwrap ARGS…`: the shell sets the
/// mask in the child process and replaces itself with bwrap (same process, so `--die-with-parent` still
/// ties the sandbox to this process). The umask applies both to what bwrap creates (the root's
/// directories) and to the step. The trampoline gets an empty environment: nothing from the host's
/// environment reaches bwrap or the step.
///
/// ```swift
/// let sandbox = try Sandbox()
/// let result = try await sandbox.run(step) { chunk in progress.log(chunk) }
/// ```
public struct Sandbox: Sendable {
    /// The bwrap executable used.
    public let bwrapPath: String
    /// The shell used as the umask trampoline.
    public let shellPath: String
    /// The most output bytes kept in ``SandboxResult/output`` and shown on failure (the tail is kept).
    public let outputLimit: Int

    /// The default ``outputLimit``: 16 MiB.
    public static let defaultOutputLimit = 16 << 20

    /// Finds bwrap (`bwrap`, or the given path), or throws ``BuildError/toolMissing(tool:hint:)``.
    public init(bwrap: String? = nil, outputLimit: Int = Sandbox.defaultOutputLimit) throws(BuildError) {
        let hint = "install bubblewrap: apt-get install bubblewrap"
        if let bwrap {
            guard Sandbox.isExecutableFile(bwrap) else {
                throw .toolMissing(tool: "bwrap at \(bwrap)", hint: hint)
            }
            self.bwrapPath = bwrap
        } else {
            let search = getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin"
            guard let found = Sandbox.findExecutable("bwrap", in: search) else {
                throw .toolMissing(tool: "bwrap (on PATH)", hint: hint)
            }
            self.bwrapPath = found
        }
        self.shellPath = "/bin/sh"
        guard Sandbox.isExecutableFile(shellPath) else {
            throw .toolMissing(tool: "/bin/sh", hint: "install dash: apt-get install dash")
        }
        self.outputLimit = max(1, outputLimit)
    }

    /// The first executable regular file named `name` in the `:`-separated `search` path.
    static func findExecutable(_ name: String, in search: String) -> String? {
        for directory in search.split(separator: ":", omittingEmptySubsequences: true) where directory.hasPrefix("/") {
            let candidate = directory.hasSuffix("/") ? "\(directory)\(name)" : "\(directory)/\(name)"
            if isExecutableFile(candidate) { return candidate }
        }
        return nil
    }

    static func isExecutableFile(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return false }
        return access(path, X_OK) == 0
    }

    /// Runs `step` in the sandbox and waits for it. `log`, if given, receives the step's output
    /// (stdout and stderr interleaved) as it arrives.
    ///
    /// Before the step, its output directory must exist, be empty, and every mount source must exist.
    /// After it, the output directory is checked and fixed up (see ``SandboxOutput``).
    /// - Throws: ``BuildError/stepFailed(step:status:outputTail:)`` when the step exits non-zero or is
    ///   killed, ``BuildError/badOutput(step:path:reason:)`` for a special file in its output,
    ///   ``BuildError/invalidStep(step:reason:)`` for a step that cannot run as described,
    ///   ``BuildError/sandboxFailed(step:reason:)`` when bwrap cannot be started, and
    ///   `CancellationError` when the task is cancelled (bwrap is killed, and the step with it).
    public func run(_ step: SandboxStep, log: (([UInt8]) -> Void)? = nil) async throws -> SandboxResult {
        guard SandboxOutput.isEmptyDirectory(step.outputDirectory) else {
            throw BuildError.invalidStep(
                step: step.name,
                reason: "output directory '\(step.outputDirectory)' must be an existing, empty directory")
        }
        for mount in step.mounts {
            var info = stat()
            guard stat(mount.hostPath, &info) == 0 else {
                throw BuildError.invalidStep(
                    step: step.name,
                    reason: "mount source '\(mount.hostPath)' for \(mount.sandboxPath): \(SandboxOutput.errnoText())")
            }
        }
        let root = try step.rootDirectory.map { (directory) throws(BuildError) in
            try SandboxRootLayout.read(directory, step: step.name)
        }
        let etc = try EtcDirectory(
            step: step.name,
            files: Sandbox.etcFiles(environmentEtc: root.map { $0.root + "/etc" }, variations: step.variations))
        let cleanup = Interruption.removeOnInterrupt(etc.path)
        defer {
            etc.remove()
            Interruption.unregister(cleanup)
        }
        let arguments = try Sandbox.bwrapArguments(for: step, etcDirectory: etc.path, root: root)

        let started = MonotonicClock.seconds()
        let trampoline = Sandbox.trampoline(bwrap: bwrapPath, variations: step.variations) + arguments
        let limit = outputLimit
        let outcome: ExecutionResult<OutputTail, SequenceOutput, CombinedErrorOutput>
        do {
            outcome = try await Subprocess.run(
                .path(FilePath(shellPath)), arguments: Arguments(trampoline), environment: .custom([:]),
                input: .none, output: .sequence, error: .combinedWithOutput
            ) { execution in
                var tail = OutputTail(limit: limit)
                for try await chunk in execution.standardOutput {
                    chunk.withUnsafeBytes { raw in
                        tail.append(raw)
                        log?(Array(raw))
                    }
                }
                tail.trim()
                return tail
            }
        } catch {
            // Cancelling the task kills bwrap (and with it the step); say so plainly.
            if Task.isCancelled || error is CancellationError { throw CancellationError() }
            throw BuildError.sandboxFailed(step: step.name, reason: "cannot start \(bwrapPath): \(error)")
        }
        let duration = Duration.seconds(MonotonicClock.seconds() - started)
        let tail = outcome.closureResult
        let status: SandboxExitStatus
        switch outcome.terminationStatus {
        case .exited(let code): status = .fromBwrapExit(code)
        case .signaled(let signal): status = .signaled(signal)
        }
        guard status.isSuccess else {
            // Best effort, so the host can remove what a failed step left; the step's failure is the error.
            _ = try? SandboxOutput.check(step.outputDirectory, step: step.name)
            // swift-subprocess kills bwrap when the task is cancelled: report the cancellation, not the kill.
            if Task.isCancelled { throw CancellationError() }
            throw BuildError.stepFailed(step: step.name, status: status, outputTail: tail.bytes)
        }
        try SandboxOutput.check(step.outputDirectory, step: step.name)
        return SandboxResult(
            exitStatus: status, output: tail.bytes, droppedOutputBytes: tail.dropped, duration: duration)
    }
}

extension Sandbox {
    /// The shell arguments that start `bwrap` with the step's umask (`022`, or the varied one) and, for the
    /// `cpus` variation, through `taskset -c LIST` (the affinity is inherited by the sandbox, so `nproc` sees it).
    static func trampoline(bwrap: String, variations: SandboxVariations) -> [String] {
        let mask = variations.umask ?? "022"
        guard mask.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "7")).contains($0) }), !mask.isEmpty else {
            return ["-c", "umask 022 && exec \"$0\" \"$@\"", bwrap]
        }
        if let list = variations.cpuList, let taskset = variations.tasksetPath {
            return ["-c", "umask \(mask) && exec \"$0\" \"$@\"", taskset, "-c", list, bwrap]
        }
        return ["-c", "umask \(mask) && exec \"$0\" \"$@\"", bwrap]
    }
}

/// A private host directory holding the sandbox's `/etc` files (``Sandbox/etcFiles``), mode 0755 with
/// 0644 files whatever the umask, removed after the step.
private struct EtcDirectory {
    let path: String

    init(step: String, files: [(name: String, contents: String)]) throws(BuildError) {
        do {
            path = try TemporaryDirectory.make(prefix: "enclavekit-etc-")
        } catch {
            throw .sandboxFailed(step: step, reason: "cannot create a directory: \(error)")
        }
        do throws(BuildError) {
            guard chmod(path, 0o755) == 0 else {
                throw .sandboxFailed(step: step, reason: "cannot set the mode of \(path): \(SandboxOutput.errnoText())")
            }
            for file in files {
                try write(file.contents, to: "\(path)/\(file.name)", step: step)
            }
        } catch {
            remove()
            throw error
        }
    }

    private func write(_ contents: String, to file: String, step: String) throws(BuildError) {
        let fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw .sandboxFailed(step: step, reason: "cannot create \(file): \(SandboxOutput.errnoText())")
        }
        defer { close(fd) }
        let bytes = Array(contents.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count, fchmod(fd, 0o644) == 0 else {
            throw .sandboxFailed(step: step, reason: "cannot write \(file): \(SandboxOutput.errnoText())")
        }
    }

    func remove() {
        FileTree.removeTree(path)
    }
}
