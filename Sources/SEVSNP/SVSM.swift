import EnclaveCore
import OVMF

extension EFIGUID {
    /// The SVSM_INFO entry of a COCONUT-SVSM image's GUID table: its first u32 is the offset of the SVSM's
    /// entry point from the start of the image (the EIP every vCPU starts at).
    public static let svsmInfo = EFIGUID(bytes: [
        0x12, 0xa6, 0x89, 0xa7, 0x97, 0x05, 0x4b, 0x4c, 0xa4, 0x9f, 0xcb, 0xb1, 0xfe, 0x9d, 0x1d, 0xdd,
    ])  // a789a612-0597-4c4b-a49f-cbb1fe9d1ddd
}

/// A COCONUT-SVSM image as QEMU (coconut-svsm tree) launches it in `snp:svsm` mode: loaded as normal pages
/// right below the OVMF variables store, which sits right below OVMF (ending at 4 GiB). The image ends with an
/// OVMF-style GUID table holding an `SVSM_INFO` entry (entry point offset) and an SEV metadata (`ASEV`) table
/// whose sections use absolute GPAs.
///
/// ```swift
/// let svsm = try SNPSVSMImage(.path("svsm.bin"), endGPA: 0xFFC0_0000 - 0x2_0000)
/// print(String(svsm.entryPoint, radix: 16))
/// ```
public struct SNPSVSMImage: Sendable {
    public static let format = "SVSM image"
    /// The GPA of the first byte of the image.
    public let gpa: UInt64
    /// The image size in bytes (a whole number of pages).
    public let size: UInt64
    /// The offset of the entry point from the start of the image (the `SVSM_INFO` entry).
    public let entryOffset: UInt32
    /// The SEV metadata sections (SNP_SEC_MEM, SECRETS, CPUID, SVSM_CAA, kernel hashes), in table order.
    public let metadata: OVMFSEVMetadata

    /// The EIP of every vCPU: the entry offset plus the image's GPA.
    public var entryPoint: UInt64 { gpa + UInt64(entryOffset) }

    /// Parses the image's GUID table and SEV metadata; `endGPA` is where the image must end (the GPA of the
    /// OVMF variables store).
    public init(_ image: SNPFirmwareImage, endGPA: UInt64) throws {
        try self.init(OpenImage(image), endGPA: endGPA)
    }

    init(_ image: OpenImage, endGPA: UInt64) throws {
        let file = image.path
        func located(_ error: FormatError) -> FormatError { file.map { error.in(file: $0) } ?? error }
        guard image.size > 0, image.size % UInt64(SNPLaunchDigest.pageSize) == 0 else {
            throw located(
                FormatError(
                    .badValue, format: Self.format, offset: nil,
                    "the image is \(image.size) bytes; SEV-SNP launches it as whole 4 KiB pages"))
        }
        guard image.size <= endGPA else {
            throw located(
                FormatError(
                    .tooLarge, format: Self.format, offset: nil,
                    "the \(image.size)-byte SVSM does not fit below the OVMF variables store at GPA "
                        + "0x\(String(endGPA, radix: 16)); check --vars-size/--vars-file and the OVMF file"))
        }
        size = image.size
        gpa = endGPA - image.size

        // The GUID table is at most 64 KiB and ends 32 bytes before the end of the image.
        let tail = try image.tail(0x10000 + 64)
        let tailStart = image.size - UInt64(tail.count)
        let table: OVMFGUIDTable
        do {
            table = try OVMFGUIDTable(firmware: tail)
        } catch {
            var shifted = error
            if let offset = shifted.offset { shifted.offset = offset + tailStart }
            shifted.format = Self.format
            if shifted.kind == .missing {
                shifted.message =
                    "no GUID table footer (\(EFIGUID.tableFooter)), so no SVSM_INFO entry with the entry point; "
                    + "is this a COCONUT-SVSM image (svsm.bin)?"
            }
            throw located(shifted)
        }
        guard let entry = table.entry(.svsmInfo) else {
            throw located(
                FormatError(
                    .missing, format: Self.format, offset: nil,
                    "can't find the SVSM_INFO entry (\(EFIGUID.svsmInfo)) in the GUID table, so the SVSM's "
                        + "entry point is unknown; is this a COCONUT-SVSM image (svsm.bin)?"))
        }
        guard let offset = entry.data.le(UInt32.self, at: 0) else {
            throw located(
                FormatError(
                    .truncated, format: Self.format, offset: tailStart + UInt64(entry.offset),
                    "the SVSM_INFO entry has \(entry.data.count) data bytes, expected at least 4 (entry offset)"))
        }
        entryOffset = offset
        metadata = try image.metadata()
        try metadata.checkSectionTypes(file: file)
    }
}

