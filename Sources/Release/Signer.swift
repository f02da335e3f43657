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
    ///
    /// `existing` is what the destination file holds already (nil when there is none). Signing never
    /// drops a signature: when the destination carries the same release manifest, its signatures are kept
    /// in order (then any of the input envelope's that it lacks) and this key's is appended; when it
    /// carries another manifest, or is not an envelope of the requested format, nothing is signed and a
    /// ``ReleaseError/Kind/outputExists`` error names the file and the way out.
    public static func sign(
        bytes: [UInt8], format: String, key: SigningKey, output: OutputFormat,
        existing: (bytes: [UInt8], path: String)? = nil
    ) throws -> Result {
        let document = try ReleaseDocument(bytes: bytes, format: format)
        let publicKey = key.publicKey
        var envelope: DSSEEnvelope
        let fromManifest: Bool
        let manifest: ReleaseManifest
        switch document {
        case .manifest(let m):
            envelope = DSSEEnvelope(payload: Statement(manifest: m).payload, payloadType: DSSE.inTotoPayloadType)
            fromManifest = true
            manifest = m
        case .envelope(let e):
            guard e.payloadType == DSSE.inTotoPayloadType else {
                throw ReleaseError(
                    .payloadType, "payloadType '\(e.payloadType)' is not \(DSSE.inTotoPayloadType)", file: format)
            }
            // Sign only what parses as a release: a Statement v1 with a valid manifest.
            manifest = try Statement(payload: e.payload, format: format).manifest
            envelope = e
            fromManifest = false
        case .bundle:
            throw ReleaseError(
                .bundle,
                "a Sigstore bundle holds exactly one signature; sign the DSSE envelope (or the manifest) and make "
                    + "one bundle per signer",
                file: format)
        }
        var signingFile = format
        if let existing {
            envelope = try merge(
                envelope, manifest: manifest, fromManifest: fromManifest, into: existing.bytes, path: existing.path,
                output: output, key: publicKey)
            signingFile = existing.path
        }
        let message = envelope.pae
        if envelope.signatures.contains(where: {
            $0.keyid == publicKey.keyid || publicKey.isValidSignature($0.sig, for: message)
        }) {
            throw ReleaseError(
                .alreadySigned, "this key (keyid \(publicKey.keyid)) already signed the envelope", file: signingFile)
        }
        let sig = try key.sign(message)
        envelope.signatures.append(.init(keyid: publicKey.keyid, sig: sig))
        let out: [UInt8]
        switch output {
        case .dsse: out = envelope.fileBytes
        case .bundle: out = try SigstoreBundle(envelope: envelope).fileBytes
        }
        return Result(envelope: envelope, bytes: out, fromManifest: fromManifest, keyid: publicKey.keyid)
    }

    /// The envelope to sign when the destination `path` already holds `bytes`: the destination's own
    /// payload and signatures (in order), then the input envelope's signatures it lacks. Throws when the
    /// destination carries another release manifest or is not an envelope of the requested format, and,
    /// for a bundle (one signature only), when it is already signed by another key.
    static func merge(
        _ candidate: DSSEEnvelope, manifest: ReleaseManifest, fromManifest: Bool, into bytes: [UInt8], path: String,
        output: OutputFormat, key: PublicKey
    ) throws -> DSSEEnvelope {
        func refuse(_ what: String, _ wayOut: String) -> ReleaseError {
            ReleaseError(.outputExists, "\(what); refusing to replace it (\(wayOut))", file: path)
        }
        let keepIt = "choose another file with --out, or remove \(path) deliberately"
        let document: ReleaseDocument
        do {
            document = try ReleaseDocument(bytes: bytes, format: path)
        } catch {
            throw refuse("already exists and is not a readable envelope or bundle", keepIt)
        }
        let existing: DSSEEnvelope
        switch (document, output) {
        case (.manifest, _):
            throw refuse("already exists and is an unsigned manifest, not an envelope", keepIt)
        case (.envelope(let e), .dsse): existing = e
        case (.bundle(let b), .bundle): existing = b.envelope
        case (.envelope, .bundle):
            throw refuse("already exists and is a DSSE envelope, not a Sigstore bundle", keepIt)
        case (.bundle, .dsse):
            throw refuse("already exists and is a Sigstore bundle, not a DSSE envelope", keepIt)
        }
        let count = existing.signatures.count
        let signatures = "\(count) signature\(count == 1 ? "" : "s")"
        let other: ReleaseManifest?
        if existing.payloadType == candidate.payloadType, existing.payload == candidate.payload {
            other = manifest
        } else if existing.payloadType == DSSE.inTotoPayloadType,
            let statement = try? Statement(payload: existing.payload, format: path)
        {
            other = statement.manifest
        } else {
            other = nil
        }
        // The same manifest bytes: the same payload, or (input a manifest) a Statement whose manifest is
        // this one, which is then signed as it stands.
        let same =
            (existing.payloadType == candidate.payloadType && existing.payload == candidate.payload)
            || (fromManifest && other?.canonicalBytes == manifest.canonicalBytes)
        guard same else {
            let theirs = other.map { "\($0.name) \($0.version)" } ?? "an unreadable release"
            let differs = other.map { "\($0.name) \($0.version)" } == "\(manifest.name) \(manifest.version)"
            throw refuse(
                "holds \(signatures) over another manifest (\(theirs)\(differs ? " with other bytes" : "")) than "
                    + "\(manifest.name) \(manifest.version) being signed",
                "signing would drop its signatures: bump the version and build a new release, choose another file "
                    + "with --out, or remove \(path) deliberately")
        }
        var merged = existing
        let message = existing.pae
        for signature in candidate.signatures where !merged.signatures.contains(where: { $0.sig == signature.sig }) {
            merged.signatures.append(signature)
        }
        if output == .bundle, !merged.signatures.isEmpty,
            !merged.signatures.contains(where: { $0.keyid == key.keyid || key.isValidSignature($0.sig, for: message) })
        {
            throw refuse(
                "is a Sigstore bundle already signed by keyid \(merged.signatures.first?.keyid ?? "(none)") and a bundle "
                    + "holds one signature",
                "write this signer's bundle elsewhere, e.g. --out NAME.SIGNER.sigstore.json, or use --format dsse "
                    + "for one envelope with every signature")
        }
        return merged
    }
}
