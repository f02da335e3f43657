import Crypto
import EnclaveCore
import SwiftASN1
import _CryptoExtras

/// The release-signing key types (<doc:SigningFormats>): Ed25519 (PureEdDSA over the
/// whole PAE), ECDSA P-256 with SHA-256 and ECDSA P-384 with SHA-384, both with ASN.1 DER signatures.
/// Enclave-platform keys (SGX RSA-3072, Nitro PCR8 certificates) are a different thing.
///
/// ```swift
/// KeyType.p384.scheme  // "ecdsa-sha2-nistp384"
/// ```
public enum KeyType: String, Sendable, CaseIterable, Hashable {
    case ed25519
    case p256
    case p384

    /// securesystemslib's `keytype`.
    public var keytype: String {
        switch self {
        case .ed25519: "ed25519"
        case .p256, .p384: "ecdsa"
        }
    }

    /// securesystemslib's `scheme`.
    public var scheme: String {
        switch self {
        case .ed25519: "ed25519"
        case .p256: "ecdsa-sha2-nistp256"
        case .p384: "ecdsa-sha2-nistp384"
        }
    }

    /// Sigstore's `PublicKeyDetails` name.
    public var sigstoreDetails: String {
        switch self {
        case .ed25519: "PKIX_ED25519"
        case .p256: "PKIX_ECDSA_P256_SHA_256"
        case .p384: "PKIX_ECDSA_P384_SHA_384"
        }
    }

    /// For people: "Ed25519", "ECDSA P-256".
    public var displayName: String {
        switch self {
        case .ed25519: "Ed25519"
        case .p256: "ECDSA P-256"
        case .p384: "ECDSA P-384"
        }
    }

    /// The type whose securesystemslib scheme is `scheme`.
    public init?(scheme: String) {
        guard let match = KeyType.allCases.first(where: { $0.scheme == scheme }) else { return nil }
        self = match
    }
}

/// A public key that verifies release signatures, read from PEM SubjectPublicKeyInfo.
///
/// ```swift
/// let key = try PublicKey(pem: Array(pemText.utf8), format: "alice.pub.pem")
/// key.keyid    // securesystemslib keyid, e.g. "74c181c7…"
/// ```
public struct PublicKey: Sendable, Hashable {
    enum Storage: Sendable {
        case ed25519(Curve25519.Signing.PublicKey)
        case p256(P256.Signing.PublicKey)
        case p384(P384.Signing.PublicKey)
    }

    public let type: KeyType
    /// DER SubjectPublicKeyInfo, re-encoded by swift-crypto (so two encodings of one key compare equal).
    public let spki: [UInt8]
    let storage: Storage

    init(storage: Storage) {
        self.storage = storage
        switch storage {
        case .ed25519(let k):
            type = .ed25519
            spki = Array(k.derRepresentation)
        case .p256(let k):
            type = .p256
            spki = Array(k.derRepresentation)
        case .p384(let k):
            type = .p384
            spki = Array(k.derRepresentation)
        }
    }

    /// Reads a PEM `PUBLIC KEY` (SPKI). `expecting` names the type a policy requires, if any.
    public init(pem bytes: [UInt8], format: String, expecting: KeyType? = nil) throws {
        let block = try PEMBlock(parsing: bytes, format: format)
        switch block.label {
        case "PUBLIC KEY": break
        case "RSA PUBLIC KEY":
            throw ReleaseError(.keyType, KeyDER.rsaMessage(expecting: expecting), file: format)
        case "PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY":
            throw ReleaseError(
                .keyType, "this is a private key; a policy lists public keys (KEY.pub.pem, made by keygen)",
                file: format)
        default:
            throw FormatError(
                .badMagic, format: format, offset: 0, "expected a 'PUBLIC KEY' PEM block, found '\(block.label)'")
        }
        let type = try KeyDER.publicKeyType(spki: block.der, format: format, expecting: expecting)
        let text = String(decoding: bytes, as: UTF8.self)
        do {
            switch type {
            case .ed25519: self.init(storage: .ed25519(try Curve25519.Signing.PublicKey(pemRepresentation: text)))
            case .p256: self.init(storage: .p256(try P256.Signing.PublicKey(pemRepresentation: text)))
            case .p384: self.init(storage: .p384(try P384.Signing.PublicKey(pemRepresentation: text)))
            }
        } catch {
            throw FormatError(.badValue, format: format, offset: 0, "the \(type.displayName) public key is not valid")
        }
    }

