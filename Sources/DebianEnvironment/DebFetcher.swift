import EnclaveCore
import Recipe

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Fetches the `.deb` files of a locked closure into the content-addressed ``InputCache``: each from
/// the base URI of the host's apt source whose archive name matches the package's (`debian`,
/// `debian-security`) + `/` + its pool path, with curl (one process for all missing files); a file the
/// archive no longer has is fetched from Debian's snapshot archive at the lock's snapshot time
/// (`https://snapshot.debian.org/archive/ARCHIVE/YYYYMMDDTHHMMSSZ/PATH`). Cached files are not fetched
/// again. Bytes that differ from the lock stop with the package's name and both digests.
///
/// ```swift
/// let files = try await DebFetcher(cache: cache).fetch(lock, environment: "build", recipe: recipe, sources: sources)
/// ```
public struct DebFetcher: Sendable {
    public let cache: InputCache
    public var curl = "curl"
    /// Try Debian's snapshot archive for files the archive no longer serves.
    public var useSnapshotArchive = true

    public init(cache: InputCache) { self.cache = cache }

    /// The cached file of every closure package, in closure order.
    public func fetch(_ lock: EnvironmentLock, environment: String, recipe: Recipe, sources: AptSources) async throws
        -> [String]
    {
        let here = "environment '\(environment)'"
        var missing: [EnvironmentLock.Package] = []
        for package in lock.closure where try cache.lookup(sha256: package.sha256) == nil {
            missing.append(package)
        }
        if !missing.isEmpty {
            var bases: [String: String] = [:]
            for package in missing where bases[package.archive] == nil {
                guard let base = sources.baseURI(forArchive: package.archive) else {
                    throw EnvironmentError(
                        .noSource,
                        "\(here): package \(package.pin) comes from the archive '\(package.archive)', which no apt source "
                            + "on this machine names (read \(sources.files.joined(separator: ", "))): add one, e.g. "
                            + "'deb http://debian.mirror.example/\(package.archive) \(lock.suite)\(package.archive.hasSuffix("-security") ? "-security" : "") main' "
                            + "to /etc/apt/sources.list.d/, or set ENCLAVEKIT_APT_SOURCES to such a file")
                }
                bases[package.archive] = base
            }
            try await ScratchDirectory.using(try cache.makeTemporaryDirectory()) { directory in
                func target(_ index: Int) -> String { directory + "/\(index).deb" }
                func download(_ indices: [Int], url: (EnvironmentLock.Package) -> String) async throws -> String {
                    var arguments = [
                        "-fsSL", "--proto", "=http,https", "--proto-redir", "=http,https", "--retry", "2",
                        "--remove-on-error",
                    ]
                    for index in indices { arguments += ["-o", target(index), url(missing[index])] }
                    let outcome = try await ProcessRunner.run(
                        curl, arguments, what: "\(here): curl", as: EnvironmentError.init)
                    return outcome.tail(3)
                }
                var failure = try await download(Array(missing.indices)) { "\(bases[$0.archive] ?? "")/\($0.path)" }
                var absent = missing.indices.filter { FileStatus(target($0)) == nil }
                if !absent.isEmpty, useSnapshotArchive {
                    let stamp = lock.snapshot.filter { $0 != "-" && $0 != ":" }
                    failure = try await download(absent) {
                        "https://snapshot.debian.org/archive/\($0.archive)/\(stamp)/\($0.path)"
                    }
                    absent = absent.filter { FileStatus(target($0)) == nil }
                }
                if let first = absent.first {
                    let package = missing[first]
                    throw EnvironmentError(
                        .tool,
                        "\(here): cannot fetch \(package.pin) from \(bases[package.archive] ?? "")/\(package.path)"
                            + (useSnapshotArchive ? " or the snapshot archive" : "")
                            + (failure.isEmpty ? "" : ": \(failure)"))
                }
                for (index, package) in missing.enumerated() {
                    let digest = try FileStream.hash(path: target(index), .sha256).hex
                    guard digest == package.sha256 else {
                        throw EnvironmentError(
                            .pinMismatch,
                            "\(here): package \(package.pin) (\(package.archive)/\(package.path)): expected sha256 "
                                + "\(package.sha256), got \(digest); the archive now serves other bytes: if they are the "
                                + "ones you want, delete environments.\(environment) from \(recipe.lockPath) and run "
                                + "enclavekit lock \(recipe.path)")
                    }
                    try cache.adopt(target(index))
                }
            }
        }
        return lock.closure.map { cache.inputPath(sha256: $0.sha256) }
    }
}
