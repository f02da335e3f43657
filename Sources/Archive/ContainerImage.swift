import EnclaveCore
import Glibc

/// A container image read without a daemon: a `docker save` / kaniko `--tarPath` tarball (Docker
/// Image Specification v1.2: `manifest.json`, the config JSON, one tar per layer, possibly in the
/// OCI `blobs/` layout of Docker 25+) or an OCI image layout (a directory or a tar of one:
/// `oci-layout`, `index.json`, `blobs/<alg>/<hex>`). Every blob is checked against its digest before
/// it is used: the config and manifests against their names or descriptors, layers against their
/// descriptors (OCI) or `rootfs.diff_ids` (docker-archive, over the uncompressed bytes). Layers may be
/// plain, gzip or zstd tar. Manifest paths are resolved inside the archive only.
///
/// ```swift
/// let image = try ContainerImage.open(path: "image.tar")
/// let rootfs = try image.flatten()
/// try rootfs.forEachEntry { print(String(decoding: $0.name, as: UTF8.self)) }
/// ```
public final class ContainerImage {
    /// The image layout that was read.
    public enum Layout: String, Sendable { case dockerArchive = "docker-archive", ociLayout = "oci-layout" }

    public let path: String
    public let layout: Layout
    public let config: ImageConfig
    /// The layers, bottom first, readable in place.
    public let layers: [TarSource]

    init(path: String, layout: Layout, config: ImageConfig, layers: [TarSource]) {
        self.path = path
        self.layout = layout
        self.config = config
        self.layers = layers
    }