    /// Reads DER SubjectPublicKeyInfo.
    public init(spki der: [UInt8], format: String, expecting: KeyType? = nil) throws {
        let type = try KeyDER.publicKeyType(spki: der, format: format, expecting: expecting)
        do {
            switch type {
            case .ed25519: self.init(storage: .ed25519(try Curve25519.Signing.PublicKey(derRepresentation: der)))
            case .p256: self.init(storage: .p256(try P256.Signing.PublicKey(derRepresentation: der)))
            case .p384: self.init(storage: .p384(try P384.Signing.PublicKey(derRepresentation: der)))
            }
        } catch {
            throw FormatError(.badValue, format: format, offset: 0, "the \(type.displayName) public key is not valid")
        }
    }

    /// The PEM text securesystemslib and OpenSSL write: 64-character lines and a trailing newline.
    /// swift-crypto's `pemRepresentation` has the lines but not the final newline, which the ECDSA
    /// ``keyid`` hashes, so it is added here.
    public var pem: String {
        switch storage {
        case .ed25519(let k): k.pemRepresentation + "\n"
        case .p256(let k): k.pemRepresentation + "\n"
        case .p384(let k): k.pemRepresentation + "\n"
        }
    }

    /// The key's securesystemslib dictionary value for `keyval.public`: lowercase hex of the raw
    /// 32-byte key for Ed25519, the PEM text (with its trailing newline) for ECDSA.
    public var securesystemslibPublic: String {
        switch storage {
        case .ed25519(let k): Array(k.rawRepresentation).hex
        case .p256, .p384: pem
        }
    }

    /// securesystemslib's canonical key JSON: sorted keys, no whitespace, strings escaping only `\`
    /// and `"` (so the PEM's newlines stay raw 0x0A bytes).
    public var securesystemslibCanonicalJSON: String {
        func quote(_ s: String) -> String {
            var out = "\""
            for c in s.unicodeScalars {
                if c == "\\" || c == "\"" { out += "\\" }
                out.unicodeScalars.append(c)
            }
            return out + "\""
        }
        return "{\"keytype\":\(quote(type.keytype)),\"keyval\":{\"public\":\(quote(securesystemslibPublic))},"
            + "\"scheme\":\(quote(type.scheme))}"
    }

    /// The securesystemslib default keyid: hex SHA-256 of ``securesystemslibCanonicalJSON``. python
    /// in-toto and securesystemslib only try a key whose keyid equals the signature's.
    public var keyid: String { Digest.sha256(Array(securesystemslibCanonicalJSON.utf8)).hex }

    /// True when `signature` is this key's signature over `message` (for ECDSA, DER-encoded, over
    /// SHA-256 of the message for P-256 and SHA-384 for P-384).
    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        switch storage {
        case .ed25519(let k):
            return signature.count == 64 && k.isValidSignature(signature, for: message)
        case .p256(let k):
            guard let sig = try? P256.Signing.ECDSASignature(derRepresentation: signature) else { return false }
            return k.isValidSignature(sig, for: message)
        case .p384(let k):
            guard let sig = try? P384.Signing.ECDSASignature(derRepresentation: signature) else { return false }
            return k.isValidSignature(sig, for: message)
        }
    }

    public static func == (lhs: PublicKey, rhs: PublicKey) -> Bool { lhs.spki == rhs.spki }
    public func hash(into hasher: inout Hasher) { hasher.combine(spki) }
}

/// A private release-signing key. Its bytes never appear in errors, descriptions or output.
///
/// ```swift
/// let key = SigningKey.generate(.ed25519)
/// let sig = try key.sign(pae)
/// ```
public struct SigningKey: Sendable {
    enum Storage: Sendable {
        case ed25519(Curve25519.Signing.PrivateKey)
        case p256(P256.Signing.PrivateKey)
        case p384(P384.Signing.PrivateKey)
    }

    let storage: Storage

    public var type: KeyType {
        switch storage {
        case .ed25519: .ed25519
        case .p256: .p256
        case .p384: .p384
        }
    }

    /// A fresh key from the system's random number generator.
    public static func generate(_ type: KeyType) -> SigningKey {
        switch type {
        case .ed25519: SigningKey(storage: .ed25519(Curve25519.Signing.PrivateKey()))
        case .p256: SigningKey(storage: .p256(P256.Signing.PrivateKey()))
        case .p384: SigningKey(storage: .p384(P384.Signing.PrivateKey()))
        }
    }

    public var publicKey: PublicKey {
        switch storage {
        case .ed25519(let k): PublicKey(storage: .ed25519(k.publicKey))
        case .p256(let k): PublicKey(storage: .p256(k.publicKey))
        case .p384(let k): PublicKey(storage: .p384(k.publicKey))
        }
    }

