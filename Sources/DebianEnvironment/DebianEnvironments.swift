import EnclaveCore
import Recipe
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Assembles locked Debian environments (`Recipes/README.md`, "Environments") with mmdebstrap(1):
/// a local repository holding exactly the locked `.deb` files (hard links from the cache, indexed by
/// `apt-ftparchive`), `mmdebstrap --variant=V --include=PACKAGES --format=tar SUITE OUT.tar
/// "deb [trusted=yes] copy:///REPO SUITE main"` in a clean environment (`SOURCE_DATE_EPOCH` = the recipe's
/// epoch, `LC_ALL=C.UTF-8`, `TZ=UTC`, umask 022), and the tar extracted into a tree. apt can only choose
/// from the locked files, so the lock fixes the closure; after assembly the installed set must be the
/// closure. The tar and the tree are cached under a key over the closure's pins, suite, variant, arch,
/// packages, epoch and mmdebstrap version (`environments/KEY/{archive.tar,sha256,root}`), published by a
/// rename, so a second build of the same closure runs no mmdebstrap and nothing half-built stays.
///
/// The tree keeps the tar's modes (setuid bits and `/tmp`'s sticky bit included), symlinks as they are
/// (absolute ones too) and hard links; device nodes are skipped (a sandbox mounts its own `/dev`). Owners
/// are set only when running as root; otherwise every file belongs to the building user. The tree is not
/// written after it is published: sandboxes mount it read-only, and `archive.tar` is mode 0444.
///
/// ```swift
/// let assembler = DebianEnvironments(cache: .default())
/// let env = try await assembler.assemble(recipe.environments[0], recipe: recipe, lock: lock)
/// print(env.root, env.sha256, env.packageCount)
/// ```
public struct DebianEnvironments: EnvironmentAssembling {
    public let cache: InputCache
    /// The host's apt sources, where the `.deb` files are fetched from (default: ``AptSources/host(environment:root:)``).
    public var sources: AptSources?
    public var fetcher: DebFetcher
    public var mmdebstrap = "mmdebstrap"
    public var aptFtparchive = "apt-ftparchive"
    /// Prepended to the mmdebstrap command line (tests run it under another umask or time zone this way).
    public var launcher: [String] = []

    public init(cache: InputCache, sources: AptSources? = nil) {
        self.cache = cache
        self.sources = sources
        self.fetcher = DebFetcher(cache: cache)
    }

    public var environmentsDirectory: String { cache.root + "/environments" }

    public func assemble(_ environment: RecipeEnvironment, recipe: Recipe, lock: RecipeLock) async throws
        -> AssembledEnvironment
    {
        let here = "environment '\(environment.name)'"
        guard let entry = lock.environments[environment.name] else {
            throw EnvironmentError(
                .notLocked, "\(here) is not in \(recipe.lockPath): run enclavekit lock \(recipe.path)")
        }
        guard entry.holds(for: environment) else {
            throw EnvironmentError(
                .notLocked,
                "\(here): its entry in \(recipe.lockPath) was made for other packages, suite, variant or arch "
                    + "(\(entry.suite) \(entry.variant.rawValue) \(entry.packages.joined(separator: " "))): run enclavekit lock "
                    + recipe.path)
        }
        let version = try await mmdebstrapVersion()
        let key = Self.key(entry, epoch: recipe.sourceDateEpoch, mmdebstrapVersion: version)
        let final = environmentsDirectory + "/" + key
        if let cached = try Self.cached(final, name: environment.name, count: entry.closure.count) { return cached }

        guard ProcessRunner.find(aptFtparchive) != nil else {
            throw EnvironmentError(
                .toolMissing, "\(here): apt-ftparchive is not installed: apt-get install mmdebstrap apt-utils")
        }
        let sources = try self.sources ?? AptSources.host()
        let files = try await fetcher.fetch(entry, environment: environment.name, recipe: recipe, sources: sources)

        try FileTree.makeDirectories(environmentsDirectory)
        return try await ScratchDirectory.using(try makeStaging()) { staging -> AssembledEnvironment in
            let repository = staging + "/repo"
            try await makeRepository(repository, files: files, lock: entry, environment: environment.name)
            let tar = staging + "/archive.tar"
            try await runMmdebstrap(
                entry, environment: environment.name, epoch: recipe.sourceDateEpoch, repository: repository,
                output: tar, recipe: recipe)
            FileTree.removeTree(repository)
            let digest = try FileStream.hash(path: tar, .sha256).hex
            let root = staging + "/root"
            _ = try TreeExtractor.extract(tar: tar, into: root, environment: environment.name)
            try checkInstalled(root: root, lock: entry, environment: environment.name, recipe: recipe)
            try AtomicOutput.write(Array((digest + "\n").utf8), to: staging + "/sha256", mode: 0o444)
            guard chmod(tar, 0o444) == 0 else { throw SystemError("set the mode of", path: tar, errno: errno) }
            if Interruption.critical({ rename(staging, final) }) != 0 {
                let error = errno
                // Lost a race with another build of the same key: keep theirs.
                if error == EEXIST || error == ENOTEMPTY,
                    let cached = try Self.cached(final, name: environment.name, count: entry.closure.count)
                {
                    return cached
                }
                throw SystemError("rename into the cache", path: final, errno: error)
            }
            return AssembledEnvironment(
                name: environment.name, root: final + "/root", sha256: digest, packageCount: entry.closure.count)
        }
    }

