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
        guard privatePath != publicPath else {
            throw UsageError("the private and public key paths are the same", hint: "name the private key KEY.pem")
        }
        if !overwrite {
            for path in [privatePath, publicPath] where access(path, F_OK) == 0 {
                throw UsageError("\(path) already exists", hint: "choose another --out, or pass --force to replace it")
            }
        }
        let key = SigningKey.generate(type)
        let publicKey = key.publicKey
        // Public first: a failure then leaves no private key without its public half.
        try AtomicOutput.write(Array(publicKey.pem.utf8), to: publicPath, mode: 0o644)
        try AtomicOutput.write(Array(key.pkcs8PEM.utf8), to: privatePath, mode: 0o600)
        return publicKey
    }
}
