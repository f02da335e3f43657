import Foundation
import TestSupport
import Testing

@testable import Builder

#if canImport(Glibc)
    import Glibc
#endif

/// A step with `environment = "NAME"` runs with the environment's root read-only as `/`
/// (`Recipes/README.md`, "Steps in an environment"), here a root made by ``EnvironmentFixture``.
@Suite("EnvironmentSandbox")
struct EnvironmentSandboxTests {
    /// Runs `script` with /bin/sh of the environment at `root`; returns the result or the error.
    static func run(_ script: String, root: String, mounts: [SandboxMount] = []) async throws -> Result<
        String, BuildError
    > {
        let output = try SandboxFixture.temporaryDirectory()
        defer { SandboxFixture.remove(output) }
        let step = SandboxStep(
            name: "probe", arguments: ["/bin/sh", "-c", script], mounts: mounts, outputDirectory: output,
            sourceDateEpoch: 1_700_000_000, rootDirectory: root)
        do {
            let result = try await Sandbox().run(step)
            return .success(String(decoding: result.output, as: UTF8.self))
        } catch let error as BuildError {
            return .failure(error)
        }
    }

    @Test func stepSeesTheEnvironmentAsRoot() async throws {
        let temp = try SandboxFixture.temporaryDirectory()
        defer { SandboxFixture.remove(temp) }
        let root = temp + "/root"
        try EnvironmentFixture.make(root)
        try FileManager.default.createDirectory(atPath: temp + "/src", withIntermediateDirectories: true)
        try Data("input file\n".utf8).write(to: URL(fileURLWithPath: temp + "/src/a.txt"))
        let result = try await Self.run(
            "cat /etc/os-release /lib/os-release /inputs/src/a.txt; echo \"$PATH\"; id -un; cat /etc/hostname; "
                + "grep -c '^root:' /etc/passwd; ls /; readlink /bin; readlink /lib; echo > /build/out/made",
            root: root, mounts: [SandboxMount(hostPath: temp + "/src", sandboxPath: "/inputs/src")])
        let text = try result.get()
        #expect(
            text.split(separator: "\n", omittingEmptySubsequences: false) == [
                "NAME=toy", "NAME=toy", "input file", Substring(Sandbox.environmentPath), "builder", "enclavekit", "1",
                "bin", "build", "dev", "etc", "home", "inputs", "lib", "proc", "tmp", "usr", "var", "usr/bin",
                "/usr/lib", "",
            ])
    }

    @Test func stepCannotWriteTheEnvironment() async throws {
        let temp = try SandboxFixture.temporaryDirectory()
        defer { SandboxFixture.remove(temp) }
        let root = temp + "/root"
        try EnvironmentFixture.make(root)
        let before = try EnvironmentFixture.listing(root)
        for target in ["/x", "/usr/x", "/bin/x", "/lib/x", "/var/x", "/etc/x", "/etc/passwd", "/usr/lib/os-release"] {
            let result = try await Self.run("echo changed > \(target)", root: root)
            guard case .failure(.stepFailed(let step, let status, _)) = result else {
                Issue.record("writing \(target) did not fail: \(result)")
                continue
            }
            #expect(step == "probe")
            #expect(status == .exited(2) || status == .exited(1), "\(target)")
        }
        // The writable places stay writable.
        let fine = try await Self.run("echo a > /tmp/a && echo b > /build/out/b && echo c > ~/c && echo ok", root: root)
        #expect(try fine.get() == "ok\n")
        // Nothing was created in the environment, not even the sandbox's mount points.
        #expect(try EnvironmentFixture.listing(root) == before)
    }

    @Test func rootListingSkipsWhatTheSandboxProvides() throws {
        let temp = try SandboxFixture.temporaryDirectory()
        defer { SandboxFixture.remove(temp) }
        try EnvironmentFixture.make(temp + "/root")
        let layout = try SandboxRootLayout.read(temp + "/root", step: "s")
        #expect(
            layout.topLevel == [
                .init(name: "bin", kind: .symlink(target: "usr/bin")),
                .init(name: "lib", kind: .symlink(target: "/usr/lib")),
                .init(name: "usr", kind: .directory), .init(name: "var", kind: .directory),
            ])
        #expect(layout.etc == [.init(name: "os-release", kind: .symlink(target: "../usr/lib/os-release"))])
        let passwd = Sandbox.etcFiles(environmentEtc: temp + "/root/etc").first { $0.name == "passwd" }?.contents
        // The environment's root stays; its conflicting "builder" (another id) gives way to the sandbox's.
        #expect(passwd == "root:x:0:0:root:/root:/bin/sh\nbuilder:x:1000:1000:builder:/home/builder:/bin/sh\n")
    }

    @Test func specialFileInTheRootIsAnError() throws {
        let temp = try SandboxFixture.temporaryDirectory()
        defer { SandboxFixture.remove(temp) }
        try FileManager.default.createDirectory(atPath: temp + "/root", withIntermediateDirectories: true)
        try #require(mkfifo(temp + "/root/pipe", 0o644) == 0)
        #expect {
            _ = try SandboxRootLayout.read(temp + "/root", step: "s")
        } throws: { error in
            guard case BuildError.invalidStep(let step, let reason) = error else { return false }
            return step == "s" && reason.contains("/root/pipe is a special file")
        }
    }

    @Test func plainStepsKeepThePlainPath() throws {
        let plain = SandboxStep(name: "p", arguments: ["/x"], outputDirectory: "/o", sourceDateEpoch: 1)
        var inEnvironment = plain
        inEnvironment.rootDirectory = "/r"
        #expect(try Sandbox.environment(for: plain).first { $0.name == "PATH" }?.value == "/usr/bin:/bin")
        #expect(
            try Sandbox.environment(for: inEnvironment).first { $0.name == "PATH" }?.value == Sandbox.environmentPath)
        let arguments = try Sandbox.bwrapArguments(for: plain, etcDirectory: "/e")
        #expect(arguments.contains("--ro-bind") && !arguments.contains("--symlink"))
        #expect {
            _ = try Sandbox.bwrapArguments(for: inEnvironment, etcDirectory: "/e")
        } throws: { error in
            guard case BuildError.invalidStep = error else { return false }
            return true
        }
        let layout = SandboxRootLayout(
            root: "/r",
            topLevel: [.init(name: "bin", kind: .symlink(target: "usr/bin")), .init(name: "usr", kind: .directory)],
            etc: [.init(name: "ssl", kind: .directory)])
        let withRoot = try Sandbox.bwrapArguments(for: inEnvironment, etcDirectory: "/e", root: layout)
        let joined = withRoot.joined(separator: " ")
        #expect(
            joined.contains("--symlink usr/bin /bin --ro-bind /r/usr /usr --tmpfs /etc --ro-bind /r/etc/ssl /etc/ssl"))
        #expect(joined.contains("--ro-bind /e/passwd /etc/passwd"))
        #expect(joined.contains("--remount-ro /etc --remount-ro / "))
    }
}
