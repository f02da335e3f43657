import Crypto
import EnclaveCore
import Foundation
import SwiftASN1
import X509

/// A DCAP world made by the tests: a root CA, a PCK CA and PCK certificate with SGX extensions, a TCB
/// signing certificate, CRLs, TCB info and QE identity signed by the test key, and quotes (SGX v3, TDX v4
/// and v5) signed by an attestation key that the test QE report binds. Nothing here comes from a vector,
/// so tests built on it check the format, not the samples.
struct SyntheticDCAP {
    let rootKey = P256.Signing.PrivateKey()
    let caKey = P256.Signing.PrivateKey()
    let pckKey = P256.Signing.PrivateKey()
    let tcbKey = P256.Signing.PrivateKey()
    let attestationKey = P256.Signing.PrivateKey()
    let root: Certificate
    let ca: Certificate
    let pck: Certificate
    let tcbSigner: Certificate
    let rootName: DistinguishedName
    let caName: DistinguishedName

    /// 2030-01-01T00:00:00Z: inside every validity window below.
    static let now: Int64 = 1_893_456_000
    static let fmspc: [UInt8] = [0x11, 0x22, 0x33, 0x44, 0x55, 0x66]
    static let components: [UInt8] = [5, 5, 2, 2, 3, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0]
    static let pceSVN = 11
    static let qeMRSigner = [UInt8](repeating: 0xdc, count: 32)
    static let pckSerial = 0x5ca1ab1e

