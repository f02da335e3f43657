import EnclaveCore
import Foundation
import Release
import TestSupport
import Testing

/// The DSSE spec vectors (`Fixtures/dsse-vectors.json`, from secure-systems-lab/dsse at 82043adf, RFC 8032
/// keys) and the known-answer in-toto envelope (`Fixtures/kat/`), both verified with securesystemslib by
/// the vectors' authors.
@Suite struct DSSETests {
    static func vectors() throws -> JSONValue { try JSONParser.parse(try Fixtures.bytes("dsse-vectors.json")) }

    /// The vector ids for the `specVector` table. A fixture that fails to load gives an empty table here
    /// (argument lists cannot throw), so `theFixtureHoldsAllNineVectors` requires the count.
    static var vectorIDs: [String] {
        guard case .array(let items)? = try? vectors()["vectors"] else { return [] }
        return items.compactMap { $0["id"]?.stringValue }
    }

    /// The vectors file as committed holds nine vectors with distinct ids; a missing, unreadable or
    /// truncated fixture would otherwise leave `specVector` running zero cases.
    @Test func theFixtureHoldsAllNineVectors() throws {
        guard case .array(let items)? = try Self.vectors()["vectors"] else {
            Issue.record("dsse-vectors.json has no 'vectors' array")
            return
        }
        let ids = items.compactMap { $0["id"]?.stringValue }
        #expect(items.count == 9)
        #expect(ids.count == items.count, "every vector has an id")
        #expect(Set(ids).count == ids.count, "vector ids are distinct")
        #expect(Self.vectorIDs == ids)
    }

    /// An Ed25519 public key from its raw 32 bytes (SPKI prefix from RFC 8410).
    static func ed25519(rawHex: String) throws -> PublicKey {
        let raw = try #require(Hex.decode(rawHex))
        let prefix = try #require(Hex.decode("302a300506032b6570032100"))
        return try PublicKey(spki: prefix + raw, format: "test")
    }

    @Test func paeOfTheSpecExample() {
        let pae = DSSE.pae(type: "http://example.com/HelloWorld", body: Array("hello world".utf8))
        #expect(String(decoding: pae, as: UTF8.self) == "DSSEv1 29 http://example.com/HelloWorld 11 hello world")
        #expect(String(decoding: DSSE.pae(type: "", body: []), as: UTF8.self) == "DSSEv1 0  0 ")
    }

    @Test(arguments: vectorIDs)
    func specVector(id: String) throws {
        let all = try Self.vectors()
        guard case .array(let items)? = all["vectors"], let v = items.first(where: { $0["id"]?.stringValue == id })
        else {
            Issue.record("vector \(id) missing")
            return
        }
        let envelopeJSON = try #require(v["envelope"])
        let envelope = try DSSEEnvelope(value: envelopeJSON, format: id)
        if id == "payload-type-swapped" {
            // The vector's PAE is what was signed: the original type, not the one the envelope claims.
            #expect(DSSE.pae(type: DSSE.inTotoPayloadType, body: envelope.payload).hex == v["pae"]?.stringValue)
            #expect(envelope.pae.hex != v["pae"]?.stringValue)
        } else {
            #expect(envelope.pae.hex == v["pae"]?.stringValue)
        }

        guard case .array(let trustedNames)? = v["trustedKeys"], case .array(let types)? = v["supportedPayloadTypes"],
            case .number(let thresholdText)? = v["threshold"], let threshold = Int(thresholdText)
        else {
            Issue.record("vector \(id) is incomplete")
            return
        }
        let trusted = try trustedNames.compactMap(\.stringValue).map { name in
            TrustedKey(
                name: name, key: try Self.ed25519(rawHex: all["keys"]?[name]?["public"]?.stringValue ?? ""), keyid: name
            )
        }
        let result = ThresholdVerifier.verify(envelope, trusted: trusted, threshold: threshold)
        let accepted = types.compactMap(\.stringValue).contains(envelope.payloadType) && result.isMet
        #expect(accepted == (v["expect"]?.stringValue == "accept"), "\(id): \(result.failureReason)")
        if id == "threshold-two-one-key-twice" {
            #expect(result.entries.map(\.status) == [.trusted(keyName: "A"), .duplicate(keyName: "A")])
        }
    }