    /// PKCS#8 `PRIVATE KEY` PEM, with a trailing newline (what `openssl genpkey` writes).
    public var pkcs8PEM: String {
        switch storage {
        case .ed25519(let k): k.pemRepresentation + "\n"
        case .p256(let k): k.pemRepresentation + "\n"
        case .p384(let k): k.pemRepresentation + "\n"
        }
    }

    /// Signs `message`: Ed25519 over the bytes, ECDSA over their SHA-256 (P-256) or SHA-384 (P-384),
    /// ECDSA signatures in ASN.1 DER.
    public func sign(_ message: [UInt8]) throws -> [UInt8] {
        switch storage {
        case .ed25519(let k): return Array(try k.signature(for: message))
        case .p256(let k): return Array(try k.signature(for: message).derRepresentation)
        case .p384(let k): return Array(try k.signature(for: message).derRepresentation)
        }
    }

    /// Reads a PEM private key: PKCS#8 `PRIVATE KEY` (keygen, `openssl genpkey`) or SEC1
    /// `EC PRIVATE KEY` (`openssl ecparam -genkey`). Errors never quote the key.
    public init(pem bytes: [UInt8], format: String, expecting: KeyType? = nil) throws {
        var block = try PEMBlock(parsing: bytes, format: format)
        defer { zeroize(&block.der) }
        let type: KeyType
        switch block.label {
        case "PRIVATE KEY": type = try KeyDER.pkcs8Type(block.der, format: format, expecting: expecting)
        case "EC PRIVATE KEY": type = try KeyDER.sec1Type(block.der, format: format, expecting: expecting)
        case "RSA PRIVATE KEY": throw ReleaseError(.keyType, KeyDER.rsaMessage(expecting: expecting), file: format)
        case "ENCRYPTED PRIVATE KEY":
            throw ReleaseError(
                .keyType, "encrypted private keys are not supported; decrypt it: openssl pkey -in KEY -out PLAIN.pem",
                file: format)
        case "PUBLIC KEY":
            throw ReleaseError(
                .keyType, "this is a public key; signing needs the private key (KEY.pem, not KEY.pub.pem)", file: format
            )
        default:
            throw FormatError(
                .badMagic, format: format, offset: 0, "expected a 'PRIVATE KEY' PEM block, found '\(block.label)'")
        }
        let text = String(decoding: bytes, as: UTF8.self)
        do {
            switch type {
            case .ed25519: storage = .ed25519(try Curve25519.Signing.PrivateKey(pemRepresentation: text))
            case .p256: storage = .p256(try P256.Signing.PrivateKey(pemRepresentation: text))
            case .p384: storage = .p384(try P384.Signing.PrivateKey(pemRepresentation: text))
            }
        } catch {
            throw FormatError(.badValue, format: format, offset: 0, "the \(type.displayName) private key is not valid")
        }
    }

    init(storage: Storage) { self.storage = storage }
}