    /// Opens a docker-archive tarball, an OCI layout directory or an OCI layout tarball.
    /// `platform` (`linux/amd64`) picks a manifest when an OCI index lists several.
    public static func open(path: String, platform: String? = nil) throws -> ContainerImage {
        var st = stat()
        guard stat(path, &st) == 0 else { throw SystemError("open the image", path: path, errno: errno) }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            return try openOCI(store: DirectoryBlobStore(root: path), path: path, platform: platform)
        }
        let index = try TarIndex(path: path)
        if (try? index.member("manifest.json")) != nil {
            return try openDockerArchive(index: index, path: path)
        }
        if (try? index.member("index.json")) != nil {
            return try openOCI(store: TarBlobStore(index: index), path: path, platform: platform)
        }
        throw FormatError(
            .missing, format: "docker-archive",
            "neither manifest.json (docker save) nor index.json (OCI layout) is in the tarball", file: path)
    }

    /// Flattens the layers as `docker export` would give the container's root filesystem.
    public func flatten(options: FlattenOptions = FlattenOptions()) throws -> FlattenedImage {
        try FlattenedImage(layers: layers, options: options)
    }

    // MARK: - docker-archive

    static func openDockerArchive(index: TarIndex, path: String) throws -> ContainerImage {
        let format = "docker-archive"
        let manifestBytes = try index.contents(of: "manifest.json", limit: 16 << 20, format: format)
        let manifest = try DockerArchiveManifest(json: manifestBytes, file: path)
        let configName = manifest.config
        let layerNames = manifest.layers
        let configBytes = try index.contents(of: configName, limit: 16 << 20, format: format)
        if let expected = digestInName(configName) {
            try verify(Digest.sha256(configBytes), expected: expected, what: configName, file: path)
        }
        let config = try ImageConfig(json: configBytes, file: "\(path):\(configName)")
        guard config.diffIDs.count == layerNames.count else {
            throw FormatError(
                .badValue, format: format,
                "manifest.json lists \(layerNames.count) layers but the config has \(config.diffIDs.count) diff_ids",
                file: path)
        }
        var layers: [TarSource] = []
        for (name, diffID) in zip(layerNames, config.diffIDs) {
            let source = try index.source(of: name, format: format)
            let stored = try hashSource(source, decompress: false)
            if let expected = digestInName(name) {
                try verify(stored, expected: expected, what: name, file: path)
            }
            guard let expectedDiff = parseDigest(diffID) else {
                throw FormatError(.badValue, format: format, "diff_id \"\(diffID)\" is not sha256:<64 hex>", file: path)
            }
            let isCompressed = try isCompressed(source)
            let uncompressed = isCompressed ? try hashSource(source, decompress: true) : stored
            try verify(uncompressed, expected: expectedDiff, what: "\(name) (uncompressed, diff_id)", file: path)
            layers.append(source)
        }
        return ContainerImage(path: path, layout: .dockerArchive, config: config, layers: layers)
    }

    // MARK: - OCI layout

    static func openOCI(store: any BlobStore, path: String, platform: String?) throws -> ContainerImage {
        let format = "oci-layout"
        let indexBytes = try store.contents(of: "index.json", limit: 16 << 20)
        var descriptor = try selectManifest(indexBytes, platform: platform, file: path)
        var manifest = JSONValue.object([])
        for _ in 0..<4 {
            let bytes = try store.blob(descriptor, limit: 16 << 20)
            let object = try ImageJSON.parse(bytes, format: format, file: path)
            guard case .object = object else {
                throw FormatError(
                    .badValue, format: format, "manifest \(descriptor.digest) is not a JSON object", file: path)
            }
            if object["manifests"] != nil {
                descriptor = try selectManifest(bytes, platform: platform, file: path)
                continue
            }
            manifest = object
            break
        }
        guard let configObject = manifest["config"], let configDescriptor = Descriptor(configObject),
            case .array(let layerObjects) = manifest["layers"]
        else {
            throw FormatError(.badValue, format: format, "image manifest lacks config or layers", file: path)
        }
        let config = try ImageConfig(json: try store.blob(configDescriptor, limit: 16 << 20), file: path)
        var layers: [TarSource] = []
        for object in layerObjects {
            guard let layer = Descriptor(object) else {
                throw FormatError(.badValue, format: format, "layer descriptor lacks digest or size", file: path)
            }
            let source = try store.source(of: layer)
            let actual = try hashSource(source, decompress: false, algorithm: layer.algorithm)
            try verify(actual, expected: layer.hex, what: layer.digest, file: path)
            layers.append(source)
        }
        return ContainerImage(path: path, layout: .ociLayout, config: config, layers: layers)
    }

    static func selectManifest(_ bytes: [UInt8], platform: String?, file: String) throws -> Descriptor {
        let object = try ImageJSON.parse(bytes, format: "oci-layout", file: file)
        guard case .array(let manifests) = object["manifests"], !manifests.isEmpty else {
            throw FormatError(.badValue, format: "oci-layout", "index lists no manifests", file: file)
        }
        var candidates = manifests.compactMap { item -> (Descriptor, String?)? in
            guard let d = Descriptor(item) else { return nil }
            let name = item["platform"].flatMap { p -> String? in
                guard let os = p["os"]?.stringValue, let arch = p["architecture"]?.stringValue else { return nil }
                return "\(os)/\(arch)"
            }
            return (d, name)
        }
        if candidates.count > 1 {
            let wanted = platform ?? "linux/amd64"
            candidates = candidates.filter { $0.1 == wanted || $0.1 == nil }
            guard candidates.count == 1 else {
                throw FormatError(
                    .badValue, format: "oci-layout",
                    "index has \(manifests.count) manifests and \(candidates.count) match \(wanted)", file: file)
            }
        }
        guard let chosen = candidates.first else {
            throw FormatError(.badValue, format: "oci-layout", "index has no valid manifest descriptor", file: file)
        }
        return chosen.0
    }

    // MARK: - Digests

    /// The sha256 a member name promises: `<hex>.json` (docker save), `blobs/sha256/<hex>` (Docker 25+),
    /// `sha256:<hex>` (go-containerregistry / kaniko `--tarPath`).
    static func digestInName(_ name: String) -> String? {
        if name.hasPrefix("sha256:") { return parseDigest(name) }
        let base = name.split(separator: "/").last.map(String.init) ?? name
        let hex = base.hasSuffix(".json") ? String(base.dropLast(5)) : base
        guard hex.count == 64, hex.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else { return nil }
        if base.hasSuffix(".json") || name.contains("sha256/") { return hex }
        return nil
    }

    static func parseDigest(_ text: String) -> String? {
        guard text.hasPrefix("sha256:") else { return nil }
        let hex = String(text.dropFirst(7))
        guard hex.count == 64, hex.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else { return nil }
        return hex
    }

    static func verify(_ actual: [UInt8], expected: String, what: String, file: String) throws {
        guard actual.hex == expected else {
            throw FormatError(
                .digestMismatch, format: "image",
                "\(what): digest \(actual.hex) does not match the expected \(expected)",
                file: file)
        }
    }

    static func isCompressed(_ source: TarSource) throws -> Bool {
        let input = try FileInput(path: source.path)
        let count = Int(min(4, source.length ?? input.size))
        let magic = try input.read(at: source.offset, count: count, format: "layer")
        return magic.starts(with: [0x1F, 0x8B]) || magic.starts(with: [0x28, 0xB5, 0x2F, 0xFD])
    }

    /// Hashes a member's bytes in place, or its decompressed stream.
    static func hashSource(_ source: TarSource, decompress: Bool, algorithm: HashAlgorithm = .sha256) throws -> [UInt8]
    {
        let digest = Digest(algorithm)
        if decompress {
            let reader = try TarReader(source, raw: true)
            guard try reader.next() != nil else { return digest.finalize() }
            try reader.forEachChunk { digest.update($0) }
            return digest.finalize()
        }
        let input = try FileInput(path: source.path)
        let length = source.length ?? input.size
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { chunk.deallocate() }
        var done: UInt64 = 0
        while done < length {
            let want = Int(min(UInt64(chunk.count), length - done))
            let n = try input.read(
                into: UnsafeMutableRawBufferPointer(rebasing: chunk[0..<want]), at: source.offset + done)
            guard n > 0 else {
                throw FormatError(
                    .truncated, format: "image", offset: source.offset + done, "blob ends early",
                    file: source.displayName)
            }
            digest.update(UnsafeRawBufferPointer(rebasing: chunk[0..<n]))
            done += UInt64(n)
        }
        return digest.finalize()
    }
}

