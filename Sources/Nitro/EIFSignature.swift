import Crypto
import EnclaveCore
import FoundationEssentials
import SwiftASN1
import X509

/// The EIF signature section (<doc:SignatureSection>): serde_cbor of
/// `Vec<PcrSignature { signing_certificate: Vec<u8>, signature: Vec<u8> }>` — byte vectors as CBOR
/// arrays of uints — holding the signing certificate's PEM file bytes and an untagged COSE_Sign1 whose
/// payload is `{"register_index": 0, "register_value": [PCR0 bytes as uints]}`.
///
/// ```swift
/// let section = try EIFSignature.sign(pcr0: pcr0, privateKeyPEM: key, certificatePEM: cert)
/// try section.verify(expectedPCR0: pcr0)
/// ```
public struct EIFSignature: Sendable {
    /// The certificate exactly as stored (the PEM file's bytes).
    public let certificatePEM: [UInt8]
    /// The COSE_Sign1 bytes exactly as stored.
    public let coseSign1: [UInt8]

    static let format = "EIF signature"

    public init(certificatePEM: [UInt8], coseSign1: [UInt8]) {
        self.certificatePEM = certificatePEM
        self.coseSign1 = coseSign1
    }

    /// The section bytes.
    public func encoded() -> [UInt8] {
        CBOR.array([
            .map([
                (.text("signing_certificate"), .uintArray(certificatePEM)),
                (.text("signature"), .uintArray(coseSign1)),
            ])
        ]).encoded()
    }

    /// Parses a signature section; only the first entry is used, as nitro-cli does.
    public static func decode(_ bytes: [UInt8], baseOffset: UInt64 = 0) throws(FormatError) -> EIFSignature {
        let item = try CBORDecoder().decode(bytes, baseOffset: baseOffset)
        guard let entries = item.arrayValue, let first = entries.first else {
            throw FormatError(
                .badValue, format: format, offset: baseOffset, "expected a non-empty CBOR array of signatures")
        }
        guard let cert = first["signing_certificate"]?.uintArrayBytes, let cose = first["signature"]?.uintArrayBytes
        else {
            throw FormatError(
                .badValue, format: format, offset: baseOffset,
                "expected a map with \"signing_certificate\" and \"signature\" byte arrays")
        }
        return EIFSignature(certificatePEM: cert, coseSign1: cose)
    }

    /// DER of the first certificate in the stored PEM (what PCR8 measures).
    public func certificateDER() throws(FormatError) -> [UInt8] {
        try Self.firstCertificateDER(pem: certificatePEM)
    }

    public func certificate() throws(FormatError) -> Certificate {
        let der = try certificateDER()
        do {
            return try Certificate(derEncoded: der)
        } catch {
            throw FormatError(
                .badValue, format: Self.format, offset: nil, "the signing certificate is not valid X.509: \(error)")
        }
    }

    public static func firstCertificateDER(pem: [UInt8]) throws(FormatError) -> [UInt8] {
        guard let text = String(validating: pem, as: UTF8.self),
            let docs = try? PEMDocument.parseMultiple(pemString: text),
            let cert = docs.first(where: { $0.discriminator == "CERTIFICATE" })
        else {
            throw FormatError(
                .badValue, format: format, offset: nil, "no PEM \"CERTIFICATE\" block in the signing certificate")
        }
        return cert.derBytes
    }

    // MARK: COSE_Sign1

    /// The decoded COSE_Sign1 structure.
    public struct COSESign1: Sendable {
        public var protectedHeader: [UInt8]
        public var payload: [UInt8]
        public var signature: [UInt8]
        /// The `alg` value of the protected header (-7 ES256, -35 ES384, -36 ES512).
        public var algorithm: Int64
    }

