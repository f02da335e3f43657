import EnclaveCore
import FoundationEssentials
import SEVSNP

extension SNPMeasurement {
    /// `snp measure --json`: the measurement, the inputs it was computed for and each step of the digest.
    /// (Here rather than in SEVSNP because base64 belongs to Release, which SEVSNP does not depend on.)
    func json(request: SNPMeasureRequest, ovmf: String, svsm: String?) -> JSONValue {
        var fields: [(String, JSONValue)] = [
            ("mode", .string(request.mode.rawValue)),
            ("measurement", .string(digest.hex)),
            ("measurement_base64", .string(Data(digest).base64EncodedString())),
            ("ovmf", .string(ovmf)),
        ]
        if request.mode != .snpOVMFHash {
            fields.append(("vcpus", .int(request.mode == .sev ? 0 : request.vcpus)))
            if request.mode != .sev {
                fields.append(("vcpu_sig", .string("0x" + String(request.vcpuSignature ?? 0, radix: 16))))
                fields.append(("vmm_type", .string(request.vmm.rawValue)))
            }
            if request.mode == .snpSVSM {
                fields.append(("svsm", .string(svsm ?? "")))
                fields.append(("vars_size", .int(Int(request.varsSize))))
            }
            if request.mode == .snp {
                fields.append(("guest_features", .string("0x" + String(request.guestFeatures, radix: 16))))
            }
        }
        if let ovmfHash { fields.append(("ovmf_hash", .string(ovmfHash.hex))) }
        if let hashes = kernelHashes {
            fields.append(
                (
                    "kernel_hashes",
                    .object([
                        ("cmdline", .string(hashes.cmdline.hex)), ("initrd", .string(hashes.initrd.hex)),
                        ("kernel", .string(hashes.kernel.hex)),
                    ])
                ))
        }
        if !steps.isEmpty {
            fields.append(
                (
                    "steps",
                    .array(
                        steps.map { step in
                            var entry: [(String, JSONValue)] = [("step", .string(step.label))]
                            if let type = step.pageType { entry.append(("page_type", .string(type.description))) }
                            if let gpa = step.gpa { entry.append(("gpa", .string("0x" + String(gpa, radix: 16)))) }
                            entry.append(("pages", .int(step.pages)))
                            entry.append(("digest", .string(step.digest.hex)))
                            return .object(entry)
                        })
                ))
        }
        if !warnings.isEmpty { fields.append(("warnings", .array(warnings.map { .string($0) }))) }
        return .object(fields)

    }
}
