import EnclaveCore
import OVMF

/// Computes AMD SEV, SEV-ES and SEV-SNP launch measurements for OVMF direct boot, byte for byte as
/// `sev-snp-measure` 0.0.13 does (<doc:LaunchDigest>): the firmware as normal pages
/// ending at 4 GiB, the `ASEV` metadata sections in table order (EC2: CPUID pages last; GCE: SNP_SEC_MEM
/// unmeasured), the kernel hashes page, then one VMSA per vCPU.
///
/// ```swift
/// let m = try SNPMeasure.measure(SNPMeasureRequest(firmware: .path("OVMF_CODE.fd")))
/// print(m.digest.hex)
/// ```
public enum SNPMeasure {
    static let firmwareFormat = "OVMF firmware"
    static let fourGiB: UInt64 = 1 << 32

    public static func measure(_ request: SNPMeasureRequest) throws -> SNPMeasurement {
        let image = try OpenImage(request.firmware)
        guard image.size > 0, image.size % UInt64(SNPLaunchDigest.pageSize) == 0, image.size <= fourGiB else {
            throw FormatError(
                .badValue, format: firmwareFormat, offset: nil,
                "the image is \(image.size) bytes; SEV launches firmware as whole 4 KiB pages below 4 GiB",
                file: image.path)
        }
        if request.ovmfHash != nil, request.mode != .snp {
            throw SNPRequestError(.ovmfHashNeedsSNP, "SNP OVMF hash only works with SNP")
        }
        if let hash = request.ovmfHash, hash.count != SNPLaunchDigest.size {
            throw SNPRequestError(
                .ovmfHashSize, "the OVMF hash is \(hash.count) bytes, expected \(SNPLaunchDigest.size)")
        }
        if request.kernel == nil, request.initrd != nil || request.append != nil {
            throw SNPRequestError(.kernelMissing, "an initrd or a kernel command line needs a kernel")
        }
        let gpa = fourGiB - image.size

        switch request.mode {
        case .snpOVMFHash:
            var ld = SNPLaunchDigest()
            try image.forEachPageRun { offset, pages in ld.updateNormalPages(gpa: gpa + offset, data: pages) }
            return SNPMeasurement(
                mode: .snpOVMFHash, digest: ld.value, ovmfHash: ld.value,
                steps: [
                    SNPMeasureStep(label: "firmware", pageType: .normal, gpa: gpa, pages: ld.records, digest: ld.value)
                ],
                kernelHashes: nil, metadata: nil, vcpus: 0, bspVMSA: nil, apVMSA: nil, warnings: [])
        case .sev:
            return try measureSEV(request, image: image)
        case .seves, .snp:
            return try measureWithVMSAs(request, image: image, gpa: gpa)
        case .snpSVSM:
            return try measureSVSM(request, ovmf: image, ovmfGPA: gpa)
        }
    }

    /// SEV: SHA-256(firmware ‖ hashes table).
    static func measureSEV(_ request: SNPMeasureRequest, image: OpenImage) throws -> SNPMeasurement {
        var metadata: OVMFSEVMetadata?
        var hashes: SEVKernelHashes?
        if let kernel = request.kernel {
            let sev = try image.metadata()
            try requireHashTable(sev, mode: .sev)
            metadata = sev
            hashes = try SEVKernelHashes(kernel: kernel, initrd: request.initrd, append: request.append)
        }
        let h = Digest(.sha256)
        try image.forEachPageRun { _, pages in h.update(pages) }
        if let hashes { h.update(hashes.table) }
        return SNPMeasurement(
            mode: .sev, digest: h.finalize(), ovmfHash: nil, steps: [], kernelHashes: hashes, metadata: metadata,
            vcpus: 0, bspVMSA: nil, apVMSA: nil, warnings: [])
    }

    static func requireHashTable(_ sev: OVMFSEVMetadata, mode: SEVGuestMode) throws {
        guard sev.supportsKernelHashes else {
            throw SNPRequestError(
                .noKernelHashes,
                "kernel hashes requested, but the firmware has no SEV hashes table (its GUID table entry "
                    + "\(EFIGUID.sevHashTable) is \(sev.hashTable == nil ? "missing" : "0"))")
        }
    }

