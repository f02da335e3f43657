import EnclaveCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// How a step in an environment (`environment = "NAME"`) sees that environment's root as `/`
/// (`Recipes/README.md`, "Steps in an environment").
///
/// The root is never bound at `/` itself: bubblewrap would create the mount points of `/inputs`, `/steps`,
/// `/build` and `/home/builder` inside it, that is, write into the environment in the cache. The sandbox's
/// `/` stays a tmpfs, and each top-level entry of the environment is placed into it: a directory or file
/// bound read-only, a symlink (`bin -> usr/bin`, or an absolute one) recreated with the same target. The
/// names the sandbox provides itself are skipped (``sandboxOwned``). `/etc` is a tmpfs holding every entry
/// of the environment's `/etc` the same way, except `passwd`, `group` and `hostname`, which are the
/// sandbox's (the environment's users and groups plus `builder`, see ``Sandbox/etcFiles(environmentEtc:variations:)``).
///
/// ```swift
/// let layout = try SandboxRootLayout.read("/cache/environments/abc/root", step: "compile")
/// layout.topLevel.map(\.name)   // ["bin", "boot", "lib", "lib64", "opt", "root", "run", "sbin", "srv", "usr", "var"]
/// ```
public struct SandboxRootLayout: Sendable, Hashable {
    /// What an entry is, and for a symlink its target (kept verbatim).
    public enum Kind: Sendable, Hashable {
        case directory
        case file
        case symlink(target: String)
    }

    /// One entry of the root's top level or of its `/etc`.
    public struct Entry: Sendable, Hashable {
        public var name: String
        public var kind: Kind

        public init(name: String, kind: Kind) {
            self.name = name
            self.kind = kind
        }
    }

    /// Top-level names the sandbox makes itself; an environment's entries of these names are not used.
    public static let sandboxOwned: Set<String> = ["build", "dev", "etc", "home", "inputs", "proc", "steps", "tmp"]
    /// `/etc` files the sandbox writes itself.
    public static let etcOwned: Set<String> = ["group", "hostname", "passwd"]

    /// The root directory on the host (absolute).
    public var root: String
    /// Its top-level entries, sorted by name, without ``sandboxOwned``.
    public var topLevel: [Entry]
    /// The entries of its `/etc`, sorted by name, without ``etcOwned`` (empty when it has no `/etc`).
    public var etc: [Entry]

    public init(root: String, topLevel: [Entry], etc: [Entry]) {
        self.root = root
        self.topLevel = topLevel
        self.etc = etc
    }

    /// Lists `root` (absolute) for the step named `step`.
    /// - Throws: ``BuildError/invalidStep(step:reason:)`` when the root is not a directory, or holds a
    ///   device, fifo or socket, or a name that is not UTF-8, at its top level or in `/etc`.
    public static func read(_ root: String, step: String) throws(BuildError) -> SandboxRootLayout {
        guard root.hasPrefix("/"), !root.utf8.contains(0) else {
            throw .invalidStep(step: step, reason: "environment root '\(root)' is not an absolute host path")
        }
        var info = stat()
        guard stat(root, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
            throw .invalidStep(step: step, reason: "environment root '\(root)' is not a directory")
        }
        let topLevel = try entries(of: root, skipping: sandboxOwned, step: step)
        var etc: [Entry] = []
        if lstat(root + "/etc", &info) == 0, info.st_mode & S_IFMT == S_IFDIR {
            etc = try entries(of: root + "/etc", skipping: etcOwned, step: step)
        }
        return SandboxRootLayout(root: root, topLevel: topLevel, etc: etc)
    }