extension SigningKey: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Names the type and the public keyid only, so printing a key (or an error holding one) never shows it.
    public var description: String { "\(type.displayName) private key (keyid \(publicKey.keyid))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}

/// Overwrites key material held in a Swift array before it is released.
func zeroize(_ bytes: inout [UInt8]) {
    bytes.withUnsafeMutableBytes { buffer in
        guard let base = buffer.baseAddress else { return }
        memset_s_portable(base, buffer.count)
    }
}

@inline(never)
private func memset_s_portable(_ pointer: UnsafeMutableRawPointer, _ count: Int) {
    // A volatile-style loop through an opaque, non-inlined function the optimiser cannot drop.
    let bytes = pointer.assumingMemoryBound(to: UInt8.self)
    for i in 0..<count { bytes[i] = 0 }
}

/// Recognising key algorithms in DER (RFC 5280 SubjectPublicKeyInfo, RFC 5208/5958 PKCS#8, RFC 5915
/// SEC1), so a wrong key type gets a message that names it.
enum KeyDER {
    static let ed25519: ASN1ObjectIdentifier = [1, 3, 101, 112]
    static let ecPublicKey: ASN1ObjectIdentifier = [1, 2, 840, 10045, 2, 1]
    static let p256: ASN1ObjectIdentifier = [1, 2, 840, 10045, 3, 1, 7]
    static let p384: ASN1ObjectIdentifier = [1, 3, 132, 0, 34]
    static let p521: ASN1ObjectIdentifier = [1, 3, 132, 0, 35]
    static let rsa: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 1, 1]
    static let rsaPSS: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 1, 10]
    static let ed448: ASN1ObjectIdentifier = [1, 3, 101, 113]

    static func rsaMessage(expecting: KeyType?) -> String {
        let wanted = expecting.map { "an \($0.displayName) key" } ?? "an Ed25519, ECDSA P-256 or ECDSA P-384 key"
        return "expected \(wanted), found an RSA key (RSA is not a release-signing key type; make one with "
            + "'enclavekit keygen --type p256')"
    }

    static func children(_ node: ASN1Node, _ format: String, _ what: String) throws -> [ASN1Node] {
        guard node.identifier == .sequence, case .constructed(let nodes) = node.content else {
            throw FormatError(.badValue, format: format, offset: 0, "\(what) is not a DER SEQUENCE")
        }
        return Array(nodes)
    }

    static func parse(_ der: [UInt8], _ format: String, _ what: String) throws -> [ASN1Node] {
        let node: ASN1Node
        do {
            node = try DER.parse(der)
        } catch {
            throw FormatError(.badValue, format: format, offset: 0, "\(what) is not valid DER")
        }
        return try children(node, format, what)
    }

    /// The type named by an AlgorithmIdentifier, or a ``ReleaseError`` naming the unsupported one.
    static func algorithm(_ node: ASN1Node, _ format: String, expecting: KeyType?) throws -> KeyType {
        let parts = try children(node, format, "the key's AlgorithmIdentifier")
        guard let first = parts.first, let oid = try? ASN1ObjectIdentifier(derEncoded: first) else {
            throw FormatError(.badValue, format: format, offset: 0, "the key's algorithm is not an object identifier")
        }
        let found: KeyType
        if oid == ed25519 {
            found = .ed25519
        } else if oid == ecPublicKey {
            guard parts.count == 2, let curve = try? ASN1ObjectIdentifier(derEncoded: parts[1]) else {
                throw FormatError(.badValue, format: format, offset: 0, "the ECDSA key names no curve")
            }
            found = try ecCurve(curve, format, expecting: expecting)
        } else if oid == rsa || oid == rsaPSS {
            throw ReleaseError(.keyType, rsaMessage(expecting: expecting), file: format)
        } else if oid == ed448 {
            throw ReleaseError(.keyType, "Ed448 keys are not supported; use ed25519, p256 or p384", file: format)
        } else {
            throw ReleaseError(.keyType, "unsupported key algorithm \(oid); use ed25519, p256 or p384", file: format)
        }
        return try check(found, expecting: expecting, format)
    }

    static func ecCurve(_ curve: ASN1ObjectIdentifier, _ format: String, expecting: KeyType?) throws -> KeyType {
        if curve == p256 { return .p256 }
        if curve == p384 { return .p384 }
        let name = curve == p521 ? "P-521" : "curve \(curve)"
        throw ReleaseError(.keyType, "ECDSA \(name) is not supported; use P-256 or P-384", file: format)
    }

    static func check(_ found: KeyType, expecting: KeyType?, _ format: String) throws -> KeyType {
        if let expecting, expecting != found {
            throw ReleaseError(
                .keyType, "expected an \(expecting.displayName) key, found an \(found.displayName) key", file: format)
        }
        return found
    }

    static func publicKeyType(spki: [UInt8], format: String, expecting: KeyType?) throws -> KeyType {
        let parts = try parse(spki, format, "the SubjectPublicKeyInfo")
        guard parts.count == 2 else {
            throw FormatError(.badValue, format: format, offset: 0, "the SubjectPublicKeyInfo must have 2 fields")
        }
        return try algorithm(parts[0], format, expecting: expecting)
    }

    static func pkcs8Type(_ der: [UInt8], format: String, expecting: KeyType?) throws -> KeyType {
        let parts = try parse(der, format, "the PKCS#8 PrivateKeyInfo")
        guard parts.count >= 3 else {
            throw FormatError(.badValue, format: format, offset: 0, "the PKCS#8 PrivateKeyInfo has too few fields")
        }
        return try algorithm(parts[1], format, expecting: expecting)
    }

    static func sec1Type(_ der: [UInt8], format: String, expecting: KeyType?) throws -> KeyType {
        let parts = try parse(der, format, "the SEC1 ECPrivateKey")
        for part in parts where part.identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific) {
            guard case .constructed(let inner) = part.content, let first = Array(inner).first,
                let curve = try? ASN1ObjectIdentifier(derEncoded: first)
            else { break }
            return try check(try ecCurve(curve, format, expecting: expecting), expecting: expecting, format)
        }
        throw FormatError(.badValue, format: format, offset: 0, "the SEC1 EC private key names no curve")
    }
}
