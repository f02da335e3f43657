import EnclaveCore
import OVMF
import TestSupport
import Testing

@testable import SEVSNP

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Every way `SNPMeasure` refuses a request, with the error it gives.
@Suite struct ErrorTests {
    func request(_ firmware: [UInt8], mode: SEVGuestMode = .snp, vcpus: Int = 1) -> SNPMeasureRequest {
        var r = SNPMeasureRequest(firmware: .bytes(firmware), mode: mode)
        r.vcpus = vcpus
        r.vcpuSignature = 0x0080_0f12
        return r
    }

    @Test func firmwareWithoutGUIDTable() {
        let fw = [UInt8](repeating: 0x90, count: 8192)
        #expect(throws: FormatError(.missing, format: "OVMF GUID table", offset: 8192 - 48, "")) {
            try SNPMeasure.measure(request(fw))
        }
    }

    @Test func kernelHashesOnFirmwareWithoutTheSection() throws {
        let dir = try TestDirectory()
        var r = request(try Fixtures.bytes("ovmf_OvmfX64_suffix.bin"))
        r.kernel = try dir.write("kernel", [1, 2, 3])
        let error = try #require(throws: SNPRequestError.self) { try SNPMeasure.measure(r) }
        #expect(error.kind == .noKernelHashes)
        #expect(error.message.contains("no SNP_KERNEL_HASHES section"))
        r.mode = .seves
        let seves = try #require(throws: SNPRequestError.self) { try SNPMeasure.measure(r) }
        #expect(seves.kind == .noKernelHashes)
        #expect(seves.message.contains("no SEV hashes table"))
        r.mode = .sev
        #expect(throws: SNPRequestError(.noKernelHashes, seves.message)) { try SNPMeasure.measure(r) }
    }

    @Test func unknownVCPUType() throws {
        let error = try #require(throws: SNPRequestError.self) { try SNPVCPU.requireSignature(named: "EPYC-v9") }
        #expect(error.kind == .unknownVCPUType)
        #expect(error.description.contains("EPYC-Milan"))
    }

    @Test func missingSignatureForQEMU() throws {
        var r = request(try Fixtures.bytes("ovmf_OvmfX64_suffix.bin"))
        r.vcpuSignature = nil
        let error = try #require(throws: SNPRequestError.self) { try SNPMeasure.measure(r) }
        #expect(error.kind == .vcpuSignatureMissing)
        r.vmm = .gce  // GCE and EC2 do not use it.
        _ = try SNPMeasure.measure(r)
    }

    @Test(arguments: [0, 47, 49, 96])
    func ovmfHashOfWrongLength(count: Int) throws {
        var r = request(try Fixtures.bytes("ovmf_AmdSev_suffix.bin"))
        r.ovmfHash = [UInt8](repeating: 1, count: count)
        let error = try #require(throws: SNPRequestError.self) { try SNPMeasure.measure(r) }
        #expect(error.kind == .ovmfHashSize)
    }

    @Test func ovmfHashOutsideSNPMode() throws {
        var r = request(try Fixtures.bytes("ovmf_AmdSev_suffix.bin"), mode: .seves)
        r.ovmfHash = [UInt8](repeating: 1, count: 48)
        let error = try #require(throws: SNPRequestError.self) { try SNPMeasure.measure(r) }
        #expect(error.kind == .ovmfHashNeedsSNP)
    }

    @Test(arguments: [0, 4095, 4097])
    func firmwareNotWholePages(size: Int) throws {
        let fw = [UInt8](repeating: 0, count: size)
        for mode in [SEVGuestMode.snp, .snpOVMFHash] {
            let error = #expect(throws: FormatError.self, "\(mode)") { try SNPMeasure.measure(request(fw, mode: mode)) }
            #expect(error?.kind == .badValue)
            #expect(
                error?.message.contains("the image is \(size) bytes; SEV launches firmware as whole 4 KiB pages")
                    == true)
        }
    }

    @Test func unknownSectionType() throws {
        var fw = try Fixtures.bytes("ovmf_OvmfX64_suffix.bin")
        let sev = try OVMFSEVMetadata(firmware: fw)
        let item = Int(try #require(sev.sections.last).offset)
        fw[item + 8] = 0x7f
        let error = try #require(throws: FormatError.self) { try SNPMeasure.measure(request(fw)) }
        #expect(error.kind == .unsupported)
        #expect(error.offset == UInt64(item))
        // SEV-ES does not look at the sections, as upstream.
        _ = try SNPMeasure.measure(request(fw, mode: .seves))
    }

    @Test func apResetEIPZeroAllowsOneVCPUOnly() throws {
        var fw = try Fixtures.bytes("ovmf_OvmfX64_suffix.bin")
        let table = try OVMFGUIDTable(firmware: fw)
        let entry = try #require(table.entry(.sevESResetBlock))
        for i in 0..<4 { fw[entry.offset + i] = 0 }
        _ = try SNPMeasure.measure(request(fw, vcpus: 1))
        let error = #expect(throws: FormatError.self) { try SNPMeasure.measure(request(fw, vcpus: 2)) }
        #expect(error?.kind == .badValue)
        #expect(error?.message.contains("AP reset EIP 0, so only 1 vCPU") == true)
    }

    @Test func zeroVCPUs() throws {
        let error = try #require(throws: SNPRequestError.self) {
            try SNPMeasure.measure(request(try Fixtures.bytes("ovmf_OvmfX64_suffix.bin"), vcpus: 0))
        }
        #expect(error.kind == .vcpus)
    }

    @Test func missingKernelFile() throws {
        var r = request(try Fixtures.bytes("ovmf_AmdSev_suffix.bin"))
        r.kernel = "/nonexistent/bzImage"
        let error = #expect(throws: SystemError.self) { try SNPMeasure.measure(r) }
        #expect(error?.errno == ENOENT)
        #expect(error?.path == "/nonexistent/bzImage")
    }

    @Test func hashesTablePageOffsetMustFit() {
        let hashes = SEVKernelHashes(
            cmdline: [UInt8](repeating: 1, count: 32), initrd: [UInt8](repeating: 2, count: 32),
            kernel: [UInt8](repeating: 3, count: 32))
        #expect(hashes.table.count == 176)
        let lastBytes = #expect(throws: FormatError.self) { try hashes.page(offset: 4096 - 160) }
        #expect(lastBytes?.kind == .outOfBounds)
        #expect(lastBytes?.message.hasSuffix("does not fit in its page at offset 0xf60") == true)
        let negative = #expect(throws: FormatError.self) { try hashes.page(offset: -1) }
        #expect(negative?.kind == .outOfBounds)
        #expect(negative?.message.hasSuffix("does not fit in its page at offset -1") == true)
        #expect((try? hashes.page(offset: 4096 - 176))?.suffix(176).elementsEqual(hashes.table) == true)
    }

    @Test func noMetadataGivesAWarningLikeUpstreamComputes() throws {
        // A GUID table with a reset block but no ASEV entry: sev-snp-measure measures pages and VMSAs only.
        var fw = try Fixtures.bytes("ovmf_OvmfX64_suffix.bin")
        let table = try OVMFGUIDTable(firmware: fw)
        let entry = try #require(table.entry(.sevMetadataOffset))
        fw[entry.offset + entry.data.count + 2] ^= 0xff  // damage its GUID
        let result = try SNPMeasure.measure(request(fw))
        #expect(result.warnings.count == 1)
        #expect(result.steps.count == 2)  // firmware, one VMSA
    }
}

