import Crypto
import EnclaveCore
import SwiftASN1
import _CryptoExtras

/// An X.509 certificate of AMD's SEV-SNP key hierarchy (ARK, ASK, ASVK, VCEK, VLEK), read with
/// SwiftASN1: swift-certificates cannot hold these, because AMD signs them with RSASSA-PSS (SHA-384,
/// MGF1-SHA-384, salt 48), which it does not parse. The signature is checked over the exact
/// `tbsCertificate` bytes with _CryptoExtras' RSA-PSS.
///
/// ```swift
/// let vcek = try AMDCertificate(der: bytes)
/// let ok = ask.verifies(vcek)
/// ```
public struct AMDCertificate: Sendable, Equatable {
    public static let format = "X.509 (AMD)"
    public let der: [UInt8]
    let tbs: ArraySlice<UInt8>
    let signatureAlgorithm: ArraySlice<UInt8>
    let signature: [UInt8]
    let issuer: ArraySlice<UInt8>
    public let subjectBytes: ArraySlice<UInt8>
    let spki: ArraySlice<UInt8>
    /// Unix seconds.
    public let notBefore: Int64
    public let notAfter: Int64
    /// The subject's common name, for messages.
    public let commonName: String
    /// Extension OID (dotted) → the extnValue octets.
    public let extensions: [(oid: String, value: [UInt8])]

    public static func == (a: AMDCertificate, b: AMDCertificate) -> Bool { a.der == b.der }

    /// RSASSA-PSS AlgorithmIdentifiers with SHA-384, MGF1-SHA-384, salt 48: with the (default) trailer
    /// field 1 spelled out, as the ARK and ASK carry it, and without it, as the VCEK does.
    static let pssSHA384: Set<[UInt8]> = {
        let params =
            "a00f300d06096086480165030402020500a11c301a06092a864886f70d010108300d06096086480165030402020500a203020130"
        let withTrailer = "304606092a864886f70d01010a3039" + params + "a303020101"
        let without = "304106092a864886f70d01010a3034" + params
        return Set([withTrailer, without].compactMap { Hex.decode($0) })
    }()

