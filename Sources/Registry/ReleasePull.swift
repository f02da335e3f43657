import EnclaveCore
import Release

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// What `pull` wrote, for the text and `--json` outputs.
public struct PullReport: Sendable {
    public struct File: Sendable, Equatable {
        public var name: String
        public var digest: String
        public var size: UInt64
        /// `artifact`, `manifest`, `signature` or `attestation`.
        public var kind: String
    }

    public var reference: String
    /// The manifest digest the reference resolved to (everything was read by this digest).
    public var digest: String
    public var directory: String
    public var files: [File] = []
    public var referrersAPI = false
    /// Referrers that were skipped (another subject, another artifact type), one line each.
    public var ignored: [String] = []

    public var json: JSONValue {
        .object([
            ("reference", .string(reference)), ("digest", .string(digest)), ("directory", .string(directory)),
            (
                "files",
                .array(
                    files.map {
                        .object([
                            ("name", .string($0.name)), ("digest", .string($0.digest)), ("size", .int($0.size)),
                            ("kind", .string($0.kind)),
                        ])
                    })
            ),
            ("referrersMode", .string(referrersAPI ? "api" : "tag-schema")),
            ("ignored", .array(ignored.map { .string($0) })),
        ])
    }
}

/// Reads a release pushed by ``ReleasePusher`` (or any client writing the same artifact) into a release
/// directory that `enclavekit verify DIR` accepts: `manifest.json`, the artifacts at their names, the
/// signed documents, and reproduction attestations under `attestations/`. The tag is resolved once and
/// everything is read by digest; every blob is checked against its digest and size as it arrives, in a
/// staging directory next to the destination that is renamed into place only when all of it verified.
///
/// ```swift
/// let report = try await ReleasePuller.pull(ref, into: "release", client: client) { print($0) }
/// ```
public enum ReleasePuller {
    /// Blobs downloaded at the same time.
    public static let parallelDownloads = 4

    /// The digest `reference` names now, with the manifest bytes (checked against it).
    public static func resolve(_ reference: ImageReference, client: RegistryClient) async throws
        -> RegistryClient.FetchedManifest
    {
        let ref = reference.description
        guard let target = reference.manifestReference else {
            throw RegistryError(.reference, reference: ref, "name a tag or a digest (REPO:TAG or REPO@sha256:…)")
        }
        guard
            let fetched = try await client.getManifest(
                repository: reference.repository, tagOrDigest: target, reference: ref)
        else {
            throw RegistryError(
                .missing, reference: ref, digest: reference.digest,
                "no such manifest in the registry (\(reference.tag.map { "tag \($0)" } ?? "digest") not found)")
        }
        return fetched
    }

