import EnclaveCore

/// A calendar date stored in SIGSTRUCT.DATE as BCD `yyyymmdd` (2024-01-15 → 0x20240115).
public struct SGXDate: Sendable, Hashable, CustomStringConvertible {
    public var year: Int
    public var month: Int
    public var day: Int

    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses `YYYY-MM-DD`.
    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]), (1...12).contains(m),
            (1...31).contains(d)
        else { return nil }
        self.init(year: y, month: m, day: d)
    }

    /// Decodes BCD; nil when a nibble is not a decimal digit (the pre-2023 Gramine binary form).
    public init?(bcd: UInt32) {
        func digits(_ v: UInt32, _ count: Int) -> Int? {
            var result = 0
            for i in (0..<count).reversed() {
                let nibble = Int((v >> (4 * UInt32(i))) & 0xf)
                guard nibble <= 9 else { return nil }
                result = result * 10 + nibble
            }
            return result
        }
        guard let y = digits(bcd >> 16, 4), let m = digits((bcd >> 8) & 0xff, 2), let d = digits(bcd & 0xff, 2) else {
            return nil
        }
        self.init(year: y, month: m, day: d)
    }

    public var bcd: UInt32 {
        func encode(_ v: Int, _ count: Int) -> UInt32 {
            var out: UInt32 = 0
            var v = v
            for i in 0..<count {
                out |= UInt32(v % 10) << (4 * UInt32(i))
                v /= 10
            }
            return out
        }
        return encode(year, 4) << 16 | encode(month, 2) << 8 | encode(day, 2)
    }

    public var description: String {
        let y = String(year), m = String(month), d = String(day)
        return String(repeating: "0", count: max(0, 4 - y.count)) + y + "-" + (m.count < 2 ? "0" : "") + m + "-"
            + (d.count < 2 ? "0" : "") + d
    }
}

/// Intel SGX SIGSTRUCT (1808 bytes; Intel SDM Vol. 3D §38.13, <doc:SigstructLayout>): the enclave's signed identity.
/// Big numbers (modulus, signature, q1, q2) are stored little-endian; the signature covers bytes
/// 0..<128 ‖ 900..<1028 with RSASSA-PKCS1-v1_5/SHA-256 (RSA-3072, e = 3). Parsing keeps every field;
/// ``serialized`` writes them back byte for byte.
///
/// ```swift
/// var sig = Sigstruct(enclaveHash: mrenclave)
/// sig.date = SGXDate(year: 2024, month: 1, day: 15)
/// try sig.sign(with: key)
/// let bytes = sig.serialized
/// ```
public struct Sigstruct: Sendable, Equatable {
    public static let size = 1808
    public static let format = "SIGSTRUCT"
    public static let header: [UInt8] = [
        0x06, 0, 0, 0, 0xE1, 0, 0, 0, 0, 0, 0x01, 0, 0, 0, 0, 0,
    ]
    public static let header2: [UInt8] = [
        0x01, 0x01, 0, 0, 0x60, 0, 0, 0, 0x60, 0, 0, 0, 0x01, 0, 0, 0,
    ]

    public var vendor: UInt32 = 0
    /// DATE as stored (BCD yyyymmdd); see ``date``.
    public var dateRaw: UInt32 = 0
    public var swDefined: UInt32 = 0
    /// RSA modulus, little-endian (384 bytes).
    public var modulus = [UInt8](repeating: 0, count: 384)
    public var exponent: UInt32 = 3
    /// RSA signature, little-endian (384 bytes).
    public var signature = [UInt8](repeating: 0, count: 384)
    public var miscSelect: UInt32 = 0
    public var miscMask: UInt32 = 0
    public var cetAttributes: UInt8 = 0
    public var cetAttributesMask: UInt8 = 0
    public var isvFamilyID = [UInt8](repeating: 0, count: 16)
    public var attributesFlags: UInt64 = 0x4
    public var attributesXfrm: UInt64 = 0x3
    public var attributeMaskFlags: UInt64 = 0
    public var attributeMaskXfrm: UInt64 = 0
    /// MRENCLAVE (32 raw digest bytes).
    public var enclaveHash = [UInt8](repeating: 0, count: 32)
    public var isvExtProdID = [UInt8](repeating: 0, count: 16)
    public var isvProdID: UInt16 = 0
    public var isvSVN: UInt16 = 0
    public var q1 = [UInt8](repeating: 0, count: 384)
    public var q2 = [UInt8](repeating: 0, count: 384)

