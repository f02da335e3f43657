import EnclaveCore
import Foundation
import TestSupport
import Testing

@testable import Attestation

/// The DCAP quote and collateral parsers on the vectors and on hostile input.
@Suite struct DCAPParserTests {
    static func tdx() throws -> [UInt8] { try Fixtures.bytes("dcap/dcapqvl_tdx_quote") }
    static func sgx() throws -> [UInt8] { try Fixtures.bytes("dcap/dcapqvl_sgx_quote") }

    static func set16(_ bytes: inout [UInt8], _ offset: Int, _ value: UInt16) {
        bytes[offset] = UInt8(value & 0xff)
        bytes[offset + 1] = UInt8(value >> 8)
    }

    static func set32(_ bytes: inout [UInt8], _ offset: Int, _ value: UInt32) {
        for i in 0..<4 { bytes[offset + i] = UInt8(value >> (8 * UInt32(i)) & 0xff) }
    }

    @Test func parsesEveryVector() throws {
        let v4 = try DCAPQuote.parse(try Self.tdx())
        #expect(v4.version == 4 && v4.tee == .tdx && v4.signedLength == 632 && v4.certificationDataType == 5)
        #expect(v4.qeAuthData.count == 32)
        let v5 = try DCAPQuote.parse(try Fixtures.bytes("dcap/dcapqvl_tdx_quote_outdated"))
        #expect(v5.version == 5 && v5.bodyType == 3 && v5.signedLength == 48 + 6 + 648)
        guard case .td(let td15) = v5.body else {
            Issue.record("v5 quote has no TD report")
            return
        }
        #expect(td15.isTDX15 && td15.mrServiceTD?.count == 48)
        let v3 = try DCAPQuote.parse(try Self.sgx())
        #expect(v3.version == 3 && v3.tee == .sgx && v3.signedLength == 432 && v3.trailingBytes == 0)
        #expect(String(decoding: v3.reportData.prefix(13), as: UTF8.self) == "Hello, world!")
        let padded = try DCAPQuote.parse(try Fixtures.bytes("dcap/gotdx_cos-113-tdx-quote.dat"))
        #expect(padded.declaredLength + padded.trailingBytes == 8000 && padded.trailingBytes > 0)
    }

    @Test func detectsTheTEEFromTheHeader() throws {
        #expect(DCAPQuote.looksLikeQuote(try Self.tdx()) == .tdx)
        #expect(DCAPQuote.looksLikeQuote(try Self.sgx()) == .sgx)
        #expect(DCAPQuote.looksLikeQuote(try Fixtures.bytes("dcap/gotdx_cos-113-tdx-quote.dat")) == .tdx)
        #expect(DCAPQuote.looksLikeQuote(Array(repeating: 0, count: 1000)) == nil)
        #expect(DCAPQuote.looksLikeQuote(Array(try Self.tdx().prefix(40))) == nil)
        var sev = try Self.tdx()
        sev[0] = 2
        #expect(DCAPQuote.looksLikeQuote(sev) == nil)
    }

    /// Each cut stops at the field it falls in: the header (version at 0, pce_svn at 10, user_data at 28),
    /// the TD report body at 48, the signature data length at 632, or the signature data it announces.
    @Test(arguments: [
        (0, FormatError.Kind.truncated, 0, "2 bytes of version"),
        (1, .truncated, 0, "2 bytes of version"),
        (10, .truncated, 10, "2 bytes of pce_svn"),
        (47, .truncated, 28, "20 bytes of user_data"),
        (48, .truncated, 48, "584 bytes of TD report body 1.0, only 0 left"),
        (300, .truncated, 48, "584 bytes of TD report body 1.0, only 252 left"),
        (631, .truncated, 48, "584 bytes of TD report body 1.0, only 583 left"),
        (633, .truncated, 632, "4 bytes of signature data length"),
        (700, .outOfBounds, 632, "signature data length 4300 points past the end of the quote (64 bytes left)"),
        (1000, .outOfBounds, 632, "(364 bytes left)"),
        (2000, .outOfBounds, 632, "(1364 bytes left)"),
        (4935, .outOfBounds, 632, "(4299 bytes left)"),
    ])
    func truncatedQuotesAreErrors(_ length: Int, kind: FormatError.Kind, offset: UInt64, message: String) throws {
        let bytes = Array(try Self.tdx().prefix(length))
        let error = #expect(throws: FormatError.self) { try DCAPQuote.parse(bytes) }
        #expect(error?.kind == kind)
        #expect(error?.offset == offset)
        #expect(error?.message.contains(message) == true, "\(String(describing: error))")
    }

