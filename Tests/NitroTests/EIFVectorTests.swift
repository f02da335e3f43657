import EnclaveCore
import Foundation
import TestSupport
import Testing

@testable import Nitro

/// Known-answer vectors from AWS's eif_build (aws-nitro-enclaves-image-format) and a second implementation.
struct EIFVector: Sendable, CustomTestStringConvertible {
    var name: String
    var arch: EIFArchitecture
    var cmdline: String?  // nil: read cmdline.txt
    var ramdisks: [String]
    var pcr0: String
    var pcr1: String
    var pcr2: String
    var fileSHA256: String
    var fileSize: UInt64
    var crc: UInt32
    var testDescription: String { name }

    static let all: [EIFVector] = [
        EIFVector(
            name: "test-v2", arch: .aarch64, cmdline: "console=ttyS0", ramdisks: ["bootstrap-fake.cpio"],
            pcr0: "7c2ae8b7c3dc43d94f1e67aac1de235213a01f908e92010effd29194ab2314795516bd84da65b74f16f6e22c97511ce2",
            pcr1: "7c2ae8b7c3dc43d94f1e67aac1de235213a01f908e92010effd29194ab2314795516bd84da65b74f16f6e22c97511ce2",
            pcr2: "21b9efbc184807662e966d34f390821309eeac6802309798826296bf3e8bec7c10edb30948c90ba67310f7b964fc500a",
            fileSHA256: "23ba18f6555edfb6443f648b4650ccf00dafd33fadddaf8c91d150a50bdea845", fileSize: 68438,
            crc: 0x4402_0b41),
        EIFVector(
            name: "test-v4", arch: .x86_64, cmdline: nil,
            ramdisks: ["bootstrap-fake.cpio", "customer-fake.cpio", "extra.bin"],
            pcr0: "65956609f358c9b6da354e89f451032a4d8286bcb49d3c25629cb77edad0d3f1959c5819669e0e41f6554b44336b7657",
            pcr1: "343e2f560954b639d1410fe761bec99c795928c35882850899761e886a10a23b065c977b1c2e82c90abe2130aaee0654",
            pcr2: "dfa5c717708543e055c64a68740dee6d88da5146be6afe0b74b121043c14b7175fec624340526a427eaa17dad19dfefc",
            fileSHA256: "b5b23efb49b6187d5b9559cc0b3b57a7db8c99a94e9302782a15b9699ba57c24", fileSize: 72174,
            crc: 0x3fc5_ae1a),
    ]

    func request() throws -> EIFBuildRequest {
        let cmd = try cmdline ?? Fixtures.text("cmdline.txt")
        var r = EIFBuildRequest(
            kernelPath: Fixtures.path("kernel.bin"), cmdline: cmd, ramdiskPaths: ramdisks.map { Fixtures.path($0) },
            metadata: EIFMetadata(imageName: name, imageVersion: name, buildTime: "1970-01-01T00:00:00+00:00"))
        r.architecture = arch
        return r
    }
}

@Suite struct EIFVectorTests {
    @Test(arguments: EIFVector.all)
    func builderReproducesEifBuildByteForByte(vector: EIFVector) throws {
        let dir = try TestDirectory()
        let out = dir.path + "/out.eif"
        let m = try EIFBuilder.build(try vector.request(), to: out)
        #expect(m.pcr0.hex == vector.pcr0)
        #expect(m.pcr1.hex == vector.pcr1)
        #expect(m.pcr2.hex == vector.pcr2)
        #expect(m.pcr8 == nil)
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: out)))
        #expect(UInt64(bytes.count) == vector.fileSize)
        #expect(Digest.sha256(bytes).hex == vector.fileSHA256)
        #expect(bytes.be(UInt32.self, at: EIFLayout.crcOffset) == vector.crc)
    }

    @Test(arguments: EIFVector.all)
    func readerMeasuresWhatTheBuilderWrote(vector: EIFVector) throws {
        let dir = try TestDirectory()
        let out = dir.path + "/out.eif"
        _ = try EIFBuilder.build(try vector.request(), to: out)
        let eif = try EIFImage(file: FileInput(path: out))
        #expect(eif.isContiguous)
        #expect(eif.trailingBytes == 0)
        #expect(eif.architecture == vector.arch)
        let v = try eif.measure(checkCRC: true)
        #expect(v.crcMatches == true)
        #expect(v.computedCRC == vector.crc)
        #expect(v.measurements.pcr0.hex == vector.pcr0)
        #expect(v.measurements.pcr1.hex == vector.pcr1)
        #expect(v.measurements.pcr2.hex == vector.pcr2)
        // Measuring without the checksum gives the same PCRs.
        #expect(try eif.measure().measurements == v.measurements)
    }
}
