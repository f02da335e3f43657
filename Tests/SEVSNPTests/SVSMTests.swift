import EnclaveCore
import Foundation
import OVMF
import TestSupport
import Testing

@testable import SEVSNP

/// Builds COCONUT-SVSM-like images: pseudo-random pages ending with an OVMF-style GUID table (footer GUID,
/// SVSM_INFO with the entry offset, SEV metadata offset) and an `ASEV` table at offset 0x1000.
struct SVSMImageBuilder {
    var pages = 16
    var entryOffset: UInt32 = 0x2000
    var withInfo = true
    /// (GPA, size, type) of each SEV metadata section.
    var sections: [(UInt32, UInt32, UInt32)] = [
        (0x100_0000, 0x3000, 1), (0x100_3000, 0x1000, 2), (0x100_4000, 0x1000, 3), (0x100_5000, 0x1000, 4),
        (0x100_6000, 0x1000, 0x10),
    ]
    var seed: UInt64 = 7

    static func guid(_ text: String) -> [UInt8] { EFIGUID(text)?.bytes ?? [] }

    static func le<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        (0..<(T.bitWidth / 8)).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }

    static func entry(_ guid: String, _ data: [UInt8]) -> [UInt8] {
        data + le(UInt16(data.count + 18)) + Self.guid(guid)
    }

    func build() -> [UInt8] {
        let size = pages * 4096
        var image = pseudoRandomBytes(size, seed: seed)
        var asev = Array("ASEV".utf8) + Self.le(UInt32(16 + 12 * sections.count)) + Self.le(UInt32(1))
        asev += Self.le(UInt32(sections.count))
        for (gpa, length, type) in sections { asev += Self.le(gpa) + Self.le(length) + Self.le(type) }
        image.replaceSubrange(0x1000..<(0x1000 + asev.count), with: asev)
        var table: [UInt8] = []
        if withInfo { table += Self.entry("a789a612-0597-4c4b-a49f-cbb1fe9d1ddd", Self.le(entryOffset)) }
        table += Self.entry("dc886566-984a-4798-a75e-5585a7bf67cc", Self.le(UInt32(size - 0x1000)))
        table += Self.le(UInt16(table.count + 18)) + Self.guid("96b582de-1fb2-45f7-baea-a366c55a082d")
        image.replaceSubrange((size - 32 - table.count)..<(size - 32), with: table)
        return image
    }
}

