import EnclaveCore
import Foundation
import Release
import TestSupport

@testable import Registry

#if canImport(Glibc)
    import Glibc
#endif

/// A free TCP port on 127.0.0.1 (bound to port 0, then released).
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestFailure("socket() failed") }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = 0
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw TestFailure("bind() failed") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// Debian's `docker-registry` (the CNCF distribution registry 2.8) on 127.0.0.1 with a free port and a
/// temporary storage directory, stopped (and its storage removed) when the value goes away.
final class LocalRegistry: @unchecked Sendable {
    let port: Int
    let scratch: TestDirectory
    let process = Process()
    var host: String { "127.0.0.1:\(port)" }

    init() async throws {
        scratch = try TestDirectory()
        var lastError: (any Error)?
        for _ in 0..<3 {
            let port = try freePort()
            let config = """
                version: 0.1
                log:
                  level: error
                storage:
                  filesystem:
                    rootdirectory: \(scratch.path)/storage
                  delete:
                    enabled: true
                http:
                  addr: 127.0.0.1:\(port)

                """
            let file = try scratch.write("config.yml", Array(config.utf8))
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["docker-registry", "serve", file]
            process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
            process.standardError = FileHandle(forWritingAtPath: "/dev/null")
            try process.run()
            if try await LocalRegistry.waitForV2(host: "127.0.0.1:\(port)", process: process) {
                self.port = port
                self.processRef = process
                return
            }
            stop(process)
            lastError = TestFailure("docker-registry did not answer GET /v2/ on port \(port) within 10 s")
        }
        throw lastError ?? TestFailure("docker-registry did not start")
    }

    private var processRef: Process?

    /// Polls `GET /v2/` for at most 10 s.
    static func waitForV2(host: String, process: Process) async throws -> Bool {
        let client = try RegistryClient(host: host, options: .init(plainHTTP: true, retries: 0))
        defer { Task { await client.shutdown() } }
        for _ in 0..<100 {
            guard process.isRunning else { return false }
            if (try? await client.probe(reference: host)) != nil { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    func client(retries: Int = 3) throws -> RegistryClient {
        try RegistryClient(
            host: host, options: .init(plainHTTP: true, retries: retries, retryDelay: .milliseconds(20)))
    }

    func reference(_ path: String) throws -> ImageReference { try ImageReference(parsing: "\(host)/\(path)") }

    deinit {
        if let processRef { stop(processRef) }
    }
}

/// `Fixtures/fault_proxy.py` in front of a registry: injects the faults given (see the script).
final class FaultProxy: @unchecked Sendable {
    let process = Process()
    let port: Int
    var host: String { "127.0.0.1:\(port)" }

    init(upstream: LocalRegistry, faults: [String]) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Fixtures.path("fault_proxy.py"), String(upstream.port)] + faults
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        // The first line is the port; read byte by byte so the pipe stays usable.
        var line: [UInt8] = []
        while line.count < 16 {
            let byte = out.fileHandleForReading.readData(ofLength: 1)
            guard let b = byte.first, b != 0x0A else { break }
            line.append(b)
        }
        guard let port = Int(String(decoding: line, as: UTF8.self)) else {
            stop(process)
            throw TestFailure("fault_proxy.py did not print its port")
        }
        self.port = port
    }

    func client(retries: Int = 3) throws -> RegistryClient {
        try RegistryClient(
            host: host, options: .init(plainHTTP: true, retries: retries, retryDelay: .milliseconds(20)))
    }

    func reference(_ path: String) throws -> ImageReference { try ImageReference(parsing: "\(host)/\(path)") }

    /// The requests it saw under /v2/NAME/ and the GETs per blob digest.
    func stats() throws -> (requests: Int, blobGets: [String: Int]) {
        let run = try ToolRunner.combined(["curl", "-s", "http://\(host)/_stats"])
        let value = try JSONParser.parse(Array(run.output.utf8))
        var gets: [String: Int] = [:]
        if case .object(let pairs) = value["blobGets"] {
            for (k, v) in pairs { if case .number(let n) = v { gets[k] = Int(n) ?? 0 } }
        }
        guard case .number(let n) = value["requests"] else { return (0, gets) }
        return (Int(n) ?? 0, gets)
    }

    deinit { stop(process) }
}

/// Ends a helper process with SIGKILL (a child may inherit a signal mask that blocks SIGTERM) and reaps it.
func stop(_ process: Process) {
    guard process.isRunning else { return }
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
}

/// A signed release directory made by the test: the example manifest with artifacts of its own (a
/// 3 MiB EIF, a small .so, and the EIF's bytes again under another name), signed by alice and bob.
struct TestRelease {
    let directory: String
    let manifest: ReleaseManifest
    let policy: ReleasePolicy
    let alice: SigningKey
    let bob: SigningKey

