import EnclaveCore
import OVMF
import TestSupport
import Testing

@testable import SEVSNP

/// Expected digests from virtee/sev-snp-measure `tests/test_guest.py` (computed by that project, for the
/// two firmware suffixes in `Fixtures/`). They need no reference client at test time.
@Suite struct KnownAnswerTests {
    static let amdSevOVMFHash =
        "086e2e9149ebf45abdc3445fba5b2da8270bdbb04094d7a2c37faaa4b24af3aa16aff8c374c2a55c467a50da6d466b74"

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var mode: SEVGuestMode = .snp
        var firmware = "ovmf_AmdSev_suffix.bin"
        var vcpus = 1
        var signature: UInt32? = 0x0080_0f12  // EPYC-v4
        var vmm: SNPVMMType = .qemu
        /// nil: no kernel; otherwise the cmdline, with kernel and initrd empty files (`/dev/null` upstream).
        var append: String?
        var features: UInt64 = 0x21
        var ovmfHash: String?
        var expected: String
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "ovmf-hash seed, default features", append: "", ovmfHash: amdSevOVMFHash,
            expected: "329c8ce0972ae52343b64d34a434a86f245dfd74f5ed7aae15d22efc78fb9683632b9b50e4e1d7fa41179ef98a7ef198"
        ),
        Case(
            name: "ovmf-hash seed, SNP only", append: "", features: 0x1, ovmfHash: amdSevOVMFHash,
            expected: "ddc5224521617a536ee7ce9dd6224d1b58a8d4fda1c741f3ac99fc4bfa04ba6e9fc98646d4a07a9079397fa3852819b5"
        ),
        Case(
            name: "ovmf-hash seed, cmdline", append: "console=ttyS0 loglevel=7", ovmfHash: amdSevOVMFHash,
            expected: "803f691094946e42068aaa3a8f9e26a5c89f36f7b73ecfb28c653360fe4b3aba7e534442e7e1e17895dfe778d0228977"
        ),
        Case(
            name: "ovmf-hash seed, cmdline, SNP only", append: "console=ttyS0 loglevel=7", features: 0x1,
            ovmfHash: amdSevOVMFHash,
            expected: "6d287813eb5222d770f75005c664e34c204f385ce832cc2ce7d0d6f354454362f390ef83a92046c042e706363b4b08fa"
        ),
        Case(
            name: "ec2", vmm: .ec2, append: "",
            expected: "0ce9ccc06bab55eebe8abc234f3df6514883977a68a591b71052498ab52b2f1aa415db338033946ef93aa8278c0d67fb"
        ),
        Case(
            name: "ec2, SNP only", vmm: .ec2, append: "", features: 0x1,
            expected: "0883bd0eeb716e65b7b977a321c278d1e51b33b5c655fab985443bbcc65c086b9c15e8a0bd8811050dec7e24964e5056"
        ),
        Case(
            name: "gce", signature: nil, vmm: .gce, append: "", features: 0x1,
            expected: "5da7106cf14cf46b1725ebab123eb9e53bd46a1e9f400cd0c08e7827b04b688ea8b4e403c8404efed4397ea5d5d0722e"
        ),
        Case(
            name: "gce, 4 vCPUs", vcpus: 4, signature: nil, vmm: .gce, append: "", features: 0x1,
            expected: "5c5debf100fc339f90276e761ee1f1658d08922c3b20e2a2e6c7a6c3370b2452a15a00eae11886a93d6fd1e7ab81e29d"
        ),
        Case(
            name: "cmdline", append: "console=ttyS0 loglevel=7",
            expected: "803f691094946e42068aaa3a8f9e26a5c89f36f7b73ecfb28c653360fe4b3aba7e534442e7e1e17895dfe778d0228977"
        ),
        Case(
            name: "no kernel",
            expected: "e1e1ca029dd7973ab9513295be68198472dcd4fc834bd9af9b63f6e8a1674dbf281a9278a4a2ebe0eed9f22adbcd0e2b"
        ),
        Case(
            name: "no kernel, SNP only", features: 0x1,
            expected: "19358ba9a7615534a9a1e2f0dfc29384dcd4dcb7062ff9c6013b26869a5fc6ecabe033c48dd6f6db5d6d76e7c5df632d"
        ),
        Case(
            name: "4 vCPUs", vcpus: 4, append: "",
            expected: "4953b1fb416fa874980e8442b3706d345926d5f38879134e00813c5d7abcbe78eafe7b422907be0b4698e2414a631942"
        ),
        Case(
            name: "4 vCPUs, SNP only", vcpus: 4, append: "", features: 0x1,
            expected: "5061fffb019493a903613d56d54b94912a1a2f9e4502385f5c194616753720a92441310ba6c4933de877c36e23046ad5"
        ),
        Case(
            name: "OvmfX64, no kernel", firmware: "ovmf_OvmfX64_suffix.bin",
            expected: "28797ae0afaba4005a81e629acebfb59e6687949d6be44007cd5506823b0dd66f146aaae26ff291eed7b493d8a64c385"
        ),
        Case(
            name: "OvmfX64, no kernel, SNP only", firmware: "ovmf_OvmfX64_suffix.bin", features: 0x1,
            expected: "da0296de8193586a5512078dcd719eccecbd87e2b825ad4148c44f665dc87df21e5b49e21523a9ad993afdb6a30b4005"
        ),
        Case(
            name: "SEV-ES", mode: .seves, append: "", features: 0x1,
            expected: "13810ae661ea11e2bb205621f582fee268f0367c8f97bc297b7fadef3e12002c"),
        Case(
            name: "SEV-ES, 4 vCPUs", mode: .seves, vcpus: 4, append: "",
            expected: "0dccbcaba8e90b261bd0d2e1863a2f9da714768b7b2a19363cd6ae35aa90de91"),
        Case(
            name: "SEV", mode: .sev, signature: nil, append: "console=ttyS0 loglevel=7",
            expected: "82a3ee5d537c3620628270c292ae30cb40c3c878666a7890ee7ef2a08fb535ff"),
    ]

    @Test(arguments: cases)
    func matchesUpstreamVector(_ c: Case) throws {
        let dir = try TestDirectory()
        var request = SNPMeasureRequest(firmware: .path(Fixtures.path(c.firmware)), mode: c.mode)
        request.vcpus = c.vcpus
        request.vcpuSignature = c.signature
        request.vmm = c.vmm
        request.guestFeatures = c.features
        request.ovmfHash = try c.ovmfHash.map { try #require(Hex.decode($0)) }
        if let append = c.append {
            request.kernel = try dir.write("kernel", [])
            request.initrd = try dir.write("initrd", [])
            request.append = append
        }
        #expect(try SNPMeasure.measure(request).digest.hex == c.expected)
    }

    @Test func sevWithKernelOnly() throws {
        let dir = try TestDirectory()
        var request = SNPMeasureRequest(firmware: .path(Fixtures.path("ovmf_AmdSev_suffix.bin")), mode: .sev)
        request.kernel = try dir.write("kernel", [])
        #expect(
            try SNPMeasure.measure(request).digest.hex
                == "77f613d7bbcdf12a73782ea9e88b0172aeda50d1a54201cb903594ff52846898")
    }

    @Test func ovmfHashOfTheAmdSevSuffix() throws {
        let request = SNPMeasureRequest(firmware: .path(Fixtures.path("ovmf_AmdSev_suffix.bin")), mode: .snpOVMFHash)
        #expect(try SNPMeasure.measure(request).digest.hex == Self.amdSevOVMFHash)
        // The same from bytes in memory.
        let fromBytes = SNPMeasureRequest(
            firmware: .bytes(try Fixtures.bytes("ovmf_AmdSev_suffix.bin")), mode: .snpOVMFHash)
        #expect(try SNPMeasure.measure(fromBytes).digest.hex == Self.amdSevOVMFHash)
    }

    @Test func cpuSignatures() {
        #expect(SNPVCPU.signature(named: "EPYC-v4") == 0x0080_0f12)
        #expect(SNPVCPU.signature(named: "EPYC-Rome") == 0x0083_0f10)
        #expect(SNPVCPU.signature(named: "EPYC-Milan") == 0x00a0_0f11)
        #expect(SNPVCPU.signature(named: "EPYC-Genoa") == 0x00a1_0f10)
        #expect(SNPVCPU.signature(named: "EPYC-Turin") == 0x00b0_0f00)
        #expect(SNPVCPU.signature(named: "epyc-v4") == nil)
    }
}