    static func measureWithVMSAs(_ request: SNPMeasureRequest, image: OpenImage, gpa: UInt64) throws
        -> SNPMeasurement
    {
        let mode = request.mode
        let sev = try image.metadata()
        guard request.vcpus >= 1 else {
            throw SNPRequestError(.vcpus, "the vCPU count must be at least 1 in mode \(mode)")
        }
        guard let apEIP = sev.apResetEIP else {
            throw FormatError(
                .missing, format: OVMFSEVMetadata.format, offset: nil,
                "the GUID table has no SEV-ES reset block (\(EFIGUID.sevESResetBlock)), so the firmware "
                    + "cannot start SEV-ES/SNP vCPUs", file: image.path)
        }
        if request.vcpus > 1, apEIP == 0 {
            throw FormatError(
                .badValue, format: OVMFSEVMetadata.format, offset: nil,
                "the SEV-ES reset block gives AP reset EIP 0, so only 1 vCPU can start", file: image.path)
        }
        var signature = request.vcpuSignature
        if signature == nil {
            guard request.vmm != .qemu else {
                throw SNPRequestError(.vcpuSignatureMissing, "missing the vCPU signature in mode \(mode)")
            }
            signature = 0  // EC2 and GCE put 0x600 in RDX whatever the CPU model.
        }
        let features = mode == .snp ? request.guestFeatures : 0
        let sig = signature ?? 0
        let bsp = SNPVMSA.page(eip: SNPVMSA.bspEIP, sevFeatures: features, vcpuSignature: sig, vmm: request.vmm)
        let ap = SNPVMSA.page(eip: apEIP, sevFeatures: features, vcpuSignature: sig, vmm: request.vmm)

        if mode == .seves {
            var hashes: SEVKernelHashes?
            if let kernel = request.kernel {
                try requireHashTable(sev, mode: mode)
                hashes = try SEVKernelHashes(kernel: kernel, initrd: request.initrd, append: request.append)
            }
            let h = Digest(.sha256)
            try image.forEachPageRun { _, pages in h.update(pages) }
            if let hashes { h.update(hashes.table) }
            h.update(bsp)
            for _ in 1..<request.vcpus { h.update(ap) }
            return SNPMeasurement(
                mode: .seves, digest: h.finalize(), ovmfHash: nil, steps: [], kernelHashes: hashes, metadata: sev,
                vcpus: request.vcpus, bspVMSA: bsp, apVMSA: ap, warnings: [])
        }

        // SNP: check every section before hashing anything.
        var warnings: [String] = []
        if !sev.hasMetadata {
            warnings.append(
                "the firmware has no SEV metadata (ASEV); only its pages and the VMSAs are measured, "
                    + "so it is probably not an SEV-SNP capable build")
        }
        try sev.checkSectionTypes(file: image.path)
        var hashesPage: [UInt8]?
        var hashes: SEVKernelHashes?
        if let kernel = request.kernel {
            guard let section = sev.sections.first(where: { $0.type == .snpKernelHashes }) else {
                throw SNPRequestError(
                    .noKernelHashes,
                    "kernel hashes requested, but the firmware's SEV metadata has no SNP_KERNEL_HASHES section")
            }
            guard let table = sev.hashTable else {
                throw FormatError(
                    .missing, format: OVMFSEVMetadata.format, offset: section.offset,
                    "the firmware has an SNP_KERNEL_HASHES section but no SEV hash table entry "
                        + "(\(EFIGUID.sevHashTable)) in its GUID table", file: image.path)
            }
            guard section.size == UInt32(SNPLaunchDigest.pageSize) else {
                throw FormatError(
                    .badValue, format: OVMFSEVMetadata.format, offset: section.offset,
                    "the SNP_KERNEL_HASHES section is 0x\(String(section.size, radix: 16)) bytes, expected one page",
                    file: image.path)
            }
            let kernelHashes = try SEVKernelHashes(kernel: kernel, initrd: request.initrd, append: request.append)
            do {
                hashesPage = try kernelHashes.page(offset: Int(table.gpa & 0xfff))
            } catch { throw image.path.map { error.in(file: $0) } ?? error }
            hashes = kernelHashes
        }

        var steps: [SNPMeasureStep] = []
        var ld: SNPLaunchDigest
        if let seed = request.ovmfHash {
            ld = SNPLaunchDigest(seed: seed)
            steps.append(SNPMeasureStep(label: "ovmf-hash", pageType: nil, gpa: nil, pages: 0, digest: ld.value))
        } else {
            ld = SNPLaunchDigest()
            try image.forEachPageRun { offset, pages in ld.updateNormalPages(gpa: gpa + offset, data: pages) }
            steps.append(
                SNPMeasureStep(label: "firmware", pageType: .normal, gpa: gpa, pages: ld.records, digest: ld.value))
        }
        let ovmfHash = ld.value

        let secMem: SNPPageType = request.vmm == .gce ? .unmeasured : .zero
        func add(_ index: Int, _ section: SEVMetadataSection) {
            steps.append(
                ld.measureSection(
                    section, label: "section \(index) \(section.type)", secMem: secMem, kernelHashesPage: hashesPage))
        }
        for (index, section) in sev.sections.enumerated() where !(request.vmm == .ec2 && section.type == .cpuid) {
            add(index, section)
        }
        if request.vmm == .ec2 {
            for (index, section) in sev.sections.enumerated() where section.type == .cpuid { add(index, section) }
        }
        for cpu in 0..<request.vcpus {
            ld.updateVMSAPage(cpu == 0 ? bsp : ap)
            steps.append(
                SNPMeasureStep(
                    label: "vmsa \(cpu)", pageType: .vmsa, gpa: SNPLaunchDigest.vmsaGPA, pages: 1, digest: ld.value))
        }
        return SNPMeasurement(
            mode: .snp, digest: ld.value, ovmfHash: ovmfHash, steps: steps, kernelHashes: hashes, metadata: sev,
            vcpus: request.vcpus, bspVMSA: bsp, apVMSA: ap, warnings: warnings)
    }
}

