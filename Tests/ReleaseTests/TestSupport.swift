import EnclaveCore
import Foundation
import Release

/// A directory removed when the value goes away.
final class ScratchDirectory {
    let path: String
    init() throws {
        path =
            FileManager.default.temporaryDirectory.appendingPathComponent("enclavekit-release-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    func write(_ name: String, _ bytes: [UInt8], mode: Int = 0o644) throws -> String {
        let full = path + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: full))
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: full)
        return full
    }

    func write(_ name: String, _ text: String, mode: Int = 0o644) throws -> String {
        try write(name, Array(text.utf8), mode: mode)
    }
}

/// Runs a program and captures its output.
struct Run {
    var status: Int32
    var output: String

    static func python(_ args: [String]) throws -> Run { try command(["python3"] + args) }

    /// Runs `args[0]` found on PATH.
    static func command(_ args: [String]) throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = args
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }
}

enum Example {
    static func manifestBytes() throws -> [UInt8] { try Fixtures.bytes("example/manifest.json") }
    static func manifest() throws -> ReleaseManifest {
        try ReleaseManifest(json: try manifestBytes(), format: "manifest.json")
    }

    /// Signs the example manifest with each key in turn (the first makes the envelope, the others append).
    static func envelope(signedBy keys: [SigningKey]) throws -> DSSEEnvelope {
        var bytes = try manifestBytes()
        var envelope: DSSEEnvelope?
        for key in keys {
            let result = try ReleaseSigner.sign(bytes: bytes, format: "release", key: key, output: .dsse)
            bytes = result.bytes
            envelope = result.envelope
        }
        guard let envelope else { throw UsageError("no keys") }
        return envelope
    }

    static func policy(_ keys: [(String, PublicKey)], threshold: Int) -> ReleasePolicy {
        ReleasePolicy(threshold: threshold, keys: keys.map { TrustedKey(name: $0.0, key: $0.1) })
    }
}
