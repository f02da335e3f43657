import Foundation

/// Runs the reference client `sev-snp-measure` (PyPI, installed by `.ci/setup`) and captures its output.
enum Reference {
    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
        var output: String { stdout.trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    static func run(_ args: [String], in directory: String? = nil) throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sev-snp-measure"] + args
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self))
    }

    /// Debian 12's `ovmf` package (installed by `.ci/setup`): CODE alone, and VARS ‖ CODE.
    static let debianCode = "/usr/share/OVMF/OVMF_CODE.fd"
    static let debianFull = "/usr/share/ovmf/OVMF.fd"
    /// Debian's 4 MiB build: a GUID table but no SEV metadata.
    static let debianCode4M = "/usr/share/OVMF/OVMF_CODE_4M.fd"
}

/// A directory removed when the value goes away.
final class ScratchDirectory {
    let path: String
    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("enclavekit-snp-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `bytes` to `name` in this directory and returns its path.
    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let file = path + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        return file
    }
}

/// Deterministic pseudo-random bytes (xorshift), for kernels and initrds that are not all zeros.
func pseudoRandomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var state = seed | 1
    return (0..<count).map { _ in
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return UInt8(truncatingIfNeeded: state)
    }
}
