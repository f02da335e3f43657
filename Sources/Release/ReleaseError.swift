/// A release that does not verify, or a signing request that cannot be done: a bad signature, an
/// untrusted or repeated key, a threshold not met, a Statement or manifest that breaks its schema, an
/// artifact or measurement that does not match, a key of the wrong type or with unsafe permissions.
///
/// Parsing errors in bytes (JSON, base64, PEM, DER) are `FormatError`s instead; this type is for
/// inputs that parse but are not acceptable. `description` is the one line the CLI prints.
///
/// ```swift
/// throw ReleaseError(.thresholdNotMet, "1 trusted key signed, 2 required")
/// ```
public struct ReleaseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, coarse enough for tests and scripts to match on.
    public enum Kind: String, Sendable, Hashable {
        /// Not enough distinct trusted keys produced valid signatures.
        case thresholdNotMet
        /// The envelope's payloadType is not one EnclaveKit accepts.
        case payloadType
        /// The payload is not a valid in-toto Statement v1 carrying a release manifest.
        case statement
        /// The release manifest breaks schema v1.
        case manifest
        /// The manifest's `schemaVersion` is not one this EnclaveKit reads.
        case schemaVersion
        /// The policy file is not valid.
        case policy
        /// An artifact's digest matches no subject of the Statement.
        case artifactMismatch
        /// A measurement differs from the one the caller expected.
        case measurementMismatch
        /// A key of a type EnclaveKit does not sign with (RSA, another curve), or not the type expected.
        case keyType
        /// A private key file readable by group or others.
        case keyPermissions
        /// The key already signed this envelope.
        case alreadySigned
        /// A Sigstore bundle that breaks the bundle rules (one signature, key hint).
        case bundle
        /// The output file exists and holds something signing must not replace (another manifest's
        /// envelope, a manifest, another signer's bundle).
        case outputExists
        /// Too few trusted rebuilders reproduced the release, or one reports a mismatch.
        case rebuilderQuorum
        /// An output file (a key, a policy) exists and replacing it was not allowed.
        case fileExists
        /// A reproduction attestation exists where a new one would go; attestations are never replaced.
        case attestationExists
        /// The private and public key files would be the same file.
        case keyPathsEqual
        /// A release directory that is not a directory, or holds no signed release.
        case releaseDirectory
        /// A key to trust written other than `NAME=PUBLIC-KEY-FILE`; the message quotes it.
        case keySpec
        /// A policy asked for with no key to trust.
        case noKeys
        /// An expected measurement written other than `[TARGET.]REGISTER=HEX`; the message quotes it.
        case expectation
        /// Nothing to verify: no envelope was given.
        case noEnvelope
        /// Reproduction attestations given for a policy that has no `rebuilders` section.
        case noRebuilders
    }

    public var kind: Kind
    public var message: String
    /// The file the problem is in, when one is known.
    public var file: String?

    public init(_ kind: Kind, _ message: String, file: String? = nil) {
        self.kind = kind
        self.message = message
        self.file = file
    }

    /// The same error, attributed to `file` unless a file is already named.
    public func `in`(file: String) -> ReleaseError {
        var copy = self
        if copy.file == nil { copy.file = file }
        return copy
    }

    public var description: String {
        if let file { return "\(file): \(message)" }
        return message
    }

    public static func == (lhs: ReleaseError, rhs: ReleaseError) -> Bool { lhs.kind == rhs.kind }
    public func hash(into hasher: inout Hasher) { hasher.combine(kind) }
}