    static func key(_ name: String) throws -> SigningKey {
        try SigningKey(pem: try Fixtures.bytes("example/\(name).pem"), format: name)
    }

    /// Deterministic bytes (an LCG), so the digests are the same on every run.
    static func bytes(count: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        var out = [UInt8](repeating: 0, count: count)
        for i in 0..<count {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            out[i] = UInt8(truncatingIfNeeded: state >> 33)
        }
        return out
    }

    static func make(in scratch: TestDirectory, name: String = "release", eifSize: Int = 3 << 20, seed: UInt64 = 1)
        throws -> TestRelease
    {
        let files: [(String, [UInt8])] = [
            ("example-node.eif", bytes(count: eifSize, seed: seed)),
            ("example-node.sgx.so", bytes(count: 60, seed: seed + 1)),
            ("nitro/copy-of.eif", bytes(count: eifSize, seed: seed)),
        ]
        for (file, content) in files { try scratch.write("\(name)/\(file)", content) }
        let template = try JSONParser.parse(try Fixtures.bytes("example/manifest.json"))
        guard case .object(var fields) = template else { throw TestFailure("manifest fixture is not an object") }
        let artifacts: JSONValue = .array(
            files.map { file, content in
                .object([
                    ("name", .string(file)), ("sha256", .string(Digest.sha256(content).hex)),
                    ("size", .int(content.count)),
                ])
            })
        for i in fields.indices where fields[i].0 == "artifacts" { fields[i].1 = artifacts }
        let manifestBytes = Array((JSONValue.object(fields).serialized(style: .canonical) + "\n").utf8)
        try scratch.write("\(name)/manifest.json", manifestBytes)
        let alice = try key("alice")
        let bob = try key("bob")
        let first = try ReleaseSigner.sign(bytes: manifestBytes, format: "manifest.json", key: alice, output: .dsse)
        let second = try ReleaseSigner.sign(bytes: first.bytes, format: "release.dsse.json", key: bob, output: .dsse)
        try scratch.write("\(name)/release.dsse.json", second.bytes)
        let manifest = try ReleaseManifest(json: manifestBytes, format: "manifest.json")
        let policy = ReleasePolicy(
            threshold: 2,
            keys: [TrustedKey(name: "alice", key: alice.publicKey), TrustedKey(name: "bob", key: bob.publicKey)])
        return TestRelease(
            directory: scratch.path + "/" + name, manifest: manifest, policy: policy, alice: alice, bob: bob)
    }

    /// A reproduction attestation of this release signed by `key`.
    func attestation(by key: SigningKey, reproduced: Bool = true) throws -> [UInt8] {
        let a = ReproductionAttestation(
            manifest: manifest, reproduced: reproduced,
            differences: reproduced ? [] : ["artifact example-node.eif › sha256 differs"],
            environment: .init(kernel: "6.1.0-test", bubblewrap: "bubblewrap 0.8.0", cpu: "test CPU"),
            time: "2026-12-02T06:00:00Z")
        return try a.envelope(signedWith: key).fileBytes
    }
}

/// Collects progress lines.
final class Lines: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func add(_ line: String) { lock.withLock { items.append(line) } }
    var all: [String] { lock.withLock { items } }
}