    public func decodeCOSE() throws(FormatError) -> COSESign1 {
        var item = try CBORDecoder().decode(coseSign1)
        if case .tagged(18, let inner) = item { item = inner }
        guard let parts = item.arrayValue, parts.count == 4, let protected = parts[0].byteString,
            let payload = parts[2].byteString, let signature = parts[3].byteString
        else {
            throw FormatError(
                .badValue, format: "COSE_Sign1", offset: 0,
                "expected [protected bstr, unprotected map, payload bstr, signature bstr]")
        }
        let header = try CBORDecoder().decode(protected)
        guard case .map(let pairs) = header, let alg = pairs.first(where: { $0.0 == .unsigned(1) })?.1 else {
            throw FormatError(.badValue, format: "COSE_Sign1", offset: 0, "protected header has no alg (label 1)")
        }
        let algorithm: Int64
        switch alg {
        case .negative(let n) where n < UInt64(Int64.max): algorithm = -1 - Int64(n)
        case .unsigned(let n) where n < UInt64(Int64.max): algorithm = Int64(n)
        default: throw FormatError(.badValue, format: "COSE_Sign1", offset: 0, "alg is not an integer")
        }
        return COSESign1(protectedHeader: protected, payload: payload, signature: signature, algorithm: algorithm)
    }

    /// The payload nitro-cli signs and compares: `{"register_index": 0, "register_value": PCR0}`.
    public static func payload(pcr0: [UInt8]) -> [UInt8] {
        CBOR.map([(.text("register_index"), .unsigned(0)), (.text("register_value"), .uintArray(pcr0))]).encoded()
    }

    static func sigStructure(protected: [UInt8], payload: [UInt8]) -> [UInt8] {
        CBOR.array([.text("Signature1"), .bytes(protected), .bytes([]), .bytes(payload)]).encoded()
    }

    /// What checking the signature found.
    public struct Check: Sendable, Equatable {
        /// The COSE signature verifies with the certificate's public key.
        public var signatureValid: Bool
        /// The signed payload names PCR0 of this image (nitro-cli's `SignatureCheck`).
        public var payloadMatchesPCR0: Bool
    }

    /// Verifies the COSE signature with the certificate's key and compares the payload with `pcr0`.
    public func verify(expectedPCR0 pcr0: [UInt8]) throws(FormatError) -> Check {
        let cose = try decodeCOSE()
        let cert = try certificate()
        let message = Self.sigStructure(protected: cose.protectedHeader, payload: cose.payload)
        let valid: Bool
        switch cose.algorithm {
        case -7:
            valid = Self.verify(
                cert, { P256.Signing.PublicKey($0) }, { try P256.Signing.ECDSASignature(rawRepresentation: $0) },
                cose.signature, message)
        case -35:
            valid = Self.verify(
                cert, { P384.Signing.PublicKey($0) }, { try P384.Signing.ECDSASignature(rawRepresentation: $0) },
                cose.signature, message)
        case -36:
            valid = Self.verify(
                cert, { P521.Signing.PublicKey($0) }, { try P521.Signing.ECDSASignature(rawRepresentation: $0) },
                cose.signature, message)
        default:
            throw FormatError(
                .unsupported, format: "COSE_Sign1", offset: 0,
                "algorithm \(cose.algorithm), expected ES256, ES384 or ES512")
        }
        return Check(signatureValid: valid, payloadMatchesPCR0: cose.payload == Self.payload(pcr0: pcr0))
    }

    private static func verify<K: ECDSAVerifier>(
        _ cert: Certificate, _ makeKey: (Certificate.PublicKey) -> K?,
        _ makeSignature: (Data) throws -> K.Signature, _ raw: [UInt8], _ message: [UInt8]
    ) -> Bool {
        guard let key = makeKey(cert.publicKey), let sig = try? makeSignature(Data(raw)) else { return false }
        return key.isValid(sig, for: message)
    }
}

/// The three swift-crypto ECDSA public key types, behind one shape.
protocol ECDSAVerifier {
    associatedtype Signature
    func isValid(_ signature: Signature, for data: [UInt8]) -> Bool
}

extension P256.Signing.PublicKey: ECDSAVerifier {
    func isValid(_ signature: P256.Signing.ECDSASignature, for data: [UInt8]) -> Bool {
        isValidSignature(signature, for: data)
    }
}
extension P384.Signing.PublicKey: ECDSAVerifier {
    func isValid(_ signature: P384.Signing.ECDSASignature, for data: [UInt8]) -> Bool {
        isValidSignature(signature, for: data)
    }
}
extension P521.Signing.PublicKey: ECDSAVerifier {
    func isValid(_ signature: P521.Signing.ECDSASignature, for data: [UInt8]) -> Bool {
        isValidSignature(signature, for: data)
    }
}

