import EnclaveCore

/// The hypervisor that launches the guest; it decides a few initial register values in the VMSA and how
/// some metadata sections are added (<doc:LaunchDigest>, "Cloud VMMs"; <doc:VMSAPage>).
///
/// ```swift
/// SNPVMMType(name: "ec2") == .ec2
/// ```
public enum SNPVMMType: String, Sendable, CaseIterable, CustomStringConvertible {
    /// QEMU/KVM (the default).
    case qemu = "QEMU"
    /// AWS EC2: other segment attributes, CPUID pages added last.
    case ec2
    /// Google Compute Engine: other g_pat, SNP_SEC_MEM added as unmeasured pages.
    case gce

    /// Accepts sev-snp-measure's spelling (`QEMU`, `ec2`, `gce`) in any case.
    public init?(name: String) {
        guard let match = Self.allCases.first(where: { $0.rawValue.lowercased() == name.lowercased() }) else {
            return nil
        }
        self = match
    }

    public var description: String { rawValue }
}

/// vCPU signatures: the CPUID(1).EAX value QEMU puts in RDX at reset (AMD CPUID specification #25481,
/// Fn0000_0001_EAX), for the CPU models sev-snp-measure knows.
///
/// ```swift
/// SNPVCPU.signature(family: 23, model: 1, stepping: 2) == 0x0080_0f12
/// SNPVCPU.signature(named: "EPYC-Milan") == 0x00a0_0f11
/// ```
public enum SNPVCPU {
    /// The signature for family/model/stepping.
    public static func signature(family: Int, model: Int, stepping: Int) -> UInt32 {
        let (familyLow, familyHigh) = family > 0xf ? (0xf, (family - 0xf) & 0xff) : (family & 0xf, 0)
        let value =
            familyHigh << 20 | ((model >> 4) & 0xf) << 16 | familyLow << 8 | (model & 0xf) << 4 | (stepping & 0xf)
        return UInt32(truncatingIfNeeded: value)
    }

    /// The CPU models of QEMU's `builtin_x86_defs` that sev-snp-measure lists, in its order.
    public static let types: [(name: String, family: Int, model: Int, stepping: Int)] = [
        ("EPYC", 23, 1, 2), ("EPYC-v1", 23, 1, 2), ("EPYC-v2", 23, 1, 2), ("EPYC-IBPB", 23, 1, 2),
        ("EPYC-v3", 23, 1, 2), ("EPYC-v4", 23, 1, 2),
        ("EPYC-Rome", 23, 49, 0), ("EPYC-Rome-v1", 23, 49, 0), ("EPYC-Rome-v2", 23, 49, 0),
        ("EPYC-Rome-v3", 23, 49, 0),
        ("EPYC-Milan", 25, 1, 1), ("EPYC-Milan-v1", 25, 1, 1), ("EPYC-Milan-v2", 25, 1, 1),
        ("EPYC-Genoa", 25, 17, 0), ("EPYC-Genoa-v1", 25, 17, 0),
        ("EPYC-Turin", 26, 0, 0),
    ]

    /// The names accepted by ``signature(named:)``.
    public static var typeNames: [String] { types.map(\.name) }

    /// The signature of a named CPU model (exact, case-sensitive, as QEMU's `-cpu`), or nil.
    public static func signature(named name: String) -> UInt32? {
        types.first { $0.name == name }.map { signature(family: $0.family, model: $0.model, stepping: $0.stepping) }
    }

    /// The signature of a named CPU model, or an error that lists the known names.
    public static func requireSignature(named name: String) throws(SNPRequestError) -> UInt32 {
        guard let sig = signature(named: name) else {
            throw SNPRequestError(
                .unknownVCPUType, "unknown vCPU type '\(name)' (known: \(typeNames.joined(separator: ", ")))")
        }
        return sig
    }
}
