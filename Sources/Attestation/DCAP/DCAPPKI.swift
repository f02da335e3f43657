import Crypto
import EnclaveCore
import FoundationEssentials
import SwiftASN1
import X509

/// Intel's PKI for DCAP: certificate chains to the pinned Intel SGX Root CA (swift-certificates for the
/// certificates and their signatures), CRLs (parsed with SwiftASN1: swift-certificates has no CRL type;
/// the signature is checked with the issuer's swift-certificates public key), and the SGX extensions of
/// a PCK certificate.
enum DCAPPKI {
    /// SHA-256 of the DER Intel SGX Root CA (CN=Intel SGX Root CA, valid 2018-05-21 → 2049-12-31).
    static let intelRootSHA256: [UInt8] = [
        0x44, 0xa0, 0x19, 0x6b, 0x2b, 0x99, 0xf8, 0x89, 0xb8, 0xe1, 0x49, 0xe9, 0x5b, 0x80, 0x7a, 0x35,
        0x0e, 0x74, 0x24, 0x96, 0x43, 0x99, 0xe8, 0x85, 0xa7, 0xcb, 0xb8, 0xcc, 0xfa, 0xb6, 0x74, 0xd3,
    ]

    struct ParsedCertificate: Sendable {
        var der: [UInt8]
        var certificate: Certificate
        var name: String { certificate.subject.description }
        /// The subject's CN, or the whole subject when it has none.
        var commonName: String {
            for rdn in certificate.subject {
                for attribute in rdn where attribute.type == .RDNAttributeType.commonName {
                    return attribute.value.description
                }
            }
            return name
        }
    }

    struct PKIError: Error, CustomStringConvertible {
        var description: String
        init(_ message: String) { description = message }
    }

    /// The certificates of a PEM bundle, in order. Text outside the BEGIN/END blocks (a trailing NUL in
    /// quote certification data) is ignored.
    /// Certificates at positions `shareFrom` and later (CAs shared by many quotes) are parsed once per run.
    static func certificates(pem: [UInt8], what: String, shareFrom: Int = 1) throws(PKIError)
        -> [ParsedCertificate]
    {
        let begin = Array("-----BEGIN CERTIFICATE-----".utf8)
        let end = Array("-----END CERTIFICATE-----".utf8)
        var out: [ParsedCertificate] = []
        var i = 0
        while let start = find(begin, in: pem, from: i) {
            let bodyStart = start + begin.count
            guard let stop = find(end, in: pem, from: bodyStart) else {
                throw PKIError("\(what): certificate \(out.count + 1) has no END CERTIFICATE line")
            }
            guard
                let der = Data(base64Encoded: Data(pem[bodyStart..<stop]), options: .ignoreUnknownCharacters),
                !der.isEmpty
            else {
                throw PKIError("\(what): certificate \(out.count + 1) is not valid base64")
            }
            let bytes = Array(der)
            do {
                let cert = try DCAPCache.shared.certificate(der: bytes, shared: out.count >= shareFrom)
                out.append(ParsedCertificate(der: bytes, certificate: cert))
            } catch {
                throw PKIError("\(what): certificate \(out.count + 1) is not a valid X.509 certificate: \(error)")
            }
            i = stop + end.count
        }
        guard !out.isEmpty else { throw PKIError("\(what): no PEM certificate found") }
        return out
    }

