import EnclaveCore
import Foundation
import SGX
import TestSupport
import Testing

/// SIGSTRUCT against the shared S2 vector (`v2_ref.sigstruct`) and against the openssl command line.
@Suite struct SigstructTests {
    static let v2MRENCLAVE = "3ade326cde767dee16aabc53a0fb800646ef246213b0fdcbf2e09ea9b7dd5fd1"
    /// From the vectors README: SHA-256 of the little-endian modulus, and the big-endian mistake.
    static let mrsigner = "ddaafb5addf150acda0cf5a01ef1e5b807c90e5d068890c634f58101c84d7a69"
    static let wrongBigEndianMRSIGNER = "477a0e9e4b3f318035bbb7e4ffb83ecdbec89777ca69d9e433aee1077be14f49"

    static func s2Unsigned() throws -> Sigstruct {
        var sig = Sigstruct(enclaveHash: Hex.decode(v2MRENCLAVE) ?? [])
        sig.date = SGXDate(year: 2024, month: 1, day: 15)
        sig.miscSelect = 0
        sig.miscMask = 0xffff_ffff
        sig.attributesFlags = 0x6
        sig.attributesXfrm = 0x3
        sig.attributeMaskFlags = 0xffff_ffff_ffff_ffff
        sig.attributeMaskXfrm = 0xffff_ffff_fff9_ff1b
        sig.isvProdID = 0x1234
        sig.isvSVN = 7
        return sig
    }

    static func key() throws -> SGXRSAKey { try SGXRSAKey(pem: Fixtures.bytes("key3072_e3.pem")) }

    @Test func signingReproducesS2ByteForByte() throws {
        var sig = try Self.s2Unsigned()
        try sig.sign(with: Self.key())
        let reference = try Fixtures.bytes("v2_ref.sigstruct")
        #expect(sig.serialized == reference)
        #expect(Digest.sha256(sig.serialized).hex == "ad6521ef05504ed9fe233f62885438b94192f099576a3084570520813b87ac6b")
    }

    @Test func parseVerifyAndMRSIGNER() throws {
        let reference = try Fixtures.bytes("v2_ref.sigstruct")
        let sig = try Sigstruct(bytes: reference)
        #expect(sig.serialized == reference)
        #expect(sig.enclaveHash.hex == Self.v2MRENCLAVE)
        #expect(sig.mrsigner.hex == Self.mrsigner)
        #expect(SGXSigningKey.mrsigner(of: try Self.key()).hex == Self.mrsigner)
        #expect(Digest.sha256(try Self.key().modulus).hex == Self.wrongBigEndianMRSIGNER)
        #expect(sig.date == SGXDate(year: 2024, month: 1, day: 15))
        #expect(sig.dateRaw == 0x2024_0115)
        #expect(sig.isvProdID == 0x1234 && sig.isvSVN == 7)
        #expect(try sig.verify() == Sigstruct.Verification(signatureValid: true, q1q2Valid: true))
        #expect(try sig == Self.s2Unsigned().signedWith(Self.key()))
    }

    @Test func tamperedSigstructDoesNotVerify() throws {
        var bytes = try Fixtures.bytes("v2_ref.sigstruct")
        bytes[1024] ^= 1  // ISVPRODID is signed
        #expect(try Sigstruct(bytes: bytes).verify().signatureValid == false)
        var q = try Fixtures.bytes("v2_ref.sigstruct")
        q[1040] ^= 1  // q1 is not signed, but EINIT checks it
        let v = try Sigstruct(bytes: q).verify()
        #expect(v.signatureValid && !v.q1q2Valid)
    }

    @Test func twoStepSigningWithTheOpenSSLCommandLine() throws {
        let dir = try TestDirectory()
        let unsigned = try Self.s2Unsigned()
        let data = unsigned.signedBytes
        #expect(data.count == 256)
        try Data(data).write(to: URL(fileURLWithPath: dir.path + "/data.bin"))
        let result = try run(
            "openssl",
            [
                "dgst", "-sha256", "-sign", Fixtures.path("key3072_e3.pem"), "-out", dir.path + "/sig.bin",
                dir.path + "/data.bin",
            ])
        #expect(result == 0)
        let signatureBE = Array(try Data(contentsOf: URL(fileURLWithPath: dir.path + "/sig.bin")))
        var assembled = try Sigstruct(signedBytes: data)
        let publicKey = try SGXRSAKey(pem: try Self.key().publicKeyPEM())
        #expect(!publicKey.isPrivate)
        try assembled.attach(signature: signatureBE, publicKey: publicKey)
        #expect(assembled.serialized == (try Fixtures.bytes("v2_ref.sigstruct")))
        // A signature over other bytes is refused.
        var other = assembled
        other.isvSVN = 8
        let error = #expect(throws: FormatError.self) { try other.attach(signature: signatureBE, publicKey: publicKey) }
        #expect(error?.kind == .badSignature)
        #expect(error?.message.contains("does not verify") == true)
    }

