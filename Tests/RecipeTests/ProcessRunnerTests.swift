import Recipe
import Testing

/// The one runner of host tools: both pipes read together, output bounded, failures as one line with the
/// end of the error output.
@Suite("Process runner")
struct ProcessRunnerTests {
    /// A child that writes 1 MiB to each pipe, interleaved, finishes (a runner that read one pipe to its end
    /// before the other would deadlock once the other's 64 KiB buffer filled) and every byte is kept.
    @Test func readsBothPipesWithoutDeadlock() async throws {
        let script =
            "i=0; while [ $i -lt 256 ]; do head -c 4096 /dev/zero; head -c 4096 /dev/zero >&2; i=$((i+1)); done"
        let outcome = try await ProcessRunner.check(
            "/bin/sh", ["-c", script], outputLimit: 2 << 20, errorLimit: 2 << 20, what: "test", as: { $0 })
        #expect(outcome.output.count == 1 << 20)
        #expect(outcome.errorOutput.utf8.count == 1 << 20)
    }

    /// How a run ends, and the one-line failure each gives.
    @Test(
        arguments: [
            // Exit status 3: the command and the last five lines of its error output.
            (
                "/bin/sh", ["-c", "for n in 1 2 3 4 5 6 7; do echo line$n >&2; done; exit 3"], 0,
                ProcessRunner.Failure.Kind.failed,
                "test: `/bin/sh -c for n in 1 2 3 4 5 6 7; do echo line$n >&2; done; exit 3` failed (exit status 3): "
                    + "line3 | line4 | line5 | line6 | line7"
            ),
            // Killed by a signal.
            ("/bin/sh", ["-c", "kill -9 $$"], 0, .failed, "test: `/bin/sh -c kill -9 $$` failed (killed by a signal)"),
            // More output than the limit.
            (
                "/bin/sh", ["-c", "head -c 5000 /dev/zero"], 4096, .failed,
                "test: `/bin/sh -c head -c 5000 /dev/zero` printed more than its limit (4096 bytes of output, 4194304 of errors)"
            ),
        ] as [(String, [String], Int, ProcessRunner.Failure.Kind, String)])
    func failures(
        program: String, arguments: [String], outputLimit: Int, kind: ProcessRunner.Failure.Kind, message: String
    )
        async
    {
        let failure = await #expect(throws: ProcessRunner.Failure.self) {
            try await ProcessRunner.check(program, arguments, outputLimit: outputLimit, what: "test", as: { $0 })
        }
        #expect(failure?.kind == kind)
        #expect(failure?.message == message)
    }

    /// A program that is not installed is `cannotRun`, and the message says to install it.
    @Test func missingProgram() async {
        let failure = await #expect(throws: ProcessRunner.Failure.self) {
            try await ProcessRunner.run("/nonexistent/tool", [], what: "test", as: { $0 })
        }
        #expect(failure?.kind == .cannotRun)
        #expect(failure?.message.hasPrefix("test: cannot run /nonexistent/tool: ") == true)
        #expect(failure?.message.hasSuffix("(is /nonexistent/tool installed and on PATH?)") == true)
    }

    /// `.only` gives the child exactly those variables; `.inherit(adding:)` adds to this process's.
    @Test func environments() async throws {
        let only = try await ProcessRunner.check(
            "/usr/bin/env", [], environment: .only(["A": "1"]), outputLimit: 1 << 16, what: "test", as: { $0 })
        #expect(String(decoding: only.output, as: UTF8.self) == "A=1\n")
        let inherited = try await ProcessRunner.check(
            "/usr/bin/env", [], environment: .inherit(adding: ["ENCLAVEKIT_TEST_VARIABLE": "x"]), outputLimit: 1 << 20,
            what: "test", as: { $0 })
        let lines = String(decoding: inherited.output, as: UTF8.self).split(separator: "\n")
        #expect(lines.contains("ENCLAVEKIT_TEST_VARIABLE=x"))
        #expect(lines.contains { $0.hasPrefix("PATH=") })
    }
}
