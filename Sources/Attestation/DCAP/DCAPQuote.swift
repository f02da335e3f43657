import EnclaveCore

/// An SGX enclave report body (384 bytes): the application enclave's report in an SGX quote, and the
/// Quoting Enclave's own report inside every quote's signature data.
public struct SGXReportBody: Sendable, Equatable {
    public static let size = 384
    /// The 384 bytes as they appear in the quote (what the PCK key signs for a QE report).
    public var raw: [UInt8]
    public var cpuSVN: [UInt8] { Array(raw[0..<16]) }
    public var miscSelect: UInt32 { raw.le(UInt32.self, at: 16) ?? 0 }
    public var isvExtProdID: [UInt8] { Array(raw[32..<48]) }
    /// byte 0 bit 1 = DEBUG, bit 2 = MODE64BIT.
    public var attributes: [UInt8] { Array(raw[48..<64]) }
    public var mrEnclave: [UInt8] { Array(raw[64..<96]) }
    public var mrSigner: [UInt8] { Array(raw[128..<160]) }
    public var configID: [UInt8] { Array(raw[192..<256]) }
    /// ISVPRODID as its 2 little-endian report bytes.
    public var isvProdIDBytes: [UInt8] { Array(raw[256..<258]) }
    public var isvProdID: UInt16 { raw.le(UInt16.self, at: 256) ?? 0 }
    /// ISVSVN as its 2 little-endian report bytes.
    public var isvSVNBytes: [UInt8] { Array(raw[258..<260]) }
    public var isvSVN: UInt16 { raw.le(UInt16.self, at: 258) ?? 0 }
    public var configSVN: UInt16 { raw.le(UInt16.self, at: 260) ?? 0 }
    public var isvFamilyID: [UInt8] { Array(raw[304..<320]) }
    public var reportData: [UInt8] { Array(raw[320..<384]) }
    public var isDebug: Bool { raw[48] & 0x02 != 0 }

    /// `raw` must be exactly ``size`` bytes (the parser guarantees it).
    init(raw: [UInt8]) {
        precondition(raw.count == Self.size)
        self.raw = raw
    }
}

/// A TD report body: TDX 1.0 (584 bytes) or TDX 1.5 (648 bytes, adding TEE_TCB_SVN2 and MRSERVICETD).
public struct TDReportBody: Sendable, Equatable {
    public static let size10 = 584
    public static let size15 = 648
    public var raw: [UInt8]
    public var isTDX15: Bool { raw.count == Self.size15 }
    public var teeTCBSVN: [UInt8] { Array(raw[0..<16]) }
    public var mrSeam: [UInt8] { Array(raw[16..<64]) }
    public var mrSignerSeam: [UInt8] { Array(raw[64..<112]) }
    public var seamAttributes: [UInt8] { Array(raw[112..<120]) }
    /// bit 0 DEBUG, bit 28 SEPT_VE_DISABLE, bit 30 PKS, bit 31 KL, bit 63 PERFMON.
    public var tdAttributes: [UInt8] { Array(raw[120..<128]) }
    public var xfam: [UInt8] { Array(raw[128..<136]) }
    public var mrTD: [UInt8] { Array(raw[136..<184]) }
    public var mrConfigID: [UInt8] { Array(raw[184..<232]) }
    public var mrOwner: [UInt8] { Array(raw[232..<280]) }
    public var mrOwnerConfig: [UInt8] { Array(raw[280..<328]) }
    public func rtmr(_ index: Int) -> [UInt8] { Array(raw[(328 + 48 * index)..<(376 + 48 * index)]) }
    public var reportData: [UInt8] { Array(raw[520..<584]) }
    public var teeTCBSVN2: [UInt8]? { isTDX15 ? Array(raw[584..<600]) : nil }
    public var mrServiceTD: [UInt8]? { isTDX15 ? Array(raw[600..<648]) : nil }
    public var isDebug: Bool { raw[120] & 0x01 != 0 }

    init(raw: [UInt8]) {
        precondition(raw.count == Self.size10 || raw.count == Self.size15)
        self.raw = raw
    }
}

/// An Intel DCAP ECDSA quote: version 3 (SGX), 4 (TDX 1.0, or SGX) or 5 (TDX 1.0/1.5 or SGX, with an
/// explicit body type and size), parsed strictly. The lengths inside the quote decide where it ends;
/// bytes after that (padding from a fixed-size buffer) are accepted and counted in ``trailingBytes``.
///
/// ```swift
/// let quote = try DCAPQuote.parse(bytes)
/// if case .td(let td) = quote.body { print(td.mrTD.hex) }
/// ```
public struct DCAPQuote: Sendable {
    public static let format = "DCAP quote"
    /// Larger inputs are refused before parsing (real quotes are 4–8 KiB, padded ones up to 64 KiB).
    public static let maxSize = 1 << 20
    public static let headerSize = 48
    public static let teeTypeSGX: UInt32 = 0
    public static let teeTypeTDX: UInt32 = 0x81
    /// Intel's Quoting Enclave vendor id.
    public static let intelQEVendorID: [UInt8] = [
        0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9, 0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07,
    ]