    /// Pulls `reference` into `directory`, which must not exist or be empty.
    public static func pull(
        _ reference: ImageReference, into directory: String, client: RegistryClient,
        progress: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws -> PullReport {
        let ref = reference.description
        let destination = directory.count > 1 && directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        if let status = FileStatus(destination) {
            guard status.type == .directory, (try FileTree.sortedNames(destination)).isEmpty else {
                throw RegistryError(
                    .destination, reference: ref, "\(destination) exists and is not an empty directory",
                    hint: "choose another --out or remove it")
            }
        }
        try await client.probe(reference: ref, repository: reference.repository, push: false)
        let fetched = try await resolve(reference, client: client)
        progress("resolved \(ref) to \(fetched.digest)")
        let staging = try StagingDirectory(next: destination, reference: ref)
        var report = try await download(
            reference, manifest: fetched, into: staging.path, client: client, progress: progress)
        try staging.commit()
        report.directory = destination
        return report
    }

    /// Downloads the release whose manifest is `fetched` into the existing directory `path`.
    public static func download(
        _ reference: ImageReference, manifest fetched: RegistryClient.FetchedManifest, into path: String,
        client: RegistryClient, progress: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws -> PullReport {
        let ref = reference.description
        let repository = reference.repository
        let digest = fetched.digest
        let pinned = reference.pinned(to: digest).description
        let image = try ImageManifest(bytes: fetched.bytes, reference: pinned)
        guard image.artifactType == MediaType.release else {
            throw RegistryError(
                .manifest, reference: pinned,
                "is not an EnclaveKit release (artifactType \(image.artifactType ?? "none"), expected \(MediaType.release))"
            )
        }
        var report = PullReport(reference: ref, digest: digest, directory: path)
        var titles = Set<String>()
        for (i, layer) in image.layers.enumerated() {
            guard let title = layer.title else {
                throw RegistryError(
                    .manifest, reference: pinned, digest: layer.digest,
                    "layers[\(i)] has no \(titleAnnotation) annotation (the file name)")
            }
            try checkName(title, reference: pinned, digest: layer.digest, nested: true)
            guard titles.insert(title).inserted else {
                throw RegistryError(
                    .manifest, reference: pinned, digest: layer.digest, "two layers are named '\(title)'")
            }
        }
        guard let manifestLayer = image.layers.first(where: { $0.title == "manifest.json" }) else {
            throw RegistryError(.manifest, reference: pinned, "the release has no layer named manifest.json")
        }
        guard manifestLayer.size <= 64 << 20 else {
            throw RegistryError(
                .manifest, reference: pinned, digest: manifestLayer.digest, "manifest.json is over 64 MiB")
        }
        // Each distinct blob is downloaded once, up to `parallelDownloads` at a time (as skopeo does);
        // a file with the same bytes as another is copied from it and checked again.
        var first: [String: String] = [:]
        var unique: [(Descriptor, String)] = []
        for layer in image.layers {
            guard let title = layer.title else { continue }
            try makeParents(of: title, in: path)
            if first[layer.digest] == nil {
                first[layer.digest] = title
                unique.append((layer, title))
            }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            var running = 0
            for (layer, title) in unique {
                if running >= parallelDownloads {
                    try await group.next()
                    running -= 1
                }
                group.addTask {
                    try await client.downloadBlob(
                        repository: repository, descriptor: layer, to: path + "/" + title, reference: pinned,
                        name: title)
                    progress(
                        "blob \(ReleasePusher.short(layer.digest))  \(title)  \(ByteCount.format(layer.size))  verified"
                    )
                }
                running += 1
            }
            try await group.waitForAll()
        }
        for layer in image.layers {
            guard let title = layer.title else { continue }
            if let earlier = first[layer.digest], earlier != title {
                try copyVerified(
                    from: path + "/" + earlier, to: path + "/" + title, descriptor: layer, reference: pinned)
                progress("blob \(ReleasePusher.short(layer.digest))  \(title)  same bytes as \(earlier)")
            }
            report.files.append(
                .init(
                    name: title, digest: layer.digest, size: layer.size,
                    kind: title == "manifest.json" ? "manifest" : "artifact"))
        }
        // The release manifest and the OCI manifest must describe the same files.
        let manifestPath = path + "/manifest.json"
        let release = try ReleaseManifest(
            json: try FileInput.contents(of: manifestPath, limit: 64 << 20, format: "manifest"),
            format: "\(pinned): manifest.json")
        for artifact in release.artifacts {
            guard let layer = image.layers.first(where: { $0.title == artifact.name }) else {
                throw RegistryError(
                    .manifest, reference: pinned,
                    "the release manifest lists '\(artifact.name)' but the OCI manifest has no layer with that name")
            }
            guard layer.digest == OCIDigest.from(sha256Hex: artifact.sha256), layer.size == artifact.size else {
                throw RegistryError(
                    .manifest, reference: pinned, digest: layer.digest,
                    "layer '\(artifact.name)' is not the artifact the release manifest lists (sha256 "
                        + "\(artifact.sha256), \(artifact.size) bytes)")
            }
        }
        for title in titles where title != "manifest.json" && !release.artifacts.contains(where: { $0.name == title }) {
            throw RegistryError(
                .manifest, reference: pinned, "layer '\(title)' is not an artifact of the release manifest")
        }

        // Referrers: maintainer signatures and reproduction attestations.
        let (descriptors, api) = try await client.referrers(repository: repository, digest: digest, reference: pinned)
        report.referrersAPI = api
        var names = Set(titles)
        let ours = [MediaType.releaseSignature, MediaType.reproduction]
        for descriptor in descriptors {
            // The descriptor's artifactType is optional in a tag-schema index (and some clients drop it
            // when they copy one): without it, the referrer's manifest says what it is.
            if let listed = descriptor.artifactType, !ours.contains(listed) {
                report.ignored.append("\(descriptor.digest): artifactType \(listed)")
                continue
            }
            guard descriptor.mediaType == MediaType.imageManifest,
                let referrer = try await client.getManifest(
                    repository: repository, tagOrDigest: descriptor.digest, reference: pinned)
            else {
                throw RegistryError(
                    .missing, reference: pinned, digest: descriptor.digest,
                    "the referrers list names a manifest the registry does not have")
            }
            let manifest = try ImageManifest(
                bytes: referrer.bytes, reference: "\(pinned) referrer \(descriptor.digest)")
            guard let type = manifest.artifactType, ours.contains(type) else {
                report.ignored.append("\(descriptor.digest): artifactType \(manifest.artifactType ?? "none")")
                continue
            }
            guard manifest.subject?.digest == digest else {
                report.ignored.append("\(descriptor.digest): its subject is \(manifest.subject?.digest ?? "none")")
                continue
            }
            guard descriptor.artifactType == nil || descriptor.artifactType == type, manifest.layers.count == 1,
                let layer = manifest.layers.first, let title = layer.title
            else {
                throw RegistryError(
                    .manifest, reference: pinned, digest: descriptor.digest,
                    "referrer is not one titled document of artifactType \(type)")
            }
            try checkName(title, reference: pinned, digest: layer.digest, nested: false)
            guard ReleaseDirectory.signedSuffixes.contains(where: { title.hasSuffix($0) }) else {
                throw RegistryError(
                    .manifest, reference: pinned, digest: layer.digest,
                    "referrer document '\(title)' is not a *.dsse.json, *.sigstore.json or *.intoto.jsonl file")
            }
            guard layer.size <= 64 << 20 else {
                throw RegistryError(.manifest, reference: pinned, digest: layer.digest, "'\(title)' is over 64 MiB")
            }
            let attestation = type == MediaType.reproduction
            var name = attestation ? "attestations/" + title : title
            if names.contains(name) {
                // Another push of the same file name (a maintainer who added a signature): keep both.
                let suffix = ReleaseDirectory.signedSuffixes.first { title.hasSuffix($0) } ?? ""
                name =
                    String(name.dropLast(suffix.count)) + "-" + String(OCIDigest.hex(layer.digest).prefix(12)) + suffix
                if names.contains(name) { continue }
            }
            names.insert(name)
            if attestation { try makeParents(of: name, in: path) }
            try await client.downloadBlob(
                repository: repository, descriptor: layer, to: path + "/" + name, reference: pinned, name: name)
            progress("referrer \(ReleasePusher.short(descriptor.digest))  \(name)  verified")
            report.files.append(
                .init(
                    name: name, digest: layer.digest, size: layer.size, kind: attestation ? "attestation" : "signature")
            )
        }
        return report
    }

    /// A relative path without `.`/`..`/empty components, NUL, backslash or a leading `/`; one component
    /// unless `nested`.
    static func checkName(_ name: String, reference: String, digest: String, nested: Bool) throws {
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        let ok =
            !name.isEmpty && name.utf8.count <= 1024 && !name.contains("\0") && !name.contains("\\")
            && parts.allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." } && (nested || parts.count == 1)
            && name != "attestations" && !name.hasPrefix("attestations/")
        guard ok else {
            throw RegistryError(
                .manifest, reference: reference, digest: digest,
                "the file name '\(name)' is not a safe relative path" + (nested ? "" : " (one component)"))
        }
    }

    static func makeParents(of name: String, in root: String) throws {
        var dir = root
        for part in name.split(separator: "/").dropLast() {
            dir += "/" + part
            if FileStatus(dir) == nil { try FileTree.makeDirectories(dir) }
            guard FileStatus(dir)?.type == .directory else {
                throw SystemError("create the directory (a file has its name)", path: dir, errno: EEXIST)
            }
        }
    }

    /// Copies a file already verified as `descriptor` (two artifacts with the same bytes), checking it again.
    static func copyVerified(from source: String, to path: String, descriptor: Descriptor, reference: String) throws {
        let input = try FileInput(path: source)
        let out = try AtomicOutput(path: path)
        let hash = Digest(.sha256)
        try FileStream.forEachChunk(of: input, ranges: [0..<input.size], progress: nil) { _, chunk in
            hash.update(chunk)
            try out.write(chunk)
        }
        guard OCIDigest.prefix + hash.finalize().hex == descriptor.digest else {
            throw RegistryError(
                .digestMismatch, reference: reference, digest: descriptor.digest,
                "\(source) changed while it was copied")
        }
        try out.commit()
    }
}

/// A directory next to the destination (`.NAME.pull-XXXXXX`) that becomes the destination by one
/// rename once everything in it verified; removed otherwise (also on SIGINT/SIGTERM/SIGHUP).
final class StagingDirectory {
    let path: String
    let destination: String
    let reference: String
    private var token: Interruption.Token?
    private var committed = false

    init(next destination: String, reference: String) throws {
        self.destination = destination
        self.reference = reference
        let slash = destination.lastIndex(of: "/")
        let parent = slash.map { String(destination[..<$0]) } ?? "."
        let base = slash.map { String(destination[destination.index(after: $0)...]) } ?? destination
        let dir = parent.isEmpty ? "/" : parent
        if FileStatus(dir) == nil { try FileTree.makeDirectories(dir) }
        let (made, code, token) = Interruption.critical { () -> (String?, Int32, Interruption.Token?) in
            do {
                let made = try TemporaryDirectory.make(in: dir, prefix: ".\(base).pull-")
                return (made, 0, Interruption.removeOnInterrupt(made))
            } catch let error as SystemError {
                return (nil, error.errno, nil)
            } catch {
                return (nil, EIO, nil)
            }
        }
        guard let made else {
            throw SystemError("create a staging directory next to it", path: destination, errno: code)
        }
        path = made
        self.token = token
        chmod(made, 0o755)
    }

    /// Renames the staging directory to the destination (an empty destination directory is replaced).
    func commit() throws {
        let code = Interruption.critical { () -> Int32 in
            if FileStatus(destination)?.type == .directory { rmdir(destination) }
            guard rename(path, destination) == 0 else { return errno }
            committed = true
            if let token { Interruption.unregister(token) }
            token = nil
            return 0
        }
        guard code == 0 else {
            throw SystemError("rename the verified release into place", path: destination, errno: code)
        }
    }

    deinit {
        if !committed { FileTree.removeTree(path) }
        if let token { Interruption.unregister(token) }
    }
}
