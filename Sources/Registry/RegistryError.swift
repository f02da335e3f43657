import EnclaveCore

/// A failure talking to an OCI registry or storing what it sent: names the image reference, the blob or
/// manifest digest concerned and what was expected, and says how to fix it when there is a fix.
///
/// ```swift
/// throw RegistryError(.digestMismatch, reference: "127.0.0.1:5000/app:1", digest: d,
///                     "received bytes with sha256:… (expected the digest)")
/// ```
public struct RegistryError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        /// The reference does not parse (`HOST[:PORT]/REPO[:TAG|@sha256:HEX]`).
        case reference
        /// Connection refused, reset or dropped, a timeout, or a body cut short, after the retries.
        case transport
        /// The registry answered with an unexpected HTTP status.
        case http
        /// The registry refused the credentials, or the token service failed.
        case authentication
        /// Bytes whose sha256 is not the digest they were asked for.
        case digestMismatch
        /// A body longer or shorter than its descriptor's size.
        case sizeMismatch
        /// A manifest refers to a blob or manifest the registry does not have.
        case missing
        /// A manifest or index that is not what this tool writes or reads.
        case manifest
        /// The tag was moved to another manifest while (or since) it was read.
        case tagMoved
        /// The local release directory or destination is not usable.
        case destination
        /// Plain HTTP to a host that is not a loopback address, or a similar refusal.
        case insecure
    }

    public var kind: Kind
    /// The image reference (`HOST/REPO:TAG` or `HOST/REPO@DIGEST`).
    public var reference: String
    /// The blob or manifest digest concerned, if any.
    public var digest: String?
    public var message: String
    public var hint: String?

    public init(_ kind: Kind, reference: String, digest: String? = nil, _ message: String, hint: String? = nil) {
        self.kind = kind
        self.reference = reference
        self.digest = digest
        self.message = message
        self.hint = hint
    }

    public var description: String {
        var text = reference
        if let digest { text += " (\(digest))" }
        text += ": " + message
        if let hint { text += "; " + hint }
        return text
    }
}
