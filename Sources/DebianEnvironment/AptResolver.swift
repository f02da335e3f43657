import EnclaveCore
import Recipe

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Resolves an environment's closure for `enclavekit lock` (`Recipes/README.md`, "Environments"), with a
/// private apt state (its own lists, cache and empty dpkg status; never the host's): the host's sources
/// for `SUITE`, `SUITE-updates` and `SUITE-security` are updated into a temporary directory, then
/// `apt-get install --print-uris` of the variant's base set and the asked packages names every `.deb`
/// an empty root needs; `apt-cache show` gives each one's version, size and sha256. Every `.deb` is then
/// fetched into the cache and checked against that sha256, so the lock is proven by the bytes.
///
/// | variant | base set (as mmdebstrap 1.3 installs it) |
/// |---|---|
/// | essential | `Essential: yes` packages |
/// | apt | those and apt |
/// | minbase | those and `Priority: required` packages (apt is one) |
/// | buildd | those and `build-essential` |
///
/// ```swift
/// var locker = Locker(recipe: recipe, cache: cache)
/// locker.environmentLocker = DebianEnvironmentLocker(cache: cache)
/// let report = try await locker.lock()
/// ```
public struct DebianEnvironmentLocker: EnvironmentLocking {
    public let cache: InputCache
    /// The host's apt sources (default: ``AptSources/host(environment:root:)``).
    public var sources: AptSources?
    public var aptGet = "apt-get"
    public var aptCache = "apt-cache"
    public var fetcher: DebFetcher

    public init(cache: InputCache, sources: AptSources? = nil) {
        self.cache = cache
        self.sources = sources
        self.fetcher = DebFetcher(cache: cache)
    }

    /// The apt patterns of a variant's base set, as mmdebstrap 1.3 writes them: essential packages
    /// (and priority-required ones) of the suite itself and the native architecture.
    public static func baseSet(_ variant: RecipeEnvironment.Variant, suite: String, arch: String) -> [String] {
        func narrow(_ pattern: String) -> String {
            "?narrow(?or(?archive(^\(suite)$),?codename(^\(suite)$)),?architecture(\(arch)),\(pattern))"
        }
        let essential = narrow("?essential")
        let required = narrow("?and(?priority(required),?not(?essential))")
        switch variant {
        case .essential, .apt: return [essential]
        case .minbase: return [essential, required]
        case .buildd: return [essential, required, "build-essential"]
        }
    }

    /// apt treats itself as essential (`pkgCacheGen::ForceEssential`); mmdebstrap turns that off for
    /// every variant but `apt`, whose base set is "the essential set plus apt" that way.
    public static func forceEssentialOptions(_ variant: RecipeEnvironment.Variant) -> [String] {
        variant == .apt ? [] : ["-o", "pkgCacheGen::ForceEssential=,"]
    }

    public func resolve(_ environment: RecipeEnvironment, recipe: Recipe) async throws -> EnvironmentLock {
        let sources = try self.sources ?? AptSources.host()
        let used = sources.entries(forSuite: environment.suite)
        let suites = [environment.suite, environment.suite + "-updates", environment.suite + "-security"]
        let where_ = "environment '\(environment.name)'"
        guard used.contains(where: { $0.suite == environment.suite }) else {
            throw EnvironmentError(
                .noSource,
                "\(where_): no apt source names suite \(environment.suite) (read \(sources.files.joined(separator: ", ")));"
                    + " add one, e.g. 'deb http://debian.mirror.example/debian \(environment.suite) main' to "
                    + "/etc/apt/sources.list.d/debian.list, or set ENCLAVEKIT_APT_SOURCES to such a file")
        }
        let state = try PrivateAptState(cache: cache, sources: used, arch: environment.arch)
        defer { state.remove() }
        try await ProcessRunner.check(
            aptGet, state.options + ["-q", "update"], what: "\(where_): apt-get update", as: EnvironmentError.init)
        let install = try await ProcessRunner.run(
            aptGet,
            state.options + Self.forceEssentialOptions(environment.variant) + ["-qq", "install", "--print-uris"]
                + Self.baseSet(environment.variant, suite: environment.suite, arch: environment.arch)
                + environment.packages, outputLimit: toolOutputLimit, what: "\(where_): apt-get install --print-uris",
            as: EnvironmentError.init)
        guard install.succeeded else {
            let suiteList = suites.joined(separator: ", ")
            if let missing = AptOutput.missingPackage(install.errorOutput) {
                throw EnvironmentError(
                    .unknownPackage,
                    "\(where_): package '\(missing)' is not in \(environment.suite) (\(suiteList)): check the name "
                        + "with apt-cache policy \(missing)")
            }
            if let (package, needs) = AptOutput.unmetDependency(install.errorOutput) {
                throw EnvironmentError(
                    .unknownPackage,
                    "\(where_): \(package) depends on \(needs), which \(suiteList) cannot satisfy")
            }
            throw EnvironmentError(.tool, "\(where_): apt cannot resolve the packages: \(install.tail())")
        }
        let uris = try AptOutput.printURIs(String(decoding: install.output, as: UTF8.self))
        let names = Array(Set(uris.map(\.package))).sorted()
        let show = try await ProcessRunner.check(
            aptCache, state.options + ["show"] + names, outputLimit: toolOutputLimit, what: "\(where_): apt-cache show",
            as: EnvironmentError.init)
        let stanzas = AptOutput.stanzas(String(decoding: show.output, as: UTF8.self))
        var closure: [EnvironmentLock.Package] = []
        for uri in uris {
            guard
                let source = used.filter({ uri.uri.hasPrefix($0.base + "/") }).max(by: { $0.base.count < $1.base.count }
                )
            else {
                throw EnvironmentError(.format, "\(where_): apt printed \(uri.uri), which no source names")
            }
            closure.append(
                try AptOutput.package(for: uri, base: source.base, archive: source.archive, stanzas: stanzas))
        }
        let snapshot = try state.snapshot()
        let lock = EnvironmentLock(
            suite: environment.suite, variant: environment.variant, arch: environment.arch,
            packages: environment.packages, snapshot: snapshot, closure: closure)
        for (previous, next) in zip(lock.closure, lock.closure.dropFirst()) where previous.name == next.name {
            throw EnvironmentError(.format, "\(where_): apt chose two versions of \(next.name)")
        }
        _ = try await fetcher.fetch(lock, environment: environment.name, recipe: recipe, sources: sources)
        return lock
    }
}

