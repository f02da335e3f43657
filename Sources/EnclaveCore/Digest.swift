internal import COpenSSL

/// The hash functions EnclaveKit measures with.
public enum HashAlgorithm: String, Sendable, CaseIterable, Codable {
    case sha256, sha384, sha512

    public var digestSize: Int {
        switch self {
        case .sha256: 32
        case .sha384: 48
        case .sha512: 64
        }
    }

    /// The algorithm's implementation, fetched from OpenSSL's default provider once per process.
    /// Initialising a context with `EVP_sha384()` instead makes OpenSSL 3 look the implementation up
    /// again on every init (about 2 µs): a millisecond over the hundreds of 112-byte PAGE_INFOs of an SNP
    /// launch digest.
    fileprivate var evp: OpaquePointer? {
        switch self {
        case .sha256: FetchedDigests.sha256
        case .sha384: FetchedDigests.sha384
        case .sha512: FetchedDigests.sha512
        }
    }
}

/// The fetched `EVP_MD`s, never freed: one reference each for the life of the process.
private enum FetchedDigests {
    // nonisolated(unsafe): each is written once by Swift's thread-safe lazy global initialisation and only
    // read afterwards; a fetched EVP_MD is immutable and may be used from any thread.
    nonisolated(unsafe) static let sha256 = fetch("SHA256", fallback: EVP_sha256())
    nonisolated(unsafe) static let sha384 = fetch("SHA384", fallback: EVP_sha384())
    nonisolated(unsafe) static let sha512 = fetch("SHA512", fallback: EVP_sha512())

    private static func fetch(_ name: String, fallback: OpaquePointer?) -> OpaquePointer? {
        EVP_MD_fetch(nil, name, nil) ?? fallback
    }
}

/// A streaming SHA-2 hash through OpenSSL's EVP interface. One object owns one `EVP_MD_CTX` and frees
/// it in `deinit`. `copy()` forks the running state, so two digests that share a prefix (PCR0 and
/// PCR1 of an EIF) hash the prefix once.
///
/// ```swift
/// let h = Digest(.sha384)
/// h.update(kernelBytes)
/// let pcr1Hash = h.copy().finalize()
/// ```
/// Not thread-safe: use one object per thread (it is `Sendable` only so it can be handed over).
public final class Digest: @unchecked Sendable {
    // @unchecked: the context is owned exclusively by this object and never shared between threads
    // at the same time; callers hand a Digest from one thread to another, they do not share it.
    public let algorithm: HashAlgorithm
    private let ctx: OpaquePointer

    public init(_ algorithm: HashAlgorithm) {
        guard let ctx = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new: out of memory") }
        guard EVP_DigestInit_ex(ctx, algorithm.evp, nil) == 1 else { fatalError("EVP_DigestInit_ex failed") }
        self.algorithm = algorithm
        self.ctx = ctx
    }

    private init(copying other: Digest) {
        guard let ctx = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new: out of memory") }
        guard EVP_MD_CTX_copy_ex(ctx, other.ctx) == 1 else { fatalError("EVP_MD_CTX_copy_ex failed") }
        self.algorithm = other.algorithm
        self.ctx = ctx
    }

    deinit { EVP_MD_CTX_free(ctx) }

    public func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    public func update(_ buffer: UnsafeRawBufferPointer) {
        guard buffer.count > 0, let base = buffer.baseAddress else { return }
        guard EVP_DigestUpdate(ctx, base, buffer.count) == 1 else { fatalError("EVP_DigestUpdate failed") }
    }

    public func update<S: Sequence>(contentsOf bytes: S) where S.Element == UInt8 {
        update(Array(bytes))
    }

    /// A new object with the same running state.
    public func copy() -> Digest { Digest(copying: self) }

    /// Finishes the hash. The object must not be updated afterwards.
    public func finalize() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        guard EVP_DigestFinal_ex(ctx, &out, &length) == 1 else { fatalError("EVP_DigestFinal_ex failed") }
        return Array(out.prefix(Int(length)))
    }

    public static func hash(_ algorithm: HashAlgorithm, _ bytes: [UInt8]) -> [UInt8] {
        let d = Digest(algorithm)
        d.update(bytes)
        return d.finalize()
    }

    public static func sha256(_ bytes: [UInt8]) -> [UInt8] { hash(.sha256, bytes) }
    public static func sha384(_ bytes: [UInt8]) -> [UInt8] { hash(.sha384, bytes) }
    public static func sha512(_ bytes: [UInt8]) -> [UInt8] { hash(.sha512, bytes) }

    /// SHA-2 of `string`'s UTF-8 bytes.
    public static func hash(_ algorithm: HashAlgorithm, utf8 string: String) -> [UInt8] {
        hash(algorithm, Array(string.utf8))
    }
}
