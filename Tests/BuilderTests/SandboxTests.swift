import EnclaveCore
import Foundation
import TestSupport
import Testing

@testable import Builder

#if canImport(Glibc)
    import Glibc
#endif

/// Runs static busybox (Debian's `busybox-static`, installed by `.ci/setup`) as the only tool in real
/// bubblewrap sandboxes and checks what `Recipes/README.md` ("Build steps and the sandbox") promises.
enum SandboxFixture {
    static let busybox = "/bin/busybox"
    static let busyboxInSandbox = "/inputs/busybox/busybox"

    /// A fresh temporary directory, removed by the caller.
    static func temporaryDirectory() throws -> String {
        try TemporaryDirectory.make(prefix: "enclavekit-sandbox-test-")
    }

    static func remove(_ path: String) { FileTree.removeTree(path) }

    /// A busybox step: `arguments` are the applet and its arguments.
    static func step(
        _ name: String, _ arguments: [String], output: String, mounts: [SandboxMount] = [],
        environment: [(String, String)] = [], epoch: UInt64 = 1_700_000_000
    ) -> SandboxStep {
        SandboxStep(
            name: name, arguments: [busyboxInSandbox] + arguments,
            mounts: [SandboxMount(hostPath: busybox, sandboxPath: busyboxInSandbox)] + mounts,
            outputDirectory: output, environment: environment, sourceDateEpoch: epoch)
    }

    /// Runs a busybox step in a fresh output directory; returns the result and the output directory
    /// (removed by the caller).
    static func run(
        _ name: String, _ arguments: [String], mounts: [SandboxMount] = [], environment: [(String, String)] = [],
        sandbox: Sandbox? = nil
    ) async throws -> (SandboxResult, String) {
        try requireBusybox()
        let output = try temporaryDirectory()
        do {
            let box = try sandbox ?? Sandbox()
            let result = try await box.run(
                step(name, arguments, output: output, mounts: mounts, environment: environment))
            return (result, output)
        } catch {
            remove(output)
            throw error
        }
    }

    /// Runs a step that must succeed and returns its output as text.
    static func text(_ arguments: [String], environment: [(String, String)] = []) async throws -> String {
        let (result, output) = try await run("probe", arguments, environment: environment)
        remove(output)
        return String(decoding: result.output, as: UTF8.self)
    }

    /// Runs a step that must fail and returns the error.
    static func failure(
        _ name: String, _ arguments: [String], mounts: [SandboxMount] = []
    ) async throws -> BuildError {
        try requireBusybox()
        let output = try temporaryDirectory()
        defer { remove(output) }
        let sandbox = try Sandbox()
        do {
            _ = try await sandbox.run(step(name, arguments, output: output, mounts: mounts))
        } catch let error as BuildError {
            return error
        }
        Issue.record("step \(arguments) succeeded")
        return .invalidStep(step: name, reason: "succeeded")
    }

    static func requireBusybox() throws {
        var info = stat()
        try #require(
            stat(busybox, &info) == 0,
            "\(busybox) is missing: apt-get install busybox-static (.ci/setup installs it)")
    }
}

