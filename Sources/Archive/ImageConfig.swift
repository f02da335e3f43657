import EnclaveCore

/// What nitro-cli takes from an image's config (Nitro catalog, article "nitro-cli Ramdisks", step 2): the command and the
/// environment, plus the architecture for the EIF flags.
///
/// ```swift
/// let config = try ImageConfig(json: bytes)
/// print(String(decoding: try config.cmdFile(), as: UTF8.self))
/// ```
public struct ImageConfig: Sendable, Hashable {
    public var cmd: [String]?
    public var entrypoint: [String]?
    public var env: [String]?
    /// `architecture` (`amd64`, `arm64`, …), empty when absent.
    public var architecture: String
    public var os: String
    /// `rootfs.diff_ids`: sha256 of each uncompressed layer, bottom first.
    public var diffIDs: [String]

    /// Parses an OCI/Docker image config JSON with the strict ``JSONParser`` (duplicate keys, which two
    /// readers could resolve differently, are refused; errors carry the byte offset).
    public init(json: [UInt8], file: String? = nil) throws {
        let format = "image config"
        let top = try ImageJSON.parse(json, format: format, file: file)
        guard case .object = top else {
            throw FormatError(.badValue, format: format, "expected a JSON object", file: file)
        }
        let config = top["config"] ?? top["Config"] ?? .object([])
        func strings(_ key: String) throws -> [String]? {
            guard let value = config[key], value != .null else { return nil }
            guard let list = value.stringArray else {
                throw FormatError(.badValue, format: format, "config.\(key) is not a list of strings", file: file)
            }
            return list
        }
        cmd = try strings("Cmd")
        entrypoint = try strings("Entrypoint")
        env = try strings("Env")
        architecture = top["architecture"]?.stringValue ?? ""
        os = top["os"]?.stringValue ?? ""
        diffIDs = top["rootfs"]?["diff_ids"]?.stringArray ?? []
    }

    /// The command as nitro-cli writes `/cmd`: `Cmd` if the image has one, otherwise `Entrypoint`
    /// (never both combined), one argument per line, each followed by `\n`. Throws when neither is set.
    public func cmdFile() throws -> [UInt8] {
        guard let args = cmd ?? entrypoint else {
            throw ArchiveError(
                .noCommand, path: nil, "the image has neither Cmd nor Entrypoint; nitro-cli refuses it too")
        }
        return Array(args.map { $0 + "\n" }.joined().utf8)
    }

    /// The environment as nitro-cli writes `/env`: one `KEY=VALUE` per line, each followed by `\n`.
    public func envFile() -> [UInt8] {
        Array((env ?? []).map { $0 + "\n" }.joined().utf8)
    }
}