/// `--mode snp:svsm`, against `sev-snp-measure` run live on Debian's OVMF and SVSM images built here.
@Suite struct SVSMTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var ovmf: String
        var vcpus: Int
        var cpu: String
        var varsSize: UInt64
        var pages = 16
        var entryOffset: UInt32 = 0x2000
        var testDescription: String {
            "\((ovmf as NSString).lastPathComponent) \(vcpus)×\(cpu) vars \(varsSize) svsm \(pages) pages"
        }
    }

    static let cases: [Case] = [
        Case(ovmf: SEVSNPMeasure.debianCode, vcpus: 1, cpu: "EPYC-v4", varsSize: 131_072),
        Case(ovmf: SEVSNPMeasure.debianCode, vcpus: 2, cpu: "EPYC-Milan", varsSize: 540_672),
        Case(ovmf: SEVSNPMeasure.debianCode, vcpus: 4, cpu: "EPYC-Genoa", varsSize: 4096, pages: 64, entryOffset: 0),
        Case(ovmf: SEVSNPMeasure.debianFull, vcpus: 1, cpu: "EPYC-Rome", varsSize: 131_072, entryOffset: 0x7ff0),
        Case(ovmf: SEVSNPMeasure.debianFull, vcpus: 8, cpu: "EPYC-Turin", varsSize: 1, pages: 3),
        Case(ovmf: SEVSNPMeasure.debianCode4M, vcpus: 3, cpu: "EPYC-v4", varsSize: 540_672, pages: 32),
    ]

    @Test(arguments: cases)
    func matchesSevSnpMeasure(_ c: Case) throws {
        let dir = try TestDirectory()
        let svsm = try dir.write(
            "svsm.bin", SVSMImageBuilder(pages: c.pages, entryOffset: c.entryOffset, seed: UInt64(c.pages)).build())
        var request = SNPMeasureRequest(firmware: .path(c.ovmf), mode: .snpSVSM)
        request.vcpus = c.vcpus
        request.vcpuSignature = try SNPVCPU.requireSignature(named: c.cpu)
        request.svsm = .path(svsm)
        request.varsSize = c.varsSize
        let ours = try SNPMeasure.measure(request)

        let reference = try SEVSNPMeasure.run(
            [
                "--mode", "snp:svsm", "--vcpus", "\(c.vcpus)", "--vcpu-type", c.cpu, "--ovmf", c.ovmf, "--svsm", svsm,
                "--vars-size", "\(c.varsSize)", "--dump-vmsa",
            ], in: dir.path)
        #expect(reference.status == 0, "\(reference.stderr)")
        #expect(ours.digest.hex == reference.trimmedStdout)
        for cpu in 0..<c.vcpus {
            let page = try Data(contentsOf: URL(fileURLWithPath: dir.path + "/vmsa\(cpu).bin"))
            #expect(ours.vmsaPage(cpu) == Array(page), "vmsa\(cpu)")
        }
        // Steps: OVMF, SVSM, five sections, one VMSA per vCPU; the last step is the digest.
        #expect(ours.steps.count == 2 + 5 + c.vcpus)
        #expect(ours.steps.last?.digest == ours.digest)
    }

    @Test func layoutBelowOVMF() throws {
        let image = SVSMImageBuilder(pages: 4, entryOffset: 0x1230).build()
        let svsm = try SNPSVSMImage(.bytes(image), endGPA: 0xFFE0_0000)
        #expect(svsm.gpa == 0xFFDF_C000)
        #expect(svsm.entryPoint == 0xFFDF_D230)
        #expect(svsm.metadata.sections.map(\.type.rawValue) == [1, 2, 3, 4, 0x10])
        #expect(EFIGUID.svsmInfo.description == "a789a612-0597-4c4b-a49f-cbb1fe9d1ddd")
    }

    func request(svsm: [UInt8], varsSize: UInt64 = 131_072) -> SNPMeasureRequest {
        var r = SNPMeasureRequest(firmware: .path(SEVSNPMeasure.debianCode), mode: .snpSVSM)
        r.vcpus = 1
        r.vcpuSignature = 0x0080_0f12
        r.svsm = .bytes(svsm)
        r.varsSize = varsSize
        return r
    }

    @Test func missingSVSMInfo() throws {
        let error = try #require(throws: FormatError.self) {
            try SNPMeasure.measure(request(svsm: SVSMImageBuilder(withInfo: false).build()))
        }
        #expect(error.kind == .missing)
        #expect(error.message.contains("SVSM_INFO"))
    }

    @Test func truncatedGUIDTable() throws {
        var image = SVSMImageBuilder().build()
        // The footer's table length claims more than the image holds.
        let footerLength = image.count - 32 - 18
        image[footerLength] = 0xff
        image[footerLength + 1] = 0xff
        let error = try #require(throws: FormatError.self) { try SNPMeasure.measure(request(svsm: image)) }
        #expect(error.kind == .outOfBounds)
        #expect(error.format == SNPSVSMImage.format)
        #expect(error.offset == UInt64(footerLength))
        // An entry whose length runs past the start of the table.
        var entry = SVSMImageBuilder().build()
        let lastEntryLength = entry.count - 32 - 18 - 18
        entry[lastEntryLength] = 0xf0
        let longEntry = #expect(throws: FormatError.self) { try SNPMeasure.measure(request(svsm: entry)) }
        #expect(longEntry?.kind == .outOfBounds)
        #expect(longEntry?.offset == UInt64(lastEntryLength))
        #expect(longEntry?.message.contains("has length 240") == true)
        // No footer at all.
        let noFooter = try #require(throws: FormatError.self) {
            try SNPMeasure.measure(request(svsm: [UInt8](repeating: 0, count: 8192)))
        }
        #expect(noFooter.kind == .missing)
        #expect(noFooter.offset == 8192 - 48)
        #expect(noFooter.message.contains("COCONUT-SVSM"))
    }

    @Test func svsmLargerThanTheSpaceBelowOVMF() throws {
        let image = SVSMImageBuilder().build()
        let ovmfSize = UInt64(try FileInput(path: SEVSNPMeasure.debianCode).size)
        let below = (1 << 32) - ovmfSize
        let tooBig = try #require(throws: FormatError.self) {
            try SNPMeasure.measure(request(svsm: image, varsSize: below - 4096))
        }
        #expect(tooBig.kind == .tooLarge)
        let overlap = try #require(throws: SNPRequestError.self) {
            try SNPMeasure.measure(request(svsm: image, varsSize: below + 1))
        }
        #expect(overlap.kind == .varsSize)
        // Exactly fits: the SVSM starts at GPA 0.
        _ = try SNPMeasure.measure(request(svsm: image, varsSize: below - UInt64(image.count)))
    }

    @Test(arguments: [0, 4095, 8193])
    func svsmNotWholePages(size: Int) throws {
        let error = try #require(throws: FormatError.self) {
            try SNPMeasure.measure(request(svsm: [UInt8](repeating: 0, count: size)))
        }
        #expect(error.kind == .badValue)
    }

    @Test func unknownSectionType() throws {
        var builder = SVSMImageBuilder()
        builder.sections.append((0x100_8000, 0x1000, 0x7f))
        let error = try #require(throws: FormatError.self) {
            try SNPMeasure.measure(request(svsm: builder.build()))
        }
        #expect(error.kind == .unsupported)
    }

    /// OVMF's own ASEV table is checked (sev-snp-measure parses it too); an OVMF without a GUID table is
    /// measured as plain pages, as upstream does.
    @Test func ovmfMetadataIsChecked() throws {
        let dir = try TestDirectory()
        let svsm = try dir.write("svsm.bin", SVSMImageBuilder().build())
        var ovmf = Array(try Data(contentsOf: URL(fileURLWithPath: SEVSNPMeasure.debianCode)))
        let asev = try #require(try OVMFSEVMetadata(firmware: ovmf).descriptorOffset)
        ovmf[Int(asev)] = UInt8(ascii: "X")
        let damaged = try dir.write("damaged.fd", ovmf)
        let blank = try dir.write("blank.fd", [UInt8](repeating: 0xff, count: 65536))
        let args = ["--mode", "snp:svsm", "--vcpus", "1", "--vcpu-sig", "0x800f12", "--svsm", svsm, "--vars-size"]

        var r = request(svsm: SVSMImageBuilder().build())
        r.firmware = .path(damaged)
        let error = try #require(throws: FormatError.self) { try SNPMeasure.measure(r) }
        #expect(error.kind == .badMagic)
        let refused = try SEVSNPMeasure.run(args + ["131072", "--ovmf", damaged])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("Wrong SEV metadata signature"))

        r.firmware = .path(blank)
        let reference = try SEVSNPMeasure.run(args + ["131072", "--ovmf", blank])
        #expect(reference.status == 0, "\(reference.stderr)")
        #expect(try SNPMeasure.measure(r).digest.hex == reference.trimmedStdout)
    }

    func kind(of r: SNPMeasureRequest) -> SNPRequestError.Kind? {
        do {
            _ = try SNPMeasure.measure(r)
            return nil
        } catch let error as SNPRequestError {
            return error.kind
        } catch {
            return nil
        }
    }

    @Test func requestErrors() throws {
        let image = SVSMImageBuilder().build()
        var r = request(svsm: image)
        r.vmm = .ec2
        #expect(kind(of: r) == .svsmNeedsQEMU)
        r = request(svsm: image)
        r.svsm = nil
        #expect(kind(of: r) == .svsmMissing)
        r = request(svsm: image)
        r.vcpuSignature = nil
        #expect(kind(of: r) == .vcpuSignatureMissing)
        r = request(svsm: image)
        r.ovmfHash = [UInt8](repeating: 0, count: 48)
        #expect(kind(of: r) == .ovmfHashNeedsSNP)
    }

    /// The same inputs give the same digest; the guest features and kernel flags do not enter it (as upstream).
    @Test func ignoresSNPOnlyInputs() throws {
        let image = SVSMImageBuilder().build()
        let a = try SNPMeasure.measure(request(svsm: image))
        var r = request(svsm: image)
        r.guestFeatures = 0x21
        let b = try SNPMeasure.measure(r)
        #expect(a.digest == b.digest)
        #expect(a.digest != (try SNPMeasure.measure(request(svsm: image, varsSize: 135_168))).digest)
    }
}