    public init(enclaveHash: [UInt8] = [UInt8](repeating: 0, count: 32)) {
        self.enclaveHash = enclaveHash
    }

    public var date: SGXDate? {
        get { SGXDate(bcd: dateRaw) }
        set { dateRaw = newValue?.bcd ?? 0 }
    }

    /// Parses 1808 bytes; throws on a wrong length, HEADER/HEADER2, or non-zero reserved bytes, naming the offset.
    /// `baseOffset` is added to offsets in errors (for a SIGSTRUCT embedded in a larger file).
    public init(bytes: [UInt8], baseOffset: UInt64 = 0) throws {
        guard bytes.count == Self.size else {
            throw FormatError(
                bytes.count < Self.size ? .truncated : .tooLarge, format: Self.format, offset: baseOffset,
                "a SIGSTRUCT is exactly 1808 bytes, got \(bytes.count)")
        }
        func fail(_ offset: Int, _ message: String) -> FormatError {
            FormatError(.badValue, format: Self.format, offset: baseOffset + UInt64(offset), message)
        }
        guard Array(bytes[0..<16]) == Self.header else {
            throw FormatError(
                .badMagic, format: Self.format, offset: baseOffset,
                "HEADER is \(Array(bytes[0..<16]).hex), expected \(Self.header.hex)")
        }
        guard Array(bytes[24..<40]) == Self.header2 else {
            throw FormatError(
                .badMagic, format: Self.format, offset: baseOffset + 24,
                "HEADER2 is \(Array(bytes[24..<40]).hex), expected \(Self.header2.hex)")
        }
        for range in [44..<128, 910..<912, 992..<1008, 1028..<1040] {
            if let i = range.first(where: { bytes[$0] != 0 }) {
                throw fail(i, "reserved byte at offset \(i) is 0x\(String(bytes[i], radix: 16)), expected 0")
            }
        }
        var r = ByteReader(bytes, format: Self.format, baseOffset: baseOffset)
        try r.seek(to: 16)
        vendor = try r.readU32LE()
        dateRaw = try r.readU32LE()
        try r.seek(to: 40)
        swDefined = try r.readU32LE()
        try r.seek(to: 128)
        modulus = try r.readBytes(384)
        exponent = try r.readU32LE()
        signature = try r.readBytes(384)
        miscSelect = try r.readU32LE()
        miscMask = try r.readU32LE()
        cetAttributes = try r.readU8()
        cetAttributesMask = try r.readU8()
        try r.seek(to: 912)
        isvFamilyID = try r.readBytes(16)
        attributesFlags = try r.readU64LE()
        attributesXfrm = try r.readU64LE()
        attributeMaskFlags = try r.readU64LE()
        attributeMaskXfrm = try r.readU64LE()
        enclaveHash = try r.readBytes(32)
        try r.seek(to: 1008)
        isvExtProdID = try r.readBytes(16)
        isvProdID = try r.readU16LE()
        isvSVN = try r.readU16LE()
        try r.seek(to: 1040)
        q1 = try r.readBytes(384)
        q2 = try r.readBytes(384)
        guard vendor == 0 || vendor == 0x8086 else {
            throw fail(16, "VENDOR is 0x\(String(vendor, radix: 16)), expected 0 or 0x8086")
        }
        guard exponent == 3 else { throw fail(512, "EXPONENT is \(exponent), SGX requires 3") }
    }

