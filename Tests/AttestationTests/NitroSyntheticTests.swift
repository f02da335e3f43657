import Crypto
import EnclaveCore
import Nitro
import SwiftASN1
import Testing
import X509

@testable import Attestation

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Nitro documents made here with test CAs (swift-certificates issues them), so the format is tested,
/// not only the two public samples: root → intermediate → leaf (no AKI, as AWS's), ES384 COSE_Sign1.
struct TestNitro {
    static let now: Int64 = 1_800_000_000
    let rootKey = P384.Signing.PrivateKey()
    let interKey = P384.Signing.PrivateKey()
    let leafKey = P384.Signing.PrivateKey()
    let root: Certificate
    let inter: Certificate
    let leaf: Certificate

    init() throws {
        func name(_ cn: String) throws -> DistinguishedName { try DistinguishedName { CommonName(cn) } }
        let start = Date(timeIntervalSince1970: TimeInterval(Self.now - 3600))
        let end = Date(timeIntervalSince1970: TimeInterval(Self.now + 3600))
        root = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(rootKey.publicKey), notValidBefore: start,
            notValidAfter: end, issuer: try name("test root"), subject: try name("test root"),
            signatureAlgorithm: .ecdsaWithSHA384,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                KeyUsage(keyCertSign: true)
            }, issuerPrivateKey: .init(rootKey))
        inter = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(interKey.publicKey), notValidBefore: start,
            notValidAfter: end, issuer: root.subject, subject: try name("test intermediate"),
            signatureAlgorithm: .ecdsaWithSHA384,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
            }, issuerPrivateKey: .init(rootKey))
        leaf = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(leafKey.publicKey), notValidBefore: start,
            notValidAfter: end, issuer: inter.subject, subject: try name("i-0123-enc0123"),
            signatureAlgorithm: .ecdsaWithSHA384, extensions: Certificate.Extensions(),
            issuerPrivateKey: .init(interKey))
    }

    static func der(_ cert: Certificate) throws -> [UInt8] {
        var s = DER.Serializer()
        try s.serialize(cert)
        return s.serializedBytes
    }

    static let pcr0 = [UInt8](repeating: 0x11, count: 48)

    func payload(
        pcrs: [(Int, [UInt8])] = [
            (0, pcr0), (1, [UInt8](repeating: 0x22, count: 48)), (2, [UInt8](repeating: 0x33, count: 48)),
        ],
        nonce: [UInt8]? = [1, 2, 3], bundle: [[UInt8]]? = nil, extra: [(CBOR, CBOR)] = []
    ) throws -> CBOR {
        .map(
            [
                (.text("module_id"), .text("i-0123-enc0123")), (.text("digest"), .text("SHA384")),
                (.text("timestamp"), .unsigned(UInt64(Self.now) * 1000)),
                (.text("pcrs"), .map(pcrs.map { (.unsigned(UInt64($0.0)), .bytes($0.1)) })),
                (.text("certificate"), .bytes(try Self.der(leaf))),
                (.text("cabundle"), .array(try (bundle ?? [Self.der(root), Self.der(inter)]).map { .bytes($0) })),
                (.text("public_key"), .null), (.text("user_data"), .bytes(Array("bind me".utf8))),
                (.text("nonce"), nonce.map { .bytes($0) } ?? .null),
            ] + extra)
    }

    /// The document with `payload` signed by `key` (the leaf's by default).
    func document(_ payload: CBOR, key: P384.Signing.PrivateKey? = nil, tagged: Bool = false) throws -> [UInt8] {
        let protected = CBOR.map([(.unsigned(1), .negative(34))]).encoded()
        let payloadBytes = payload.encoded()
        let sigStructure = CBOR.array([.text("Signature1"), .bytes(protected), .bytes([]), .bytes(payloadBytes)])
        let signature = try (key ?? leafKey).signature(for: sigStructure.encoded()).rawRepresentation
        let cose = CBOR.array([.bytes(protected), .map([]), .bytes(payloadBytes), .bytes(Array(signature))])
        return (tagged ? CBOR.tagged(18, cose) : cose).encoded()
    }

    func verify(_ bytes: [UInt8], at time: Int64 = now, configure: (inout AttestationPolicy) -> Void = { _ in })
        throws -> AttestationResult
    {
        var policy = AttestationPolicy(verificationTime: time)
        configure(&policy)
        return NitroVerifier.verify(
            EvidenceInputs(evidence: bytes, name: "doc"), policy: policy, trustedRoot: try Self.der(root))
    }
}

@Suite struct NitroSyntheticTests {
    @Test func ownDocumentVerifiesTaggedOrNot() throws {
        let t = try TestNitro()
        for tagged in [false, true] {
            let result = try t.verify(try t.document(try t.payload(), tagged: tagged))
            #expect(result.verified, "\(result.checks)")
            #expect(result.measurement("PCR0") == TestNitro.pcr0)
        }
    }

    @Test func ownDocumentIsNotTrustedByThePinnedAWSRoot() throws {
        let t = try TestNitro()
        let result = NitroVerifier.verify(
            EvidenceInputs(evidence: try t.document(try t.payload()), name: "doc"),
            policy: AttestationPolicy(verificationTime: TestNitro.now))
        #expect(result.failed == ["root"])
    }

    @Test func expiredAndNotYetValid() throws {
        let t = try TestNitro()
        let doc = try t.document(try t.payload())
        #expect(try t.verify(doc, at: TestNitro.now + 7200).failed == ["chain"])
        #expect(try t.verify(doc, at: TestNitro.now - 7200).failed == ["chain"])
    }