extension SNPVMSA {
    /// The VMSA QEMU (coconut-svsm tree) gives every vCPU in `snp:svsm` mode: 32-bit protected mode with flat
    /// segments at the SVSM entry point, SEV_FEATURES = SNPActive. Like sev-snp-measure 0.0.13 (whose FCW
    /// keyword misses the field), x87 FCW is left 0.
    public static func svsmPage(eip: UInt64, vcpuSignature: UInt32) -> [UInt8] {
        var p = [UInt8](repeating: 0, count: size)
        func put<T: FixedWidthInteger>(_ offset: Int, _ value: T) {
            for i in 0..<(T.bitWidth / 8) { p[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
        }
        func segment(_ offset: Int, selector: UInt16, attrib: UInt16, limit: UInt32) {
            put(offset, selector)
            put(offset + 2, attrib)
            put(offset + 4, limit)
        }
        segment(es, selector: 0x10, attrib: 0xc93, limit: 0xffff_ffff)
        segment(cs, selector: 0x08, attrib: 0xc9b, limit: 0xffff_ffff)
        segment(ss, selector: 0x10, attrib: 0xc93, limit: 0xffff_ffff)
        segment(ds, selector: 0x10, attrib: 0xc93, limit: 0xffff_ffff)
        segment(fs, selector: 0x10, attrib: 0xc93, limit: 0xffff_ffff)
        segment(gs, selector: 0, attrib: 0x93, limit: 0xffff)
        segment(gdtr, selector: 0, attrib: 0, limit: 0xffff)
        segment(idtr, selector: 0, attrib: 0, limit: 0xffff)
        segment(ldtr, selector: 0, attrib: 0x82, limit: 0xffff)
        segment(tr, selector: 0, attrib: 0x8b, limit: 0xffff)
        put(efer, UInt64(0x1000))
        put(cr4, UInt64(0x40))
        put(cr0, UInt64(0x11))  // protected mode
        put(dr7, UInt64(0x400))
        put(dr6, UInt64(0xffff_0ff0))
        put(rflags, UInt64(0x2))
        put(rip, eip)
        put(Self.gPAT, UInt64(0x0007_0406_0007_0406))
        put(Self.rdx, UInt64(vcpuSignature))
        put(Self.sevFeatures, UInt64(0x1))
        put(xcr0, UInt64(0x1))
        put(Self.mxcsr, UInt32(0x1f80))
        return p
    }
}

extension SNPMeasure {
    /// `snp:svsm`: OVMF's pages (ending at 4 GiB), the SVSM's pages (ending at OVMF minus the variables
    /// store), the SVSM's SEV metadata sections in table order (as for QEMU in snp mode; kernel hashes pages
    /// are zero pages), then one identical VMSA per vCPU starting at the SVSM entry point.
    static func measureSVSM(_ request: SNPMeasureRequest, ovmf: OpenImage, ovmfGPA: UInt64) throws -> SNPMeasurement {
        guard request.vmm == .qemu else {
            throw SNPRequestError(.svsmNeedsQEMU, "SVSM mode is only implemented for QEMU")
        }
        guard request.vcpus >= 1 else {
            throw SNPRequestError(.vcpus, "the vCPU count must be at least 1 in mode snp:svsm")
        }
        guard let signature = request.vcpuSignature else {
            throw SNPRequestError(.vcpuSignatureMissing, "missing the vCPU signature in mode snp:svsm")
        }
        guard let svsmInput = request.svsm else {
            throw SNPRequestError(.svsmMissing, "snp:svsm mode requires an SVSM image")
        }
        guard request.varsSize <= ovmfGPA else {
            throw SNPRequestError(
                .varsSize,
                "the OVMF variables store (\(request.varsSize) bytes) does not fit below OVMF at GPA "
                    + "0x\(String(ovmfGPA, radix: 16))")
        }
        // sev-snp-measure parses OVMF's ASEV table too (unused here), so a damaged one is an error in both; an
        // OVMF without a GUID table has no metadata to check.
        do {
            _ = try ovmf.metadata()
        } catch let error as FormatError where error.kind == .missing && error.offset == ovmf.size - 48 {}
        let svsmImage = try OpenImage(svsmInput)
        let svsm = try SNPSVSMImage(svsmImage, endGPA: ovmfGPA - request.varsSize)
        let vmsa = SNPVMSA.svsmPage(eip: svsm.entryPoint, vcpuSignature: signature)

        var ld = SNPLaunchDigest()
        var steps: [SNPMeasureStep] = []
        try ovmf.forEachPageRun { offset, pages in ld.updateNormalPages(gpa: ovmfGPA + offset, data: pages) }
        steps.append(
            SNPMeasureStep(label: "firmware", pageType: .normal, gpa: ovmfGPA, pages: ld.records, digest: ld.value))
        let ovmfHash = ld.value
        let before = ld.records
        try svsmImage.forEachPageRun { offset, pages in ld.updateNormalPages(gpa: svsm.gpa + offset, data: pages) }
        steps.append(
            SNPMeasureStep(
                label: "svsm", pageType: .normal, gpa: svsm.gpa, pages: ld.records - before, digest: ld.value))
        for (index, section) in svsm.metadata.sections.enumerated() {
            steps.append(
                ld.measureSection(
                    section, label: "svsm section \(index) \(section.type)", secMem: .zero, kernelHashesPage: nil))
        }
        for cpu in 0..<request.vcpus {
            ld.updateVMSAPage(vmsa)
            steps.append(
                SNPMeasureStep(
                    label: "vmsa \(cpu)", pageType: .vmsa, gpa: SNPLaunchDigest.vmsaGPA, pages: 1, digest: ld.value))
        }
        return SNPMeasurement(
            mode: .snpSVSM, digest: ld.value, ovmfHash: ovmfHash, steps: steps, kernelHashes: nil,
            metadata: svsm.metadata, vcpus: request.vcpus, bspVMSA: vmsa, apVMSA: vmsa, warnings: [])
    }
}
