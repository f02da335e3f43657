/// A TDX measurement request that cannot be done: a QEMU version that is not `MAJOR.MINOR[.PATCH]`, or one
/// with no TDX support. The cases carry the value given and name no command-line option; the CLI adds the
/// hint.
///
/// ```swift
/// throw TDXError.invalidQEMUVersion("9")
/// ```
public enum TDXError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A QEMU version not written `MAJOR.MINOR[.PATCH]`.
    case invalidQEMUVersion(String)
    /// A QEMU version before 8.0, which has no TDX support.
    case noTDXSupport(QEMUVersion)

    public var description: String {
        switch self {
        case .invalidQEMUVersion(let text): "invalid QEMU version \"\(text)\""
        case .noTDXSupport(let version): "QEMU \(version) has no TDX support"
        }
    }
}
