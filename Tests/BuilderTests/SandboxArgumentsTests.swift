import Testing

@testable import Builder

/// The pure parts of the sandbox: bwrap's argument vector, the environment, step checks, exit statuses,
/// failure messages and the output tail. Expected values are written from `Recipes/README.md`
/// ("Build steps and the sandbox") and bwrap(1), not produced by the code.
@Suite("SandboxArguments")
struct SandboxArgumentsTests {
    static let step = SandboxStep(
        name: "node",
        arguments: ["/inputs/zig/ziglang/zig", "cc", "-o", "/build/out/node", "/inputs/src/node.c"],
        mounts: [
            SandboxMount(hostPath: "/cache/zig", sandboxPath: "/inputs/zig"),
            SandboxMount(hostPath: "/repo/src", sandboxPath: "/inputs/src"),
            SandboxMount(hostPath: "/cache/steps/abc", sandboxPath: "/steps/gen"),
        ],
        outputDirectory: "/srv/enclavekit/out/node",
        environment: [("ZIG_GLOBAL_CACHE_DIR", "/tmp/zig")],
        sourceDateEpoch: 1_700_000_000)

    @Test func argumentVector() throws {
        let arguments = try Sandbox.bwrapArguments(for: Self.step, etcDirectory: "/tmp/etc-1")
        let expected = [
            "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--new-session",
            "--cap-drop", "ALL", "--uid", "1000", "--gid", "1000", "--hostname", "enclavekit", "--clearenv",
            "--setenv", "SOURCE_DATE_EPOCH", "1700000000",
            "--setenv", "TZ", "UTC",
            "--setenv", "LC_ALL", "C.UTF-8",
            "--setenv", "LANG", "C.UTF-8",
            "--setenv", "HOME", "/home/builder",
            "--setenv", "USER", "builder",
            "--setenv", "LOGNAME", "builder",
            "--setenv", "PATH", "/usr/bin:/bin",
            "--setenv", "PWD", "/build",
            "--setenv", "ZIG_GLOBAL_CACHE_DIR", "/tmp/zig",
            "--tmpfs", "/", "--dev", "/dev", "--proc", "/proc", "--ro-bind", "/tmp/etc-1", "/etc",
            "--ro-bind", "/cache/zig", "/inputs/zig",
            "--ro-bind", "/repo/src", "/inputs/src",
            "--ro-bind", "/cache/steps/abc", "/steps/gen",
            "--dir", "/build", "--bind", "/srv/enclavekit/out/node", "/build/out",
            "--tmpfs", "/tmp", "--tmpfs", "/home/builder",
            "--remount-ro", "/dev", "--remount-ro", "/proc", "--tmpfs", "/dev/shm", "--remount-ro", "/",
            "--chdir", "/build", "--",
            "/inputs/zig/ziglang/zig", "cc", "-o", "/build/out/node", "/inputs/src/node.c",
        ]
        #expect(arguments == expected)
        // The remount comes after every mount, so only the bound places stay writable.
        let remount = try #require(arguments.firstIndex(of: "--remount-ro"))
        #expect(arguments[..<remount].lastIndex(of: "--bind").map { $0 < remount } == true)
        #expect(!arguments.contains("--as-pid-1"))
    }

    @Test func argumentsAfterTheSeparatorAreTheStepsVerbatim() throws {
        var step = Self.step
        step.arguments = ["--tmpfs", "/", "--bind", "/", "/"]
        let arguments = try Sandbox.bwrapArguments(for: step, etcDirectory: "/e")
        let separator = try #require(arguments.firstIndex(of: "--"))
        #expect(Array(arguments[(separator + 1)...]) == step.arguments)
    }