@Suite("Sandbox")
struct SandboxTests {
    @Test func environmentIsExactlyTheFixedOnePlusTheSteps() async throws {
        let text = try await SandboxFixture.text(["env"], environment: [("ZIG_GLOBAL_CACHE_DIR", "/tmp/zig")])
        #expect(
            text == """
                SOURCE_DATE_EPOCH=1700000000
                TZ=UTC
                LC_ALL=C.UTF-8
                LANG=C.UTF-8
                HOME=/home/builder
                USER=builder
                LOGNAME=builder
                PATH=/usr/bin:/bin
                PWD=/build
                ZIG_GLOBAL_CACHE_DIR=/tmp/zig

                """)
    }

    @Test func identityHostnameAndWorkingDirectory() async throws {
        #expect(try await SandboxFixture.text(["hostname"]) == "enclavekit\n")
        #expect(try await SandboxFixture.text(["cat", "/etc/hostname"]) == "enclavekit\n")
        #expect(try await SandboxFixture.text(["id", "-u"]) == "1000\n")
        #expect(try await SandboxFixture.text(["id", "-g"]) == "1000\n")
        #expect(try await SandboxFixture.text(["id"]) == "uid=1000(builder) gid=1000(builder)\n")
        #expect(try await SandboxFixture.text(["id", "-un"]) == "builder\n")
        #expect(try await SandboxFixture.text(["id", "-gn"]) == "builder\n")
        #expect(try await SandboxFixture.text(["whoami"]) == "builder\n")
        #expect(try await SandboxFixture.text(["pwd"]) == "/build\n")
        #expect(try await SandboxFixture.text(["sh", "-c", "umask"]) == "0022\n")
        #expect(try await SandboxFixture.text(["sh", "-c", "cd ~ && pwd"]) == "/home/builder\n")
    }

    @Test func devicesWork() async throws {
        let text = try await SandboxFixture.text([
            "sh", "-c",
            "echo x > /dev/null && head -c 5 /dev/zero | wc -c && head -c 7 /dev/urandom | wc -c "
                + "&& head -c 3 /dev/random | wc -c && ! echo x 2> /dev/null > /dev/full && echo full "
                + "&& for d in null zero full random urandom tty; do [ -c /dev/$d ] && echo $d; done",
        ])
        #expect(text == "5\n7\n3\nfull\nnull\nzero\nfull\nrandom\nurandom\ntty\n")
    }

    @Test func noCapabilitiesAndNoNestedUserNamespaces() async throws {
        let status = try await SandboxFixture.text(["grep", "^Cap", "/proc/self/status"])
        #expect(
            status == """
                CapInh:\t0000000000000000
                CapPrm:\t0000000000000000
                CapEff:\t0000000000000000
                CapBnd:\t0000000000000000
                CapAmb:\t0000000000000000

                """)
        let error = try await SandboxFixture.failure("unshare", ["unshare", "-U", "true"])
        guard case .stepFailed(let step, let status, _) = error else {
            Issue.record("expected stepFailed, got \(error)")
            return
        }
        #expect(step == "unshare")
        #expect(status == .exited(1))
    }

    @Test func rootHoldsOnlyTheDeclaredPlaces() async throws {
        let data = try SandboxFixture.temporaryDirectory()
        defer { SandboxFixture.remove(data) }
        let (result, output) = try await SandboxFixture.run(
            "ls", ["ls", "-a", "/", "/inputs", "/steps", "/etc", "/build"],
            mounts: [SandboxMount(hostPath: data, sandboxPath: "/steps/gen")])
        SandboxFixture.remove(output)
        #expect(
            String(decoding: result.output, as: UTF8.self) == """
                /:
                .
                ..
                build
                dev
                etc
                home
                inputs
                proc
                steps
                tmp

                /build:
                .
                ..
                out

                /etc:
                .
                ..
                group
                hostname
                passwd

                /inputs:
                .
                ..
                busybox

                /steps:
                .
                ..
                gen

                """)
    }

    static let hostPaths = ["/usr", "/usr/bin/env", "/etc/shadow", "/bin", "/lib", "/sys/class/net", "/root", "/var"]

    @Test(arguments: hostPaths)
    func hostFilesAreNotVisible(path: String) async throws {
        var info = stat()
        // The probe means something only for paths the host has (all but /sys when it is not mounted).
        if path != "/sys/class/net" { try #require(stat(path, &info) == 0, "\(path) missing on the host") }
        let error = try await SandboxFixture.failure("peek", ["ls", path])
        #expect(error == .stepFailed(step: "peek", status: .exited(1), outputTail: []))
        guard case .stepFailed(_, _, let tail) = error else { return }
        #expect(String(decoding: tail, as: UTF8.self).contains("No such file or directory"))
    }

    @Test func noNetwork() async throws {
        let server = try TinyHTTPServer()
        defer { server.stop() }
        let url = "http://127.0.0.1:\(server.port)/"
        // The server answers on the host…
        let host = Process()
        host.executableURL = URL(fileURLWithPath: SandboxFixture.busybox)
        host.arguments = ["wget", "-q", "-O", "-", url]
        let pipe = Pipe()
        host.standardOutput = pipe
        try host.run()
        let hostBody = pipe.fileHandleForReading.readDataToEndOfFile()
        host.waitUntilExit()
        #expect(host.terminationStatus == 0)
        #expect(String(decoding: hostBody, as: UTF8.self) == TinyHTTPServer.body)
        // …but not from the sandbox, whose only interface is its own loopback.
        let error = try await SandboxFixture.failure("fetch", ["wget", "-q", "-O", "-", url])
        guard case .stepFailed(let step, let status, let tail) = error else {
            Issue.record("expected stepFailed, got \(error)")
            return
        }
        #expect(step == "fetch")
        #expect(status == .exited(1))
        #expect(String(decoding: tail, as: UTF8.self).contains("Connection refused"))
        #expect(error.description.hasPrefix("step 'fetch' exited with 1; the last 1 lines of its output:\n  | wget:"))

        let links = try await SandboxFixture.text(["ip", "-o", "link"])
        let names = links.split(separator: "\n").map {
            $0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)
        }
        #expect(names == ["lo"])
        let devices = try await SandboxFixture.text(["cat", "/proc/net/dev"])
        #expect(
            devices.split(separator: "\n").dropFirst(2).map {
                $0.split(separator: ":")[0].trimmingCharacters(in: .whitespaces)
            } == ["lo"])
    }

    @Test func inputsAreReadOnly() async throws {
        let data = try SandboxFixture.temporaryDirectory()
        defer { SandboxFixture.remove(data) }
        try Data("pinned\n".utf8).write(to: URL(fileURLWithPath: data + "/file"))
        let mounts = [SandboxMount(hostPath: data, sandboxPath: "/inputs/data")]
        let (read, output) = try await SandboxFixture.run("read", ["cat", "/inputs/data/file"], mounts: mounts)
        SandboxFixture.remove(output)
        #expect(read.output == Array("pinned\n".utf8))

        let error = try await SandboxFixture.failure(
            "tamper", ["sh", "-c", "echo changed > /inputs/data/file"], mounts: mounts)
        #expect(error == .stepFailed(step: "tamper", status: .exited(1), outputTail: []))
        #expect(error.description.hasPrefix("step 'tamper' exited with 1; the last 1 lines of its output:\n"))
        #expect(error.description.contains("Read-only file system"))
        #expect(try String(contentsOfFile: data + "/file", encoding: .utf8) == "pinned\n")
        for command in ["rm /inputs/data/file", "touch /inputs/data/new", "chmod 777 /inputs/data/file"] {
            let failed = try await SandboxFixture.failure("tamper", ["sh", "-c", command], mounts: mounts)
            #expect(failed == .stepFailed(step: "tamper", status: .exited(1), outputTail: []), "\(command)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: data) == ["file"])
    }

    static let forbiddenWrites = [
        "touch /build/x", "mkdir /x", "touch /etc/passwd", "touch /inputs/x", "mkdir /inputs/busybox/x",
        "touch /home/x", "touch /dev/x", "mkdir /dev/x", "touch /proc/x",
        // Each writes back the value it read, so nothing changes even if the write got through.
        "cat /proc/sys/kernel/hostname > /proc/sys/kernel/hostname",
        "cat /proc/sys/vm/swappiness > /proc/sys/vm/swappiness",
        "cat /proc/self/oom_score_adj > /proc/self/oom_score_adj",
    ]

    @Test(arguments: forbiddenWrites)
    func writesOutsideTheWritablePlacesFail(command: String) async throws {
        let error = try await SandboxFixture.failure("escape", ["sh", "-c", command])
        #expect(error == .stepFailed(step: "escape", status: .exited(1), outputTail: []))
        #expect(error.description.contains("step 'escape' exited with 1"))
    }

    @Test func scratchPlacesAreWritableAndOnlyTheOutputIsKept() async throws {
        let (result, output) = try await SandboxFixture.run(
            "scratch",
            [
                "sh", "-c",
                "echo t > /tmp/t && echo h > ~/h && echo s > /dev/shm/s && echo kept > /build/out/kept "
                    + "&& cat /tmp/t ~/h /dev/shm/s",
            ])
        defer { SandboxFixture.remove(output) }
        // /dev/shm is scratch too (POSIX semaphores: Python's multiprocessing, used by edk2's build).
        #expect(result.output == Array("t\nh\ns\n".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: output) == ["kept"])
        #expect(try String(contentsOfFile: output + "/kept", encoding: .utf8) == "kept\n")
    }

    @Test func outputIsFixedUpForTheHost() async throws {
        let script = """
            (umask 777 && echo secret > /build/out/file) && mkdir /build/out/dir && echo in > /build/out/dir/inner \
            && chmod 4755 /build/out/dir/inner && chmod 000 /build/out/dir && ln -s file /build/out/link \
            && ln -s /nonexistent /build/out/dangling && chmod 0 /build/out
            """
        let (_, output) = try await SandboxFixture.run("modes", ["sh", "-c", script])
        defer { SandboxFixture.remove(output) }
        func mode(_ path: String) -> (mode: mode_t, uid: uid_t, type: mode_t) {
            var info = stat()
            _ = lstat(output + "/" + path, &info)
            return (info.st_mode & 0o7777, info.st_uid, info.st_mode & S_IFMT)
        }
        #expect(mode("").mode == 0o700)
        #expect(mode("file").mode == 0o600)
        #expect(mode("dir").mode == 0o700)
        #expect(mode("dir/inner").mode == 0o755)
        #expect(mode("link").type == S_IFLNK)
        #expect(mode("dangling").type == S_IFLNK)
        // uid 1000 in the sandbox is the user who started it: root (0) when the tests run as root.
        for path in ["file", "dir", "dir/inner", "link"] { #expect(mode(path).uid == getuid(), "\(path)") }
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: output + "/link") == "file")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: output + "/dangling") == "/nonexistent")
        #expect(try String(contentsOfFile: output + "/dir/inner", encoding: .utf8) == "in\n")
    }

    @Test func symlinksInTheOutputAreNotFollowed() async throws {
        let host = try SandboxFixture.temporaryDirectory()
        defer {
            chmod(host, 0o700)
            SandboxFixture.remove(host)
        }
        try Data("host\n".utf8).write(to: URL(fileURLWithPath: host + "/file"))
        chmod(host + "/file", 0o400)
        chmod(host, 0o500)
        let (_, output) = try await SandboxFixture.run(
            "links", ["sh", "-c", "ln -s \(host) /build/out/dir && ln -s \(host)/file /build/out/file"])
        defer { SandboxFixture.remove(output) }
        var info = stat()
        #expect(stat(host, &info) == 0 && info.st_mode & 0o7777 == 0o500)
        #expect(stat(host + "/file", &info) == 0 && info.st_mode & 0o7777 == 0o400)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: output + "/dir") == host)
    }

    static let specialFiles: [(String, String, String)] = [
        ("mkfifo /build/out/pipe", "pipe", "fifo"),
        ("mkdir -p /build/out/a/b && mkfifo /build/out/a/b/pipe", "a/b/pipe", "fifo"),
        ("mkdir /build/out/locked && mkfifo /build/out/locked/p && chmod 000 /build/out/locked", "locked/p", "fifo"),
    ]

    @Test(arguments: specialFiles)
    func specialFilesInTheOutputAreRejected(command: String, path: String, type: String) async throws {
        try SandboxFixture.requireBusybox()
        let output = try SandboxFixture.temporaryDirectory()
        defer { SandboxFixture.remove(output) }
        let step = SandboxFixture.step("special", ["sh", "-c", command], output: output)
        let error = await #expect(throws: BuildError.self) { try await Sandbox().run(step) }
        #expect(
            error
                == .badOutput(
                    step: "special", path: path,
                    reason: "is a \(type); a step's output may hold only regular files, directories and symlinks"))
        #expect(
            error?.description
                == "step 'special': output '\(path)' is a \(type); a step's output may hold only regular files, "
                + "directories and symlinks")
    }

    @Test func failureShowsTheStatusAndTheTailOfTheOutput() async throws {
        let script = "i=1; while [ $i -le 30 ]; do echo out $i; echo err $i >&2; i=$((i+1)); done; exit 3"
        let error = try await SandboxFixture.failure("noisy", ["sh", "-c", script])
        let lines = (21...30).flatMap { ["  | out \($0)", "  | err \($0)"] }
        #expect(
            error.description
                == "step 'noisy' exited with 3; the last 20 lines of its output:\n" + lines.joined(separator: "\n"))
        let killed = try await SandboxFixture.failure("killed", ["sh", "-c", "echo bye; kill -9 $$"])
        #expect(killed.description == "step 'killed' killed by signal 9; the last 1 lines of its output:\n  | bye")
        // A program that is not there: bwrap's own message is the output.
        let output = try SandboxFixture.temporaryDirectory()
        defer { SandboxFixture.remove(output) }
        let step = SandboxStep(
            name: "missing", arguments: ["/inputs/nothing/tool"], outputDirectory: output, sourceDateEpoch: 0)
        let missing = await #expect(throws: BuildError.self) { try await Sandbox().run(step) }
        #expect(missing == .stepFailed(step: "missing", status: .exited(1), outputTail: []))
        #expect(
            missing?.description
                == "step 'missing' exited with 1; the last 1 lines of its output:\n"
                + "  | bwrap: execvp /inputs/nothing/tool: No such file or directory")
    }

    @Test func outputIsInterleavedStreamedAndCapped() async throws {
        let log = ChunkLog()
        try SandboxFixture.requireBusybox()
        let output = try SandboxFixture.temporaryDirectory()
        defer { SandboxFixture.remove(output) }
        let step = SandboxFixture.step("mixed", ["sh", "-c", "echo a; echo b >&2; echo c"], output: output)
        let result = try await Sandbox().run(step) { log.append($0) }
        #expect(result.output == Array("a\nb\nc\n".utf8))
        #expect(log.bytes == result.output)
        #expect(result.exitStatus == .exited(0))
        #expect(result.droppedOutputBytes == 0)
        #expect(result.duration > .zero)

        let (capped, cappedOutput) = try await SandboxFixture.run(
            "seq", ["seq", "1", "20000"], sandbox: try Sandbox(outputLimit: 1000))
        SandboxFixture.remove(cappedOutput)
        let all = Array((1...20000).map { "\($0)\n" }.joined().utf8)
        #expect(capped.output == Array(all.suffix(1000)))
        #expect(capped.droppedOutputBytes == UInt64(all.count - 1000))
    }

    /// No wall-clock bounds here or below: when other suites block the cooperative thread pool (the CLI
    /// tests wait on child processes), an async test can be held back for minutes without being wrong.
    /// What is checked is that the background process is gone once the step has returned.
    @Test func backgroundProcessesDieWithTheStep() async throws {
        let marker = "enclavekit-daemon-\(getpid())"
        let (result, output) = try await SandboxFixture.run(
            "daemon", ["sh", "-c", "(sh -c 'sleep 600' \(marker) &); echo started"])
        SandboxFixture.remove(output)
        #expect(result.output == Array("started\n".utf8))
        var remaining = Self.processes(containing: marker)
        for _ in 0..<200 where remaining > 0 {
            try await Task.sleep(for: .milliseconds(50))
            remaining = Self.processes(containing: marker)
        }
        #expect(remaining == 0, "the step's background process outlived the step")
    }

    @Test func cancellingTheTaskStopsTheSandbox() async throws {
        try SandboxFixture.requireBusybox()
        let output = try SandboxFixture.temporaryDirectory()
        defer { SandboxFixture.remove(output) }
        let marker = "enclavekit-cancel-\(getpid())"
        let step = SandboxFixture.step("sleeper", ["sh", "-c", "echo up; sleep 60", marker], output: output)
        let sandbox = try Sandbox()
        let clock = ContinuousClock()
        let start = clock.now
        let started = ChunkLog()
        let task = Task { try await sandbox.run(step) { started.append($0) } }
        while started.bytes.isEmpty && clock.now - start < .seconds(300) {
            try await Task.sleep(for: .milliseconds(20))
        }
        // bwrap (whose arguments hold the marker) and the step's shell.
        #expect(Self.processes(containing: marker) >= 2)
        task.cancel()
        let result = await task.result
        #expect(throws: CancellationError.self) { try result.get() }
        // The step's shell (named by the marker) is gone with the sandbox.
        var remaining = Self.processes(containing: marker)
        let cancelled = clock.now
        while remaining > 0 && clock.now - cancelled < .seconds(300) {
            try await Task.sleep(for: .milliseconds(50))
            remaining = Self.processes(containing: marker)
        }
        #expect(remaining == 0)
    }

    /// How many processes have `marker` as an argument.
    static func processes(containing marker: String) -> Int {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.filter { entry in
            guard entry.allSatisfy(\.isNumber),
                let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline")
            else { return false }
            return data.split(separator: 0).contains { Array($0) == Array(marker.utf8) }
        }.count
    }

    @Test func outputDirectoryMustBeEmptyAndMountsMustExist() async throws {
        try SandboxFixture.requireBusybox()
        let output = try SandboxFixture.temporaryDirectory()
        defer { SandboxFixture.remove(output) }
        try Data().write(to: URL(fileURLWithPath: output + "/stale"))
        let sandbox = try Sandbox()
        let error = await #expect(throws: BuildError.self) {
            try await sandbox.run(SandboxFixture.step("s", ["true"], output: output))
        }
        #expect(error?.description == "step 's': output directory '\(output)' must be an existing, empty directory")
        for name in ["missing", "stale"] {
            let refused = await #expect(throws: BuildError.self, "\(name)") {
                try await sandbox.run(SandboxFixture.step("s", ["true"], output: output + "/" + name))
            }
            let reason = "output directory '\(output)/\(name)' must be an existing, empty directory"
            #expect(refused == .invalidStep(step: "s", reason: reason))
        }
        try FileManager.default.removeItem(atPath: output + "/stale")
        let mount = SandboxMount(hostPath: output + "/absent", sandboxPath: "/inputs/absent")
        let missing = await #expect(throws: BuildError.self) {
            try await sandbox.run(SandboxFixture.step("s", ["true"], output: output, mounts: [mount]))
        }
        #expect(
            missing?.description
                == "step 's': mount source '\(output)/absent' for /inputs/absent: No such file or directory")
    }
}

