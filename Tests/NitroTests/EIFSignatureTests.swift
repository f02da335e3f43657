import EnclaveCore
import Foundation
import TestSupport
import Testing

@testable import Nitro

@Suite struct EIFSignatureTests {
    /// PCR8 of the vector certificate `sign-cert-p384.pem` (computed by AWS's code; see Fixtures/README.md).
    static let vectorPCR8 =
        "e3ce076aa9b19509c330975097e5097c0b3c820996564527e02e4fd2abd62b51f6754011ea9bdf486737fef2295984ae"

    func signedImage(in dir: TestDirectory, key: String, cert: String) throws -> (String, EIFMeasurements) {
        var request = try EIFVector.all[1].request()
        request.signer = try EIFSigner(
            privateKeyPEM: try FileInput.contents(of: key), certificatePEM: try FileInput.contents(of: cert))
        let out = dir.path + "/signed.eif"
        return (out, try EIFBuilder.build(request, to: out))
    }

    @Test func signedImageKeepsPCR0to2AndAddsThePCR8Vector() throws {
        let dir = try TestDirectory()
        let (path, m) = try signedImage(
            in: dir, key: Fixtures.path("sign-key-p384.pem"), cert: Fixtures.path("sign-cert-p384.pem"))
        #expect(m.pcr0.hex == EIFVector.all[1].pcr0)
        #expect(m.pcr2.hex == EIFVector.all[1].pcr2)
        #expect(m.pcr8?.hex == Self.vectorPCR8)
        let image = try EIFImage(file: FileInput(path: path))
        #expect(image.sections.last?.type == .signature)
        let d = try EIFDescription(image: image)
        #expect(d.measurements.pcr8?.hex == Self.vectorPCR8)
        #expect(d.crcValid)
        #expect(d.signature?.check == EIFSignature.Check(signatureValid: true, payloadMatchesPCR0: true))
    }

    @Test func pcr8IsTheExtendOfTheCertificateDERAsOpenSSLWritesIt() throws {
        let der = try runOpenSSL(["x509", "-in", Fixtures.path("sign-cert-p384.pem"), "-outform", "DER"])
        let expected = Digest.sha384([UInt8](repeating: 0, count: 48) + Digest.sha384(der))
        #expect(expected.hex == Self.vectorPCR8)
        let signer = try EIFSigner(
            privateKeyPEM: try Fixtures.bytes("sign-key-p384.pem"),
            certificatePEM: try Fixtures.bytes("sign-cert-p384.pem"))
        #expect(try signer.pcr8() == expected)
    }

    /// The COSE signature, taken out of the EIF, verifies with the openssl command line alone.
    @Test(arguments: ["prime256v1", "secp384r1", "secp521r1"])
    func coseSignatureVerifiesWithOpenSSL(curve: String) throws {
        let dir = try TestDirectory()
        let key = dir.path + "/key.pem"
        let cert = dir.path + "/cert.pem"
        _ = try runOpenSSL(["ecparam", "-name", curve, "-genkey", "-noout", "-out", key])
        _ = try runOpenSSL([
            "req", "-new", "-x509", "-key", key, "-subj", "/CN=test/O=EnclaveKit", "-days", "2", "-out", cert,
        ])
        let (path, m) = try signedImage(in: dir, key: key, cert: cert)
        let image = try EIFImage(file: FileInput(path: path))
        let section = try #require(image.section(.signature))
        let sig = try EIFSignature.decode(try image.data(of: section))
        #expect(sig.certificatePEM == (try FileInput.contents(of: cert)))
        let cose = try sig.decodeCOSE()
        #expect(cose.payload == EIFSignature.payload(pcr0: m.pcr0))
        let digest = curve == "prime256v1" ? "-sha256" : curve == "secp384r1" ? "-sha384" : "-sha512"
        let message = EIFSignature.sigStructure(protected: cose.protectedHeader, payload: cose.payload)
        try Data(message).write(to: URL(fileURLWithPath: dir.path + "/msg"))
        try Data(derECDSASignature(raw: cose.signature)).write(to: URL(fileURLWithPath: dir.path + "/sig.der"))
        let pub = try runOpenSSL(["x509", "-in", cert, "-pubkey", "-noout"])
        try Data(pub).write(to: URL(fileURLWithPath: dir.path + "/pub.pem"))
        let out = try runOpenSSL([
            "dgst", digest, "-verify", dir.path + "/pub.pem", "-signature", dir.path + "/sig.der", dir.path + "/msg",
        ])
        #expect(String(decoding: out, as: UTF8.self).contains("Verified OK"))
    }

    @Test func tamperedSignatureOrForeignPCR0IsReported() throws {
        let dir = try TestDirectory()
        let signer = try EIFSigner(
            privateKeyPEM: try Fixtures.bytes("sign-key-p384.pem"),
            certificatePEM: try Fixtures.bytes("sign-cert-p384.pem"))
        let pcr0 = [UInt8](repeating: 7, count: 48)
        let good = try signer.sign(pcr0: pcr0)
        #expect(try good.verify(expectedPCR0: pcr0) == .init(signatureValid: true, payloadMatchesPCR0: true))
        #expect(try good.verify(expectedPCR0: [UInt8](repeating: 8, count: 48)).payloadMatchesPCR0 == false)
        var cose = good.coseSign1
        cose[cose.count - 1] ^= 1
        let bad = EIFSignature(certificatePEM: good.certificatePEM, coseSign1: cose)
        #expect(try bad.verify(expectedPCR0: pcr0).signatureValid == false)
        _ = dir
    }