    @Test func openSSLCommandLineVerifiesOurSignature() throws {
        // The same check as the vectors' check_sigstruct.sh: BE signature over bytes 0..<128 ‖ 900..<1028.
        let dir = try TestDirectory()
        var sig = try Self.s2Unsigned()
        sig.isvSVN = 99
        try sig.sign(with: Self.key())
        let bytes = sig.serialized
        try Data(Array(bytes[0..<128]) + Array(bytes[900..<1028])).write(
            to: URL(fileURLWithPath: dir.path + "/signed.bin"))
        try Data(Array(bytes[516..<900]).reversed()).write(to: URL(fileURLWithPath: dir.path + "/sig.be"))
        try Data(try Self.key().publicKeyPEM()).write(to: URL(fileURLWithPath: dir.path + "/pub.pem"))
        let status = try run(
            "openssl",
            [
                "dgst", "-sha256", "-verify", dir.path + "/pub.pem", "-signature", dir.path + "/sig.be",
                dir.path + "/signed.bin",
            ])
        #expect(status == 0)
    }

    @Test func generatedKeyIsRSA3072WithExponent3() throws {
        let pem = try SGXSigningKey.generate()
        #expect(String(decoding: pem, as: UTF8.self).hasPrefix("-----BEGIN PRIVATE KEY-----"))
        let key = try SGXRSAKey(pem: pem)
        #expect(key.isPrivate && key.modulus.count == 384 && key.modulus[0] >= 0x80)
        var sig = try Self.s2Unsigned()
        try sig.sign(with: key)
        #expect(try sig.verify().isValid)
    }

    // MARK: - bad input

    @Test func wrongHeaderLengthAndReservedBytesThrow() throws {
        let good = try Fixtures.bytes("v2_ref.sigstruct")
        var header = good
        header[0] = 7
        #expect(throws: FormatError(.badMagic, format: "SIGSTRUCT", offset: 0, "")) { try Sigstruct(bytes: header) }
        var header2 = good
        header2[30] = 1
        #expect(throws: FormatError(.badMagic, format: "SIGSTRUCT", offset: 24, "")) { try Sigstruct(bytes: header2) }
        #expect(throws: FormatError(.truncated, format: "SIGSTRUCT", offset: 0, "")) {
            try Sigstruct(bytes: Array(good.prefix(1000)))
        }
        #expect(throws: FormatError(.tooLarge, format: "SIGSTRUCT", offset: 0, "")) { try Sigstruct(bytes: good + [0]) }
        var reserved = good
        reserved[1030] = 1
        #expect(throws: FormatError(.badValue, format: "SIGSTRUCT", offset: 1030, "")) {
            try Sigstruct(bytes: reserved)
        }
        var exponent = good
        exponent[512] = 5
        #expect(throws: FormatError(.badValue, format: "SIGSTRUCT", offset: 512, "")) { try Sigstruct(bytes: exponent) }
    }

    @Test(arguments: [["3072"], ["-3", "2048"]])
    func keysThatAreNot3072WithE3AreRefused(args: [String]) throws {
        let dir = try TestDirectory()
        #expect(try run("openssl", ["genrsa", "-out", dir.path + "/k.pem"] + args) == 0)
        let pem = Array(try Data(contentsOf: URL(fileURLWithPath: dir.path + "/k.pem")))
        let error = #expect(throws: FormatError.self) { try SGXRSAKey(pem: pem) }
        #expect(error?.kind == .unsupported)
        #expect(error?.message.contains("3072-bit key with e = 3") == true)
    }

    @Test func encryptedKeyIsRefusedWithoutPrompting() throws {
        let dir = try TestDirectory()
        let path = dir.path + "/enc.pem"
        #expect(
            try run(
                "openssl",
                ["pkey", "-in", Fixtures.path("key3072_e3.pem"), "-aes128", "-passout", "pass:secret", "-out", path])
                == 0)
        let error = #expect(throws: FormatError.self) {
            try SGXRSAKey(pem: Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        }
        #expect(error?.message.contains("unencrypted") == true)
    }

    @Test func notAKeyIsRefused() throws {
        let error = #expect(throws: FormatError.self) { try SGXRSAKey(pem: Array("hello".utf8)) }
        #expect(error?.kind == .badValue)
        #expect(error?.message.contains("not an unencrypted PEM RSA") == true)
    }

    @Test(arguments: [("2024-01-15", UInt32(0x2024_0115)), ("1999-12-31", UInt32(0x1999_1231))])
    func bcdDate(text: String, bcd: UInt32) throws {
        let date = try #require(SGXDate(text))
        #expect(date.bcd == bcd)
        #expect(SGXDate(bcd: bcd) == date)
        #expect(date.description == text)
    }

    @Test func nonBCDDateIsReportedNotParsed() {
        #expect(SGXDate(bcd: 0x07E8_010F) == nil)  // Gramine's old binary form of 2024-01-15
        #expect(SGXDate("2024-13-01") == nil)
    }
}

extension Sigstruct {
    fileprivate func signedWith(_ key: SGXRSAKey) throws -> Sigstruct {
        var copy = self
        try copy.sign(with: key)
        return copy
    }
}

/// Runs a tool from PATH and returns its exit status.
func run(_ tool: String, _ args: [String], in directory: String? = nil) throws -> Int32 {
    try ToolRunner.run(tool, args, in: directory).status
}
