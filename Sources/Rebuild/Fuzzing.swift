import EnclaveCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Fuzz harnesses for the Rebuild module's readers, kept beside them so that `enclavekit-fuzz` needs only
/// one line to register them (`harnesses.merge(RebuildFuzz.harnesses) { a, _ in a }`) once it depends on
/// Rebuild. The readers work on files, so each input is written to a temporary file first.
///
/// ```swift
/// RebuildFuzz.harnesses["rebuild-cpio"]?(bytes)
/// ```
public enum RebuildFuzz {
    public static let harnesses: [String: @Sendable ([UInt8]) -> Void] = [
        // The streaming newc reader (ramdisk sections, standalone cpio files), concatenated archives included.
        "rebuild-cpio": { bytes in
            _ = try? withMemoryFile(bytes) { path in try CPIOStream.entries(of: FileInput(path: path), maxMembers: 4096)
            }
        },
        // Two inputs (the bytes split at the first 0xFF 0xFE pair, or in half) through the whole comparison:
        // kind detection, EIF, cpio, tar, JSON documents, the text diff and the first-difference search.
        "rebuild-compare": { bytes in
            let split =
                zip(bytes.indices, bytes.indices.dropFirst()).first { bytes[$0.0] == 0xFF && bytes[$0.1] == 0xFE }?.0
                ?? bytes.count / 2
            let a = Array(bytes[..<split])
            let b = Array(bytes[min(bytes.count, split + 2)...])
            _ = try? withMemoryFile(a) { pa in
                try withMemoryFile(b) { pb in
                    var options = Comparer.Options()
                    options.maxDifferences = 64
                    return try Comparer.compareFiles(pa, pb, options: options)
                }
            }
        },
        // The line diff on two texts split as above.
        "rebuild-textdiff": { bytes in
            let half = bytes.count / 2
            _ = TextDiff.unified(Array(bytes[..<half]), Array(bytes[half...]), maxLines: 100)
        },
    ]

    /// Runs `body` with the path of a temporary file holding `bytes` (removed afterwards).
    static func withMemoryFile<T>(_ bytes: [UInt8], _ body: (String) throws -> T) throws -> T {
        try TemporaryDirectory.with(prefix: "rebuild-fuzz.") { directory in
            let path = directory + "/input"
            try AtomicOutput.write(bytes, to: path, mode: 0o600)
            return try body(path)
        }
    }
}