    init(pckFMSPC: [UInt8] = Self.fmspc) throws {
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let end = Date(timeIntervalSince1970: 2_000_000_000)
        rootName = try DistinguishedName { CommonName("Test SGX Root CA") }
        caName = try DistinguishedName { CommonName("Test SGX PCK Platform CA") }
        root = try Certificate(
            version: .v3, serialNumber: .init(1), publicKey: .init(rootKey.publicKey), notValidBefore: start,
            notValidAfter: end, issuer: rootName, subject: rootName, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
            }, issuerPrivateKey: .init(rootKey))
        ca = try Certificate(
            version: .v3, serialNumber: .init(2), publicKey: .init(caKey.publicKey), notValidBefore: start,
            notValidAfter: end, issuer: rootName, subject: caName, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
            }, issuerPrivateKey: .init(rootKey))
        pck = try Certificate(
            version: .v3, serialNumber: .init(Self.pckSerial), publicKey: .init(pckKey.publicKey),
            notValidBefore: start, notValidAfter: end, issuer: caName,
            subject: try DistinguishedName { CommonName("Test SGX PCK Certificate") },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Certificate.Extension(
                    oid: [1, 2, 840, 113741, 1, 13, 1], critical: false,
                    value: ArraySlice(try Self.sgxExtensions(fmspc: pckFMSPC)))
            }, issuerPrivateKey: .init(caKey))
        tcbSigner = try Certificate(
            version: .v3, serialNumber: .init(3), publicKey: .init(tcbKey.publicKey), notValidBefore: start,
            notValidAfter: end, issuer: rootName,
            subject: try DistinguishedName { CommonName("Test SGX TCB Signing") },
            signatureAlgorithm: .ecdsaWithSHA256, extensions: Certificate.Extensions(),
            issuerPrivateKey: .init(rootKey))
    }

    var rootSHA256: [UInt8] { Digest.sha256(Self.der(root)) }

    static func der(_ cert: Certificate) -> [UInt8] {
        var s = DER.Serializer()
        try? s.serialize(cert)
        return s.serializedBytes
    }

    static func pem(_ certs: [Certificate]) throws -> String {
        try certs.map { try $0.serializeAsPEM().pemString + "\n" }.joined()
    }

    static func sgxExtensions(fmspc: [UInt8]) throws -> [UInt8] {
        let base: [UInt] = [1, 2, 840, 113741, 1, 13, 1]
        var s = DER.Serializer()
        try s.appendConstructedNode(identifier: .sequence) { s in
            try s.appendConstructedNode(identifier: .sequence) { s in
                try s.serialize(ASN1ObjectIdentifier(elements: base + [1]))
                try s.serialize(ASN1OctetString(contentBytes: ArraySlice(repeating: 0xab, count: 16)))
            }
            try s.appendConstructedNode(identifier: .sequence) { s in
                try s.serialize(ASN1ObjectIdentifier(elements: base + [2]))
                try s.appendConstructedNode(identifier: .sequence) { s in
                    for (i, svn) in components.enumerated() {
                        try s.appendConstructedNode(identifier: .sequence) { s in
                            try s.serialize(ASN1ObjectIdentifier(elements: base + [2, UInt(i + 1)]))
                            try s.serialize(Int(svn))
                        }
                    }
                    try s.appendConstructedNode(identifier: .sequence) { s in
                        try s.serialize(ASN1ObjectIdentifier(elements: base + [2, 17]))
                        try s.serialize(pceSVN)
                    }
                    try s.appendConstructedNode(identifier: .sequence) { s in
                        try s.serialize(ASN1ObjectIdentifier(elements: base + [2, 18]))
                        try s.serialize(ASN1OctetString(contentBytes: ArraySlice(components)))
                    }
                }
            }
            try s.appendConstructedNode(identifier: .sequence) { s in
                try s.serialize(ASN1ObjectIdentifier(elements: base + [3]))
                try s.serialize(ASN1OctetString(contentBytes: [0, 0]))
            }
            try s.appendConstructedNode(identifier: .sequence) { s in
                try s.serialize(ASN1ObjectIdentifier(elements: base + [4]))
                try s.serialize(ASN1OctetString(contentBytes: ArraySlice(fmspc)))
            }
            try s.appendConstructedNode(identifier: .sequence) { s in
                try s.serialize(ASN1ObjectIdentifier(elements: base + [5]))  // SGX type: Standard
                s.serializeRawBytes([0x0a, 0x01, 0x00])  // ENUMERATED 0
            }
        }
        return s.serializedBytes
    }

    /// A CRL by `key` for `issuer`, valid 2027 → `nextUpdate`, revoking `revoked` serials.
    static func crl(
        issuer: DistinguishedName, key: P256.Signing.PrivateKey, nextUpdate: Int64 = 1_950_000_000,
        revoked: [Int] = []
    ) throws -> [UInt8] {
        // UTCTime, as RFC 5280 requires for dates before 2050 (webpki, in dcap-qvl, insists).
        func time(_ t: Int64) throws -> UTCTime {
            var cal = Calendar(identifier: .gregorian)
            cal.timeZone = TimeZone(identifier: "UTC") ?? cal.timeZone
            let d = cal.dateComponents(in: cal.timeZone, from: Date(timeIntervalSince1970: TimeInterval(t)))
            return try UTCTime(
                year: d.year ?? 0, month: d.month ?? 0, day: d.day ?? 0, hours: d.hour ?? 0, minutes: d.minute ?? 0,
                seconds: d.second ?? 0)
        }
        let ecdsaSHA256: ASN1ObjectIdentifier = [1, 2, 840, 10045, 4, 3, 2]
        var t = DER.Serializer()
        try t.appendConstructedNode(identifier: .sequence) { s in
            try s.serialize(1)
            try s.appendConstructedNode(identifier: .sequence) { s in try s.serialize(ecdsaSHA256) }
            try s.serialize(issuer)
            try s.serialize(try time(1_800_000_000))
            try s.serialize(try time(nextUpdate))
            if !revoked.isEmpty {
                try s.appendConstructedNode(identifier: .sequence) { s in
                    for serial in revoked {
                        try s.appendConstructedNode(identifier: .sequence) { s in
                            try s.serialize(serial)
                            try s.serialize(try time(1_800_000_000))
                        }
                    }
                }
            }
            // crlExtensions [0]: cRLNumber 1 (RFC 5280 §5.2.3 makes it mandatory).
            try s.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) { s in
                try s.appendConstructedNode(identifier: .sequence) { s in
                    try s.appendConstructedNode(identifier: .sequence) { s in
                        try s.serialize(ASN1ObjectIdentifier(elements: [2, 5, 29, 20]))
                        var number = DER.Serializer()
                        try number.serialize(1)
                        try s.serialize(ASN1OctetString(contentBytes: ArraySlice(number.serializedBytes)))
                    }
                }
            }
        }
        let tbs = t.serializedBytes
        let signature = try key.signature(for: tbs).derRepresentation
        var c = DER.Serializer()
        try c.appendConstructedNode(identifier: .sequence) { s in
            s.serializeRawBytes(tbs)
            try s.appendConstructedNode(identifier: .sequence) { s in try s.serialize(ecdsaSHA256) }
            try s.serialize(ASN1BitString(bytes: ArraySlice(signature)))
        }
        return c.serializedBytes
    }

    struct TCBLevel {
        var sgx: [UInt8] = SyntheticDCAP.components
        var pce = SyntheticDCAP.pceSVN
        var tdx: [UInt8] = [3, 1, 2] + Array(repeating: 0, count: 13)
        var status = "UpToDate"
        var advisories: [String] = []

        func json(tdx withTDX: Bool) -> String {
            let comps = sgx.map { "{\"svn\":\($0)}" }.joined(separator: ",")
            var tcb = "\"sgxtcbcomponents\":[\(comps)],\"pcesvn\":\(pce)"
            if withTDX { tcb += ",\"tdxtcbcomponents\":[" + tdx.map { "{\"svn\":\($0)}" }.joined(separator: ",") + "]" }
            var out = "{\"tcb\":{\(tcb)},\"tcbDate\":\"2029-01-01T00:00:00Z\",\"tcbStatus\":\"\(status)\""
            if !advisories.isEmpty {
                out += ",\"advisoryIDs\":[" + advisories.map { "\"\($0)\"" }.joined(separator: ",") + "]"
            }
            return out + "}"
        }
    }

    static func tcbInfo(
        tee: String, fmspc: [UInt8] = Self.fmspc, levels: [TCBLevel] = [TCBLevel()],
        nextUpdate: String = "2030-02-01T00:00:00Z"
    ) -> String {
        let tdx = tee == "TDX"
        var s =
            "{\"id\":\"\(tee)\",\"version\":3,\"issueDate\":\"2029-12-01T00:00:00Z\",\"nextUpdate\":\"\(nextUpdate)\",\"fmspc\":\"\(fmspc.hex.uppercased())\",\"pceId\":\"0000\",\"tcbType\":0,\"tcbEvaluationDataNumber\":17,"
        if tdx {
            let zeros = String(repeating: "0", count: 96)
            s +=
                "\"tdxModule\":{\"mrsigner\":\"\(zeros)\",\"attributes\":\"0000000000000000\",\"attributesMask\":\"FFFFFFFFFFFFFFFF\"},\"tdxModuleIdentities\":[{\"id\":\"TDX_01\",\"mrsigner\":\"\(zeros)\",\"attributes\":\"0000000000000000\",\"attributesMask\":\"FFFFFFFFFFFFFFFF\",\"tcbLevels\":[{\"tcb\":{\"isvsvn\":2},\"tcbDate\":\"2029-01-01T00:00:00Z\",\"tcbStatus\":\"UpToDate\"}]}],"
        }
        s += "\"tcbLevels\":[" + levels.map { $0.json(tdx: tdx) }.joined(separator: ",") + "]}"
        return s
    }

    static func qeIdentity(tee: String) -> String {
        "{\"id\":\"\(tee == "TDX" ? "TD_QE" : "QE")\",\"version\":2,\"issueDate\":\"2029-12-01T00:00:00Z\",\"nextUpdate\":\"2030-02-01T00:00:00Z\",\"tcbEvaluationDataNumber\":17,\"miscselect\":\"00000000\",\"miscselectMask\":\"FFFFFFFF\",\"attributes\":\"11000000000000000000000000000000\",\"attributesMask\":\"FBFFFFFFFFFFFFFF0000000000000000\",\"mrsigner\":\"\(qeMRSigner.hex.uppercased())\",\"isvprodid\":2,\"tcbLevels\":[{\"tcb\":{\"isvsvn\":4},\"tcbDate\":\"2029-01-01T00:00:00Z\",\"tcbStatus\":\"UpToDate\"}]}"
    }

    /// The collateral JSON; `tcbInfo` and `qeIdentity` are signed as given.
    func collateral(tcbInfo: String, qeIdentity: String, pckRevoked: [Int] = [], rootRevoked: [Int] = []) throws
        -> [UInt8]
    {
        let chain = try Self.pem([tcbSigner, root])
        let tcbSig = try tcbKey.signature(for: Array(tcbInfo.utf8)).rawRepresentation
        let qeSig = try tcbKey.signature(for: Array(qeIdentity.utf8)).rawRepresentation
        let doc: JSONValue = .object([
            ("pck_crl_issuer_chain", .string(try Self.pem([ca, root]))),
            ("root_ca_crl", .string(try Self.crl(issuer: rootName, key: rootKey, revoked: rootRevoked).hex)),
            ("pck_crl", .string(try Self.crl(issuer: caName, key: caKey, revoked: pckRevoked).hex)),
            ("tcb_info_issuer_chain", .string(chain)),
            ("tcb_info", .string(tcbInfo)),
            ("tcb_info_signature", .string(Array(tcbSig).hex)),
            ("qe_identity_issuer_chain", .string(chain)),
            ("qe_identity", .string(qeIdentity)),
            ("qe_identity_signature", .string(Array(qeSig).hex)),
        ])
        return Array(doc.serialized(style: .pretty).utf8)
    }

    enum Kind { case sgxV3, tdxV4, tdxV5 }

    /// A quote of `kind`; `editBody` changes the report body before signing.
    func quote(
        _ kind: Kind, reportData: [UInt8] = Array(repeating: 7, count: 64), padding: Int = 0,
        editBody: (inout [UInt8]) -> Void = { _ in }
    ) throws -> [UInt8] {
        var header: [UInt8] = []
        func u16(_ v: Int, _ out: inout [UInt8]) { out += [UInt8(v & 0xff), UInt8(v >> 8 & 0xff)] }
        func u32(_ v: Int, _ out: inout [UInt8]) {
            out += [UInt8(v & 0xff), UInt8(v >> 8 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 24 & 0xff)]
        }
        u16(kind == .sgxV3 ? 3 : kind == .tdxV4 ? 4 : 5, &header)
        u16(2, &header)
        u32(kind == .sgxV3 ? 0 : 0x81, &header)
        u16(0, &header)
        u16(0, &header)
        header += DCAPQuoteBytes.intelVendor + Array(repeating: 0, count: 20)
        var body: [UInt8]
        switch kind {
        case .sgxV3:
            body = Array(repeating: 0, count: 384)
            body[48] = 0x05
            for i in 64..<96 { body[i] = 0xe1 }  // MRENCLAVE
            for i in 128..<160 { body[i] = 0x51 }  // MRSIGNER
            body[256] = 0x34
            body[257] = 0x12  // ISVPRODID 0x1234
            body[258] = 0x02  // ISVSVN 2
            body.replaceSubrange(320..<384, with: reportData)
        case .tdxV4, .tdxV5:
            body = Array(repeating: 0, count: kind == .tdxV4 ? 584 : 648)
            body[0] = 3
            body[1] = 1
            body[2] = 2
            body[123] = 0x10  // SEPT_VE_DISABLE
            for i in 136..<184 { body[i] = 0x4d }  // MRTD
            body.replaceSubrange(520..<584, with: reportData)
            if kind == .tdxV5 { body.replaceSubrange(584..<600, with: body[0..<16]) }  // TEE_TCB_SVN2
        }
        editBody(&body)
        var signed = header
        if kind == .tdxV5 {
            u16(3, &signed)
            u32(body.count, &signed)
        }
        signed += body
        let signature = Array(try attestationKey.signature(for: signed).rawRepresentation)
        let attPub = Array(attestationKey.publicKey.rawRepresentation)
        let auth = Array(repeating: UInt8(0x2a), count: 32)
        var qe = [UInt8](repeating: 0, count: 384)
        qe[48] = 0x11
        qe.replaceSubrange(128..<160, with: Self.qeMRSigner)
        qe[256] = 2  // ISVPRODID
        qe[258] = 4  // ISVSVN
        qe.replaceSubrange(320..<352, with: Digest.sha256(attPub + auth))
        let qeSig = Array(try pckKey.signature(for: qe).rawRepresentation)
        let pem = Array(try Self.pem([pck, ca, root]).utf8)
        var qeSection = qe + qeSig
        u16(auth.count, &qeSection)
        qeSection += auth
        u16(5, &qeSection)
        u32(pem.count, &qeSection)
        qeSection += pem
        var sigData = signature + attPub
        if kind == .sgxV3 {
            sigData += qeSection
        } else {
            u16(6, &sigData)
            u32(qeSection.count, &sigData)
            sigData += qeSection
        }
        var out = signed
        u32(sigData.count, &out)
        return out + sigData + Array(repeating: 0, count: padding)
    }
}

enum DCAPQuoteBytes {
    static let intelVendor: [UInt8] = [
        0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9, 0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07,
    ]
}