    @Test func stepVariablesReplaceFixedOnesInPlaceAndAppendNewOnes() throws {
        var step = Self.step
        step.environment = [
            SandboxVariable(name: "PATH", value: "/inputs/zig/bin"), SandboxVariable(name: "CC", value: "zig cc"),
        ]
        let environment = try Sandbox.environment(for: step).map { "\($0.name)=\($0.value)" }
        #expect(
            environment == [
                "SOURCE_DATE_EPOCH=1700000000", "TZ=UTC", "LC_ALL=C.UTF-8", "LANG=C.UTF-8", "HOME=/home/builder",
                "USER=builder", "LOGNAME=builder", "PATH=/inputs/zig/bin", "PWD=/build", "CC=zig cc",
            ])
    }

    static let badEnvironments: [(SandboxVariable, String)] = [
        (SandboxVariable(name: "", value: "x"), "is not a name"),
        (SandboxVariable(name: "A=B", value: "x"), "is not a name"),
        (SandboxVariable(name: "1X", value: "x"), "is not a name"),
        (SandboxVariable(name: "X Y", value: "x"), "is not a name"),
        (SandboxVariable(name: "X", value: "a\u{0}b"), "NUL"),
        (SandboxVariable(name: "SOURCE_DATE_EPOCH", value: "0"), "source-date-epoch in the recipe"),
    ]

    @Test(arguments: badEnvironments)
    func badEnvironmentIsRejected(variable: SandboxVariable, message: String) throws {
        var step = Self.step
        step.environment = [variable]
        let error = #expect(throws: BuildError.self) { try Sandbox.bwrapArguments(for: step, etcDirectory: "/e") }
        #expect(error?.description.hasPrefix("step 'node': ") == true)
        #expect(error?.description.contains(message) == true)
    }

    @Test func aVariableSetTwiceIsRejected() throws {
        var step = Self.step
        step.environment = [SandboxVariable(name: "A", value: "1"), SandboxVariable(name: "A", value: "2")]
        #expect(throws: BuildError.invalidStep(step: "node", reason: "environment variable A is set twice")) {
            try Sandbox.environment(for: step)
        }
    }

    static let badMounts: [([SandboxMount], String)] = [
        ([SandboxMount(hostPath: "relative/zig", sandboxPath: "/inputs/zig")], "not an absolute host path"),
        ([SandboxMount(hostPath: "/h", sandboxPath: "/usr/bin")], "below /inputs/ or /steps/"),
        ([SandboxMount(hostPath: "/h", sandboxPath: "/inputs")], "below /inputs/ or /steps/"),
        ([SandboxMount(hostPath: "/h", sandboxPath: "/inputs/")], "below /inputs/ or /steps/"),
        ([SandboxMount(hostPath: "/h", sandboxPath: "/inputs/../etc")], "below /inputs/ or /steps/"),
        ([SandboxMount(hostPath: "/h", sandboxPath: "/inputs/./a")], "below /inputs/ or /steps/"),
        ([SandboxMount(hostPath: "/h", sandboxPath: "/inputs//a")], "below /inputs/ or /steps/"),
        ([SandboxMount(hostPath: "/h", sandboxPath: "/inputs/a/")], "below /inputs/ or /steps/"),
        ([SandboxMount(hostPath: "/h", sandboxPath: "inputs/a")], "below /inputs/ or /steps/"),
        ([SandboxMount(hostPath: "/h", sandboxPath: "/build/out")], "below /inputs/ or /steps/"),
        (
            [
                SandboxMount(hostPath: "/a", sandboxPath: "/inputs/a"),
                SandboxMount(hostPath: "/b", sandboxPath: "/inputs/a"),
            ],
            "overlap"
        ),
        (
            [
                SandboxMount(hostPath: "/a", sandboxPath: "/inputs/a/b"),
                SandboxMount(hostPath: "/b", sandboxPath: "/inputs/a"),
            ],
            "'/inputs/a' and '/inputs/a/b' overlap"
        ),
    ]

    @Test(arguments: badMounts)
    func badMountsAreRejected(mounts: [SandboxMount], message: String) throws {
        var step = Self.step
        step.mounts = mounts
        let error = #expect(throws: BuildError.self) { try Sandbox.bwrapArguments(for: step, etcDirectory: "/e") }
        #expect(error?.description.contains(message) == true, "\(String(describing: error))")
    }

    @Test func siblingMountsWithACommonPrefixAreFine() throws {
        var step = Self.step
        step.mounts = [
            SandboxMount(hostPath: "/a", sandboxPath: "/inputs/a"),
            SandboxMount(hostPath: "/b", sandboxPath: "/inputs/ab"),
        ]
        #expect(throws: Never.self) { try Sandbox.bwrapArguments(for: step, etcDirectory: "/e") }
    }

    @Test func emptyRunAndRelativeOutputAreRejected() throws {
        var step = Self.step
        step.arguments = []
        #expect(
            throws: BuildError.invalidStep(step: "node", reason: "run is empty (give the program and its arguments)")
        ) {
            try Sandbox.bwrapArguments(for: step, etcDirectory: "/e")
        }
        step = Self.step
        step.outputDirectory = "out"
        let error = #expect(throws: BuildError.self) { try Sandbox.bwrapArguments(for: step, etcDirectory: "/e") }
        #expect(error?.description == "step 'node': output directory 'out' is not an absolute host path")
        step = Self.step
        step.arguments = ["/bin/x", "a\u{0}b"]
        #expect(throws: BuildError.invalidStep(step: "node", reason: "an argument of run contains a NUL byte")) {
            try Sandbox.bwrapArguments(for: step, etcDirectory: "/e")
        }
    }

    static let exitStatuses: [(Int32, SandboxExitStatus, String)] = [
        (0, .exited(0), "exited with 0"),
        (2, .exited(2), "exited with 2"),
        (127, .exited(127), "exited with 127"),
        (128, .exited(128), "exited with 128"),
        (137, .signaled(9), "killed by signal 9"),
        (143, .signaled(15), "killed by signal 15"),
        (192, .signaled(64), "killed by signal 64"),
        (193, .exited(193), "exited with 193"),
        (255, .exited(255), "exited with 255"),
    ]

    @Test(arguments: exitStatuses)
    func bwrapExitStatus(code: Int32, status: SandboxExitStatus, text: String) {
        #expect(SandboxExitStatus.fromBwrapExit(code) == status)
        #expect(status.description == text)
        #expect(status.isSuccess == (code == 0))
    }

    static let tails: [(String, Int, [String])] = [
        ("", 3, []),
        ("\n", 3, [""]),
        ("\n\n", 3, ["", ""]),
        ("one", 3, ["one"]),
        ("one\n", 3, ["one"]),
        ("a\nb\nc\nd\ne\n", 3, ["c", "d", "e"]),
        ("a\nb\nc\nd\ne", 3, ["c", "d", "e"]),
        ("a\n\nb\n", 5, ["a", "", "b"]),
        ("tab\there\u{1b}[31mred\r\n", 2, ["tab\there\\u{1b}[31mred\\u{d}"]),
    ]

    @Test(arguments: tails)
    func lastLines(output: String, count: Int, lines: [String]) {
        #expect(BuildError.lastLines(of: Array(output.utf8), count: count) == lines)
    }

    @Test func lastLinesOfInvalidUTF8AreReplaced() {
        #expect(BuildError.lastLines(of: [0x61, 0xff, 0x62, 0x0a], count: 20) == ["a\u{fffd}b"])
    }

    @Test func stepFailedDescription() {
        let output = (1...30).map { "line \($0)\n" }.joined()
        let error = BuildError.stepFailed(step: "node", status: .exited(2), outputTail: Array(output.utf8))
        let expected =
            "step 'node' exited with 2; the last 20 lines of its output:\n"
            + (11...30).map { "  | line \($0)" }.joined(separator: "\n")
        #expect(error.description == expected)
        #expect(
            BuildError.stepFailed(step: "s", status: .signaled(9), outputTail: []).description
                == "step 's' killed by signal 9 and printed nothing")
    }

    @Test func outputTailKeepsTheLastBytes() {
        var tail = OutputTail(limit: 10)
        var all: [UInt8] = []
        for index in 0..<5000 {
            let chunk = Array("\(index),".utf8)
            all += chunk
            tail.append(chunk)
        }
        tail.trim()
        #expect(tail.bytes == Array(all.suffix(10)))
        #expect(tail.dropped == UInt64(all.count - 10))
        var small = OutputTail(limit: 100)
        small.append(Array("short".utf8))
        small.trim()
        #expect(small.bytes == Array("short".utf8))
        #expect(small.dropped == 0)
    }

    @Test func missingBwrapSaysHowToInstallIt() {
        let error = #expect(throws: BuildError.self) { try Sandbox(bwrap: "/nonexistent/bwrap") }
        #expect(
            error
                == .toolMissing(
                    tool: "bwrap at /nonexistent/bwrap", hint: "install bubblewrap: apt-get install bubblewrap"))
        #expect(
            error?.description
                == "bwrap at /nonexistent/bwrap not found: install bubblewrap: apt-get install bubblewrap")
        #expect(Sandbox.findExecutable("bwrap", in: "/nonexistent:relative/dir:") == nil)
        #expect(Sandbox.findExecutable("sh", in: "/nonexistent:/bin") == "/bin/sh")
    }
}
