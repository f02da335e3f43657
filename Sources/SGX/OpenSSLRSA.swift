internal import COpenSSL
import EnclaveCore

/// A failure inside OpenSSL (key parsing, signing, big-number arithmetic), with OpenSSL's error queue
/// drained into the message.
public struct SGXCryptoError: Error, Sendable, CustomStringConvertible {
    public var operation: String
    public var details: [String]

    init(_ operation: String) {
        self.operation = operation
        var details: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            details.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        self.details = details
    }

    public var description: String {
        details.isEmpty
            ? "OpenSSL: \(operation) failed" : "OpenSSL: \(operation) failed: \(details.joined(separator: "; "))"
    }
}

/// An OpenSSL BIGNUM owned by one Swift object.
final class BigNum {
    let pointer: OpaquePointer

    init() throws {
        guard let p = BN_new() else { throw SGXCryptoError("BN_new") }
        pointer = p
    }

    /// From big-endian bytes.
    init(bigEndian bytes: [UInt8]) throws {
        guard let p = bytes.withUnsafeBufferPointer({ BN_bin2bn($0.baseAddress, Int32($0.count), nil) }) else {
            throw SGXCryptoError("BN_bin2bn")
        }
        pointer = p
    }

    /// Takes ownership of `p`.
    init(owning p: OpaquePointer) { pointer = p }

    deinit { BN_clear_free(pointer) }

    var byteCount: Int { Int((BN_num_bits(pointer) + 7) / 8) }

    /// Big-endian bytes, left-padded with zeros to `width` (nil if the number does not fit).
    func bigEndian(width: Int) -> [UInt8]? {
        guard byteCount <= width else { return nil }
        var out = [UInt8](repeating: 0, count: width)
        let written = out.withUnsafeMutableBufferPointer { BN_bn2binpad(pointer, $0.baseAddress, Int32(width)) }
        return written == Int32(width) ? out : nil
    }
}

/// An OpenSSL BN_CTX owned by one Swift object.
final class BigNumContext {
    let pointer: OpaquePointer
    init() throws {
        guard let p = BN_CTX_new() else { throw SGXCryptoError("BN_CTX_new") }
        pointer = p
    }
    deinit { BN_CTX_free(pointer) }
}

/// Big-number helpers for SIGSTRUCT (all inputs and outputs big-endian).
enum SGXBigMath {
    /// EINIT's helpers: q1 = floor(s² / n), q2 = floor((s³ − q1·s·n) / n) = floor(s·(s² mod n) / n).
    static func q1q2(signature: [UInt8], modulus: [UInt8]) throws -> (q1: [UInt8], q2: [UInt8]) {
        let ctx = try BigNumContext()
        let s = try BigNum(bigEndian: signature)
        let n = try BigNum(bigEndian: modulus)
        let square = try BigNum()
        let q1 = try BigNum()
        let r = try BigNum()
        let product = try BigNum()
        let q2 = try BigNum()
        guard BN_mul(square.pointer, s.pointer, s.pointer, ctx.pointer) == 1,
            BN_div(q1.pointer, r.pointer, square.pointer, n.pointer, ctx.pointer) == 1,
            BN_mul(product.pointer, s.pointer, r.pointer, ctx.pointer) == 1,
            BN_div(q2.pointer, nil, product.pointer, n.pointer, ctx.pointer) == 1
        else { throw SGXCryptoError("q1/q2 computation") }
        guard let q1Bytes = q1.bigEndian(width: modulus.count), let q2Bytes = q2.bigEndian(width: modulus.count) else {
            throw SGXCryptoError("q1/q2 do not fit in \(modulus.count) bytes")
        }
        return (q1Bytes, q2Bytes)
    }

    /// s^e mod n as `width` big-endian bytes, or nil when s ≥ n.
    static func publicOperation(signature: [UInt8], modulus: [UInt8], exponent: UInt32) throws -> [UInt8]? {
        let ctx = try BigNumContext()
        let s = try BigNum(bigEndian: signature)
        let n = try BigNum(bigEndian: modulus)
        guard BN_cmp(s.pointer, n.pointer) < 0 else { return nil }
        let e = try BigNum()
        guard BN_set_word(e.pointer, numericCast(exponent)) == 1 else { throw SGXCryptoError("BN_set_word") }
        let m = try BigNum()
        guard BN_mod_exp(m.pointer, s.pointer, e.pointer, n.pointer, ctx.pointer) == 1 else {
            throw SGXCryptoError("BN_mod_exp")
        }
        return m.bigEndian(width: modulus.count)
    }