/// A temporary apt configuration in the cache: `etc/sources.list.d/enclavekit.sources`, `state/lists`,
/// an empty `state/status`, `cache/archives`. Removed by ``remove()`` (and on interruption).
struct PrivateAptState {
    let directory: String
    let cleanup: Interruption.Token
    let arch: String

    init(cache: InputCache, sources: [AptSources.Entry], arch: String) throws {
        directory = try cache.makeTemporaryDirectory()
        cleanup = Interruption.removeOnInterrupt(directory)
        self.arch = arch
        do {
            for sub in ["etc/sources.list.d", "etc/preferences.d", "state/lists/partial", "cache/archives/partial"] {
                try FileTree.makeDirectories(directory + "/" + sub)
            }
            try AtomicOutput.write([], to: directory + "/state/status")
            try AtomicOutput.write(
                Array(AptSources.deb822(sources).utf8), to: directory + "/etc/sources.list.d/enclavekit.sources")
        } catch {
            remove()
            throw EnvironmentError(.io, "cannot set up a private apt state in \(directory): \(error)")
        }
    }

    func remove() {
        FileTree.removeTree(directory)
        Interruption.unregister(cleanup)
    }

    /// `-o` options that point apt at this state only.
    var options: [String] {
        let d = directory
        return [
            "-o", "Dir::Etc::SourceList=/dev/null", "-o", "Dir::Etc::SourceParts=\(d)/etc/sources.list.d",
            "-o", "Dir::Etc::Preferences=/dev/null", "-o", "Dir::Etc::PreferencesParts=\(d)/etc/preferences.d",
            "-o", "Dir::State=\(d)/state", "-o", "Dir::State::status=\(d)/state/status", "-o", "Dir::Cache=\(d)/cache",
            "-o", "APT::Architecture=\(arch)", "-o", "APT::Architectures::=\(arch)", "-o", "Debug::NoLocking=1",
            "-o", "APT::Install-Recommends=false", "-o", "APT::Install-Suggests=false",
            "-o", "APT::Sandbox::User=root",
        ]
    }

    /// The newest `Date:` of the `InRelease` (or `Release`) files apt fetched.
    func snapshot() throws -> String {
        let lists = directory + "/state/lists"
        var newest: String?
        for name in try FileTree.sortedNames(lists) {
            let text = String(decoding: name, as: UTF8.self)
            guard text.hasSuffix("_InRelease") || text.hasSuffix("_Release") else { continue }
            let bytes = try FileInput(path: lists + "/" + text).readAll(limit: 64 << 20, format: "Release")
            guard let date = AptOutput.releaseDate(String(decoding: bytes, as: UTF8.self)) else {
                throw EnvironmentError(.format, "\(text): no Date field in RFC 2822 form (UTC)")
            }
            if newest.map({ date > $0 }) ?? true { newest = date }
        }
        guard let newest else { throw EnvironmentError(.format, "apt fetched no Release files into \(lists)") }
        return newest
    }
}