/// The first image of a docker-archive `manifest.json` (Docker Image Specification v1.2):
/// `[{"Config": "<config>.json", "RepoTags": […], "Layers": ["<id>/layer.tar", …]}]`.
///
/// ```swift
/// let manifest = try DockerArchiveManifest(json: bytes)
/// ```
public struct DockerArchiveManifest: Sendable, Hashable {
    /// The config member's name.
    public var config: String
    /// The layer members' names, bottom first.
    public var layers: [String]
    public var repoTags: [String]

    public init(json: [UInt8], file: String? = nil) throws {
        let format = "docker-archive"
        guard case .array(let list) = try ImageJSON.parse(json, format: format, file: file), let first = list.first,
            case .object = first
        else {
            throw FormatError(.badValue, format: format, "manifest.json is not a JSON list of images", file: file)
        }
        guard let config = first["Config"]?.stringValue, let layers = first["Layers"]?.stringArray else {
            throw FormatError(.badValue, format: format, "manifest.json entry lacks Config or Layers", file: file)
        }
        self.config = config
        self.layers = layers
        self.repoTags = first["RepoTags"]?.stringArray ?? []
    }
}

/// An OCI content descriptor (`mediaType`, `digest`, `size`).
struct Descriptor {
    var digest: String
    var algorithm: HashAlgorithm
    var hex: String
    var size: UInt64

    init?(_ object: JSONValue) {
        guard let digest = object["digest"]?.stringValue, case .number(let sizeText) = object["size"],
            let size = UInt64(sizeText)
        else { return nil }
        let parts = digest.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return nil }
        switch parts[0] {
        case "sha256": algorithm = .sha256
        case "sha512": algorithm = .sha512
        default: return nil
        }
        guard parts[1].count == algorithm.digestSize * 2, parts[1].allSatisfy({ $0.isHexDigit && !$0.isUppercase })
        else { return nil }
        self.digest = digest
        self.hex = parts[1]
        self.size = size
    }

    var blobPath: String { "blobs/\(algorithm.rawValue)/\(hex)" }
}

/// Image JSON (configs, manifests, indexes, docker-archive `manifest.json`) goes through the strict
/// ``JSONParser``: a duplicate key is an error, not a choice between two values, and a syntax error
/// names its byte offset.
enum ImageJSON {
    static func parse(_ bytes: [UInt8], format: String, file: String?) throws -> JSONValue {
        do {
            return try JSONParser.parse(
                bytes, format: format, limits: JSONParser.Limits(maxDepth: 32, maxBytes: 16 << 20))
        } catch {
            var located = error
            if located.file == nil { located.file = file }
            throw located
        }
    }
}