/// Collects streamed output chunks (the log callback runs while the step runs).
final class ChunkLog: @unchecked Sendable {
    // @unchecked: every access to `stored` holds `lock`.
    private let lock = NSLock()
    private var stored: [UInt8] = []

    func append(_ chunk: [UInt8]) { lock.withLock { stored += chunk } }
    var bytes: [UInt8] { lock.withLock { stored } }
}

/// A one-response-per-connection HTTP server on 127.0.0.1 and an ephemeral port, for the no-network test.
final class TinyHTTPServer: @unchecked Sendable {
    // @unchecked: `socket` and `port` are set once in init; the accept thread only reads them.
    static let body = "hello from the host\n"
    let socket: Int32
    let port: UInt16

    init() throws {
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                bind(fd, generic, length) == 0 && listen(fd, 8) == 0 && getsockname(fd, generic, &length) == 0
            }
        }
        if !bound { close(fd) }
        try #require(bound)
        socket = fd
        port = UInt16(bigEndian: address.sin_port)
        Thread.detachNewThread {
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 { return }
                var request = [UInt8](repeating: 0, count: 4096)
                _ = read(client, &request, request.count)
                let response = Array(
                    "HTTP/1.0 200 OK\r\nContent-Length: \(Self.body.utf8.count)\r\n\r\n\(Self.body)".utf8)
                _ = response.withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
                close(client)
            }
        }
    }

    func stop() {
        shutdown(socket, Int32(SHUT_RDWR))
        close(socket)
    }
}