    public init(der: [UInt8]) throws(FormatError) {
        func fail(_ message: String) -> FormatError {
            FormatError(.badValue, format: Self.format, offset: nil, message)
        }
        do {
            let root = try DER.parse(der)
            guard root.encodedBytes.count == der.count, case .constructed(let top) = root.content else {
                throw fail("not a DER certificate SEQUENCE (or trailing bytes)")
            }
            var parts = top.makeIterator()
            guard let tbsNode = parts.next(), let algNode = parts.next(), let sigNode = parts.next(),
                parts.next() == nil, case .constructed(let tbsItems) = tbsNode.content
            else { throw fail("a certificate is SEQUENCE { tbsCertificate, signatureAlgorithm, signature }") }
            let bits = try ASN1BitString(derEncoded: sigNode)
            guard bits.paddingBits == 0 else { throw fail("the signature BIT STRING has padding bits") }
            var t = tbsItems.makeIterator()
            var node = t.next()
            if let n = node, n.identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific) {
                node = t.next()
            }
            guard let serial = node, serial.identifier == .integer, let innerAlg = t.next(), let issuer = t.next(),
                let validity = t.next(), let subject = t.next(), let spki = t.next(),
                case .constructed(let times) = validity.content
            else { throw fail("the tbsCertificate is missing fields") }
            guard innerAlg.encodedBytes == algNode.encodedBytes else {
                throw fail("the inner and outer signature algorithms differ")
            }
            var tv = times.makeIterator()
            guard let nb = tv.next(), let na = tv.next(), tv.next() == nil else { throw fail("bad validity") }
            var extensions: [(String, [UInt8])] = []
            while let n = t.next() {
                guard n.identifier == ASN1Identifier(tagWithNumber: 3, tagClass: .contextSpecific),
                    case .constructed(let wrapped) = n.content
                else { continue }
                var w = wrapped.makeIterator()
                guard let seq = w.next(), case .constructed(let exts) = seq.content else {
                    throw fail("bad extensions")
                }
                for ext in exts {
                    guard case .constructed(let fields) = ext.content else { throw fail("bad extension") }
                    var f = fields.makeIterator()
                    guard let oidNode = f.next() else { throw fail("bad extension") }
                    let oid = try ASN1ObjectIdentifier(derEncoded: oidNode)
                    var valueNode = f.next()
                    if let v = valueNode, v.identifier == .boolean { valueNode = f.next() }
                    guard let v = valueNode else { throw fail("extension \(oid) has no value") }
                    let octets = try ASN1OctetString(derEncoded: v)
                    extensions.append((oid.description, Array(octets.bytes)))
                }
            }
            self.der = der
            self.tbs = tbsNode.encodedBytes
            self.signatureAlgorithm = algNode.encodedBytes
            self.signature = Array(bits.bytes)
            self.issuer = issuer.encodedBytes
            self.subjectBytes = subject.encodedBytes
            self.spki = spki.encodedBytes
            self.notBefore = try Self.time(nb)
            self.notAfter = try Self.time(na)
            self.extensions = extensions
            self.commonName = Self.commonName(subject) ?? "(no CN)"
        } catch let error as FormatError {
            throw error
        } catch {
            throw fail("not a valid DER certificate: \(error)")
        }
    }

    static func time(_ node: ASN1Node) throws -> Int64 {
        let (y, mo, d, h, mi, s): (Int, Int, Int, Int, Int, Int)
        if node.identifier == .utcTime {
            let t = try UTCTime(derEncoded: node)
            (y, mo, d, h, mi, s) = (t.year, t.month, t.day, t.hours, t.minutes, t.seconds)
        } else {
            let t = try GeneralizedTime(derEncoded: node)
            (y, mo, d, h, mi, s) = (t.year, t.month, t.day, t.hours, t.minutes, t.seconds)
        }
        return CivilTime.seconds(year: y, month: mo, day: d, hour: h, minute: mi, second: s)
    }

    static func commonName(_ name: ASN1Node) -> String? {
        guard case .constructed(let rdns) = name.content else { return nil }
        for rdn in rdns {
            guard case .constructed(let atvs) = rdn.content else { continue }
            for atv in atvs {
                guard case .constructed(let pair) = atv.content else { continue }
                var p = pair.makeIterator()
                guard let oidNode = p.next(), let value = p.next(),
                    let oid = try? ASN1ObjectIdentifier(derEncoded: oidNode), oid.description == "2.5.4.3"
                else { continue }
                if case .primitive(let bytes) = value.content { return String(decoding: bytes, as: UTF8.self) }
            }
        }
        return nil
    }

    /// All certificates of a PEM file (or the one certificate of a DER file), in file order.
    public static func parseAll(_ bytes: [UInt8], name: String) throws(FormatError) -> [AMDCertificate] {
        if bytes.first == 0x30 { return [try AMDCertificate(der: bytes)] }
        guard let text = String(validating: bytes, as: UTF8.self),
            let docs = try? PEMDocument.parseMultiple(pemString: text)
        else {
            throw FormatError(.badValue, format: "PEM", offset: nil, "neither DER nor PEM certificates", file: name)
        }
        var certs: [AMDCertificate] = []
        for doc in docs where doc.discriminator == "CERTIFICATE" {
            do {
                certs.append(try AMDCertificate(der: doc.derBytes))
            } catch {
                throw error.in(file: name)
            }
        }
        guard !certs.isEmpty else {
            throw FormatError(.missing, format: "PEM", offset: nil, "no CERTIFICATE block", file: name)
        }
        return certs
    }

    public func extensionValue(_ oid: String) -> [UInt8]? { extensions.first { $0.oid == oid }?.value }

    /// True when this certificate is a CA by its basicConstraints.
    public var isCA: Bool {
        guard let value = extensionValue("2.5.29.19"), let node = try? DER.parse(value),
            case .constructed(let items) = node.content
        else { return false }
        var i = items.makeIterator()
        guard let first = i.next(), first.identifier == .boolean, let flag = try? Bool(derEncoded: first) else {
            return false
        }
        return flag
    }

    /// Whether `child` was signed by this certificate's RSA key with RSASSA-PSS SHA-384 (salt 48) and
    /// names this certificate as issuer.
    public func verifies(_ child: AMDCertificate) -> Bool {
        guard child.issuer == subjectBytes, Self.pssSHA384.contains(Array(child.signatureAlgorithm)),
            let key = try? _RSA.Signing.PublicKey(derRepresentation: spki)
        else { return false }
        return key.isValidSignature(
            _RSA.Signing.RSASignature(rawRepresentation: child.signature), for: SHA384.hash(data: child.tbs),
            padding: .PSS)
    }

    /// The P-384 key of a VCEK or VLEK.
    public var p384Key: P384.Signing.PublicKey? {
        try? P384.Signing.PublicKey(derRepresentation: spki)
    }

    public var sha256: String { Hex.encode(Array(SHA256.hash(data: der))) }
}
