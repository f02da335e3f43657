import ArgumentParser
import EnclaveCore
import Release
import SGX

struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Create a release-signing key pair (PKCS#8 private key, mode 0600, and KEY.pub.pem).",
        discussion: """
            Writes the private key as PKCS#8 PEM with mode 0600 and the public key as SubjectPublicKeyInfo \
            PEM next to it (KEY.pem -> KEY.pub.pem). Put the .pub.pem in the release policy; keep the \
            private key to yourself. Keys made by 'openssl genpkey' work as well. Existing files are never \
            overwritten unless --force is given. The key itself is never printed.

            Types: ed25519 (Ed25519), p256 (ECDSA P-256, SHA-256), p384 (ECDSA P-384, SHA-384).

            \(ReleaseExit.signHelp)

            Examples:
              enclavekit keygen --type ed25519 --out alice.pem
              enclavekit keygen --type p256 --out bob.pem --json
              openssl genpkey -algorithm ed25519 -out carol.pem && chmod 600 carol.pem
            """)

    /// Key types `keygen` makes. Release-signing types map to ``Release/KeyType``; platform key types
    /// (an SGX `sgx-rsa3072` enclave key) get their own case and call their own module.
    enum KeyKind: String, ExpressibleByArgument, CaseIterable {
        case ed25519
        case p256
        case p384
        case sgxRSA3072 = "sgx-rsa3072"
    }

    @Option(help: "Key type: \(KeyKind.allCases.map(\.rawValue).joined(separator: ", ")).")
    var type: KeyKind

    @Option(help: "Private key file to write (the public key goes to the same name with .pub.pem).")
    var out: String

    @Flag(help: "Overwrite existing key files.")
    var force = false

    @OptionGroup var jsonOutput: JSONOutputOption
    var json: Bool { jsonOutput.json }

    var publicPath: String { KeyFiles.publicPath(forPrivate: out) }

    func validate() throws {
        guard !out.isEmpty else { throw ValidationError("--out must name a file") }
    }

    func run() throws {
        let summary: [(String, JSONValue)]
        switch type {
        case .ed25519, .p256, .p384:
            let keyType = KeyType(rawValue: type.rawValue) ?? .ed25519
            let key = try KeyFiles.generate(keyType, privatePath: out, publicPath: publicPath, overwrite: force)
            summary = [
                ("type", .string(type.rawValue)), ("scheme", .string(key.type.scheme)), ("keyid", .string(key.keyid)),
                ("privateKey", .string(out)), ("publicKey", .string(publicPath)),
            ]
        case .sgxRSA3072:
            // An SGX enclave-signing key (RSA-3072, e = 3): a platform key, not a release-signing key.
            try KeyFiles.checkTargets(privatePath: out, publicPath: publicPath, overwrite: force)
            let key = try SGXRSAKey.generate()
            try KeyFiles.writePair(
                privatePEM: try key.privateKeyPEM(), publicPEM: try key.publicKeyPEM(), privatePath: out,
                publicPath: publicPath, overwrite: force)
            summary = [
                ("type", .string(type.rawValue)), ("mrsigner", .string(SGXSigningKey.mrsigner(of: key).hex)),
                ("privateKey", .string(out)), ("publicKey", .string(publicPath)),
            ]
        }
        if json {
            Output.json(.object(summary))
        } else {
            print("wrote \(out) (private, mode 0600) and \(publicPath) (public)")
            Output.table(summary.compactMap { k, v in v.stringValue.map { (k, $0) } })
        }
    }
}