    private static func find(_ needle: [UInt8], in hay: [UInt8], from: Int) -> Int? {
        guard needle.count <= hay.count, from <= hay.count - needle.count else { return nil }
        var i = from
        while i <= hay.count - needle.count {
            if hay[i] == needle[0], hay[i..<i + needle.count].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }

    /// Checks that the last certificate of `chain` is the pinned root (by SHA-256 of its DER).
    static func checkRoot(_ chain: [ParsedCertificate], pinned: [UInt8], what: String) throws(PKIError) {
        guard let root = chain.last else { throw PKIError("\(what): empty chain") }
        let digest = Digest.sha256(root.der)
        guard digest == pinned else {
            throw PKIError(
                "\(what): the root \(root.name) has SHA-256 \(digest.hex), not the pinned Intel SGX Root CA \(pinned.hex)"
            )
        }
    }

    /// Verifies `chain` (leaf first, pinned root last) with the checks every verifier shares
    /// (``ChainValidator``: names, signatures, CA constraints and key usage, path lengths, no loop, validity at
    /// `time`, Unix seconds), and that every certificate is signed with ECDSA-SHA256 as Intel's are.
    /// Signatures on certificates at positions `shareFrom` and later are checked once per run.
    static func verifyChain(_ chain: [ParsedCertificate], at time: Int64, what: String, shareFrom: Int = 1)
        throws(PKIError)
    {
        guard chain.count >= 2 else {
            throw PKIError("\(what): \(chain.count) certificate, expected a leaf, intermediates and the root")
        }
        for item in chain where item.certificate.signatureAlgorithm != .ecdsaWithSHA256 {
            throw PKIError(
                "\(what): \(item.name) is signed with \(item.certificate.signatureAlgorithm), expected ECDSA-SHA256")
        }
        let problem = ChainValidator.validate(path: chain.map(\.certificate), at: time) { index in
            let item = chain[index]
            let issuer = index + 1 < chain.count ? chain[index + 1] : item
            return DCAPCache.shared.signature(issuer: issuer.der, signed: item.der, shared: index >= shareFrom) {
                issuer.certificate.publicKey.isValidSignature(item.certificate.signature, for: item.certificate)
            }
        }
        if let problem { throw PKIError("\(what): \(problem)") }
    }

    static func iso(_ time: Int64) -> String { CivilTime.format(seconds: time) }

    /// A certificate revocation list (RFC 5280 §5), as far as DCAP needs it.
    struct CRL: Sendable {
        var tbs: [UInt8]
        var signatureAlgorithm: ASN1ObjectIdentifier
        var signature: [UInt8]
        var issuer: DistinguishedName
        var thisUpdate: Int64
        var nextUpdate: Int64?
        /// Revoked serial numbers, big-endian without leading zero bytes.
        var revoked: Set<[UInt8]>

        init(der: [UInt8], what: String) throws(PKIError) {
            do {
                let root = try DER.parse(der)
                guard case .constructed(let top) = root.content else { throw PKIError("\(what): not a SEQUENCE") }
                var it = top.makeIterator()
                guard let tbsNode = it.next(), let algNode = it.next(), let sigNode = it.next(), it.next() == nil,
                    case .constructed(let tbsChildren) = tbsNode.content,
                    case .constructed(let algChildren) = algNode.content
                else { throw PKIError("\(what): not a CertificateList (3 elements)") }
                tbs = Array(tbsNode.encodedBytes)
                var algIt = algChildren.makeIterator()
                guard let oidNode = algIt.next() else { throw PKIError("\(what): empty signature algorithm") }
                signatureAlgorithm = try ASN1ObjectIdentifier(derEncoded: oidNode)
                signature = Array(try ASN1BitString(derEncoded: sigNode).bytes)

                var t = tbsChildren.makeIterator()
                var node = t.next()
                if let n = node, n.identifier == .integer { node = t.next() }  // version
                node = t.next()  // skip the inner signature AlgorithmIdentifier
                guard let issuerNode = node else { throw PKIError("\(what): no issuer") }
                issuer = try DistinguishedName(derEncoded: issuerNode)
                guard let thisNode = t.next(), let this = try CRL.time(thisNode) else {
                    throw PKIError("\(what): no thisUpdate")
                }
                thisUpdate = this
                node = t.next()
                nextUpdate = nil
                if let n = node, let next = try CRL.time(n) {
                    nextUpdate = next
                    node = t.next()
                }
                revoked = []
                if let n = node, n.identifier == .sequence, case .constructed(let entries) = n.content {
                    for entry in entries {
                        guard case .constructed(let fields) = entry.content,
                            let serialNode = fields.first(where: { _ in true }),
                            serialNode.identifier == .integer, case .primitive(let serial) = serialNode.content
                        else { throw PKIError("\(what): a revoked entry has no serial number") }
                        revoked.insert(CRL.normalize(serial))
                    }
                }
            } catch let error as PKIError {
                throw error
            } catch {
                throw PKIError("\(what): not a valid DER CRL: \(error)")
            }
        }

        static func normalize<C: Collection>(_ serial: C) -> [UInt8] where C.Element == UInt8 {
            Array(serial.drop { $0 == 0 })
        }

        static func time(_ node: ASN1Node) throws -> Int64? {
            if node.identifier == UTCTime.defaultIdentifier {
                let t = try UTCTime(derEncoded: node)
                return CivilTime.seconds(
                    year: t.year, month: t.month, day: t.day, hour: t.hours, minute: t.minutes, second: t.seconds)
            }
            if node.identifier == GeneralizedTime.defaultIdentifier {
                let t = try GeneralizedTime(derEncoded: node)
                return CivilTime.seconds(
                    year: t.year, month: t.month, day: t.day, hour: t.hours, minute: t.minutes, second: t.seconds)
            }
            return nil
        }

        /// Signature by `issuer`, the issuer name, and thisUpdate ≤ time ≤ nextUpdate.
        func check(issuer cert: Certificate, at time: Int64, what: String) throws(PKIError) {
            guard issuer == cert.subject else {
                throw PKIError("\(what) is issued by \(issuer), expected \(cert.subject)")
            }
            guard signatureAlgorithm == [1, 2, 840, 10045, 4, 3, 2] else {
                throw PKIError("\(what) is signed with \(signatureAlgorithm), expected ecdsa-with-SHA256")
            }
            let valid = DCAPCache.shared.signature(
                issuer: Array(cert.publicKey.subjectPublicKeyInfoBytes), signed: tbs + signature, shared: true
            ) {
                cert.publicKey.isValidSignature(signature, for: tbs, signatureAlgorithm: .ecdsaWithSHA256)
            }
            guard valid else {
                throw PKIError("\(what): the signature by \(cert.subject) is invalid")
            }
            guard thisUpdate <= time else {
                throw PKIError("\(what): thisUpdate \(DCAPPKI.iso(thisUpdate)) is after \(DCAPPKI.iso(time))")
            }
            if let nextUpdate, time > nextUpdate {
                throw PKIError("\(what) expired: nextUpdate \(DCAPPKI.iso(nextUpdate)) is before \(DCAPPKI.iso(time))")
            }
        }

        func isRevoked(_ cert: Certificate) -> Bool {
            revoked.contains(CRL.normalize(cert.serialNumber.bytes))
        }
    }

    /// The SGX extensions of a PCK certificate (OID 1.2.840.113741.1.13.1).
    struct PCKExtensions: Sendable {
        var ppid: [UInt8] = []
        /// The 16 SGX TCB component SVNs (1.2.840.113741.1.13.1.2.1 … .16).
        var components: [UInt8] = Array(repeating: 0, count: 16)
        var pceSVN: UInt16 = 0
        var cpuSVN: [UInt8] = []
        var pceID: [UInt8] = []
        var fmspc: [UInt8] = []

        static let sgxExtensions: ASN1ObjectIdentifier = [1, 2, 840, 113741, 1, 13, 1]

        init(_ cert: Certificate) throws(PKIError) {
            guard let ext = cert.extensions[oid: Self.sgxExtensions] else {
                throw PKIError("the PCK certificate has no SGX extensions (OID 1.2.840.113741.1.13.1)")
            }
            do {
                var seenTCB = false
                for (oid, value) in try Self.pairs(DER.parse(ext.value)) {
                    let c = oid.oidComponents
                    guard c.count == 8 else { continue }
                    switch c[7] {
                    case 1: ppid = try Self.octets(value)
                    case 2:
                        seenTCB = true
                        for (sub, v) in try Self.pairs(value) {
                            let s = sub.oidComponents
                            guard s.count == 9 else { continue }
                            switch s[8] {
                            case 1...16:
                                let n = try Int(derEncoded: v)
                                guard (0...255).contains(n) else { throw PKIError("component SVN \(n) out of range") }
                                components[Int(s[8]) - 1] = UInt8(n)
                            case 17:
                                let n = try Int(derEncoded: v)
                                guard (0...65535).contains(n) else { throw PKIError("PCESVN \(n) out of range") }
                                pceSVN = UInt16(n)
                            case 18: cpuSVN = try Self.octets(v)
                            default: continue
                            }
                        }
                    case 3: pceID = try Self.octets(value)
                    case 4: fmspc = try Self.octets(value)
                    default: continue
                    }
                }
                guard seenTCB, fmspc.count == 6, pceID.count == 2 else {
                    throw PKIError("the PCK certificate's SGX extensions lack the TCB, FMSPC or PCE-ID")
                }
            } catch let error as PKIError {
                throw error
            } catch {
                throw PKIError("the PCK certificate's SGX extensions are not valid DER: \(error)")
            }
        }

        private static func octets(_ node: ASN1Node) throws -> [UInt8] {
            Array(try ASN1OctetString(derEncoded: node).bytes)
        }

        private static func pairs(_ node: ASN1Node) throws -> [(ASN1ObjectIdentifier, ASN1Node)] {
            guard case .constructed(let items) = node.content else { throw PKIError("expected a SEQUENCE") }
            var out: [(ASN1ObjectIdentifier, ASN1Node)] = []
            for item in items {
                guard case .constructed(let fields) = item.content else { throw PKIError("expected a SEQUENCE pair") }
                var it = fields.makeIterator()
                guard let oidNode = it.next(), let value = it.next() else { throw PKIError("expected OID and value") }
                out.append((try ASN1ObjectIdentifier(derEncoded: oidNode), value))
            }
            return out
        }
    }
}
