/// A host file or directory that a sandboxed step sees, always read-only, at `sandboxPath`
/// (`Recipes/README.md`, "Build steps and the sandbox": inputs at `/inputs/NAME`, earlier steps'
/// outputs at `/steps/NAME`).
///
/// ```swift
/// SandboxMount(hostPath: "/var/cache/enclavekit/unpacked/zig", sandboxPath: "/inputs/zig")
/// ```
public struct SandboxMount: Sendable, Hashable {
    /// The absolute path of the file or directory on the host.
    public var hostPath: String
    /// Where the step sees it: an absolute, normalized path below `/inputs/` or `/steps/`.
    public var sandboxPath: String

    public init(hostPath: String, sandboxPath: String) {
        self.hostPath = hostPath
        self.sandboxPath = sandboxPath
    }
}

/// One environment variable that a step adds to the fixed sandbox environment (a recipe step's `env`).
///
/// ```swift
/// SandboxVariable(name: "ZIG_GLOBAL_CACHE_DIR", value: "/tmp/zig")
/// ```
public struct SandboxVariable: Sendable, Hashable {
    /// The variable's name: letters, digits and `_`, not starting with a digit.
    public var name: String
    /// Its value (any text without a NUL byte).
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// One build step to run in the sandbox: its argument vector, the read-only mounts it may see, the
/// host directory that becomes its writable `/build/out`, extra environment variables and the
/// `SOURCE_DATE_EPOCH` (`Recipes/README.md`, "Build steps and the sandbox").
///
/// ```swift
/// let step = SandboxStep(
///     name: "node", arguments: ["/inputs/zig/ziglang/zig", "cc", "-o", "/build/out/node", "/inputs/src/node.c"],
///     mounts: [SandboxMount(hostPath: zigDir, sandboxPath: "/inputs/zig")],
///     outputDirectory: "/tmp/out-node", environment: [("ZIG_GLOBAL_CACHE_DIR", "/tmp/zig")],
///     sourceDateEpoch: 1_700_000_000)
/// ```
public struct SandboxStep: Sendable, Hashable {
    /// The step's name, used in messages.
    public var name: String
    /// The argument vector: `arguments[0]` is the program (a path inside the sandbox), run without a shell.
    public var arguments: [String]
    /// Read-only files and directories the step sees; nothing else from the host is visible.
    public var mounts: [SandboxMount]
    /// A host directory that exists and is empty; the step sees it, writable, at `/build/out`.
    public var outputDirectory: String
    /// Variables added to the fixed environment, in order; a name in the fixed environment is replaced
    /// (except `SOURCE_DATE_EPOCH`, which comes from ``sourceDateEpoch``).
    public var environment: [SandboxVariable]
    /// The value of `SOURCE_DATE_EPOCH` inside the sandbox.
    public var sourceDateEpoch: UInt64
    /// An environment's root directory on the host (`environment = "NAME"` on a recipe step): the step
    /// sees it, read-only, as `/` (``SandboxRootLayout``); `nil` for the plain sandbox, whose `/` holds only
    /// the step's mounts.
    public var rootDirectory: String?
    /// What `rebuild --vary` changes in the sandbox for this step; ``SandboxVariations/none`` (the default)
    /// for every normal build.
    public var variations: SandboxVariations = .none

    public init(
        name: String, arguments: [String], mounts: [SandboxMount] = [], outputDirectory: String,
        environment: [SandboxVariable] = [], sourceDateEpoch: UInt64, rootDirectory: String? = nil
    ) {
        self.name = name
        self.arguments = arguments
        self.mounts = mounts
        self.outputDirectory = outputDirectory
        self.environment = environment
        self.sourceDateEpoch = sourceDateEpoch
        self.rootDirectory = rootDirectory
    }

    /// The same, with the extra environment as `(name, value)` pairs (a recipe step's `env` table).
    public init(
        name: String, arguments: [String], mounts: [SandboxMount] = [], outputDirectory: String,
        environment: [(String, String)], sourceDateEpoch: UInt64, rootDirectory: String? = nil
    ) {
        self.init(
            name: name, arguments: arguments, mounts: mounts, outputDirectory: outputDirectory,
            environment: environment.map { SandboxVariable(name: $0.0, value: $0.1) }, sourceDateEpoch: sourceDateEpoch,
            rootDirectory: rootDirectory)
    }
}

/// How a sandboxed step ended.
///
/// bubblewrap reports a child killed by signal N as exit status 128 + N (as shells do), so a step that
/// calls `exit(137)` is indistinguishable from one killed by signal 9; both are shown as
/// `killed by signal 9`.
public enum SandboxExitStatus: Sendable, Hashable, CustomStringConvertible {
    /// The step exited with this status.
    case exited(Int32)
    /// The step (or bubblewrap itself) was killed by this signal.
    case signaled(Int32)

    /// Whether the step succeeded (exited with 0).
    public var isSuccess: Bool { self == .exited(0) }

    /// The status of a step from bubblewrap's own exit status (128 + N for a child killed by signal N).
    static func fromBwrapExit(_ code: Int32) -> SandboxExitStatus {
        if code > 128 && code < 128 + 65 { return .signaled(code - 128) }
        return .exited(code)
    }

    public var description: String {
        switch self {
        case .exited(let code): return "exited with \(code)"
        case .signaled(let signal): return "killed by signal \(signal)"
        }
    }
}

/// What a successful sandboxed step left behind besides its output directory.
public struct SandboxResult: Sendable, Hashable {
    /// How the step ended (always a success when ``Sandbox/run(_:log:)`` returns).
    public var exitStatus: SandboxExitStatus
    /// Its standard output and standard error, interleaved as written; only the last
    /// ``Sandbox/outputLimit`` bytes are kept.
    public var output: [UInt8]
    /// How many bytes of output were dropped from the front to keep ``output`` within the limit.
    public var droppedOutputBytes: UInt64
    /// Wall-clock time from starting bubblewrap until it exited.
    public var duration: Duration

    public init(exitStatus: SandboxExitStatus, output: [UInt8], droppedOutputBytes: UInt64, duration: Duration) {
        self.exitStatus = exitStatus
        self.output = output
        self.droppedOutputBytes = droppedOutputBytes
        self.duration = duration
    }
}