/// A key and certificate that sign EIFs, as eif_build's `--private-key` / `--signing-certificate`.
public struct EIFSigner: Sendable {
    enum Key {
        case p256(P256.Signing.PrivateKey)
        case p384(P384.Signing.PrivateKey)
        case p521(P521.Signing.PrivateKey)
    }

    let key: Key
    public let certificatePEM: [UInt8]

    /// Loads an EC private key (SEC1 "EC PRIVATE KEY" or PKCS#8) and its certificate, and checks that
    /// they belong together.
    public init(privateKeyPEM: [UInt8], certificatePEM: [UInt8], keyPath: String = "private key") throws {
        guard let text = String(validating: privateKeyPEM, as: UTF8.self) else {
            throw NitroError.notPEM(path: keyPath)
        }
        let cert: Certificate
        do {
            cert = try Certificate(derEncoded: try EIFSignature.firstCertificateDER(pem: certificatePEM))
        } catch let e as FormatError {
            throw NitroError.certificate(reason: e.message)
        }
        if let k = try? P384.Signing.PrivateKey(pemRepresentation: text) {
            key = .p384(k)
            guard P384.Signing.PublicKey(cert.publicKey)?.rawRepresentation == k.publicKey.rawRepresentation else {
                throw NitroError.certificateMismatch(keyPath: keyPath)
            }
        } else if let k = try? P256.Signing.PrivateKey(pemRepresentation: text) {
            key = .p256(k)
            guard P256.Signing.PublicKey(cert.publicKey)?.rawRepresentation == k.publicKey.rawRepresentation else {
                throw NitroError.certificateMismatch(keyPath: keyPath)
            }
        } else if let k = try? P521.Signing.PrivateKey(pemRepresentation: text) {
            key = .p521(k)
            guard P521.Signing.PublicKey(cert.publicKey)?.rawRepresentation == k.publicKey.rawRepresentation else {
                throw NitroError.certificateMismatch(keyPath: keyPath)
            }
        } else {
            throw NitroError.keyType(path: keyPath)
        }
        self.certificatePEM = certificatePEM
    }

    /// Loads the key and certificate files (each at most 1 MiB).
    public init(privateKeyPath: String, certificatePath: String) throws {
        try self.init(
            privateKeyPEM: try FileInput.contents(of: privateKeyPath, limit: 1 << 20),
            certificatePEM: try FileInput.contents(of: certificatePath, limit: 1 << 20), keyPath: privateKeyPath)
    }

    /// PCR8 for this signer's certificate.
    public func pcr8(_ algorithm: HashAlgorithm = .sha384) throws -> [UInt8] {
        PCR.of(try EIFSignature.firstCertificateDER(pem: certificatePEM), algorithm)
    }

    /// Signs PCR0 and returns the signature section. ECDSA is randomized, so two calls differ.
    public func sign(pcr0: [UInt8]) throws -> EIFSignature {
        let payload = EIFSignature.payload(pcr0: pcr0)
        let protected: [UInt8]
        let signature: [UInt8]
        switch key {
        case .p256(let k):
            protected = CBOR.map([(.unsigned(1), .negative(6))]).encoded()
            signature = Array(
                try k.signature(for: EIFSignature.sigStructure(protected: protected, payload: payload))
                    .rawRepresentation)
        case .p384(let k):
            protected = CBOR.map([(.unsigned(1), .negative(34))]).encoded()
            signature = Array(
                try k.signature(for: EIFSignature.sigStructure(protected: protected, payload: payload))
                    .rawRepresentation)
        case .p521(let k):
            protected = CBOR.map([(.unsigned(1), .negative(35))]).encoded()
            signature = Array(
                try k.signature(for: EIFSignature.sigStructure(protected: protected, payload: payload))
                    .rawRepresentation)
        }
        let cose = CBOR.array([.bytes(protected), .map([]), .bytes(payload), .bytes(signature)]).encoded()
        return EIFSignature(certificatePEM: certificatePEM, coseSign1: cose)
    }
}