    @Test func knownAnswerPayloadPAEAndKeyids() throws {
        let kat = try JSONParser.parse(try Fixtures.bytes("kat/kat.json"))
        let payload = try Base64.decode(try #require(kat["payload_b64"]?.stringValue), format: "kat")
        #expect(String(decoding: payload, as: UTF8.self) == kat["payload_utf8"]?.stringValue)
        #expect(DSSE.pae(type: DSSE.inTotoPayloadType, body: payload).hex == kat["pae_hex"]?.stringValue)
        for (name, file) in [("ed25519", "kat/ed25519.pub"), ("p256", "kat/p256.pub")] {
            let key = try PublicKey(pem: try Fixtures.bytes(file), format: file)
            #expect(key.spki.hex == kat["keys"]?[name]?["spki_der_hex"]?.stringValue)
            #expect(key.pem == kat["keys"]?[name]?["spki_pem"]?.stringValue)
            #expect(key.securesystemslibCanonicalJSON == kat["keys"]?[name]?["sslib_key_canonical_json"]?.stringValue)
            #expect(key.keyid == kat["keys"]?[name]?["sslib_keyid"]?.stringValue)
        }
    }

    @Test(arguments: [("kat/envelope_ed25519.json", "kat/ed25519.pub"), ("kat/envelope_p256.json", "kat/p256.pub")])
    func knownAnswerEnvelopesVerify(envelopeFile: String, keyFile: String) throws {
        let envelope = try DSSEEnvelope(json: try Fixtures.bytes(envelopeFile), format: envelopeFile)
        let key = try PublicKey(pem: try Fixtures.bytes(keyFile), format: keyFile)
        #expect(envelope.signatures.first?.keyid == key.keyid)
        let result = ThresholdVerifier.verify(envelope, trusted: [TrustedKey(name: "kat", key: key)], threshold: 1)
        #expect(result.isMet)
        // One flipped payload byte must break it.
        var tampered = envelope
        tampered.payload[10] ^= 1
        #expect(!ThresholdVerifier.verify(tampered, trusted: [TrustedKey(name: "kat", key: key)], threshold: 1).isMet)
    }

    /// swift-crypto's own PEM has no trailing newline; the keyid must be computed over the
    /// securesystemslib PEM, which has one, whatever the input file looked like.
    @Test func keyidIgnoresTheInputsTrailingNewline() throws {
        let kat = try JSONParser.parse(try Fixtures.bytes("kat/kat.json"))
        var pem = try Fixtures.text("kat/p256.pub")
        while pem.hasSuffix("\n") { pem.removeLast() }
        let key = try PublicKey(pem: Array(pem.utf8), format: "p256.pub")
        #expect(key.keyid == kat["keys"]?["p256"]?["sslib_keyid"]?.stringValue)
        let wrong = Digest.sha256(
            Array(key.securesystemslibCanonicalJSON.replacingOccurrences(of: "-----\n\"", with: "-----\"").utf8)
        ).hex
        #expect(wrong != key.keyid)
    }

    @Test(arguments: [
        ("aGVsbG8=", "hello"), ("aGVsbG8", "hello"), ("", ""), ("-_8=", "\u{FB}\u{FF}"), ("+/8=", "\u{FB}\u{FF}"),
    ])
    func base64DecodesBothAlphabets(text: String, expected: String) throws {
        let expectedBytes = expected.unicodeScalars.map { UInt8($0.value) }
        #expect(try Base64.decode(text, format: "b64") == expectedBytes)
    }

    @Test func base64EncodesPaddedStandard() {
        #expect(Base64.encode(Array("hello".utf8)) == "aGVsbG8=")
        #expect(Base64.encode([0xFB, 0xFF]) == "+/8=")
        #expect(Base64.encode([UInt8]()) == "")
    }

    @Test(arguments: [
        ("aGVs bG8=", FormatError.Kind.badValue, 4),  // whitespace
        ("aGVsbG8*", .badValue, 7),
        ("+_8=", .badValue, 1),  // mixed alphabets
        ("aGV=bG8=", .badValue, 3),  // padding inside
        ("aGVsbG8==", .badValue, 7),  // too much padding
        ("aGVsb", .truncated, 5),  // impossible length
        ("aGVsbG9=", .badValue, 6),  // non-zero trailing bits
    ])
    func base64RejectsMalformedText(text: String, kind: FormatError.Kind, offset: Int) {
        #expect(throws: FormatError(kind, format: "b64", offset: offset, "")) { try Base64.decode(text, format: "b64") }
    }

    @Test func envelopeRejectsMalformedFields() {
        let cases: [(String, String)] = [
            (#"{"payloadType":"t","signatures":[]}"#, "no 'payload'"),
            (#"{"payload":"e30=","signatures":[]}"#, "no 'payloadType'"),
            (#"{"payload":"e30=","payloadType":"t"}"#, "no 'signatures'"),
            (#"{"payload":"e30","payloadType":"t","signatures":[{"sig":"!!"}]}"#, "not a base64 character"),
            (#"{"payload":"e30=","payloadType":"t","signatures":[{"keyid":"k"}]}"#, "has no 'sig'"),
            (#"{"payload":1,"payloadType":"t","signatures":[]}"#, "'payload' must be a base64 string"),
            (#"{"payload":"e30=","payloadType":null,"signatures":[]}"#, "'payloadType' must be a string"),
            (#"{"payload":"e30=","payloadType":"t","signatures":[{"sig":[]}]}"#, "signature 1: 'sig' must be a base64"),
            (#"{"payload":"e30=","payloadType":"t","signatures":[{"keyid":1,"sig":""}]}"#, "'keyid' must be a string"),
            (#"{"payload":"e30=","payloadType":"t","signatures":{}}"#, "must be an array"),
            (
                #"{"payload":"","payloadType":"t","signatures":["#
                    + Array(repeating: #"{"sig":""}"#, count: 257).joined(separator: ",")
                    + "]}",
                "257 signatures, more than the 256"
            ),
        ]
        for (json, message) in cases {
            do {
                _ = try DSSEEnvelope(json: Array(json.utf8), format: "env")
                Issue.record("accepted \(json)")
            } catch {
                #expect("\(error)".contains(message), "\(json): \(error)")
            }
        }
    }

    @Test func envelopeIgnoresUnknownFieldsAndRoundTrips() throws {
        let json = #"{"payload":"e30=","payloadType":"t","signatures":[{"sig":"AAE=","extra":1}],"x":[]}"#
        let envelope = try DSSEEnvelope(json: Array(json.utf8), format: "env")
        #expect(envelope.signatures == [.init(keyid: nil, sig: [0, 1])])
        let again = try DSSEEnvelope(json: envelope.fileBytes, format: "env")
        #expect(again == envelope)
    }
}