    /// The 1808 bytes.
    public var serialized: [UInt8] {
        var w = ByteWriter(capacity: Self.size)
        w.append(Self.header)
        w.appendU32LE(vendor)
        w.appendU32LE(dateRaw)
        w.append(Self.header2)
        w.appendU32LE(swDefined)
        w.appendZeros(84)
        w.append(Self.fixed(modulus, 384))
        w.appendU32LE(exponent)
        w.append(Self.fixed(signature, 384))
        w.appendU32LE(miscSelect)
        w.appendU32LE(miscMask)
        w.appendU8(cetAttributes)
        w.appendU8(cetAttributesMask)
        w.appendZeros(2)
        w.append(Self.fixed(isvFamilyID, 16))
        w.appendU64LE(attributesFlags)
        w.appendU64LE(attributesXfrm)
        w.appendU64LE(attributeMaskFlags)
        w.appendU64LE(attributeMaskXfrm)
        w.append(Self.fixed(enclaveHash, 32))
        w.appendZeros(16)
        w.append(Self.fixed(isvExtProdID, 16))
        w.appendU16LE(isvProdID)
        w.appendU16LE(isvSVN)
        w.appendZeros(12)
        w.append(Self.fixed(q1, 384))
        w.append(Self.fixed(q2, 384))
        return w.bytes
    }

    private static func fixed(_ bytes: [UInt8], _ count: Int) -> [UInt8] {
        bytes.count == count ? bytes : Array((bytes + [UInt8](repeating: 0, count: count)).prefix(count))
    }

    /// The 256 signed bytes: SIGSTRUCT[0..<128] ‖ SIGSTRUCT[900..<1028] (what `sgx_sign gendata` emits).
    public var signedBytes: [UInt8] {
        let all = serialized
        return Array(all[0..<128]) + Array(all[900..<1028])
    }

    /// MRSIGNER: SHA-256 of the modulus exactly as stored (little-endian).
    public var mrsigner: [UInt8] { Digest.sha256(Self.fixed(modulus, 384)) }

    /// Rebuilds the signed fields from 256 bytes produced by ``signedBytes`` (`catsig` input).
    public init(signedBytes: [UInt8]) throws {
        guard signedBytes.count == 256 else {
            throw FormatError(
                signedBytes.count < 256 ? .truncated : .tooLarge, format: "SIGSTRUCT signing data", offset: 0,
                "expected the 256 signed bytes (header ‖ body), got \(signedBytes.count)")
        }
        var full = Array(signedBytes[0..<128]) + [UInt8](repeating: 0, count: Self.size - 128)
        full.replaceSubrange(900..<1028, with: signedBytes[128..<256])
        // Fill the unsigned exponent so parsing accepts it; the modulus, signature, q1, q2 come later.
        full[512] = 3
        self = try Sigstruct(bytes: full)
    }

    /// Signs with `key` (RSA-3072, e = 3): sets MODULUS, EXPONENT, SIGNATURE, Q1 and Q2.
    public mutating func sign(with key: SGXRSAKey) throws {
        let signatureBE = try key.sign(signedBytes)
        try attach(signature: signatureBE, publicKey: key)
    }

    /// Two-step signing: attaches a big-endian PKCS#1 v1.5 signature made elsewhere (an HSM) over
    /// ``signedBytes``, after checking it against `publicKey`; computes q1/q2.
    public mutating func attach(signature signatureBE: [UInt8], publicKey: SGXRSAKey) throws {
        guard signatureBE.count == SGXRSAKey.modulusSize else {
            throw FormatError(
                .badValue, format: "signature", offset: nil,
                "an RSA-3072 signature is 384 big-endian bytes, got \(signatureBE.count)")
        }
        let message = signedBytes
        guard try Self.verify(message: message, signatureBE: signatureBE, modulusBE: publicKey.modulus) else {
            throw FormatError(
                .badSignature, format: "signature", offset: nil,
                "the signature does not verify with this public key over the SIGSTRUCT signing data")
        }
        let (q1BE, q2BE) = try SGXBigMath.q1q2(signature: signatureBE, modulus: publicKey.modulus)
        modulus = publicKey.modulus.reversed()
        exponent = 3
        signature = signatureBE.reversed()
        q1 = q1BE.reversed()
        q2 = q2BE.reversed()
    }

