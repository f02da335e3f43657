import Foundation
import TestSupport
import Testing

@Suite struct ToolRunnerTests {
    /// Far more than a pipe's 64 KiB buffer on each stream: a runner that reads one stream to its end before the
    /// other blocks the program (and itself) and the time limit fails the test.
    static let size = 1 << 20

    @Test(.timeLimit(.minutes(1)))
    func drainsBothStreamsWhileTheProgramWritesStandardErrorFirst() throws {
        let script = "head -c \(Self.size) /dev/zero | tr '\\0' e >&2; head -c \(Self.size) /dev/zero | tr '\\0' o"
        let result = try ToolRunner.run("/bin/sh", ["-c", script])
        #expect(result.status == 0)
        #expect(result.stdoutBytes == [UInt8](repeating: UInt8(ascii: "o"), count: Self.size))
        #expect(result.stderrBytes == [UInt8](repeating: UInt8(ascii: "e"), count: Self.size))
    }

    @Test(.timeLimit(.minutes(1)))
    func feedsStandardInputWhileDrainingBothStreams() throws {
        let input = (0..<Self.size).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let result = try ToolRunner.run("/bin/sh", ["-c", "tee /dev/stderr"], stdin: input)
        #expect(result.status == 0)
        #expect(result.stdoutBytes == input)
        #expect(result.stderrBytes == input)
    }

    @Test func aProgramThatStopsReadingEndsTheInputWithoutKillingTheRunner() throws {
        let result = try ToolRunner.run(
            "/bin/sh", ["-c", "head -c 3"], stdin: Array(repeating: 0x41, count: Self.size))
        #expect(result.status == 0)
        #expect(result.stdout == "AAA")
    }

    @Test(arguments: [(0, false), (3, false), (9, true)] as [(Int32, Bool)])
    func reportsTheExitStatusOrSignal(code: Int32, signaled: Bool) throws {
        let script = signaled ? "kill -\(code) $$" : "exit \(code)"
        let result = try ToolRunner.run("sh", ["-c", script])
        #expect(result.status == code)
        #expect(result.signaled == signaled)
    }

    @Test func mergedStandardErrorKeepsTheOrderOfWrites() throws {
        let result = try ToolRunner.run("sh", ["-c", "echo one; echo two >&2; echo three"], mergeStandardError: true)
        #expect(result.stdout == "one\ntwo\nthree\n")
        #expect(result.stderrBytes.isEmpty)
    }

    @Test func environmentAndDirectoryReachTheProgram() throws {
        let dir = try TestDirectory()
        let result = try ToolRunner.run(
            "sh", ["-c", "printf '%s %s' \"$TOOL_RUNNER_TEST\" \"$(pwd -P)\""], in: dir.path,
            environment: ["TOOL_RUNNER_TEST": "set"])
        let real = URL(fileURLWithPath: dir.path).resolvingSymlinksInPath().path
        #expect(result.stdout == "set \(real)")
    }
}

@Suite struct FixturesTests {
    @Test func theCallingFileNamesItsTestTarget() {
        #expect(Fixtures.target() == "TestSupportTests")
        #expect(Fixtures.directory().hasSuffix("/Tests/TestSupportTests/Fixtures"))
        #expect(Fixtures.path("a/b.bin").hasSuffix("/Tests/TestSupportTests/Fixtures/a/b.bin"))
    }

    @Test func aMissingFixtureThrows() {
        let error = #expect(throws: CocoaError.self) { try Fixtures.bytes("no-such-fixture") }
        #expect(error?.code == .fileReadNoSuchFile, "\(String(describing: error))")
    }
}

@Suite struct TemporaryDirectoryTests {
    @Test func writesReadsListsAndRemovesReadOnlyTrees() throws {
        var path = ""
        do {
            let dir = try TestDirectory(prefix: "support-test")
            path = dir.path
            let file = try dir.write("a/b/c.txt", "text", mode: 0o600)
            #expect(try dir.read("a/b/c.txt") == Array("text".utf8))
            let attributes = try FileManager.default.attributesOfItem(atPath: file)
            #expect((attributes[.posixPermissions] as? Int) == 0o600)
            try dir.symlink("link", to: "a")
            #expect(try dir.list() == ["a", "link"])
            #expect(dir.listing("a") == ["b", "b/c.txt"])
            try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: dir.file("a/b"))
            #expect(dir.exists("a/b/c.txt"))
        }
        #expect(!path.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}
