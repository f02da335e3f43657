/// A Nitro image request that cannot be done: an EIF with no ramdisk, a command line with a NUL, an input
/// that cannot be opened, a signing key or certificate that is not usable or that do not belong together.
///
/// Faults in the bytes of an EIF or a signature section are `FormatError`s instead. The cases carry facts
/// (the path, the role of the file) and name no command-line option; the CLI adds the hint.
///
/// ```swift
/// throw NitroError.certificateMismatch(keyPath: "key.pem")
/// ```
public enum NitroError: Error, Sendable, Hashable, CustomStringConvertible {
    /// An EIF needs at least one ramdisk.
    case noRamdisk
    /// The kernel command line contains a NUL byte.
    case nulInCommandLine
    /// An input (`role`: "kernel", "ramdisk") that cannot be opened; `reason` is the error's text.
    case unreadableInput(role: String, reason: String)
    /// A private key file that is not UTF-8 PEM text.
    case notPEM(path: String)
    /// A signing certificate that does not parse; `reason` says why.
    case certificate(reason: String)
    /// The signing certificate's public key is not the private key's.
    case certificateMismatch(keyPath: String)
    /// A private key that is not EC P-256, P-384 or P-521.
    case keyType(path: String)

    public var description: String {
        switch self {
        case .noRamdisk: "an EIF needs at least one ramdisk"
        case .nulInCommandLine: "the command line contains a NUL byte"
        case .unreadableInput(let role, let reason): "\(role): \(reason)"
        case .notPEM(let path): "\(path): not a PEM file"
        case .certificate(let reason): "signing certificate: \(reason)"
        case .certificateMismatch(let keyPath): "the signing certificate does not belong to \(keyPath)"
        case .keyType(let path): "\(path): not an EC P-256, P-384 or P-521 private key"
        }
    }
}
