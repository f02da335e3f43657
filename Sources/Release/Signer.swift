import EnclaveCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

extension SigningKey {
    /// Reads a private key file, refusing one that group or others may read or write (as ssh does).
    ///
    /// ```swift
    /// let key = try SigningKey.load(path: "maintainer.pem")
    /// ```
    public static func load(path: String, expecting: KeyType? = nil) throws -> SigningKey {
        var st = stat()
        guard stat(path, &st) == 0 else { throw SystemError("open the private key", path: path, errno: errno) }
        let mode = st.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            throw ReleaseError(
                .keyPermissions,
                "private key is accessible by group or others (mode \(String(mode, radix: 8))); "
                    + "run 'chmod 600 \(path)' and keep it that way",
                file: path)
        }
        var bytes = try FileInput.contents(of: path, limit: UInt64(PEMBlock.maxBytes), format: "private key")
        defer { zeroize(&bytes) }
        return try SigningKey(pem: bytes, format: path, expecting: expecting)
    }
}

/// Signs release documents: wraps a manifest in an in-toto Statement inside a new DSSE envelope, or
/// appends a signature to an existing envelope (several maintainers sign one release).
///
/// ```swift
/// let result = try ReleaseSigner.sign(bytes: manifestBytes, format: "m.json", key: key, output: .dsse)
/// ```
public enum ReleaseSigner {
    /// What `sign` writes.
    public enum OutputFormat: String, Sendable, CaseIterable {
        /// A DSSE envelope (JSON), any number of signatures.
        case dsse
        /// A Sigstore bundle v0.3 with the DSSE envelope and one signature.
        case bundle
    }

    /// The result of signing.
    public struct Result: Sendable {
        public var envelope: DSSEEnvelope
        /// The bytes to write (envelope or bundle JSON).
        public var bytes: [UInt8]
        /// True when the input was an unsigned manifest.
        public var fromManifest: Bool
        public var keyid: String
    }

    /// Signs `bytes` (a manifest or an envelope) with `key`.
    public static func sign(bytes: [UInt8], format: String, key: SigningKey, output: OutputFormat) throws -> Result {
        let document = try ReleaseDocument(bytes: bytes, format: format)
        let publicKey = key.publicKey
        var envelope: DSSEEnvelope
        let fromManifest: Bool
        switch document {
        case .manifest(let manifest):
            envelope = DSSEEnvelope(payload: Statement(manifest: manifest).payload, payloadType: DSSE.inTotoPayloadType)
            fromManifest = true
        case .envelope(let existing):
            guard existing.payloadType == DSSE.inTotoPayloadType else {
                throw ReleaseError(
                    .payloadType, "payloadType '\(existing.payloadType)' is not \(DSSE.inTotoPayloadType)", file: format
                )
            }
            // Sign only what parses as a release: a Statement v1 with a valid manifest.
            _ = try Statement(payload: existing.payload, format: format)
            let message = existing.pae
            if existing.signatures.contains(where: {
                $0.keyid == publicKey.keyid || publicKey.isValidSignature($0.sig, for: message)
            }) {
                throw ReleaseError(
                    .alreadySigned, "this key (keyid \(publicKey.keyid)) already signed the envelope", file: format)
            }
            envelope = existing
            fromManifest = false
        case .bundle:
            throw ReleaseError(
                .bundle,
                "a Sigstore bundle holds exactly one signature; sign the DSSE envelope (or the manifest) and make "
                    + "one bundle per signer",
                file: format)
        }
        let sig = try key.sign(envelope.pae)
        envelope.signatures.append(.init(keyid: publicKey.keyid, sig: sig))
        let out: [UInt8]
        switch output {
        case .dsse: out = envelope.fileBytes
        case .bundle: out = try SigstoreBundle(envelope: envelope).fileBytes
        }
        return Result(envelope: envelope, bytes: out, fromManifest: fromManifest, keyid: publicKey.keyid)
    }
}
