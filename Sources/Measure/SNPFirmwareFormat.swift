import EnclaveCore
import OVMF
import SEVSNP

/// OVMF firmware with SEV metadata: `enclavekit measure OVMF.fd` prints its SEV-SNP launch digest for
/// sev-snp-measure's common defaults (1 vCPU, EPYC-v4, QEMU, guest features 0x1), and its OVMF hash;
/// `--json` adds the `ASEV` sections, the hashes-table location and whether an SNP_KERNEL_HASHES section
/// lets QEMU's kernel-hashes=on measure the kernel, initrd and command line.
public enum SNPFirmwareFormat: MeasurableFormat {
    public static let name = "ovmf-snp"
    public static let defaults = "1 vCPU, EPYC-v4, QEMU, guest features 0x1"

    /// True when the image has an OVMF GUID table with an SEV metadata entry (the `ASEV` table itself is
    /// checked by `measure`, so a damaged one gives an error rather than "unknown format").
    public static func matches(prefix: [UInt8], file: FileInput) -> Bool {
        guard file.size >= 4096, file.size % 4096 == 0, file.size <= 1 << 32 else { return false }
        let count = Int(min(file.size, 0x10000 + 64))
        guard let tail = try? file.read(at: file.size - UInt64(count), count: count, format: "OVMF"),
            let table = try? OVMFGUIDTable(firmware: tail)
        else { return false }
        return table.entry(.sevMetadataOffset) != nil
    }

    public static func measure(file: FileInput) throws -> MeasurementReport {
        var request = SNPMeasureRequest(firmware: .path(file.path), mode: .snp)
        request.vcpus = 1
        request.vcpuSignature = try SNPVCPU.requireSignature(named: "EPYC-v4")
        request.vmm = .qemu
        request.guestFeatures = 0x1
        let result = try SNPMeasure.measure(request)
        let sections = result.metadata?.sections ?? []
        let kernelHashes = result.metadata?.has(.snpKernelHashes) ?? false
        var values = [("snp-launch-digest", result.digest.hex)]
        if let ovmfHash = result.ovmfHash { values.append(("snp-ovmf-hash", ovmfHash.hex)) }
        return MeasurementReport(
            format: name,
            title: "OVMF firmware with SEV metadata (\(sections.count) sections, "
                + (kernelHashes
                    ? "with SNP_KERNEL_HASHES: kernel, initrd and command line can be measured"
                    : "no SNP_KERNEL_HASHES: kernel, initrd and command line cannot be measured")
                + "); SEV-SNP launch digest for \(defaults) (other settings: enclavekit snp measure)",
            values: values,
            extra: [
                (
                    "snp_defaults",
                    .object([
                        ("vcpus", .int(1)), ("vcpu_type", .string("EPYC-v4")), ("vmm_type", .string("QEMU")),
                        ("guest_features", .string("0x1")),
                    ])
                ),
                (
                    "sev_sections",
                    .array(
                        sections.map {
                            .object([
                                ("type", .string($0.type.description)), ("gpa", .string(hex($0.gpa))),
                                ("size", .string(hex($0.size))),
                            ])
                        })
                ),
                ("snp_kernel_hashes", .bool(kernelHashes)),
                (
                    "sev_hash_table",
                    result.metadata?.hashTable.map {
                        .object([("gpa", .string(hex($0.gpa))), ("size", .string(hex($0.size)))])
                    } ?? .null
                ),
            ])
    }

    private static func hex(_ value: UInt32) -> String { "0x" + String(value, radix: 16) }
}
