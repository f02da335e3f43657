/// Fuzz harnesses for what the Registry module parses from the network and from the Docker config file,
/// kept beside the parsers (some are internal) so that `enclavekit-fuzz` registers them in one line
/// (`.merging(RegistryFuzz.harnesses) { a, _ in a }`). Each must return or throw, never crash.
///
/// ```swift
/// RegistryFuzz.harnesses["registry-manifest"]?(bytes)
/// ```
public enum RegistryFuzz {
    public static let harnesses: [String: @Sendable ([UInt8]) -> Void] = [
        // An OCI image manifest (descriptors, annotations, subject) as a registry serves it.
        "registry-manifest": { bytes in _ = try? ImageManifest(bytes: bytes, reference: "fuzz") },
        // An OCI image index (the tag-schema fallback for referrers).
        "registry-index": { bytes in _ = try? ImageIndex(bytes: bytes, reference: "fuzz") },
        // A WWW-Authenticate header (scheme and quoted, escaped parameters).
        "registry-challenge": { bytes in _ = AuthChallenge(parsing: String(decoding: bytes, as: UTF8.self)) },
        // A token service's JSON answer.
        "registry-token": { bytes in _ = RegistryClient.token(fromResponse: bytes) },
        // A Docker config file's `auths` (base64 `auth`, or `username`/`password`), looked up for a host.
        "registry-docker-config": { bytes in
            _ = try? BasicCredentials.fromDockerConfig(bytes: bytes, path: "fuzz/config.json", host: "registry.example")
        },
        // An image reference as the command line and referrers name it.
        "registry-reference": { bytes in _ = try? ImageReference(parsing: String(decoding: bytes, as: UTF8.self)) },
    ]
}
