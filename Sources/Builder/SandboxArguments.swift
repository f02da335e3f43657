extension Sandbox {
    /// The user and group a step runs as inside the sandbox.
    public static let builderID = 1000
    /// The sandbox's hostname.
    public static let hostname = "enclavekit"
    /// The directory a step starts in; its output directory is `/build/out`.
    public static let workingDirectory = "/build"
    /// Where the step's output directory is bound, writable.
    public static let outputPath = "/build/out"
    /// The builder's home directory (a scratch tmpfs).
    public static let homePath = "/home/builder"
    /// The places a mount may go below (`/inputs/NAME`, `/steps/NAME`).
    public static let mountRoots = ["/inputs/", "/steps/"]

    /// The files of the sandbox's `/etc`, by name: enough for `id`, `whoami` and `hostname` to work.
    public static let etcFiles: [(name: String, contents: String)] = [
        ("passwd", "builder:x:1000:1000:builder:/home/builder:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"),
        ("group", "builder:x:1000:\nnogroup:x:65534:\n"),
        ("hostname", "enclavekit\n"),
    ]

    /// The ``etcFiles`` with the varied user and host names of `variations` (the plain ones without).
    static func etcFiles(variations: SandboxVariations) -> [(name: String, contents: String)] {
        guard variations.userName != nil || variations.hostname != nil else { return etcFiles }
        let user = variations.userName ?? "builder"
        return [
            ("passwd", "\(user):x:1000:1000:\(user):/home/builder:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"),
            ("group", "\(user):x:1000:\nnogroup:x:65534:\n"),
            ("hostname", "\(variations.hostname ?? hostname)\n"),
        ]
    }

    /// `PATH` of a step in an environment (`environment = "NAME"`): Debian's usual one.
    public static let environmentPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// The environment every step gets, in this order (`Recipes/README.md`, "Build steps and the
    /// sandbox"), before the step's own variables.
    public static func fixedEnvironment(sourceDateEpoch: UInt64, inEnvironment: Bool = false) -> [SandboxVariable] {
        [
            SandboxVariable(name: "SOURCE_DATE_EPOCH", value: String(sourceDateEpoch)),
            SandboxVariable(name: "TZ", value: "UTC"),
            SandboxVariable(name: "LC_ALL", value: "C.UTF-8"),
            SandboxVariable(name: "LANG", value: "C.UTF-8"),
            SandboxVariable(name: "HOME", value: homePath),
            SandboxVariable(name: "USER", value: "builder"),
            SandboxVariable(name: "LOGNAME", value: "builder"),
            SandboxVariable(name: "PATH", value: inEnvironment ? environmentPath : "/usr/bin:/bin"),
            SandboxVariable(name: "PWD", value: workingDirectory),
        ]
    }

    /// The full environment of `step`: the fixed one with the step's variables replacing same-named
    /// entries in place, and new ones appended in the step's order.
    public static func environment(for step: SandboxStep) throws(BuildError) -> [SandboxVariable] {
        var result = fixedEnvironment(sourceDateEpoch: step.sourceDateEpoch, inEnvironment: step.rootDirectory != nil)
        // rebuild --vary: the varied values take the fixed ones' places; a step's own setting still wins.
        let varied: [(String, String?)] = [
            ("TZ", step.variations.timeZone), ("LC_ALL", step.variations.locale), ("LANG", step.variations.locale),
            ("USER", step.variations.userName), ("LOGNAME", step.variations.userName),
        ]
        for case (let name, let value?) in varied {
            if let index = result.firstIndex(where: { $0.name == name }) { result[index].value = value }
        }
        var seen = Set<String>()
        for variable in step.environment {
            let name = variable.name
            guard let first = name.utf8.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first),
                name.utf8.allSatisfy({ isNameByte($0) })
            else {
                throw .invalidStep(
                    step: step.name,
                    reason: "environment variable name '\(name)' is not a name (use letters, digits and '_')")
            }
            guard !variable.value.utf8.contains(0) else {
                throw .invalidStep(step: step.name, reason: "environment variable \(name) contains a NUL byte")
            }
            guard name != "SOURCE_DATE_EPOCH" else {
                throw .invalidStep(
                    step: step.name,
                    reason: "SOURCE_DATE_EPOCH cannot be set per step (set source-date-epoch in the recipe)")
            }
            guard seen.insert(name).inserted else {
                throw .invalidStep(step: step.name, reason: "environment variable \(name) is set twice")
            }
            if let index = result.firstIndex(where: { $0.name == name }) {
                result[index].value = variable.value
            } else {
                result.append(variable)
            }
        }
        if step.variations.fakeTimeLibrary != nil {
            for (name, value) in [
                ("LD_PRELOAD", SandboxVariations.fakeTimeSandboxPath), ("FAKETIME", SandboxVariations.fakeTimeOffset),
                ("FAKETIME_DONT_FAKE_MONOTONIC", "1"),
            ] where !seen.contains(name) {
                result.append(SandboxVariable(name: name, value: value))
            }
        }
        return result
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_")
    }

    /// Checks that `path` is absolute and normalized (no empty, `.` or `..` components, no trailing `/`).
    static func isNormalizedAbsolute(_ path: String) -> Bool {
        guard path.hasPrefix("/"), path.count > 1, !path.hasSuffix("/"), !path.utf8.contains(0) else {
            return false
        }
        return path.dropFirst().split(separator: "/", omittingEmptySubsequences: false).allSatisfy {
            !$0.isEmpty && $0 != "." && $0 != ".."
        }
    }

    /// Checks the mounts of `step`: host paths absolute, sandbox paths absolute, normalized and below
    /// ``mountRoots``, and no sandbox path equal to or inside another.
    static func checkMounts(of step: SandboxStep) throws(BuildError) {
        for mount in step.mounts {
            guard mount.hostPath.hasPrefix("/"), !mount.hostPath.utf8.contains(0) else {
                throw .invalidStep(
                    step: step.name, reason: "mount source '\(mount.hostPath)' is not an absolute host path")
            }
            guard isNormalizedAbsolute(mount.sandboxPath),
                mountRoots.contains(where: { mount.sandboxPath.hasPrefix($0) })
            else {
                throw .invalidStep(
                    step: step.name,
                    reason: "mount target '\(mount.sandboxPath)' must be a normalized path below /inputs/ or /steps/")
            }
        }
        let sorted = step.mounts.map(\.sandboxPath).sorted()
        for (previous, next) in zip(sorted, sorted.dropFirst()) where next == previous || next.hasPrefix(previous + "/")
        {
            throw .invalidStep(
                step: step.name, reason: "mount targets '\(previous)' and '\(next)' overlap (each needs its own path)")
        }
    }

    /// The bubblewrap arguments that run `step` as `Recipes/README.md` ("Build steps and the sandbox")
    /// says, with the sandbox's `/etc` bound from `etcDirectory` (a host directory holding
    /// ``etcFiles``). A step in an environment needs `root`, the listing of its ``SandboxStep/rootDirectory``:
    /// the environment's entries are placed into the read-only `/` and `/etc` (``SandboxRootLayout``).
    /// A pure function of its arguments: it checks the step but touches no file.
    ///
    /// ```swift
    /// let arguments = try Sandbox.bwrapArguments(for: step, etcDirectory: "/tmp/enclavekit-etc")
    /// ```
    public static func bwrapArguments(
        for step: SandboxStep, etcDirectory: String, root: SandboxRootLayout? = nil
    ) throws(BuildError) -> [String] {
        guard let program = step.arguments.first, !program.isEmpty else {
            throw .invalidStep(step: step.name, reason: "run is empty (give the program and its arguments)")
        }
        guard !step.arguments.contains(where: { $0.utf8.contains(0) }) else {
            throw .invalidStep(step: step.name, reason: "an argument of run contains a NUL byte")
        }
        guard step.outputDirectory.hasPrefix("/"), !step.outputDirectory.utf8.contains(0) else {
            throw .invalidStep(
                step: step.name, reason: "output directory '\(step.outputDirectory)' is not an absolute host path")
        }
        try checkMounts(of: step)
        guard (step.rootDirectory == nil) == (root == nil), root.map({ $0.root == step.rootDirectory }) ?? true else {
            throw .invalidStep(
                step: step.name, reason: "the environment root's listing does not belong to this step (internal error)")
        }
        let environment = try environment(for: step)
        let id = String(builderID)

        var arguments = [
            // Namespaces: all of them, the user namespace required (not "-try"), and no nested ones.
            "--unshare-all", "--unshare-user", "--disable-userns",
            "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--uid", id, "--gid", id, "--hostname", step.variations.hostname ?? hostname,
            "--clearenv",
        ]
        for variable in environment {
            arguments += ["--setenv", variable.name, variable.value]
        }
        arguments += [
            "--tmpfs", "/",
            "--dev", "/dev",
            "--proc", "/proc",
        ]
        if let library = step.variations.fakeTimeLibrary {
            arguments += ["--ro-bind", library, SandboxVariations.fakeTimeSandboxPath]
        }
        if let root {
            arguments += root.bwrapArguments(etcDirectory: etcDirectory)
        } else {
            arguments += ["--ro-bind", etcDirectory, "/etc"]
        }
        for mount in step.mounts {
            arguments += ["--ro-bind", mount.hostPath, mount.sandboxPath]
        }
        arguments += [
            "--dir", workingDirectory,
            "--bind", step.outputDirectory, outputPath,
            "--tmpfs", "/tmp",
            "--tmpfs", homePath,
            // Read-only last, so only /build/out, /tmp and /home/builder stay writable (device nodes
            // such as /dev/null still work: a read-only mount does not stop writes to a device).
            // /proc too: when the build runs as root, uid 1000 inside is uid 0 outside, which the kernel
            // lets write the host's global sysctls (/proc/sys/vm/…) and /proc/sysrq-trigger.
            "--remount-ro", "/dev",
            "--remount-ro", "/proc",
            // POSIX semaphores and shared memory (sem_open, shm_open: Python's multiprocessing, which
            // edk2's build uses) live in /dev/shm: a scratch tmpfs of its own, dropped like /tmp.
            "--tmpfs", "/dev/shm",
        ]
        // An environment's /etc is a tmpfs of its own (its entries bound into it): read-only too.
        if root != nil { arguments += ["--remount-ro", "/etc"] }
        arguments += [
            "--remount-ro", "/",
            "--chdir", workingDirectory,
            "--",
        ]
        return arguments + step.arguments
    }
}
