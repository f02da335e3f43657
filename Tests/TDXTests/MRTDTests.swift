import EnclaveCore
import Foundation
import OVMF
import TestSupport
import Testing

@testable import TDX

/// MRTD against the public synthetic TDVF vector (values from the Go dstack-mr code and a second
/// implementation) and on Debian 12's OVMF.fd.
@Suite struct MRTDTests {
    static let vectors: [(TDXPageAddOrder, Bool, String)] = [
        (
            .perPage, true,
            "9e33f6b2815fba2aa24ec71cf5fc2f8974365ed90e3d0128706ec79c4323295f8f8860424454005f935e6fee27017604"
        ),
        (
            .perPage, false,
            "b82f7558bbc9e8eaf07826a735242eb11b2afdc8c15cceb484a8f0f7102de8d1cae98b29510e5ff3242092052831f067"
        ),
        (
            .twoPass, true,
            "ce0d5713580e243f5103d365951230c56355202a9e9e7f6e1b9ebf56a5f60a041d7655be94c9fa9346d60de0902cd945"
        ),
        (
            .twoPass, false,
            "27717273a3efdf6bc799becc96bdbee4d0f95c3a252ea33b2fa33653a5288ac6328d9c109bbd76f026f6b4819aeb682e"
        ),
    ]

    @Test(arguments: 0..<vectors.count)
    func syntheticVector(index: Int) throws {
        let (order, skipPageAug, expected) = Self.vectors[index]
        let fw = try Fixtures.bytes("synthetic_tdvf.bin")
        let mrtd = try MRTD.compute(
            firmware: fw, metadata: try TDVFMetadata(firmware: fw), order: order, skipPageAug: skipPageAug)
        #expect(mrtd.hex == expected)
    }

    @Test(arguments: [("8.0", TDXPageAddOrder.twoPass), ("8.2.2", .twoPass), ("9.0", .perPage), ("10.2", .perPage)])
    func orderFromQEMUVersion(version: String, order: TDXPageAddOrder) throws {
        #expect(try TDXPageAddOrder(qemuVersion: QEMUVersion(version)) == order)
    }

    @Test(arguments: [
        ("7.2", TDXError.noTDXSupport(QEMUVersion(7, 2))), ("x.1", .invalidQEMUVersion("x.1")),
        ("9", .invalidQEMUVersion("9")), ("9.1.2.3", .invalidQEMUVersion("9.1.2.3")), ("", .invalidQEMUVersion("")),
    ])
    func unsupportedOrMalformedQEMUVersion(version: String, error: TDXError) {
        #expect(throws: error) { try TDXPageAddOrder(qemuVersion: QEMUVersion(version)) }
    }

    static func debianOVMF() throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: "/usr/share/ovmf/OVMF.fd")))
    }

    @Test func debianOVMFDoesNotDependOnVARS() throws {
        // CFV is not MR.EXTENDed, so zeroing the VARS region (first 128 KiB) keeps MRTD (TDX catalog, "MRTD Computation", "Which file"),
        // while changing one byte of code changes it.
        let fw = try Self.debianOVMF()
        let metadata = try TDVFMetadata(firmware: fw)
        let reference = try MRTD.compute(firmware: fw, metadata: metadata, order: .perPage)
        var zeroVars = fw
        for i in 0..<0x20000 { zeroVars[i] = 0 }
        #expect(try MRTD.compute(firmware: zeroVars, metadata: metadata, order: .perPage) == reference)
        var codeChanged = fw
        codeChanged[0x30000] ^= 1
        #expect(try MRTD.compute(firmware: codeChanged, metadata: metadata, order: .perPage) != reference)
        #expect(try MRTD.compute(firmware: fw, metadata: metadata, order: .twoPass) != reference)
    }

    @Test func debianOVMFValues() throws {
        // Debian 12 ovmf 2022.11-6+deb12u2. Produced by this implementation (the code path the synthetic
        // vectors check) and, identically, by a separate Python transcription of the records and
        // algorithm in the TDX catalog's "MRTD Computation" run once.
        let fw = try Self.debianOVMF()
        let metadata = try TDVFMetadata(firmware: fw)
        let perPage = try MRTD.compute(firmware: fw, metadata: metadata, order: .perPage)
        let twoPass = try MRTD.compute(firmware: fw, metadata: metadata, order: .twoPass)
        #expect(perPage.hex == Self.debianPerPage)
        #expect(twoPass.hex == Self.debianTwoPass)
    }

    static let debianPerPage =
        "4c7206f0f483c524f12c366c711e9049030a8d47c471ee5aa9c4999a08de4057fb887fed0744d5631a212967fb231c47"
    static let debianTwoPass =
        "acccbcc870a381adab0d3919d90a7f268ac3b0364771f202ed4bb4e892d045b33db3b32e6924cba830a724eed443f7e1"

    @Test func metadataFromAnotherImageIsRejected() throws {
        let fw = try Fixtures.bytes("synthetic_tdvf.bin")
        let metadata = try TDVFMetadata(firmware: fw)
        let error = #expect(throws: FormatError.self) {
            try MRTD.compute(firmware: Array(fw.prefix(8192)), metadata: metadata, order: .perPage)
        }
        #expect(error?.kind == .badValue)
        #expect(error?.message.contains("read from a 16384-byte image, not this 8192-byte one") == true)
    }
}
