/// The per-platform keys of a `[targets.NAME]` table (`Recipes/README.md`, "Targets"), with the
/// documented defaults applied. File-valued keys are ``FileReference``s.
///
/// ```swift
/// switch target.settings {
/// case .nitro(let n): print(n.kernel, n.cmdline)
/// case .tdx(let t): print(t.memory)        // 2147483648 for "2G"
/// case .sevSNP, .sgx: break
/// }
/// ```
public enum TargetSettings: Sendable, Hashable {
    case nitro(NitroTargetSettings)
    case tdx(TDXTargetSettings)
    case sevSNP(SEVSNPTargetSettings)
    case sgx(SGXTargetSettings)

    public var platform: TargetPlatform {
        switch self {
        case .nitro: .nitro
        case .tdx: .tdx
        case .sevSNP: .sevSNP
        case .sgx: .sgx
        }
    }

    /// Every file this target reads, with its key, in key order.
    public var fileReferences: [(key: String, reference: FileReference)] {
        var refs: [(String, FileReference?)]
        switch self {
        case .nitro(let n):
            refs = [("kernel", n.kernel), ("init", n.initProgram), ("nsm", n.nsm), ("kernel-config", n.kernelConfig)]
        case .tdx(let t):
            refs = [
                ("firmware", t.firmware), ("kernel", t.kernel), ("init", t.initProgram), ("acpi-loader", t.acpiLoader),
                ("acpi-rsdp", t.acpiRSDP), ("acpi-tables", t.acpiTables),
            ]
        case .sevSNP(let s):
            refs = [("firmware", s.firmware), ("kernel", s.kernel), ("init", s.initProgram)]
        case .sgx(let s):
            refs = [("enclave", s.enclave), ("signing-key", s.signingKey)]
        }
        return refs.compactMap { key, ref in ref.map { (key, $0) } }
    }
}

/// `platform = "nitro"`: an EIF.
public struct NitroTargetSettings: Sendable, Hashable {
    /// EIF metadata strings (`metadata` table); `nil` fields take the builder's defaults.
    public struct Metadata: Sendable, Hashable {
        public var imageOS: String?
        public var imageKernel: String?
        public var buildTool: String?
        public var buildToolVersion: String?

        public init(
            imageOS: String? = nil, imageKernel: String? = nil, buildTool: String? = nil,
            buildToolVersion: String? = nil
        ) {
            self.imageOS = imageOS
            self.imageKernel = imageKernel
            self.buildTool = buildTool
            self.buildToolVersion = buildToolVersion
        }
    }

    public var kernel: FileReference
    public var cmdline: String
    /// The bootstrap `init` (key `init`).
    public var initProgram: FileReference
    /// The NSM kernel module, optional.
    public var nsm: FileReference?
    /// `x86_64` (default) or `aarch64`.
    public var arch: String
    public var kernelConfig: FileReference?
    public var metadata: Metadata

    public init(
        kernel: FileReference, cmdline: String, initProgram: FileReference, nsm: FileReference? = nil,
        arch: String = "x86_64", kernelConfig: FileReference? = nil, metadata: Metadata = Metadata()
    ) {
        self.kernel = kernel
        self.cmdline = cmdline
        self.initProgram = initProgram
        self.nsm = nsm
        self.arch = arch
        self.kernelConfig = kernelConfig
        self.metadata = metadata
    }
}

/// `platform = "tdx"`: firmware, kernel, initrd and cmdline for a TD.
public struct TDXTargetSettings: Sendable, Hashable {
    /// The order QEMU adds TDVF pages (`page-add-order`).
    public enum PageAddOrder: String, Sendable, Hashable, CaseIterable {
        case perPage = "per-page"
        case twoPass = "two-pass"
    }

    /// Where OVMF adds `initrd=initrd` to the command line (`cmdline-initrd`).
    public enum CmdlineInitrd: String, Sendable, Hashable, CaseIterable {
        case suffix
        case prefix
    }

    public var firmware: FileReference
    public var kernel: FileReference
    public var cmdline: String
    public var initProgram: FileReference
    /// Guest memory in bytes (`memory`, default `2G`).
    public var memory: UInt64
    public var vcpus: Int
    public var qemuVersion: String
    /// `nil`: derived from `qemuVersion` (two-pass for 8.x, per-page from 9.0).
    public var pageAddOrder: PageAddOrder?
    public var cmdlineInitrd: CmdlineInitrd
    public var acpiLoader: FileReference?
    public var acpiRSDP: FileReference?
    public var acpiTables: FileReference?

    public init(
        firmware: FileReference, kernel: FileReference, cmdline: String, initProgram: FileReference,
        memory: UInt64 = 2 << 30, vcpus: Int = 1, qemuVersion: String = "9.1", pageAddOrder: PageAddOrder? = nil,
        cmdlineInitrd: CmdlineInitrd = .suffix, acpiLoader: FileReference? = nil, acpiRSDP: FileReference? = nil,
        acpiTables: FileReference? = nil
    ) {
        self.firmware = firmware
        self.kernel = kernel
        self.cmdline = cmdline
        self.initProgram = initProgram
        self.memory = memory
        self.vcpus = vcpus
        self.qemuVersion = qemuVersion
        self.pageAddOrder = pageAddOrder
        self.cmdlineInitrd = cmdlineInitrd
        self.acpiLoader = acpiLoader
        self.acpiRSDP = acpiRSDP
        self.acpiTables = acpiTables
    }
}

/// `platform = "sev-snp"`: firmware and, optionally, kernel, cmdline and init (all three or none).
public struct SEVSNPTargetSettings: Sendable, Hashable {
    public var firmware: FileReference
    public var kernel: FileReference?
    public var cmdline: String?
    public var initProgram: FileReference?
    public var vcpus: Int
    /// A QEMU CPU model name (`EPYC-v4`).
    public var vcpuType: String
    /// `QEMU`, `ec2` or `gce`.
    public var vmm: String
    public var guestFeatures: UInt64

    public init(
        firmware: FileReference, kernel: FileReference? = nil, cmdline: String? = nil,
        initProgram: FileReference? = nil, vcpus: Int = 1, vcpuType: String = "EPYC-v4", vmm: String = "QEMU",
        guestFeatures: UInt64 = 0x1
    ) {
        self.firmware = firmware
        self.kernel = kernel
        self.cmdline = cmdline
        self.initProgram = initProgram
        self.vcpus = vcpus
        self.vcpuType = vcpuType
        self.vmm = vmm
        self.guestFeatures = guestFeatures
    }
}

/// `platform = "sgx"`: an enclave ELF and its SIGSTRUCT fields.
public struct SGXTargetSettings: Sendable, Hashable {
    public var enclave: FileReference
    /// RSA-3072, e = 3, PEM.
    public var signingKey: FileReference
    public var heapSize: UInt64
    public var isvProdID: UInt16
    public var isvSVN: UInt16
    public var attributes: UInt64
    public var xfrm: UInt64
    public var miscSelect: UInt32

    public init(
        enclave: FileReference, signingKey: FileReference, heapSize: UInt64 = 4096, isvProdID: UInt16 = 0,
        isvSVN: UInt16 = 0, attributes: UInt64 = 0x4, xfrm: UInt64 = 0x3, miscSelect: UInt32 = 0
    ) {
        self.enclave = enclave
        self.signingKey = signingKey
        self.heapSize = heapSize
        self.isvProdID = isvProdID
        self.isvSVN = isvSVN
        self.attributes = attributes
        self.xfrm = xfrm
        self.miscSelect = miscSelect
    }
}