    @Test func oversizedInputIsRefused() throws {
        let bytes = try Self.tdx() + Array(repeating: 0, count: DCAPQuote.maxSize)
        #expect(throws: FormatError(.tooLarge, format: DCAPQuote.format, offset: DCAPQuote.maxSize, "")) {
            try DCAPQuote.parse(bytes)
        }
    }

    struct Bad: CustomTestStringConvertible, Sendable {
        var name: String
        var sgx = false
        var edit: @Sendable (inout [UInt8]) -> Void
        var kind: FormatError.Kind
        var offset: UInt64
        var testDescription: String { name }
    }

    static let bad: [Bad] = [
        Bad(name: "version 2", edit: { set16(&$0, 0, 2) }, kind: .badVersion, offset: 0),
        Bad(name: "version 6", edit: { set16(&$0, 0, 6) }, kind: .badVersion, offset: 0),
        Bad(name: "P-384 key type", edit: { set16(&$0, 2, 3) }, kind: .unsupported, offset: 2),
        Bad(name: "unknown tee_type", edit: { set32(&$0, 4, 0x80) }, kind: .badValue, offset: 4),
        Bad(name: "version 3 with tee_type TDX", sgx: true, edit: { set32(&$0, 4, 0x81) }, kind: .badValue, offset: 4),
        Bad(
            name: "signature data length past the end", edit: { set32(&$0, 632, 0xffff) }, kind: .outOfBounds,
            offset: 632),
        Bad(
            name: "certification data type 5 at the outer level", edit: { set16(&$0, 764, 5) }, kind: .unsupported,
            offset: 764),
        Bad(
            name: "type 6 size past the end", edit: { set32(&$0, 766, 0x10000) }, kind: .outOfBounds, offset: 766),
        Bad(
            name: "QE auth data length past the end", edit: { set16(&$0, 770 + 448, 0xfff0) }, kind: .outOfBounds,
            offset: 1218),
        Bad(
            name: "inner certification data size past the end", edit: { set32(&$0, 1218 + 2 + 32 + 2, 0xffff_ff) },
            kind: .outOfBounds, offset: 1254),
        Bad(
            name: "SGX: signature data length past the end", sgx: true, edit: { set32(&$0, 432, 5000) },
            kind: .outOfBounds, offset: 432),
        Bad(
            name: "SGX: QE auth data length past the end", sgx: true, edit: { set16(&$0, 436 + 128 + 448, 0xffff) },
            kind: .outOfBounds, offset: 1012),
        Bad(
            name: "signature data shorter than its contents", edit: { set32(&$0, 632, 200) }, kind: .outOfBounds,
            offset: 766),
    ]

    @Test(arguments: bad) func badQuotesNameTheOffset(_ c: Bad) throws {
        var bytes = c.sgx ? try Self.sgx() : try Self.tdx()
        c.edit(&bytes)
        do {
            let q = try DCAPQuote.parse(bytes)
            Issue.record("parsed: \(q.declaredLength) bytes")
        } catch {
            #expect(error.kind == c.kind, "\(error)")
            #expect(error.offset == c.offset, "\(error)")
        }
    }

    @Test func badQuotesFailTheStructureCheckWithOneLine() throws {
        var bytes = try Self.tdx()
        Self.set32(&bytes, 632, 0xffff)
        let r = DCAPVerifier.verify(
            EvidenceInputs(evidence: bytes, name: "node.quote"), tee: .tdx,
            policy: AttestationPolicy(verificationTime: 0))
        #expect(r.failed == ["structure"])
        let detail = r.checks.first?.detail ?? ""
        #expect(detail.hasPrefix("node.quote: DCAP quote: offset 632 (0x278): signature data length 65535"))
        #expect(!detail.contains("\n"))
    }

    @Test func collateralParsesStrictly() throws {
        let text = try Fixtures.text("dcap/dcapqvl_tdx_quote_collateral.json")
        let c = try DCAPCollateral.parse(Array(text.utf8))
        let info = try TCBInfo.parse(c.tcbInfo)
        #expect(info.id == "TDX" && info.version == 3 && info.fmspc.hex == "b0c06f000000")
        #expect(info.tdxModuleIdentities.map(\.id) == ["TDX_03", "TDX_01"])
        #expect(info.levels.first?.verdict.status == .upToDate)
        let qe = try QEIdentity.parse(c.qeIdentity)
        #expect(qe.id == "TD_QE" && qe.isvProdID == 2)
        // A duplicate key is an error with its offset, not last-one-wins.
        let dup = "{\"tcb_info\":\"x\"," + text.dropFirst()
        let duplicate = #expect(throws: FormatError.self) { try DCAPCollateral.parse(Array(dup.utf8)) }
        #expect(duplicate?.kind == .badValue)
        #expect(duplicate?.offset == 9888)
        #expect(duplicate?.message.contains("duplicate object key \"tcb_info\"") == true)
        // Missing members and bad hex.
        let empty = #expect(throws: FormatError.self) { try DCAPCollateral.parse(Array("{}".utf8)) }
        #expect(empty?.kind == .missing)
        #expect(empty?.message.contains("no \"pck_crl_issuer_chain\" member") == true)
        let badHex = text.replacingOccurrences(of: "\"root_ca_crl\": \"", with: "\"root_ca_crl\": \"zz")
        #expect(badHex != text)
        let notHex = #expect(throws: FormatError.self) { try DCAPCollateral.parse(Array(badHex.utf8)) }
        #expect(notHex?.kind == .badValue)
        #expect(notHex?.message.contains("\"root_ca_crl\" is not hexadecimal") == true)
        let noVersion = #expect(throws: FormatError.self) { try TCBInfo.parse(Array("{\"id\":\"TDX\"}".utf8)) }
        #expect(noVersion?.kind == .missing)
        #expect(noVersion?.message.contains("no \"version\" member") == true)
    }

    /// Deterministic mutations (byte changes in the header and in the lengths region) never crash the
    /// parser or the verifier; each either parses or throws a FormatError.
    @Test func mutatedQuotesNeverCrash() throws {
        var seed: UInt64 = 0x9e37_79b9_7f4a_7c15
        func next() -> Int {
            seed ^= seed << 13
            seed ^= seed >> 7
            seed ^= seed << 17
            return Int(truncatingIfNeeded: seed >> 1)
        }
        var parsed = 0
        var rejected = 0
        for base in [try Self.tdx(), try Self.sgx()] {
            for _ in 0..<300 {
                var bytes = base
                for _ in 0..<(1 + next() % 4) {
                    let position = next() % 2 == 0 ? next() % 1300 : next() % bytes.count
                    bytes[position] = UInt8(truncatingIfNeeded: next())
                }
                if next() % 5 == 0 { bytes = Array(bytes.prefix(next() % bytes.count)) }
                do {
                    let quote = try DCAPQuote.parse(bytes)
                    parsed += 1
                    _ = DCAPVerifier.verify(
                        EvidenceInputs(evidence: bytes, name: "m"), tee: quote.tee,
                        policy: AttestationPolicy(verificationTime: 0))
                } catch {
                    rejected += 1
                }
            }
        }
        // Both branches ran: some mutations reach the verifier, some are rejected by the parser.
        #expect(parsed > 0)
        #expect(rejected > 0)
    }

    @Test func tdRelaunchStatusesParseAndRankBetweenHardeningAndOutOfDate() throws {
        #expect(TCBStatus(rawValue: "TDRelaunchAdvised") == .tdRelaunchAdvised)
        #expect(TCBStatus.configurationAndSWHardeningNeeded < .tdRelaunchAdvised)
        #expect(TCBStatus.tdRelaunchAdvisedConfigurationNeeded < .outOfDate)
        #expect(TCBStatus.outOfDate < .revoked)
    }

    @Test func rfc3339() {
        #expect(CivilTime.parseRFC3339("2025-07-19T10:16:03Z", utcOnly: true) == 1_752_920_163)
        #expect(CivilTime.parseRFC3339("2025-07-19T10:16:03.123Z", utcOnly: true) == 1_752_920_163)
        #expect(CivilTime.parseRFC3339("2025-07-19 10:16:03", utcOnly: true) == nil)
        #expect(CivilTime.parseRFC3339("2025-13-19T10:16:03Z", utcOnly: true) == nil)
        #expect(DCAPPKI.iso(1_752_920_163) == "2025-07-19T10:16:03Z")
    }
}