    private static func entries(of directory: String, skipping: Set<String>, step: String) throws(BuildError)
        -> [Entry]
    {
        let names: [[UInt8]]
        do { names = try FileTree.sortedNames(directory) } catch {
            throw .invalidStep(step: step, reason: "cannot list the environment's \(directory): \(error)")
        }
        var result: [Entry] = []
        for raw in names {
            guard let name = String(validating: raw, as: UTF8.self) else {
                throw .invalidStep(
                    step: step,
                    reason: "the environment's \(directory) holds a name that is not UTF-8 "
                        + "(\(String(decoding: raw, as: UTF8.self)))")
            }
            if skipping.contains(name) { continue }
            let path = directory + "/" + name
            var info = stat()
            guard lstat(path, &info) == 0 else {
                throw .invalidStep(step: step, reason: "cannot read \(path): \(SandboxOutput.errnoText())")
            }
            switch info.st_mode & S_IFMT {
            case S_IFDIR: result.append(Entry(name: name, kind: .directory))
            case S_IFREG: result.append(Entry(name: name, kind: .file))
            case S_IFLNK:
                let target: [UInt8]
                do { target = try SymbolicLink.target(of: path, sizeHint: Int(info.st_size)) } catch {
                    throw .invalidStep(step: step, reason: "cannot read the symlink \(path): \(error)")
                }
                guard let text = String(validating: target, as: UTF8.self), !target.contains(0) else {
                    throw .invalidStep(step: step, reason: "the symlink \(path) has a target that is not UTF-8")
                }
                result.append(Entry(name: name, kind: .symlink(target: text)))
            default:
                throw .invalidStep(
                    step: step,
                    reason: "the environment's \(path) is a special file (device, fifo or socket); "
                        + "an environment root may hold only files, directories and symlinks")
            }
        }
        return result
    }

    /// The bubblewrap arguments that place this root into the sandbox's tmpfs `/` and build its `/etc`
    /// from the entries here and the sandbox's own files in `etcDirectory`.
    func bwrapArguments(etcDirectory: String) -> [String] {
        var arguments: [String] = []
        for entry in topLevel {
            arguments += Self.place(entry, from: root, at: "/")
        }
        arguments += ["--tmpfs", "/etc"]
        for entry in etc {
            arguments += Self.place(entry, from: root + "/etc", at: "/etc/")
        }
        for name in Sandbox.etcFiles.map(\.name) {
            arguments += ["--ro-bind", etcDirectory + "/" + name, "/etc/" + name]
        }
        return arguments
    }

    private static func place(_ entry: Entry, from directory: String, at parent: String) -> [String] {
        switch entry.kind {
        case .directory, .file: return ["--ro-bind", directory + "/" + entry.name, parent + entry.name]
        case .symlink(let target): return ["--symlink", target, parent + entry.name]
        }
    }
}

extension Sandbox {
    /// The sandbox's `/etc` files for a step in an environment whose `/etc` is `environmentEtc` (a host
    /// directory, or `nil`): `passwd` and `group` keep the environment's entries (so `root`, `daemon`, …
    /// have their names) less any `builder` or id 1000, then add `builder`; `hostname` is the sandbox's.
    /// Without an environment `/etc`, the plain ``etcFiles``.
    static func etcFiles(environmentEtc: String?, variations: SandboxVariations = .none) -> [(
        name: String, contents: String
    )] {
        let base = etcFiles(variations: variations)
        let user = variations.userName ?? "builder"
        guard let environmentEtc else { return base }
        return base.map { file in
            guard file.name == "passwd" || file.name == "group",
                let bytes = try? FileInput.contents(
                    of: environmentEtc + "/" + file.name, limit: 1 << 20, format: "/etc/" + file.name)
            else { return file }
            let ours = file.contents.split(separator: "\n").filter { $0.hasPrefix(user + ":") }
            var lines: [Substring] = []
            for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
                let fields = line.split(separator: ":", omittingEmptySubsequences: false)
                if fields.first == "builder" || fields.first.map(String.init) == user
                    || (fields.count > 2 && fields[2] == "\(builderID)")
                {
                    continue
                }
                lines.append(line)
            }
            return (file.name, (lines + ours).map { $0 + "\n" }.joined())
        }
    }
}
