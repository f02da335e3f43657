import EnclaveCore

/// A measurement request that cannot be measured as asked: which rule it breaks, in the request's own
/// terms. A caller that took the settings from somewhere (sev-snp-measure's flags, a recipe) says how to
/// fix them in its own terms.
public struct SNPRequestError: KindedError, Hashable {
    public enum Kind: String, Sendable, CaseIterable {
        /// ``SNPMeasureRequest/ovmfHash`` outside SNP mode.
        case ovmfHashNeedsSNP = "ovmf-hash-needs-snp"
        /// ``SNPMeasureRequest/ovmfHash`` not 48 bytes.
        case ovmfHashSize = "ovmf-hash-size"
        /// An initrd or a command line without a kernel.
        case kernelMissing = "kernel-missing"
        /// A kernel to hash, but firmware without the SEV hashes table or the SNP_KERNEL_HASHES section.
        case noKernelHashes = "no-kernel-hashes"
        /// Fewer than one vCPU in a mode with VMSAs.
        case vcpus
        /// No vCPU signature where the VMM (QEMU) puts one in the VMSA.
        case vcpuSignatureMissing = "vcpu-signature-missing"
        /// A CPU model name ``SNPVCPU`` does not know.
        case unknownVCPUType = "unknown-vcpu-type"
        /// snp:svsm mode with a VMM other than QEMU.
        case svsmNeedsQEMU = "svsm-needs-qemu"
        /// snp:svsm mode without an SVSM image.
        case svsmMissing = "svsm-missing"
        /// A variables store too large to fit below OVMF.
        case varsSize = "vars-size"
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }
}
