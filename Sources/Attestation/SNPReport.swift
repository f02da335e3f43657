import EnclaveCore

/// The AMD EPYC generation an SEV-SNP report comes from: it picks the pinned ARK/ASK and the TCB layout.
public enum SNPProduct: String, Sendable, CaseIterable {
    case milan = "Milan"
    case genoa = "Genoa"
    case turin = "Turin"

    /// `Milan`, `milan`, `Milan-B0`…
    public init?(name: String) {
        let lower = name.lowercased()
        guard let p = Self.allCases.first(where: { lower.hasPrefix($0.rawValue.lowercased()) }) else { return nil }
        self = p
    }

    /// From the report's CPUID family and model (versions 3 and later).
    public init?(family: UInt8, model: UInt8) {
        switch (family, model) {
        case (0x19, 0x00...0x0F): self = .milan
        case (0x19, 0x10...0x1F), (0x19, 0xA0...0xAF): self = .genoa
        case (0x1A, 0x00...0x11): self = .turin
        default: return nil
        }
    }
}

/// A TCB_VERSION: the security patch levels of each firmware component. Milan and Genoa put BL, TEE,
/// SNP and microcode at bytes 0, 1, 6, 7; Turin adds FMC and puts FMC, BL, TEE, SNP at bytes 0–3.
public struct SNPTCB: Sendable, Equatable {
    public var raw: UInt64
    public var fmc: UInt8?
    public var bootloader: UInt8
    public var tee: UInt8
    public var snp: UInt8
    public var microcode: UInt8

    public init(raw: UInt64, product: SNPProduct) {
        self.raw = raw
        func byte(_ i: Int) -> UInt8 { UInt8(truncatingIfNeeded: raw >> (8 * i)) }
        if product == .turin {
            (fmc, bootloader, tee, snp, microcode) = (byte(0), byte(1), byte(2), byte(3), byte(7))
        } else {
            (fmc, bootloader, tee, snp, microcode) = (nil, byte(0), byte(1), byte(6), byte(7))
        }
    }

    public var description: String {
        (fmc.map { "fmc \($0) " } ?? "") + "bl \(bootloader) tee \(tee) snp \(snp) ucode \(microcode)"
    }
}

/// An SEV-SNP ATTESTATION_REPORT (SEV-SNP ABI spec #56860, Table 23; go-sev-guest `abi/abi.go`), versions
/// 2 to 5: 1184 bytes, little-endian, signed over bytes 0x000–0x29F with ECDSA P-384/SHA-384 by the VCEK
/// or VLEK. Reserved ranges must be zero.
///
/// ```swift
/// let report = try SNPReport(bytes: bytes)
/// print(Hex.encode(report.measurement))
/// ```
public struct SNPReport: Sendable {
    public static let format = "SEV-SNP report"
    public static let size = 0x4A0
    public static let signedSize = 0x2A0

    public let bytes: [UInt8]
    public let version: UInt32
    public let guestSVN: UInt32
    public let policy: UInt64
    public let vmpl: UInt32
    public let currentTCB: UInt64
    public let platformInfo: UInt64
    public let signerInfo: UInt32
    public let reportData: [UInt8]
    public let measurement: [UInt8]
    public let hostData: [UInt8]
    public let reportedTCB: UInt64
    /// CPUID family, model, stepping (version 3 and later), else nil.
    public let cpuid: (family: UInt8, model: UInt8, stepping: UInt8)?
    public let chipID: [UInt8]
    public let launchTCB: UInt64
    /// r and s, big-endian, 48 bytes each (the report stores them little-endian in 72 bytes).
    public let signatureR: [UInt8]
    public let signatureS: [UInt8]

    /// POLICY bit 19.
    public var debugAllowed: Bool { policy & (1 << 19) != 0 }
    /// SIGNER_INFO bits 4:2: 0 VCEK, 1 VLEK, 7 none.
    public var signingKey: UInt32 { (signerInfo >> 2) & 7 }
    /// SIGNER_INFO bit 1: CHIP_ID is zeroed.
    public var chipIDMasked: Bool { signerInfo & 2 != 0 }
    public var signedBytes: ArraySlice<UInt8> { bytes[0..<Self.signedSize] }
    /// The product the report names (versions 3 and later), nil for version 2 or an unknown CPUID.
    public var product: SNPProduct? { cpuid.flatMap { SNPProduct(family: $0.family, model: $0.model) } }

