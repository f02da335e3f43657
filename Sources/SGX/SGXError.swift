/// A request the SGX library cannot carry out, with the facts (the value, what was expected); the
/// command line adds what to type instead. Malformed bytes are `FormatError`s.
///
/// ```swift
/// throw SGXError.heapSizeNotPageMultiple(100)
/// ```
public enum SGXError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The enclave heap must be whole 4096-byte pages.
    case heapSizeNotPageMultiple(UInt64)
    /// An SGXS stream was asked for from an input that already is one.
    case sgxsOutputFromSGXS
    /// Signing, or writing the private key, needs a private key and this is a public key.
    case publicKeyOnly

    public var description: String {
        switch self {
        case .heapSizeNotPageMultiple(let size): "heap size \(size) is not a multiple of 4096"
        case .sgxsOutputFromSGXS: "an SGXS stream is wanted from an SGXS input, which already is one"
        case .publicKeyOnly: "signing needs a private key, this is a public key"
        }
    }
}
