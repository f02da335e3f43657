import EnclaveCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// One condition that `enclavekit rebuild --vary` changes between two builds, in the spirit of Debian's
/// reprotest. A normal build never varies anything: ``SandboxVariations/none`` is the sandbox exactly as
/// `Recipes/README.md` ("Build steps and the sandbox") describes it.
///
/// ```swift
/// let all = BuildVariation.allCases.map(\.rawValue)   // ["build-path", "tz", "locale", …]
/// let tz = BuildVariation(rawValue: "tz")
/// ```
public enum BuildVariation: String, CaseIterable, Sendable, Hashable {
    /// The host directory the build runs in (output, staging and work directories): seen by the host-side
    /// packing and, through `/proc/self/mountinfo`, by a step. `/build` and `/build/out` stay as they are:
    /// recipes name them.
    case buildPath = "build-path"
    /// `TZ` in the step's environment.
    case timeZone = "tz"
    /// `LANG` and `LC_ALL` in the step's environment.
    case locale
    /// The umask the step starts with.
    case umask
    /// The sandbox's hostname (`uname -n`, `/etc/hostname`).
    case hostname
    /// The builder's user and group name (`/etc/passwd`, `/etc/group`, `USER`, `LOGNAME`); the uid stays 1000.
    case user
    /// The order in which a directory the step reads lists its entries: its inputs and earlier steps'
    /// outputs are mounted from copies whose directories list their entries in the reverse order.
    case fileOrder = "file-order"
    /// A faked clock for the step's programs (libfaketime preloaded; dynamically linked programs only).
    case clock
    /// The number of CPUs the step may run on (`nproc`), through the CPU affinity.
    case cpus

    /// What the variation does, for `--help` and reports.
    public var summary: String {
        switch self {
        case .buildPath: return "build in another host directory (\(SandboxVariations.buildPathComponent)/…)"
        case .timeZone: return "TZ=\(SandboxVariations.varied.timeZone ?? "")"
        case .locale: return "LANG=LC_ALL=\(SandboxVariations.varied.locale ?? "")"
        case .umask: return "umask \(SandboxVariations.varied.umask ?? "")"
        case .hostname: return "hostname \(SandboxVariations.varied.hostname ?? "")"
        case .user: return "user name \(SandboxVariations.varied.userName ?? "") (uid 1000)"
        case .fileOrder: return "inputs and earlier steps' outputs list their entries in reverse order"
        case .clock: return "clock faked to \(SandboxVariations.fakeTimeOffset) by libfaketime (dynamic programs only)"
        case .cpus: return "one CPU (sched affinity; nproc 1)"
        }
    }

    /// Parses a comma-separated list (`tz,hostname`); `all` is every variation. Keeps the order of
    /// ``allCases`` and drops repeats.
    /// - Throws: ``BuildRefusal`` naming an unknown variation and listing the known ones.
    public static func parseList(_ text: String) throws -> [BuildVariation] {
        var chosen = Set<BuildVariation>()
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let name = String(item)
            if name == "all" {
                chosen.formUnion(allCases)
            } else if let variation = BuildVariation(rawValue: name) {
                chosen.insert(variation)
            } else {
                throw BuildRefusal(
                    .unsupported,
                    "unknown variation '\(name)'",
                    remedy: "use all or a comma-separated list of " + allCases.map(\.rawValue).joined(separator: ", "))
            }
        }
        return allCases.filter { chosen.contains($0) }
    }
}

/// How the sandbox differs from its normal profile for one build of `rebuild --vary`. Every field `nil`
/// (``none``) is the normal sandbox, byte for byte the same bubblewrap arguments.
///
/// ```swift
/// var step = SandboxStep(name: "a", arguments: ["/inputs/tool/sh"], outputDirectory: out, sourceDateEpoch: 0)
/// step.variations = SandboxVariations.for([.timeZone, .hostname])
/// ```
public struct SandboxVariations: Sendable, Hashable {
    /// `TZ` instead of `UTC`.
    public var timeZone: String?
    /// `LANG` and `LC_ALL` instead of `C.UTF-8`.
    public var locale: String?
    /// The umask (octal, as the shell's `umask` takes it) instead of `022`.
    public var umask: String?
    /// The hostname instead of `enclavekit`.
    public var hostname: String?
    /// The user and group name of uid and gid 1000 instead of `builder`.
    public var userName: String?
    /// The host path of libfaketime, preloaded into the step's programs with ``fakeTimeOffset``.
    public var fakeTimeLibrary: String?
    /// The CPUs the sandbox may run on (a `taskset -c` list), and the host's `taskset`.
    public var cpuList: String?
    public var tasksetPath: String?

