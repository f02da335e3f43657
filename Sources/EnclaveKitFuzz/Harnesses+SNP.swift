import OVMF
import SEVSNP

/// Fuzz harnesses for the SEV parsers: the `ASEV` metadata with the SEV GUID-table entries, a COCONUT-SVSM
/// image (GUID table, SVSM_INFO, ASEV), and the whole SNP launch-digest path (metadata checks, sections,
/// VMSAs) over an image held in memory.
let snpHarnesses: [String: @Sendable ([UInt8]) -> Void] = [
    "snp-sev-metadata": { bytes in _ = try? OVMFSEVMetadata(firmware: bytes) },
    "snp-svsm-image": { bytes in
        // Whole pages (zeros in front), at most 1 MiB; the GUID table, SVSM_INFO and ASEV are parsed.
        guard bytes.count <= 1 << 20 else { return }
        let padding = (4096 - bytes.count % 4096) % 4096
        let image = [UInt8](repeating: 0, count: padding) + bytes
        guard let svsm = try? SNPSVSMImage(.bytes(image), endGPA: 0xFFC0_0000) else { return }
        _ = SNPVMSA.svsmPage(eip: svsm.entryPoint, vcpuSignature: 0x0080_0f12)
    },
    "snp-launch-digest": { bytes in
        // Round the input up to whole pages (zeros in front) so the digest path is reached, and keep it small.
        guard bytes.count <= 1 << 20 else { return }
        let padding = (4096 - bytes.count % 4096) % 4096
        var request = SNPMeasureRequest(firmware: .bytes([UInt8](repeating: 0, count: padding) + bytes), mode: .snp)
        request.vcpus = 2
        request.vcpuSignature = 0x0080_0f12
        for vmm in SNPVMMType.allCases {
            request.vmm = vmm
            _ = try? SNPMeasure.measure(request)
        }
    },
]