    public enum Body: Sendable, Equatable {
        case sgx(SGXReportBody)
        case td(TDReportBody)
    }

    public var version: UInt16
    public var attestationKeyType: UInt16
    public var teeType: UInt32
    /// Version 3 only (reserved in later versions).
    public var qeSVN: UInt16
    public var pceSVN: UInt16
    public var qeVendorID: [UInt8]
    public var userData: [UInt8]
    /// Version 5: 1 SGX, 2 TD report 1.0, 3 TD report 1.5; earlier versions: implied by tee_type.
    public var bodyType: UInt16
    public var body: Body
    /// The number of leading bytes the attestation key signs (header and body).
    public var signedLength: Int
    /// r‖s, big-endian, 32 bytes each.
    public var signature: [UInt8]
    /// The attestation public key, x‖y (64 bytes).
    public var attestationKey: [UInt8]
    public var qeReport: SGXReportBody
    /// Offset of the QE report in the quote (for error messages).
    public var qeReportOffset: Int
    public var qeReportSignature: [UInt8]
    public var qeAuthData: [UInt8]
    /// 5 = PCK certificate chain (PEM), the only type verified here.
    public var certificationDataType: UInt16
    public var certificationData: [UInt8]
    /// Offset of the certification data in the quote.
    public var certificationDataOffset: Int
    /// Bytes the quote declares (header, body, signature data).
    public var declaredLength: Int
    /// Bytes after ``declaredLength`` in the input (accepted, not signed, not read).
    public var trailingBytes: Int

    public var tee: TEE { teeType == Self.teeTypeTDX ? .tdx : .sgx }

    /// The report data of the application enclave or TD.
    public var reportData: [UInt8] {
        switch body {
        case .sgx(let r): r.reportData
        case .td(let r): r.reportData
        }
    }

    /// The TEE a buffer's header announces, when it looks like a DCAP quote (version 3, 4 or 5, ECDSA
    /// P-256 key type, a known tee_type, Intel's QE vendor id); nil otherwise. Cheap: only reads the header.
    public static func looksLikeQuote(_ bytes: [UInt8]) -> TEE? {
        guard bytes.count >= headerSize + SGXReportBody.size,
            let version = bytes.le(UInt16.self, at: 0), (3...5).contains(version),
            bytes.le(UInt16.self, at: 2) == 2,
            let teeType = bytes.le(UInt32.self, at: 4),
            bytes[12..<28].elementsEqual(intelQEVendorID)
        else { return nil }
        switch teeType {
        case teeTypeSGX: return .sgx
        case teeTypeTDX: return version == 3 ? nil : .tdx
        default: return nil
        }
    }