    public init() {}

    /// The normal sandbox.
    public static let none = SandboxVariations()

    /// Whether nothing is varied.
    public var isEmpty: Bool { self == .none }

    /// The values used when a variation is on (without the clock and the CPUs, which depend on the host).
    public static let varied: SandboxVariations = {
        var v = SandboxVariations()
        v.timeZone = "GMT-14"
        v.locale = "fr_CH.UTF-8"
        v.umask = "0002"
        v.hostname = "vary-hostname"
        v.userName = "vary-user"
        return v
    }()

    /// libfaketime's `FAKETIME`: 398 days ahead, so the year always differs.
    public static let fakeTimeOffset = "+398d"
    /// Where the sandbox sees libfaketime (its own top-level directory on the sandbox's tmpfs root).
    public static let fakeTimeSandboxPath = "/.enclavekit-faketime/libfaketime.so.1"
    /// Where Debian's `libfaketime` package puts the library, by architecture directory.
    public static let fakeTimeCandidates = [
        "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1", "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
        "/usr/lib/faketime/libfaketime.so.1",
    ]
    /// The host directory component below which a `build-path` build runs.
    public static let buildPathComponent = "build-path-variation/a/much/longer/directory"

    /// The sandbox variations for `variations` on this host, and those that cannot apply here with the
    /// reason (`clock` without libfaketime, `cpus` on a host with one CPU).
    public static func resolve(_ variations: [BuildVariation]) -> (
        variations: SandboxVariations, notApplied: [(BuildVariation, String)]
    ) {
        var v = SandboxVariations()
        var notApplied: [(BuildVariation, String)] = []
        for variation in variations {
            switch variation {
            case .timeZone: v.timeZone = varied.timeZone
            case .locale: v.locale = varied.locale
            case .umask: v.umask = varied.umask
            case .hostname: v.hostname = varied.hostname
            case .user: v.userName = varied.userName
            case .buildPath, .fileOrder: break  // applied by the builder, not the sandbox
            case .clock:
                if let library = fakeTimeCandidates.first(where: { FileStatus($0)?.type == .regular }) {
                    v.fakeTimeLibrary = library
                } else {
                    notApplied.append((.clock, "libfaketime is not installed (apt-get install faketime)"))
                }
            case .cpus:
                let search = getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin"
                let taskset = Sandbox.findExecutable("taskset", in: search + ":/usr/bin:/bin")
                let allowed = allowedCPUs()
                if allowed.count < 2 {
                    notApplied.append((.cpus, "this process may run on \(allowed.count) CPU; nothing to vary"))
                } else if let taskset {
                    v.cpuList = String(allowed[0])
                    v.tasksetPath = taskset
                } else {
                    notApplied.append((.cpus, "taskset is not installed (apt-get install util-linux)"))
                }
            }
        }
        return (v, notApplied)
    }

    /// The CPUs this process may run on, from `Cpus_allowed_list` in /proc/self/status (`0-3,6`).
    static func allowedCPUs() -> [Int] {
        let fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while bytes.count < 1 << 20 {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { break }
            bytes += buffer[0..<n]
        }
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n")
        where line.hasPrefix("Cpus_allowed_list:") {
            var cpus: [Int] = []
            for part in line.dropFirst("Cpus_allowed_list:".count).split(separator: ",") {
                let bounds = part.split(separator: "-").compactMap {
                    Int(String($0.filter { $0 != " " && $0 != "\t" }))
                }
                if bounds.count == 1 {
                    cpus.append(bounds[0])
                } else if bounds.count == 2, bounds[0] <= bounds[1], bounds[1] - bounds[0] < 1 << 16 {
                    cpus += Array(bounds[0]...bounds[1])
                }
            }
            return cpus
        }
        return []
    }
}