    /// The cache key: sha256 over a versioned text of everything the tar depends on (the closure's pins,
    /// suite, variant, arch, packages, epoch, the mmdebstrap version and how it is run).
    public static func key(_ lock: EnvironmentLock, epoch: UInt64, mmdebstrapVersion: String) -> String {
        var text =
            "enclavekit-environment 1\nsuite \(lock.suite)\nvariant \(lock.variant.rawValue)\narch \(lock.arch)\n"
        text += "packages \(lock.packages.joined(separator: " "))\nepoch \(epoch)\nmmdebstrap \(mmdebstrapVersion)\n"
        text += "run --variant=\(mmdebstrapVariant(lock.variant)) --include=\(includes(lock).joined(separator: ","))\n"
        text += "sources.list \(sourcesListText)\n"
        for package in lock.closure {
            text += "deb \(package.name) \(package.version) \(package.architecture) \(package.sha256)\n"
        }
        return Digest.sha256(Array(text.utf8)).hex
    }

    static func cached(_ directory: String, name: String, count: Int) throws -> AssembledEnvironment? {
        guard FileStatus.isDirectory(directory + "/root"), FileStatus(directory + "/sha256")?.type == .regular else {
            return nil
        }
        let text = String(
            decoding: try FileInput(path: directory + "/sha256").readAll(limit: 128, format: "sha256"), as: UTF8.self)
        let digest = text.trimmingSpacesString().filter { $0 != "\n" }
        guard digest.utf8.count == 64 else { return nil }
        return AssembledEnvironment(name: name, root: directory + "/root", sha256: digest, packageCount: count)
    }

    func makeStaging() throws -> String {
        try TemporaryDirectory.make(in: environmentsDirectory, prefix: ".tmp-")
    }

    // MARK: - mmdebstrap

    private static let versionCache = VersionCache()

    func mmdebstrapVersion() async throws -> String {
        if let known = Self.versionCache.get(mmdebstrap) { return known }
        guard ProcessRunner.find(mmdebstrap) != nil else {
            throw EnvironmentError(
                .toolMissing, "mmdebstrap is not installed (environments need it): apt-get install mmdebstrap apt-utils"
            )
        }
        let outcome = try await ProcessRunner.check(
            mmdebstrap, ["--version"], outputLimit: toolOutputLimit, what: "mmdebstrap --version",
            as: EnvironmentError.init)
        let version =
            String(decoding: outcome.output, as: UTF8.self).trimmingSpacesString()
            .split(separator: "\n").first.map(String.init) ?? ""
        Self.versionCache.set(mmdebstrap, version)
        return version
    }

    /// `pool/*.deb` (hard links to the cache), `dists/SUITE/main/binary-ARCH/Packages` and
    /// `dists/SUITE/Release` from apt-ftparchive.
    func makeRepository(_ repository: String, files: [String], lock: EnvironmentLock, environment: String) async throws
    {
        let pool = repository + "/pool"
        let binary = repository + "/dists/\(lock.suite)/main/binary-\(lock.arch)"
        try FileTree.makeDirectories(pool)
        try FileTree.makeDirectories(binary)
        for (package, file) in zip(lock.closure, files) {
            let target = pool + "/\(package.name)_\(package.architecture).deb"
            if link(file, target) != 0 {
                let bytes = try FileInput(path: file).readAll(limit: 4 << 30, format: "deb")
                try AtomicOutput.write(bytes, to: target)
            }
        }
        let what = "environment '\(environment)': apt-ftparchive"
        let packages = try await ProcessRunner.check(
            aptFtparchive, ["packages", "pool"], in: repository, environment: .only(Self.cleanEnvironment()),
            outputLimit: toolOutputLimit, what: what, as: EnvironmentError.init)
        try AtomicOutput.write(packages.output, to: binary + "/Packages")
        let release = try await ProcessRunner.check(
            aptFtparchive,
            [
                "-o", "APT::FTPArchive::Release::Suite=\(lock.suite)", "-o",
                "APT::FTPArchive::Release::Codename=\(lock.suite)", "-o", "APT::FTPArchive::Release::Components=main",
                "-o", "APT::FTPArchive::Release::Architectures=\(lock.arch)", "release", "dists/\(lock.suite)",
            ], in: repository, environment: .only(Self.cleanEnvironment()), outputLimit: toolOutputLimit, what: what,
            as: EnvironmentError.init)
        try AtomicOutput.write(release.output, to: repository + "/dists/\(lock.suite)/Release")
    }

