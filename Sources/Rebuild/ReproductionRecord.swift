import EnclaveCore
import Nitro
import Recipe
import Release

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

extension ReproductionAttestation {
    /// The attestation of a rebuild: its result, each difference as one line
    /// (`artifact example-node.eif › sha256: expected …, actual …`), and the environment, whose step-cache
    /// fields come from the rebuild.
    ///
    /// ```swift
    /// let result = try await Rebuilder.rebuild(options)
    /// let a = ReproductionAttestation(rebuild: result, environment: await .probe(), time: ReproductionClock.now())
    /// ```
    public init(rebuild result: RebuildResult, environment: Environment, time: String) {
        var environment = environment
        environment.stepCacheReused = result.build.reusedSteps
        environment.cachedSteps = result.cachedSteps
        var lines = result.comparison.differences.map { d in
            d.location.joined(separator: " › ") + ": " + ComparisonReport.summary(d)
        }
        let omitted = result.comparison.omitted
        if omitted > 0 { lines.append("… \(omitted) more difference\(omitted == 1 ? "" : "s") not listed") }
        self.init(
            manifest: result.expected, reproduced: result.reproduced, differences: lines, environment: environment,
            time: time)
    }
}

extension ReproductionAttestation {
    /// The attestation of `rebuild --vary`: the control build's result and differences against the release
    /// (as ``init(rebuild:environment:time:)``), the variations applied, and those that broke
    /// reproduction alone (`all` when the builds differ under every variation at once but under none alone).
    public init(varied result: VariedRebuildResult, environment: Environment, time: String) {
        self.init(rebuild: result.rebuild, environment: environment, time: time)
        self.environment.variations = result.applied.map(\.rawValue)
        self.environment.variationsBreaking = result.unexplained ? ["all"] : result.breaking.map(\.rawValue)
    }
}

extension ReproductionAttestation.Environment {
    /// This machine: EnclaveKit's version, `uname -r`, `bwrap --version`, the CPU model from /proc/cpuinfo
    /// ("unknown" for what cannot be found), and the given variations.
    public static func probe(variations: [String] = []) async -> Self {
        Self(
            kernel: kernelRelease(), bubblewrap: await bubblewrapVersion(), cpu: cpuModel(),
            variations: variations)
    }

    static func kernelRelease() -> String {
        var name = utsname()
        guard uname(&name) == 0 else { return "unknown" }
        return withUnsafeBytes(of: &name.release) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    static func bubblewrapVersion() async -> String {
        guard
            let outcome = try? await ProcessRunner.run(
                "bwrap", ["--version"], outputLimit: 4096, what: "bwrap --version", as: { $0 }),
            outcome.succeeded
        else { return "unknown" }
        let line = String(decoding: outcome.output, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
        return line.isEmpty ? "unknown" : line
    }

    /// The first `model name` line of /proc/cpuinfo (x86), else its `Model`/`CPU part` line, else "unknown".
    static func cpuModel() -> String {
        let text = String(decoding: readSmallFile("/proc/cpuinfo", limit: 1 << 20), as: UTF8.self)
        for key in ["model name", "Model", "cpu model", "CPU part"] {
            for line in text.split(separator: "\n") where line.hasPrefix(key) {
                guard let colon = line.firstIndex(of: ":") else { continue }
                let name = String(line[..<colon]).trimmedOfBlanks()
                guard name == key else { continue }
                let value = String(line[line.index(after: colon)...]).trimmedOfBlanks()
                if !value.isEmpty { return value }
            }
        }
        return "unknown"
    }

    /// Reads a file whose size `stat` does not tell (procfs), up to `limit` bytes; empty on failure.
    static func readSmallFile(_ path: String, limit: Int) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while out.count < limit {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { break }
            out += buffer[0..<n]
        }
        return out
    }
}

extension String {
    fileprivate func trimmedOfBlanks() -> String {
        let drop: Set<Character> = [" ", "\t"]
        var s = Substring(self)
        while let first = s.first, drop.contains(first) { s = s.dropFirst() }
        while let last = s.last, drop.contains(last) { s = s.dropLast() }
        return String(s)
    }
}

/// The current time for attestations, RFC 3339 UTC to the second.
public enum ReproductionClock {
    public static func now() -> String { CivilTime.format(seconds: CivilTime.now()) }
}