    /// EMSA-PKCS1-v1_5 encoding of SHA-256(message) for a 384-byte modulus (RFC 8017 §9.2).
    static func pkcs1SHA256Encoding(_ message: [UInt8], width: Int = 384) -> [UInt8] {
        let digestInfo: [UInt8] = [
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
            0x04, 0x20,
        ]
        let t = digestInfo + Digest.sha256(message)
        return [0x00, 0x01] + [UInt8](repeating: 0xff, count: width - t.count - 3) + [0x00] + t
    }
}

/// An RSA-3072 key with public exponent 3, the only kind SGX accepts for SIGSTRUCT (Intel SDM Vol. 3D
/// §38.13). One object owns one OpenSSL `EVP_PKEY`, freed in `deinit`.
///
/// ```swift
/// let key = try SGXRSAKey(pem: FileInput.contents(of: "key.pem"))
/// let signatureBE = try key.sign(message)
/// ```
public final class SGXRSAKey: @unchecked Sendable {
    // @unchecked: the EVP_PKEY is never mutated after init; OpenSSL allows concurrent use of a const key.
    private let pkey: OpaquePointer
    public let isPrivate: Bool
    /// The modulus n, big-endian, 384 bytes.
    public let modulus: [UInt8]
    public let exponent: UInt32

    public static let modulusSize = 384

