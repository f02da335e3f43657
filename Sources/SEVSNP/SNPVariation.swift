import EnclaveCore
import OVMF

/// One setting of the inputs that only change the VMSAs (and, for the VMM, how sections are added).
public struct SNPVariation: Sendable, Hashable, CustomStringConvertible {
    public let vmm: SNPVMMType
    public let vcpuSignature: UInt32
    public let guestFeatures: UInt64
    public let vcpus: Int

    /// The sev-snp-measure flags for this setting, e.g. `--vcpus 4 --vcpu-type EPYC-Milan --guest-features 0x21`.
    public var description: String {
        var flags = ["--vcpus \(vcpus)"]
        if vmm == .qemu {
            if let name = SNPVCPU.types.first(where: {
                SNPVCPU.signature(family: $0.family, model: $0.model, stepping: $0.stepping) == vcpuSignature
            })?.name {
                flags.append("--vcpu-type \(name)")
            } else {
                flags.append("--vcpu-sig 0x\(String(vcpuSignature, radix: 16))")
            }
        }
        flags.append("--vmm-type \(vmm.rawValue)")
        flags.append("--guest-features 0x\(String(guestFeatures, radix: 16))")
        return flags.joined(separator: " ")
    }
}

extension SNPMeasure {
    /// Looks for the settings that give `expected` when the firmware, kernel, initrd and cmdline are those of
    /// `request`: every VMM type, every vCPU signature sev-snp-measure knows, guest features 0x1/0x21 (and
    /// the requested value), 1…`maxVCPUs` vCPUs. This is how a launch digest from an attestation report that
    /// does not match is explained: the firmware part is hashed once per VMM type, then only the VMSA chain
    /// varies, so the search takes milliseconds.
    ///
    /// ```swift
    /// let found = try SNPMeasure.variations(of: request, matching: reportDigest)
    /// ```
    public static func variations(of request: SNPMeasureRequest, matching expected: [UInt8], maxVCPUs: Int = 512)
        throws -> [SNPVariation]
    {
        guard request.mode == .snp else { return [] }
        var found: [SNPVariation] = []
        let limit = max(maxVCPUs, request.vcpus)
        for vmm in SNPVMMType.allCases {
            var base = request
            base.vmm = vmm
            base.vcpus = 1
            base.vcpuSignature = request.vcpuSignature ?? 0x0080_0f12
            let result = try measure(base)
            guard result.steps.count >= 2, let apEIP = result.metadata?.apResetEIP else { continue }
            let beforeVMSAs = result.steps[result.steps.count - 2].digest
            var signatures: [UInt32] = []
            if vmm == .qemu {
                for sig in [request.vcpuSignature].compactMap({ $0 })
                    + SNPVCPU.types.map({
                        SNPVCPU.signature(family: $0.family, model: $0.model, stepping: $0.stepping)
                    }) where !signatures.contains(sig)
                {
                    signatures.append(sig)
                }
            } else {
                signatures = [0]  // EC2 and GCE ignore the CPU model.
            }
            var features: [UInt64] = []
            for f in [request.guestFeatures, 0x1, 0x21] where !features.contains(f) { features.append(f) }
            for sig in signatures {
                for feature in features {
                    let bsp = SNPVMSA.page(eip: SNPVMSA.bspEIP, sevFeatures: feature, vcpuSignature: sig, vmm: vmm)
                    let ap = SNPVMSA.page(eip: apEIP, sevFeatures: feature, vcpuSignature: sig, vmm: vmm)
                    let bspHash = Digest.sha384(bsp)
                    let apHash = Digest.sha384(ap)
                    var ld = SNPLaunchDigest(seed: beforeVMSAs)
                    for cpus in 1...limit {
                        if cpus > 1, apEIP == 0 { break }  // no AP can start
                        ld.update(.vmsa, gpa: SNPLaunchDigest.vmsaGPA, contents: cpus == 1 ? bspHash : apHash)
                        if ld.value == expected {
                            found.append(
                                SNPVariation(vmm: vmm, vcpuSignature: sig, guestFeatures: feature, vcpus: cpus))
                        }
                    }
                }
            }
        }
        return found
    }
}