/// A small deterministic mutation run over the table area of both suffixes (the libFuzzer harnesses
/// `snp-sev-metadata` and `snp-launch-digest` do the same at scale): every input either parses or throws a
/// FormatError, and every parsed one either measures to a SHA-384 digest or throws a FormatError.
@Suite struct MutationTests {
    @Test(arguments: ["ovmf_AmdSev_suffix.bin", "ovmf_OvmfX64_suffix.bin"])
    func mutatedTablesThrowOrParse(name: String) throws {
        let original = try Fixtures.bytes(name)
        var state: UInt64 = 0x9e37_79b9_7f4a_7c15
        func next() -> Int {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Int(truncatingIfNeeded: state >> 1)
        }
        var parsed = 0
        var rejected = 0
        var measured = 0
        for _ in 0..<1500 {
            var fw = original
            for _ in 0..<(1 + next() % 4) {
                fw[original.count - 1 - next() % 0x600] = UInt8(truncatingIfNeeded: next())
            }
            do {
                let sev = try OVMFSEVMetadata(firmware: fw)
                parsed += 1
                // Keep the run fast: skip images whose sections would add more than 4096 pages.
                guard sev.sections.reduce(0, { $0 + Int($1.size) / 4096 }) <= 4096 else { continue }
                var request = SNPMeasureRequest(firmware: .bytes(fw))
                request.vcpus = 2
                request.vcpuSignature = 0x0080_0f12
                // The request is complete (no kernel, vCPUs and signature given), so the firmware is the
                // only thing that can be wrong: anything but a FormatError escapes and fails the test.
                do {
                    let measurement = try SNPMeasure.measure(request)
                    #expect(measurement.digest.count == 48)
                    measured += 1
                } catch is FormatError {
                    // A damaged section table that the metadata parser accepts is rejected here.
                }
            } catch is FormatError {
                rejected += 1
            }
        }
        #expect(parsed + rejected == 1500)
        #expect(rejected > 0)
        #expect(measured > 0)
    }
}