    @Test func keyAndCertificateMustBelongTogether() throws {
        let dir = try TestDirectory()
        let key = dir.path + "/other.pem"
        _ = try runOpenSSL(["ecparam", "-name", "secp384r1", "-genkey", "-noout", "-out", key])
        #expect(throws: NitroError.certificateMismatch(keyPath: "private key")) {
            try EIFSigner(
                privateKeyPEM: try FileInput.contents(of: key), certificatePEM: try Fixtures.bytes("sign-cert-p384.pem")
            )
        }
        #expect(throws: NitroError.keyType(path: "private key")) {
            try EIFSigner(
                privateKeyPEM: Array("not a key".utf8), certificatePEM: try Fixtures.bytes("sign-cert-p384.pem"))
        }
        #expect(throws: NitroError.notPEM(path: "key.pem")) {
            try EIFSigner(
                privateKeyPEM: [0xff, 0xfe], certificatePEM: try Fixtures.bytes("sign-cert-p384.pem"),
                keyPath: "key.pem")
        }
        let junk = #expect(throws: NitroError.self) {
            try EIFSigner(privateKeyPEM: try Fixtures.bytes("sign-key-p384.pem"), certificatePEM: Array("junk".utf8))
        }
        guard case .certificate = junk else {
            Issue.record("expected a certificate error, got \(String(describing: junk))")
            return
        }
    }

    @Test func corruptSignatureSectionIsAFormatError() {
        let cut = #expect(throws: FormatError.self) { try EIFSignature.decode([0x81, 0xa2, 0x63]) }
        #expect(cut?.kind == .truncated)
        #expect(cut?.format == "CBOR")
        #expect(cut?.offset == 1)
        let empty = #expect(throws: FormatError.self) { try EIFSignature.decode(CBOR.array([]).encoded()) }
        #expect(empty?.kind == .badValue)
        #expect(empty?.message.contains("non-empty CBOR array") == true)
        let noFields = #expect(throws: FormatError.self) { try EIFSignature.decode(CBOR.array([.map([])]).encoded()) }
        #expect(noFields?.kind == .badValue)
        #expect(noFields?.message.contains("\"signing_certificate\" and \"signature\"") == true)
    }
}

/// ECDSA-Sig-Value DER from a fixed-width r‖s, for handing COSE signatures to openssl.
func derECDSASignature(raw: [UInt8]) -> [UInt8] {
    func integer(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        var v = Array(bytes.drop { $0 == 0 })
        if v.isEmpty { v = [0] }
        if v[0] & 0x80 != 0 { v.insert(0, at: 0) }
        return [0x02] + length(v.count) + v
    }
    func length(_ n: Int) -> [UInt8] { n < 128 ? [UInt8(n)] : [0x81, UInt8(n)] }
    let half = raw.count / 2
    let body = integer(raw[0..<half]) + integer(raw[half...])
    return [0x30] + length(body.count) + body
}

/// Runs the openssl command line and returns its standard output; fails the test on a non-zero exit.
func runOpenSSL(_ args: [String]) throws -> [UInt8] {
    let result = try ToolRunner.run("/usr/bin/openssl", args)
    guard result.status == 0 else {
        throw TestFailure("openssl \(args.joined(separator: " ")) failed: \(result.stderr)")
    }
    return result.stdoutBytes
}

@Suite struct EIFSignExistingTests {
    @Test func signingAnUnsignedImageKeepsItsPCRsAndAddsPCR8() throws {
        let dir = try TestDirectory()
        let unsigned = dir.path + "/u.eif"
        let base = try EIFBuilder.build(try EIFVector.all[1].request(), to: unsigned)
        let signer = try EIFSigner(
            privateKeyPEM: try Fixtures.bytes("sign-key-p384.pem"),
            certificatePEM: try Fixtures.bytes("sign-cert-p384.pem"))
        let signed = dir.path + "/s.eif"
        let m = try EIFBuilder.sign(try EIFImage(file: FileInput(path: unsigned)), with: signer, to: signed)
        #expect(m.pcr0 == base.pcr0 && m.pcr1 == base.pcr1 && m.pcr2 == base.pcr2)
        #expect(m.pcr8?.hex == EIFSignatureTests.vectorPCR8)
        // Re-signing replaces the signature instead of adding a second one.
        let again = dir.path + "/s2.eif"
        _ = try EIFBuilder.sign(try EIFImage(file: FileInput(path: signed)), with: signer, to: again)
        let image = try EIFImage(file: FileInput(path: again))
        #expect(image.sections.filter { $0.type == .signature }.count == 1)
        let d = try EIFDescription(image: image)
        #expect(d.crcValid)
        #expect(d.signature?.check == EIFSignature.Check(signatureValid: true, payloadMatchesPCR0: true))
        // Without the signature section, the file is the unsigned one byte for byte.
        let unsignedBytes = try FileInput.contents(of: unsigned)
        let sig = try #require(image.section(.signature))
        let signedBytes = try FileInput.contents(of: again)
        #expect(Array(signedBytes[548..<Int(sig.headerOffset)]) == Array(unsignedBytes[548...]))
    }
}
