import EnclaveCore
import OVMF

/// The guest mode of `sev-snp-measure --mode`: what is measured and how (<doc:LaunchDigest>).
///
/// ```swift
/// SEVGuestMode(name: "snp:ovmf-hash") == .snpOVMFHash
/// ```
public enum SEVGuestMode: String, Sendable, CaseIterable, CustomStringConvertible {
    /// SEV: SHA-256 over the firmware (and the kernel hashes table).
    case sev
    /// SEV-ES: SHA-256 over the firmware, the hashes table and every VMSA page.
    case seves
    /// SEV-SNP: the launch digest (SHA-384 chain of PAGE_INFO records).
    case snp
    /// The SEV-SNP launch digest after the firmware pages only, for `--snp-ovmf-hash`.
    case snpOVMFHash = "snp:ovmf-hash"
    /// SEV-SNP with a COCONUT-SVSM image below OVMF and its variables (see ``SNPMeasure`` and ``SNPSVSMImage``).
    case snpSVSM = "snp:svsm"

    /// Accepts the spellings sev-snp-measure accepts (`snp`, `sev-snp`, `SNP`, `SEV-ES`, …).
    public init?(name: String) {
        switch name {
        case "sev", "SEV": self = .sev
        case "seves", "sev-es", "SEVES", "SEV-ES": self = .seves
        case "snp", "sev-snp", "SNP", "SEV-SNP": self = .snp
        case "snp:ovmf-hash": self = .snpOVMFHash
        case "snp:svsm", "sev-snp:svsm": self = .snpSVSM
        default: return nil
        }
    }

    /// The name sev-snp-measure prints with `--verbose` (`SEV_SNP`, …).
    public var referenceName: String {
        switch self {
        case .sev: "SEV"
        case .seves: "SEV_ES"
        case .snp, .snpOVMFHash: "SEV_SNP"
        case .snpSVSM: "SEV_SNP_SVSM"
        }
    }

    public var description: String { rawValue }
}

/// A firmware image to measure: a file (streamed, read once) or bytes already in memory.
public enum SNPFirmwareImage: Sendable {
    case path(String)
    case bytes([UInt8])
}

/// What to measure: the inputs of `sev-snp-measure`, with its defaults.
///
/// ```swift
/// var request = SNPMeasureRequest(firmware: .path("OVMF.fd"))
/// request.vcpus = 4
/// request.vcpuSignature = SNPVCPU.signature(named: "EPYC-v4")
/// let digest = try SNPMeasure.measure(request).digest
/// ```
public struct SNPMeasureRequest: Sendable {
    public var mode: SEVGuestMode = .snp
    public var firmware: SNPFirmwareImage
    public var vcpus: Int = 1
    /// CPUID(1).EAX for RDX in the VMSA; required for QEMU in SEV-ES/SNP modes, unused for EC2/GCE.
    public var vcpuSignature: UInt32?
    public var vmm: SNPVMMType = .qemu
    public var kernel: String?
    public var initrd: String?
    public var append: String?
    /// SEV_FEATURES in the VMSA (0x1 = SNPActive; 0x21 adds DebugSwap).
    public var guestFeatures: UInt64 = 0x1
    /// A precomputed digest of the firmware pages (`--snp-ovmf-hash`): the firmware's pages are then not hashed.
    public var ovmfHash: [UInt8]?
    /// The COCONUT-SVSM image (`--svsm`), required in `snp:svsm` mode.
    public var svsm: SNPFirmwareImage?
    /// The size of the OVMF variables store (`--vars-size`/`--vars-file`) between the SVSM and OVMF.
    public var varsSize: UInt64 = 0

    public init(firmware: SNPFirmwareImage, mode: SEVGuestMode = .snp) {
        self.firmware = firmware
        self.mode = mode
    }
}

/// One step of the launch digest, so a mismatch can be traced to the firmware, a metadata section or a VMSA.
public struct SNPMeasureStep: Sendable {
    /// `firmware`, `ovmf-hash`, `section N SNP_SEC_MEM`, `vmsa N`.
    public let label: String
    public let pageType: SNPPageType?
    public let gpa: UInt64?
    public let pages: Int
    /// The launch digest after this step.
    public let digest: [UInt8]
}

/// The result of ``SNPMeasure/measure(_:)``.
public struct SNPMeasurement: Sendable {
    public let mode: SEVGuestMode
    /// The launch digest (48 bytes for SNP and the OVMF hash, 32 for SEV and SEV-ES).
    public let digest: [UInt8]
    /// The SNP digest after the firmware pages (SNP mode; equal to the seed with `--snp-ovmf-hash`).
    public let ovmfHash: [UInt8]?
    public let steps: [SNPMeasureStep]
    public let kernelHashes: SEVKernelHashes?
    public let metadata: OVMFSEVMetadata?
    /// The number of vCPUs measured and their VMSA pages (the boot processor, then one page shared by the others).
    public let vcpus: Int
    let bspVMSA: [UInt8]?
    let apVMSA: [UInt8]?
    /// Things the caller should tell the user (the result is still what sev-snp-measure computes).
    public let warnings: [String]

    /// The VMSA page of vCPU `index` (nil in SEV and OVMF-hash modes).
    public func vmsaPage(_ index: Int) -> [UInt8]? {
        guard index >= 0, index < vcpus else { return nil }
        return index == 0 ? bspVMSA : apVMSA
    }
}
