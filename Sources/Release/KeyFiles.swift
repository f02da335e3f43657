import EnclaveCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Key files as `keygen` writes them: `KEY.pem` (PKCS#8 PEM, mode 0600) and `KEY.pub.pem`
/// (SubjectPublicKeyInfo PEM, mode 0644), both written atomically.
///
/// ```swift
/// let pub = try KeyFiles.generate(.ed25519, privatePath: "alice.pem", publicPath: "alice.pub.pem")
/// ```
public enum KeyFiles {
    /// `alice.pem` → `alice.pub.pem`; `alice` → `alice.pub.pem`.
    public static func publicPath(forPrivate path: String) -> String {
        (path.hasSuffix(".pem") ? String(path.dropLast(4)) : path) + ".pub.pem"
    }

    /// Generates a key and writes both files; refuses to replace existing files unless `overwrite`.
    public static func generate(
        _ type: KeyType, privatePath: String, publicPath: String, overwrite: Bool = false
    ) throws -> PublicKey {
        try checkTargets(privatePath: privatePath, publicPath: publicPath, overwrite: overwrite)
        let key = SigningKey.generate(type)
        try writePair(
            privatePEM: Array(key.pkcs8PEM.utf8), publicPEM: Array(key.publicKey.pem.utf8), privatePath: privatePath,
            publicPath: publicPath, overwrite: overwrite)
        return key.publicKey
    }

    /// Refuses paths that are the same, or that exist (unless `overwrite`).
    public static func checkTargets(privatePath: String, publicPath: String, overwrite: Bool) throws {
        guard privatePath != publicPath else {
            throw ReleaseError(.keyPathsEqual, "the private and public key paths are the same", file: privatePath)
        }
        if !overwrite {
            for path in [privatePath, publicPath] where access(path, F_OK) == 0 {
                throw ReleaseError(.fileExists, "\(path) already exists")
            }
        }
    }

    /// Writes a key pair made elsewhere (e.g. an SGX enclave key): private mode 0600, public 0644.
    public static func writePair(
        privatePEM: [UInt8], publicPEM: [UInt8], privatePath: String, publicPath: String, overwrite: Bool
    ) throws {
        try checkTargets(privatePath: privatePath, publicPath: publicPath, overwrite: overwrite)
        // Public first: a failure then leaves no private key without its public half.
        let existing: AtomicOutput.ExistingFile = overwrite ? .replace : .refuse
        try AtomicOutput.write(publicPEM, to: publicPath, mode: 0o644, existing: existing)
        try AtomicOutput.write(privatePEM, to: privatePath, mode: 0o600, existing: existing)
    }
}