    /// Loads a PEM private key (PKCS#1 or PKCS#8) or, failing that, a PEM public key (SubjectPublicKeyInfo,
    /// "BEGIN PUBLIC KEY"). Throws a `FormatError` unless it is RSA with a 3072-bit modulus and e = 3.
    public init(pem: [UInt8], source: String = "key") throws {
        func load(_ body: (OpaquePointer) -> OpaquePointer?) -> OpaquePointer? {
            pem.withUnsafeBytes { buffer -> OpaquePointer? in
                guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else { return nil }
                defer { BIO_free(bio) }
                return body(bio)
            }
        }
        var isPrivate = true
        // A password callback that refuses: without it OpenSSL would prompt on the terminal for an encrypted key.
        var key = load { PEM_read_bio_PrivateKey($0, nil, { _, _, _, _ in 0 }, nil) }
        if key == nil {
            ERR_clear_error()
            isPrivate = false
            key = load { PEM_read_bio_PUBKEY($0, nil, { _, _, _, _ in 0 }, nil) }
        }
        guard let pkey = key else {
            let crypto = SGXCryptoError("PEM parsing")
            throw FormatError(
                .badValue, format: "PEM", offset: nil,
                "\(source) is not an unencrypted PEM RSA private or public key "
                    + "(\(crypto.details.first ?? "no PEM block found"); decrypt one with `openssl pkey -in K -out K2`)"
            )
        }
        guard EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA else {
            EVP_PKEY_free(pkey)
            throw FormatError(
                .unsupported, format: "PEM", offset: nil, "\(source) is not an RSA key; SGX needs RSA-3072 with e = 3")
        }
        var n: OpaquePointer?
        var e: OpaquePointer?
        guard EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) == 1, let n,
            EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) == 1, let e
        else {
            EVP_PKEY_free(pkey)
            throw SGXCryptoError("reading the RSA modulus and exponent")
        }
        let nOwner = BigNum(owning: n)
        let eOwner = BigNum(owning: e)
        let bits = BN_num_bits(nOwner.pointer)
        let eValue = BN_get_word(eOwner.pointer)
        guard bits == 3072, eValue == 3, let modulus = nOwner.bigEndian(width: Self.modulusSize) else {
            EVP_PKEY_free(pkey)
            throw FormatError(
                .unsupported, format: "PEM", offset: nil,
                "\(source) is a \(bits)-bit RSA key with e = \(eValue); SGX needs a 3072-bit key with e = 3 "
                    + "(create one with `enclavekit keygen --type sgx-rsa3072` or `openssl genrsa -3 3072`)")
        }
        self.pkey = pkey
        self.isPrivate = isPrivate
        self.modulus = modulus
        self.exponent = 3
    }

    private init(owning pkey: OpaquePointer, modulus: [UInt8]) {
        self.pkey = pkey
        self.isPrivate = true
        self.modulus = modulus
        self.exponent = 3
    }

    deinit { EVP_PKEY_free(pkey) }

    /// RSASSA-PKCS1-v1_5 with SHA-256 over `message`; the signature is big-endian, 384 bytes.
    public func sign(_ message: [UInt8]) throws -> [UInt8] {
        guard isPrivate else {
            throw SGXError.publicKeyOnly
        }
        guard let ctx = EVP_MD_CTX_new() else { throw SGXCryptoError("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(ctx) }
        guard EVP_DigestSignInit(ctx, nil, EVP_sha256(), nil, pkey) == 1 else {
            throw SGXCryptoError("EVP_DigestSignInit")
        }
        var length = Self.modulusSize
        var signature = [UInt8](repeating: 0, count: length)
        let ok = message.withUnsafeBufferPointer { m in
            EVP_DigestSign(ctx, &signature, &length, m.baseAddress, m.count)
        }
        guard ok == 1 else { throw SGXCryptoError("EVP_DigestSign") }
        guard length == Self.modulusSize else { throw SGXCryptoError("RSA signature of \(length) bytes") }
        return signature
    }

    /// The public key as PEM (SubjectPublicKeyInfo).
    public func publicKeyPEM() throws -> [UInt8] {
        try withMemoryBIO { PEM_write_bio_PUBKEY($0, pkey) == 1 }
    }

    /// The private key as unencrypted PKCS#8 PEM ("BEGIN PRIVATE KEY").
    public func privateKeyPEM() throws -> [UInt8] {
        guard isPrivate else { throw SGXError.publicKeyOnly }
        return try withMemoryBIO { PEM_write_bio_PrivateKey($0, pkey, nil, nil, 0, nil, nil) == 1 }
    }

    private func withMemoryBIO(_ write: (OpaquePointer) -> Bool) throws -> [UInt8] {
        guard let bio = BIO_new(BIO_s_mem()) else { throw SGXCryptoError("BIO_new") }
        defer { BIO_free(bio) }
        guard write(bio) else { throw SGXCryptoError("PEM writing") }
        let pending = Int(BIO_ctrl_pending(bio))
        var out = [UInt8](repeating: 0, count: pending)
        let n = out.withUnsafeMutableBytes { BIO_read(bio, $0.baseAddress, Int32(pending)) }
        guard n == Int32(pending) else { throw SGXCryptoError("BIO_read") }
        // Zero the BIO's copy of the key bytes before it is freed.
        _ = BIO_ctrl(bio, BIO_CTRL_RESET, 0, nil)
        return out
    }

    /// A new RSA-3072, e = 3 key.
    public static func generate() throws -> SGXRSAKey {
        guard let ctx = EVP_PKEY_CTX_new_from_name(nil, "RSA", nil) else {
            throw SGXCryptoError("EVP_PKEY_CTX_new_from_name")
        }
        defer { EVP_PKEY_CTX_free(ctx) }
        let e = try BigNum()
        guard BN_set_word(e.pointer, 3) == 1, EVP_PKEY_keygen_init(ctx) == 1,
            EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 3072) == 1,
            EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, e.pointer) == 1
        else { throw SGXCryptoError("RSA key generation setup") }
        var pkey: OpaquePointer?
        guard EVP_PKEY_generate(ctx, &pkey) == 1, let pkey else { throw SGXCryptoError("EVP_PKEY_generate") }
        var n: OpaquePointer?
        guard EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) == 1, let n,
            let modulus = BigNum(owning: n).bigEndian(width: modulusSize)
        else {
            EVP_PKEY_free(pkey)
            throw SGXCryptoError("reading the generated modulus")
        }
        return SGXRSAKey(owning: pkey, modulus: modulus)
    }
}

/// Creates signing keys for SGX enclaves (`enclavekit keygen --type sgx-rsa3072`).
///
/// ```swift
/// let pem = try SGXSigningKey.generate()   // PKCS#8 PEM of an RSA-3072, e = 3 key
/// ```
public enum SGXSigningKey {
    /// A fresh RSA-3072 key with e = 3, as unencrypted PKCS#8 PEM bytes.
    public static func generate() throws -> [UInt8] { try SGXRSAKey.generate().privateKeyPEM() }

    /// MRSIGNER of a key: SHA-256 of its modulus in little-endian byte order (the SIGSTRUCT layout).
    public static func mrsigner(of key: SGXRSAKey) -> [UInt8] { Digest.sha256(key.modulus.reversed()) }
}
