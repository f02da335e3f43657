import Foundation
import TestSupport
import Testing

@testable import Builder

#if canImport(Glibc)
    import Glibc
#endif

/// Two runs of the same step under a different host environment, time zone, locale and umask print the
/// same bytes and leave the same output tree (the exact environment inside is checked by the
/// `Sandbox` suite). Serialized: it changes this process's umask and environment for one run.
@Suite("SandboxDeterminism", .serialized)
struct SandboxDeterminismTests {
    static let script = """
        env; umask; id; hostname; pwd; date -d @1700000000; \
        stat -c '%A %U %G %n' / /build /build/out /etc /etc/* /home /home/builder /inputs /inputs/busybox /tmp; \
        echo hello > /build/out/a && mkdir /build/out/d && echo nested > /build/out/d/b && ln -s a /build/out/l
        """

    /// Runs the step, returns its output and a listing of its output tree (type, mode, contents).
    static func runOnce(_ sandbox: Sandbox) async throws -> (output: [UInt8], tree: [String]) {
        let (result, output) = try await SandboxFixture.run("repro", ["sh", "-c", script], sandbox: sandbox)
        defer { SandboxFixture.remove(output) }
        return (result.output, try listing(output))
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
        let sandbox = try Sandbox()
        let first = try await Self.runOnce(sandbox)

        // Only variables the process already has are changed: glibc's setenv replaces an existing
        // entry in place, while adding one may reallocate `environ` under another test's getenv.
        // Not PATH: tests running beside this one look bwrap up on it.
        let changes = [
            "HOME": "/nonexistent", "USER": "someone", "TZ": "Pacific/Kiritimati",
            "LANG": "fr_FR.ISO-8859-1", "LC_ALL": "fr_FR.ISO-8859-1", "SOURCE_DATE_EPOCH": "1",
        ].filter { getenv($0.key) != nil }
        #expect(changes["HOME"] != nil)
        let saved = changes.keys.compactMap { name in getenv(name).map { (name, String(cString: $0)) } }
        let savedMask = umask(0o077)
        for (name, value) in changes { setenv(name, value, 1) }
        let second: (output: [UInt8], tree: [String])
        do {
            defer {
                umask(savedMask)
                for (name, value) in saved { setenv(name, value, 1) }
            }
            second = try await Self.runOnce(sandbox)
        }

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