    @Test func signedByAnotherKeyFails() throws {
        let t = try TestNitro()
        let result = try t.verify(try t.document(try t.payload(), key: P384.Signing.PrivateKey()))
        #expect(result.failed == ["signature"])
    }

    @Test func everyPayloadByteIsCovered() throws {
        let t = try TestNitro()
        let doc = try t.document(try t.payload())
        // Flip a bit inside the nonce value [1, 2, 3]: still valid CBOR, so only the signature can notice.
        let index = try #require((0..<doc.count - 3).first { Array(doc[$0..<$0 + 4]) == [0x43, 1, 2, 3] })
        var tampered = doc
        tampered[index + 2] ^= 0x80
        #expect(try t.verify(tampered).failed == ["signature"])
    }

    @Test func chainInWrongOrderOrWithALoop() throws {
        let t = try TestNitro()
        let root = try TestNitro.der(t.root)
        let inter = try TestNitro.der(t.inter)
        let wrongOrder = try t.verify(try t.document(try t.payload(bundle: [inter, root])))
        #expect(wrongOrder.failed == ["root"])
        let loop = try t.verify(try t.document(try t.payload(bundle: [root, inter, inter])))
        #expect(loop.failed == ["chain"])
        #expect(loop.checks.last?.detail.contains("twice") == true)
        let missing = try t.verify(try t.document(try t.payload(bundle: [root])))
        #expect(missing.failed == ["chain"])
    }

    @Test func debugNonceAndUserData() throws {
        let t = try TestNitro()
        let zero = [UInt8](repeating: 0, count: 48)
        let debug = try t.document(try t.payload(pcrs: [(0, zero), (1, zero), (2, zero)]))
        #expect(try t.verify(debug).failed == ["debug"])
        #expect(try t.verify(debug) { $0.allowDebug = true }.verified)
        let doc = try t.document(try t.payload())
        #expect(try t.verify(doc) { $0.expectedNonce = [1, 2, 3] }.verified)
        #expect(try t.verify(doc) { $0.expectedNonce = [1, 2, 4] }.failed == ["freshness"])
        #expect(try t.verify(doc) { $0.expectedReportData = Array("bind me".utf8) }.verified)
        #expect(try t.verify(doc) { $0.expectedReportData = Array("bind you".utf8) }.failed == ["freshness"])
        let noNonce = try t.document(try t.payload(nonce: nil))
        #expect(try t.verify(noNonce) { $0.expectedNonce = [1] }.failed == ["freshness"])
    }

    @Test(arguments: [
        (Int64(0), true), (600, true), (601, false), (-60, true), (-61, false),
    ])
    func maxAgeLimitsTheSignedTimestamp(_ offset: (Int64, Bool)) throws {
        let t = try TestNitro()
        let doc = try t.document(try t.payload())
        let r = try t.verify(doc, at: TestNitro.now + offset.0) { $0.maxAge = 600 }
        #expect(r.verified == offset.1, "\(r.checks.filter { !$0.ok }.map(\.detail))")
        if !offset.1 { #expect(r.failed == ["freshness"]) }
        #expect(try t.verify(doc, at: TestNitro.now + 601).verified)  // no limit without maxAge
    }

    @Test func expectedMeasurements() throws {
        let t = try TestNitro()
        let doc = try t.document(try t.payload())
        #expect(try t.verify(doc) { $0.expectedMeasurements = [Measurement("PCR0", TestNitro.pcr0)] }.verified)
        var oneBit = TestNitro.pcr0
        oneBit[47] ^= 1
        #expect(
            try t.verify(doc) { $0.expectedMeasurements = [Measurement("PCR0", oneBit)] }.failed == ["measurements"])
    }

    /// Structural faults, each a failed `structure` check whose detail names the offset.
    @Test func malformedDocumentsFailStructureWithAnOffset() throws {
        let t = try TestNitro()
        let good = try t.document(try t.payload())
        var cases: [(String, [UInt8])] = [
            ("truncated", Array(good.dropLast(10))),
            ("oversized", good + [0x00]),
            ("too large", [UInt8](repeating: 0x84, count: NitroDocument.maxSize + 1)),
            ("unknown key", try t.document(try t.payload(extra: [(.text("extra"), .null)]))),
            ("duplicate key", try t.document(try t.payload(extra: [(.text("nonce"), .null)]))),
            ("bad digest", try t.document(.map([(.text("digest"), .text("SHA256"))]))),
            ("bad PCR size", try t.document(try t.payload(pcrs: [(0, [1, 2, 3])]))),
            ("bad PCR index", try t.document(try t.payload(pcrs: [(32, TestNitro.pcr0)]))),
        ]
        // A non-minimal head: the payload-length head re-encoded one size larger is not minimal.
        let protected = CBOR.map([(.unsigned(1), .negative(34))]).encoded()
        cases.append(
            (
                "non-minimal",
                [0x84, 0x58, UInt8(protected.count)] + protected + Array(good.dropFirst(2 + protected.count))
            ))
        // Another alg in the protected header.
        cases.append(("ES256", [0x84, 0x44, 0xa1, 0x01, 0x38, 0x06] + Array(good.dropFirst(6))))
        for (label, bytes) in cases {
            let result = try t.verify(bytes)
            #expect(result.failed == ["structure"], "\(label)")
            #expect(result.checks.first?.detail.contains("offset") == true, "\(label): \(result.checks)")
        }
    }
}
