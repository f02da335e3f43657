import EnclaveCore
import Recipe

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Runs diffoscope (<doc:DrillDownComparison>, "Why diffoscope is optional") on two differing entries:
/// both are copied into a private temporary directory under the same name, diffoscope writes its
/// text report there (`--text`, `--max-report-size`, `--timeout`), and the first bytes of the report
/// are returned as lines. The temporary directory is removed afterwards.
enum Diffoscope {
    static let missing = "diffoscope is not installed (apt-get install diffoscope-minimal)"

    /// The `diffoscope` executable on PATH, if any.
    static func locate() -> String? { ProcessRunner.find("diffoscope") }

    static func run(tool: String, _ a: ContentSource, _ b: ContentSource, name: String, limit: Int) throws -> [String] {
        try TemporaryDirectory.with(prefix: "enclavekit-compare.") { dir in
            try run(tool: tool, a, b, name: name, limit: limit, in: dir)
        }
    }

    private static func run(
        tool: String, _ a: ContentSource, _ b: ContentSource, name: String, limit: Int, in dir: String
    ) throws -> [String] {
        let safeName = name.isEmpty || name == "." || name == ".." ? "entry" : name
        let pa = "\(dir)/expected"
        let pb = "\(dir)/actual"
        let report = "\(dir)/report.txt"
        mkdir(pa, 0o700)
        mkdir(pb, 0o700)
        try extract(a, to: "\(pa)/\(safeName)")
        try extract(b, to: "\(pb)/\(safeName)")
        let arguments = [
            "--text", report, "--no-progress", "--max-report-size", String(limit), "--timeout", "60",
            "\(pa)/\(safeName)", "\(pb)/\(safeName)",
        ]
        // Synchronously: the Comparer runs inside `rebuild`'s tasks (see SynchronousProcess).
        let status = try SynchronousProcess.run(tool, arguments, output: "/dev/null")
        guard status == 0 || status == 1 else { return ["diffoscope exited with status \(status)"] }
        let file = try FileInput(path: report)
        let bytes = try file.read(at: 0, count: Int(min(file.size, UInt64(limit))), format: "diffoscope report")
        var lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .map(String.init)
        if lines.last == "" { lines.removeLast() }
        if file.size > UInt64(limit) { lines.append("… (diffoscope output cut at \(limit) bytes)") }
        // Name the two sides expected/… and actual/…, not by the temporary directory.
        return ["diffoscope:"] + lines.map { "  " + $0.replacing(dir + "/", with: "") }
    }

    private static func extract(_ source: ContentSource, to path: String) throws {
        let out = try AtomicOutput(path: path, mode: 0o600)
        let reader = try source.open()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = try reader.read(into: buffer)
            if n == 0 { break }
            try out.write(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
        try out.commit()
    }
}