    public init(bytes: [UInt8]) throws(FormatError) {
        func fail(_ kind: FormatError.Kind, _ offset: Int, _ message: String) -> FormatError {
            FormatError(kind, format: Self.format, offset: offset, message)
        }
        guard bytes.count >= Self.size else {
            throw fail(.truncated, bytes.count, "a report is \(Self.size) bytes, this one \(bytes.count)")
        }
        guard bytes.count == Self.size else {
            throw fail(.tooLarge, Self.size, "\(bytes.count - Self.size) bytes after the \(Self.size)-byte report")
        }
        var r = ByteReader(bytes, format: Self.format)
        let version = try r.readU32LE("VERSION")
        guard (2...5).contains(version) else {
            throw fail(.badVersion, 0, "VERSION \(version), expected 2, 3, 4 or 5")
        }
        self.bytes = bytes
        self.version = version
        guestSVN = try r.readU32LE("GUEST_SVN")
        policy = try r.readU64LE("POLICY")
        try r.seek(to: 0x30)
        vmpl = try r.readU32LE("VMPL")
        let algo = try r.readU32LE("SIGNATURE_ALGO")
        guard algo == 1 else {
            throw fail(.unsupported, 0x34, "SIGNATURE_ALGO \(algo), expected 1 (ECDSA P-384 with SHA-384)")
        }
        currentTCB = try r.readU64LE("CURRENT_TCB")
        platformInfo = try r.readU64LE("PLATFORM_INFO")
        signerInfo = try r.readU32LE("SIGNER_INFO")
        guard signerInfo & ~UInt32(0x1F) == 0 else {
            throw fail(.badValue, 0x48, "SIGNER_INFO 0x\(String(signerInfo, radix: 16)) has reserved bits 31:5 set")
        }
        func bytesAt(_ offset: Int, _ count: Int) -> [UInt8] { Array(bytes[offset..<offset + count]) }
        reportData = bytesAt(0x50, 64)
        measurement = bytesAt(0x90, 48)
        hostData = bytesAt(0xC0, 32)
        reportedTCB = bytes.le(UInt64.self, at: 0x180) ?? 0
        cpuid = version >= 3 ? (bytes[0x188], bytes[0x189], bytes[0x18A]) : nil
        chipID = bytesAt(0x1A0, 64)
        launchTCB = bytes.le(UInt64.self, at: 0x1F0) ?? 0

        // Reserved ranges (go-sev-guest ReportToProto's mbz checks).
        var zero: [(Range<Int>, String)] = [
            (0x4C..<0x50, "reserved after SIGNER_INFO"),
            ((version >= 3 ? 0x18B : 0x188)..<0x1A0, "reserved after REPORTED_TCB"),
            (0x1EB..<0x1EC, "reserved after CURRENT_VERSION"), (0x1EF..<0x1F0, "reserved after COMMITTED_VERSION"),
            ((version >= 5 ? 0x208 : 0x1F8)..<0x2A0, "reserved before SIGNATURE"),
            (0x2A0 + 48..<0x2A0 + 72, "high bytes of R"), (0x2E8 + 48..<0x2E8 + 72, "high bytes of S"),
            (0x330..<0x4A0, "reserved after the signature"),
        ]
        zero.sort { $0.0.lowerBound < $1.0.lowerBound }
        for (range, what) in zero {
            if let i = range.first(where: { bytes[$0] != 0 }) {
                throw fail(.badValue, i, "\(what) (0x\(String(range.lowerBound, radix: 16))…) must be zero")
            }
        }
        signatureR = Array(bytes[0x2A0..<0x2A0 + 48].reversed())
        signatureS = Array(bytes[0x2E8..<0x2E8 + 48].reversed())
    }
}