    /// Parses a quote; every error names the offset of the field that is wrong.
    public static func parse(_ bytes: [UInt8]) throws(FormatError) -> DCAPQuote {
        guard bytes.count <= maxSize else {
            throw FormatError(
                .tooLarge, format: format, offset: maxSize,
                "input is \(bytes.count) bytes, a DCAP quote is at most \(maxSize) bytes")
        }
        var r = ByteReader(bytes, format: format)
        let version = try r.readU16LE("version")
        guard (3...5).contains(version) else {
            throw r.error(.badVersion, "version \(version), expected 3 (SGX), 4 or 5 (TDX)", at: 0)
        }
        let keyType = try r.readU16LE("attestation key type")
        guard keyType == 2 else {
            throw r.error(
                .unsupported, "attestation key type \(keyType), expected 2 (ECDSA-256-with-P-256)", at: 2)
        }
        let teeType = try r.readU32LE("tee_type")
        guard teeType == teeTypeSGX || teeType == teeTypeTDX else {
            throw r.error(
                .badValue, "tee_type 0x\(String(teeType, radix: 16)), expected 0x0 (SGX) or 0x81 (TDX)", at: 4)
        }
        if version == 3 && teeType != teeTypeSGX {
            throw r.error(.badValue, "version 3 quotes are SGX quotes (tee_type 0), found tee_type 0x81", at: 4)
        }
        let qeSVN = try r.readU16LE("qe_svn")
        let pceSVN = try r.readU16LE("pce_svn")
        let vendor = try r.readBytes(16, "qe_vendor_id")
        let userData = try r.readBytes(20, "user_data")

        var bodyType: UInt16 = teeType == teeTypeTDX ? 2 : 1
        if version == 5 {
            let typeOffset = r.position
            bodyType = try r.readU16LE("body_type")
            let sizeOffset = r.position
            let bodySize = try r.readU32LE("body_size")
            let expected: Int
            switch (bodyType, teeType) {
            case (1, teeTypeSGX): expected = SGXReportBody.size
            case (2, teeTypeTDX): expected = TDReportBody.size10
            case (3, teeTypeTDX): expected = TDReportBody.size15
            default:
                throw r.error(
                    .badValue,
                    "body_type \(bodyType) does not fit tee_type 0x\(String(teeType, radix: 16)) (expected 1 for SGX, 2 or 3 for TDX)",
                    at: typeOffset)
            }
            guard Int(bodySize) == expected else {
                throw r.error(
                    .badValue, "body_size \(bodySize) for body_type \(bodyType), expected \(expected)", at: sizeOffset)
            }
        }
        let body: Body
        switch bodyType {
        case 1: body = .sgx(SGXReportBody(raw: try r.readBytes(SGXReportBody.size, "SGX report body")))
        case 2: body = .td(TDReportBody(raw: try r.readBytes(TDReportBody.size10, "TD report body 1.0")))
        default: body = .td(TDReportBody(raw: try r.readBytes(TDReportBody.size15, "TD report body 1.5")))
        }
        let signedLength = r.position

        let sigLengthOffset = r.position
        let sigLength = Int(try r.readU32LE("signature data length"))
        guard sigLength <= r.remaining else {
            throw r.error(
                .outOfBounds,
                "signature data length \(sigLength) points past the end of the quote (\(r.remaining) bytes left)",
                at: sigLengthOffset)
        }
        let sigStart = r.position
        var s = ByteReader(try r.readBytes(sigLength), format: format, baseOffset: UInt64(sigStart))
        let declaredLength = r.position
        let signature = try s.readBytes(64, "quote signature")
        let attestationKey = try s.readBytes(64, "attestation public key")

        var inner: ByteReader
        if version == 3 {
            inner = s
        } else {
            let typeOffset = sigStart + s.position
            let certType = try s.readU16LE("certification data type")
            guard certType == 6 else {
                throw FormatError(
                    .unsupported, format: format, offset: typeOffset,
                    "certification data type \(certType), expected 6 (QE report certification data)")
            }
            let sizeOffset = sigStart + s.position
            let size = Int(try s.readU32LE("certification data size"))
            guard size <= s.remaining else {
                throw FormatError(
                    .outOfBounds, format: format, offset: sizeOffset,
                    "certification data size \(size) points past the end of the signature data (\(s.remaining) bytes left)"
                )
            }
            let innerBase = sigStart + s.position
            inner = ByteReader(try s.readBytes(size), format: format, baseOffset: UInt64(innerBase))
        }
        let qeReportOffset = Int(inner.absoluteOffset)
        let qeReport = SGXReportBody(raw: try inner.readBytes(SGXReportBody.size, "QE report"))
        let qeReportSignature = try inner.readBytes(64, "QE report signature")
        let authOffset = Int(inner.absoluteOffset)
        let authLength = Int(try inner.readU16LE("QE auth data length"))
        guard authLength <= inner.remaining else {
            throw FormatError(
                .outOfBounds, format: format, offset: authOffset,
                "QE auth data length \(authLength) points past the end of its section (\(inner.remaining) bytes left)")
        }
        let qeAuthData = try inner.readBytes(authLength, "QE auth data")
        let certTypeOffset = Int(inner.absoluteOffset)
        let certType = try inner.readU16LE("certification data type")
        guard (1...7).contains(certType) else {
            throw FormatError(
                .badValue, format: format, offset: certTypeOffset,
                "certification data type \(certType), expected 1…7 (5 = PCK certificate chain)")
        }
        let certSizeOffset = Int(inner.absoluteOffset)
        let certSize = Int(try inner.readU32LE("certification data size"))
        guard certSize <= inner.remaining else {
            throw FormatError(
                .outOfBounds, format: format, offset: certSizeOffset,
                "certification data size \(certSize) points past the end of its section (\(inner.remaining) bytes left)"
            )
        }
        let certOffset = Int(inner.absoluteOffset)
        let certData = try inner.readBytes(certSize, "certification data")
        guard inner.isAtEnd else {
            throw inner.error(
                .badValue, "\(inner.remaining) unexpected bytes after the certification data inside the declared length"
            )
        }
        if version != 3, !s.isAtEnd {
            throw s.error(
                .badValue, "\(s.remaining) unexpected bytes after the certification data in the signature data")
        }
        return DCAPQuote(
            version: version, attestationKeyType: keyType, teeType: teeType, qeSVN: qeSVN, pceSVN: pceSVN,
            qeVendorID: vendor, userData: userData, bodyType: bodyType, body: body, signedLength: signedLength,
            signature: signature, attestationKey: attestationKey, qeReport: qeReport, qeReportOffset: qeReportOffset,
            qeReportSignature: qeReportSignature, qeAuthData: qeAuthData, certificationDataType: certType,
            certificationData: certData, certificationDataOffset: certOffset, declaredLength: declaredLength,
            trailingBytes: bytes.count - declaredLength)
    }
}
