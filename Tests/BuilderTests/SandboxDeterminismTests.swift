import Foundation
import TestSupport
import Testing

@testable import Builder

#if canImport(Glibc)
    import Glibc
#endif

/// Two runs of the same step, one in this process and one in a child process (an exit test) under another host
/// environment, time zone, locale and umask, print the same bytes and leave the same output tree (the exact
/// environment inside is checked by the `Sandbox` suite). Only the child changes its umask and environment:
/// this process's are shared by every test running beside this one.
@Suite("SandboxDeterminism")
struct SandboxDeterminismTests {
    static let script = """
        env; umask; id; hostname; pwd; date -d @1700000000; \
        stat -c '%A %U %G %n' / /build /build/out /etc /etc/* /home /home/builder /inputs /inputs/busybox /tmp; \
        echo hello > /build/out/a && mkdir /build/out/d && echo nested > /build/out/d/b && ln -s a /build/out/l
        """

    /// What one run printed and the listing of its output tree; the child sends it as JSON on its standard output.
    struct Run: Codable, Sendable {
        var output: [UInt8]
        var tree: [String]
    }

    /// The child's host environment: each variable is set whether or not this process has it. PATH as well,
    /// after the child's ``Sandbox`` has looked bwrap up on the real one.
    static let hostChanges = [
        ("HOME", "/nonexistent"), ("USER", "someone"), ("TZ", "Pacific/Kiritimati"), ("LANG", "fr_FR.ISO-8859-1"),
        ("LC_ALL", "fr_FR.ISO-8859-1"), ("SOURCE_DATE_EPOCH", "1"), ("PATH", "/nonexistent/bin"),
    ]

    /// Runs the step, returns its output and a listing of its output tree (type, mode, contents).
    static func runOnce(_ sandbox: Sandbox) async throws -> Run {
        let (result, output) = try await SandboxFixture.run("repro", ["sh", "-c", script], sandbox: sandbox)
        defer { SandboxFixture.remove(output) }
        return Run(output: result.output, tree: try listing(output))
    }

    static func listing(_ root: String) throws -> [String] {
        let names = try FileManager.default.subpathsOfDirectory(atPath: root).sorted()
        return try names.map { name in
            var info = stat()
            _ = lstat(root + "/" + name, &info)
            let mode = String(info.st_mode, radix: 8)
            switch info.st_mode & S_IFMT {
            case S_IFLNK:
                return
                    "\(mode) \(name) -> \(try FileManager.default.destinationOfSymbolicLink(atPath: root + "/" + name))"
            case S_IFDIR: return "\(mode) \(name)/"
            default: return "\(mode) \(name) \(try String(contentsOfFile: root + "/" + name, encoding: .utf8))"
            }
        }
    }

    @Test func hostEnvironmentAndUmaskDoNotLeakIn() async throws {
        let first = try await Self.runOnce(try Sandbox())

        // A failed check in the child comes back as an issue of this test; an error is recorded as one.
        let child = await #expect(processExitsWith: .success, observing: [\.standardOutputContent]) {
            do {
                let sandbox = try Sandbox()
                umask(0o077)
                for (name, value) in SandboxDeterminismTests.hostChanges { setenv(name, value, 1) }
                let run = try await SandboxDeterminismTests.runOnce(sandbox)
                FileHandle.standardOutput.write(try JSONEncoder().encode(run))
            } catch {
                Issue.record(error)
            }
        }
        let second = try JSONDecoder().decode(Run.self, from: Data(try #require(child).standardOutputContent))

        #expect(first.output == second.output)
        #expect(first.tree == second.tree)
        let text = String(decoding: second.output, as: UTF8.self)
        #expect(!text.contains("nonexistent"))
        #expect(text.contains("\n0022\n"))
        #expect(text.contains("Tue Nov 14 22:13:20 UTC 2023"))
        #expect(text.contains("drwxr-xr-x builder builder /etc\n-rw-r--r-- builder builder /etc/group\n"))
        #expect(first.tree.prefix(3) == ["100644 a hello\n", "40755 d/", "100644 d/b nested\n"])
        #expect(first.tree.last == "120777 l -> a")
    }
}