    /// The variant mmdebstrap runs with. `minbase` and `buildd` select packages by `Priority`, and the
    /// archive's priorities come from its override files, not from the `.deb` files a local repository
    /// indexes (apt is `required` in bookworm's index but `important` in its own control file): those
    /// two are assembled as `essential` with the whole locked closure included instead.
    static func mmdebstrapVariant(_ variant: RecipeEnvironment.Variant) -> String {
        switch variant {
        case .essential, .minbase, .buildd: "essential"
        case .apt: "apt"
        }
    }

    /// What `--include` names: the asked packages, and for `minbase` and `buildd` every package of the
    /// closure (see ``mmdebstrapVariant(_:)``).
    static func includes(_ lock: EnvironmentLock) -> [String] {
        switch lock.variant {
        case .essential, .apt: return lock.packages
        case .minbase, .buildd:
            var names = lock.packages
            let asked = Set(lock.packages)
            names += lock.closure.map(\.name).filter { !asked.contains($0) }
            return names
        }
    }

    /// `/etc/apt/sources.list` of every environment (the same for every machine and path).
    static let sourcesListText =
        "# EnclaveKit environment: its packages are the closure in recipe.lock; no apt sources."

    static func cleanEnvironment(epoch: UInt64? = nil) -> [String: String] {
        var environment = [
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C.UTF-8", "TZ": "UTC",
            "HOME": "/nonexistent",
        ]
        if let epoch { environment["SOURCE_DATE_EPOCH"] = String(epoch) }
        return environment
    }

    func runMmdebstrap(
        _ lock: EnvironmentLock, environment: String, epoch: UInt64, repository: String, output: String, recipe: Recipe
    ) async throws {
        var arguments = [
            "--mode=auto", "--variant=\(Self.mmdebstrapVariant(lock.variant))", "--format=tar",
            "--include=\(Self.includes(lock).joined(separator: ","))",
            // mmdebstrap leaves the mirror line (our temporary repository's path) in sources.list.
            "--customize-hook=printf '%s\\n' '\(Self.sourcesListText)' > \"$1/etc/apt/sources.list\"",
        ]
        arguments += [lock.suite, output, "deb [trusted=yes] copy://\(repository) \(lock.suite) main"]
        var environmentVariables = Self.cleanEnvironment(epoch: epoch)
        environmentVariables["TMPDIR"] = repository + "/../"
        let command = launcher + ["/bin/sh", "-c", "umask 022 && exec \"$0\" \"$@\"", mmdebstrap] + arguments
        let outcome = try await ProcessRunner.run(
            command[0], Array(command.dropFirst()), environment: .only(environmentVariables), outputLimit: 1 << 20,
            what: "environment '\(environment)': mmdebstrap", as: EnvironmentError.init)
        guard outcome.succeeded else {
            if let (package, needs) = AptOutput.unmetDependency(outcome.errorOutput) {
                throw EnvironmentError(
                    .incompleteClosure,
                    "environment '\(environment)': the closure in \(recipe.lockPath) lacks \(needs) (a dependency of "
                        + "\(package)): run enclavekit lock \(recipe.path) (after deleting environments.\(environment) "
                        + "from the lock if it was edited)")
            }
            throw EnvironmentError(
                .tool, "environment '\(environment)': mmdebstrap failed: \(outcome.tail(8))")
        }
    }

    /// The packages dpkg installed must be exactly the closure (a closure that lacks an essential
    /// package would otherwise give a root without it, silently).
    func checkInstalled(root: String, lock: EnvironmentLock, environment: String, recipe: Recipe) throws {
        let status = root + "/var/lib/dpkg/status"
        let bytes = try FileInput(path: status).readAll(limit: 256 << 20, format: "dpkg status")
        try Self.checkInstalled(
            status: String(decoding: bytes, as: UTF8.self), lock: lock, environment: environment, recipe: recipe)
    }

    /// ``checkInstalled(root:lock:environment:recipe:)`` over the text of dpkg's status file.
    static func checkInstalled(status: String, lock: EnvironmentLock, environment: String, recipe: Recipe) throws {
        var installed = Set<String>()
        for stanza in AptOutput.stanzas(status) where stanza["status"] == "install ok installed" {
            if let name = stanza["package"] { installed.insert(name) }
        }
        let locked = Set(lock.closure.map(\.name))
        let unused = locked.subtracting(installed).sorted()
        let extra = installed.subtracting(locked).sorted()
        guard unused.isEmpty, extra.isEmpty else {
            throw EnvironmentError(
                .incompleteClosure,
                "environment '\(environment)': mmdebstrap installed "
                    + (extra.isEmpty ? "" : "\(extra.joined(separator: ", ")), which the lock does not hold")
                    + (!extra.isEmpty && !unused.isEmpty ? ", and " : "")
                    + (unused.isEmpty ? "" : "not \(unused.joined(separator: ", ")), which the lock holds")
                    + ": the lock's closure is not the one this variant and these packages need; run enclavekit lock "
                    + recipe.path)
        }
    }
}

/// The mmdebstrap version, asked once per process.
final class VersionCache: Sendable {
    private let values = Mutex<[String: String]>([:])

    func get(_ key: String) -> String? { values.withLock { $0[key] } }
    func set(_ key: String, _ value: String) { values.withLock { $0[key] = value } }
}