    static func verify(message: [UInt8], signatureBE: [UInt8], modulusBE: [UInt8]) throws -> Bool {
        guard let em = try SGXBigMath.publicOperation(signature: signatureBE, modulus: modulusBE, exponent: 3) else {
            return false
        }
        return em == SGXBigMath.pkcs1SHA256Encoding(message, width: modulusBE.count)
    }

    /// What ``verify()`` found.
    public struct Verification: Sendable, Equatable {
        /// The signature is a valid PKCS#1 v1.5 SHA-256 signature by MODULUS over the signed bytes.
        public var signatureValid: Bool
        /// Q1 and Q2 match the signature and modulus (EINIT checks them).
        public var q1q2Valid: Bool
        public var isValid: Bool { signatureValid && q1q2Valid }

        public init(signatureValid: Bool, q1q2Valid: Bool) {
            self.signatureValid = signatureValid
            self.q1q2Valid = q1q2Valid
        }
    }

    /// Checks the signature against the SIGSTRUCT's own modulus, and q1/q2.
    public func verify() throws -> Verification {
        let modulusBE = Array(modulus.reversed())
        let signatureBE = Array(signature.reversed())
        guard modulusBE.first.map({ $0 != 0 }) ?? false else {
            return Verification(signatureValid: false, q1q2Valid: false)
        }
        let valid = try Self.verify(message: signedBytes, signatureBE: signatureBE, modulusBE: modulusBE)
        var q1q2Valid = false
        if let (q1BE, q2BE) = try? SGXBigMath.q1q2(signature: signatureBE, modulus: modulusBE) {
            q1q2Valid = q1BE.reversed() == q1 && q2BE.reversed() == q2
        }
        return Verification(signatureValid: valid, q1q2Valid: q1q2Valid)
    }

    /// The fields as `gramine-sgx-sigstruct-view --verbose --output-format json` names them, plus
    /// EnclaveKit's extras (`signature_valid`, `q1q2_valid`, `vendor`, `isv_family_id`…).
    public func json(verification: Verification?) -> JSONValue {
        func hex<T: BinaryInteger>(_ v: T) -> JSONValue { .string("0x" + String(v, radix: 16)) }
        var pairs: [(String, JSONValue)] = [
            ("mr_signer", .string(mrsigner.hex)),
            ("mr_enclave", .string(enclaveHash.hex)),
            ("isv_prod_id", .int(isvProdID)),
            ("isv_svn", .int(isvSVN)),
            ("attribute_flags", hex(attributesFlags)),
            ("attribute_xfrms", hex(attributesXfrm)),
            ("misc_select", hex(miscSelect)),
            ("attribute_flags_mask", hex(attributeMaskFlags)),
            ("attribute_xfrm_mask", hex(attributeMaskXfrm)),
            ("misc_mask", hex(miscMask)),
            ("date", .string(date?.description ?? "invalid BCD 0x" + String(dateRaw, radix: 16))),
            ("debug_enclave", .bool(attributesFlags & 0x2 != 0)),
            ("vendor", hex(vendor)),
            ("swdefined", hex(swDefined)),
            ("isv_family_id", .string(isvFamilyID.hex)),
            ("isv_ext_prod_id", .string(isvExtProdID.hex)),
        ]
        if let verification {
            pairs.append(("signature_valid", .bool(verification.signatureValid)))
            pairs.append(("q1q2_valid", .bool(verification.q1q2Valid)))
        }
        return .object(pairs)
    }
}
