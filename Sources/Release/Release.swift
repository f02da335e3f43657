/// The `Release` module: release manifests (schema v1), DSSE envelopes carrying in-toto Statements,
/// release-signing keys (Ed25519, ECDSA P-256/P-384) with securesystemslib keyids, k-of-n policies and
/// verification. See `Manifests/README.md` for the formats.
public enum ReleaseModule {
    /// The module's name, for diagnostics.
    public static let name = "Release"
}