/// A firmware image opened once: its size, its SEV metadata and a page stream.
struct OpenImage {
    let size: UInt64
    let path: String?
    private let file: FileInput?
    private let bytes: [UInt8]

    init(_ image: SNPFirmwareImage) throws {
        switch image {
        case .path(let path):
            let file = try FileInput(path: path)
            self.file = file
            self.path = path
            self.size = file.size
            self.bytes = []
        case .bytes(let bytes):
            self.file = nil
            self.path = nil
            self.size = UInt64(bytes.count)
            self.bytes = bytes
        }
    }

    func metadata() throws -> OVMFSEVMetadata {
        do {
            if let file { return try OVMFSEVMetadata(file: file) }
            return try OVMFSEVMetadata(firmware: bytes)
        } catch let error as FormatError {
            throw path.map { error.in(file: $0) } ?? error
        }
    }

    /// The last `count` bytes of the image (fewer when it is smaller).
    func tail(_ count: Int) throws -> [UInt8] {
        let n = Int(min(size, UInt64(count)))
        if let file { return try file.read(at: size - UInt64(n), count: n, format: SNPMeasure.firmwareFormat) }
        return Array(bytes[(bytes.count - n)...])
    }

    /// Hands runs of whole pages to `body(offsetInImage, pages)`, reading the file once in bounded chunks.
    func forEachPageRun(_ body: (UInt64, UnsafeRawBufferPointer) throws -> Void) throws {
        if let file {
            var offset: UInt64 = 0
            try FileStream.forEachChunk(of: file, ranges: [0..<size]) { _, chunk in
                try body(offset, chunk)
                offset += UInt64(chunk.count)
            }
        } else {
            try bytes.withUnsafeBytes { try body(0, $0) }
        }
    }
}

extension OVMFSEVMetadata {
    /// Refuses a section of a type edk2 does not define (the parser keeps it as `.unknown`): nothing says
    /// how to measure it. Both the firmware's and an SVSM's sections are checked before hashing anything.
    func checkSectionTypes(file: String?) throws(FormatError) {
        for section in sections {
            if case .unknown = section.type {
                throw FormatError(
                    .unsupported, format: Self.format, offset: section.offset,
                    "section at GPA 0x\(String(section.gpa, radix: 16)) has \(section.type); "
                        + "known types are 1-4 and 0x10", file: file)
            }
        }
    }
}

extension SNPLaunchDigest {
    /// Measures one `ASEV` metadata section, of the OVMF firmware or of an SVSM image, as the hypervisor
    /// does at launch, and returns the step it adds.
    ///
    /// - Parameters:
    ///   - secMem: the page type of an SNP_SEC_MEM section: zero pages, or `.unmeasured` on GCE, which
    ///     does not measure them. An SVSM's sections always pass `.zero`.
    ///   - kernelHashesPage: the page measured as normal data for an SNP_KERNEL_HASHES section; `nil` (no
    ///     kernel hashes, or an SVSM image) measures the section as zero pages.
    /// - Precondition: the section's type is known (``OVMFSEVMetadata/checkSectionTypes(file:)``).
    mutating func measureSection(
        _ section: SEVMetadataSection, label: String, secMem: SNPPageType, kernelHashesPage: [UInt8]?
    ) -> SNPMeasureStep {
        let before = records
        let start = UInt64(section.gpa)
        let type: SNPPageType
        switch section.type {
        case .snpSecMem:
            type = secMem
            updateEmptyPages(secMem, gpa: start, size: UInt64(section.size))
        case .snpSecrets:
            type = .secrets
            updateSecretsPage(gpa: start)
        case .cpuid:
            type = .cpuid
            updateCPUIDPage(gpa: start)
        case .svsmCAA:
            type = .zero
            updateZeroPages(gpa: start, size: UInt64(section.size))
        case .snpKernelHashes:
            if let kernelHashesPage {
                type = .normal
                updateNormalPages(gpa: start, data: kernelHashesPage)
            } else {
                type = .zero
                updateZeroPages(gpa: start, size: UInt64(section.size))
            }
        case .unknown:
            preconditionFailure("section types are checked before measuring")
        }
        return SNPMeasureStep(label: label, pageType: type, gpa: start, pages: records - before, digest: value)
    }
}
