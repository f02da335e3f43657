import EnclaveCore
import Foundation
import OVMF
import TestSupport
import Testing

@testable import SEVSNP

/// Runs `sev-snp-measure` (the reference client) beside the library on the same inputs and compares.
@Suite struct ReferenceClientTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var firmware: String
        var vcpus: Int
        var cpu: String
        var features: String = "0x1"
        var vmm = "QEMU"
        var testDescription: String {
            "\((firmware as NSString).lastPathComponent) \(vcpus)×\(cpu) \(vmm) \(features)"
        }
    }

    static let debianCases: [Case] = [
        Case(firmware: SEVSNPMeasure.debianCode, vcpus: 1, cpu: "EPYC-v4"),
        Case(firmware: SEVSNPMeasure.debianCode, vcpus: 2, cpu: "EPYC-v4"),
        Case(firmware: SEVSNPMeasure.debianCode, vcpus: 4, cpu: "EPYC-Milan", features: "0x21"),
        Case(firmware: SEVSNPMeasure.debianCode, vcpus: 16, cpu: "EPYC-Genoa"),
        Case(firmware: SEVSNPMeasure.debianCode, vcpus: 3, cpu: "EPYC-Rome-v2", features: "0x21"),
        Case(firmware: SEVSNPMeasure.debianCode, vcpus: 1, cpu: "EPYC-Turin", vmm: "ec2"),
        Case(firmware: SEVSNPMeasure.debianCode, vcpus: 2, cpu: "EPYC-v4", vmm: "gce"),
        Case(firmware: SEVSNPMeasure.debianFull, vcpus: 1, cpu: "EPYC-v4"),
        Case(firmware: SEVSNPMeasure.debianFull, vcpus: 8, cpu: "EPYC-Milan-v2"),
        Case(firmware: SEVSNPMeasure.debianFull, vcpus: 4, cpu: "EPYC", features: "0x21"),
        Case(firmware: SEVSNPMeasure.debianFull, vcpus: 64, cpu: "EPYC-Genoa-v1", features: "0x21"),
        Case(firmware: SEVSNPMeasure.debianFull, vcpus: 2, cpu: "EPYC-Rome", vmm: "ec2"),
        Case(firmware: SEVSNPMeasure.debianFull, vcpus: 1, cpu: "EPYC-v4", features: "0x21", vmm: "gce"),
    ]

    func request(_ c: Case, mode: SEVGuestMode = .snp) throws -> SNPMeasureRequest {
        var r = SNPMeasureRequest(firmware: .path(c.firmware), mode: mode)
        r.vcpus = c.vcpus
        r.vcpuSignature = try SNPVCPU.requireSignature(named: c.cpu)
        r.vmm = try #require(SNPVMMType(name: c.vmm))
        r.guestFeatures = try #require(UInt64(c.features.dropFirst(2), radix: 16))
        return r
    }

    func referenceArgs(_ c: Case, mode: String = "snp") -> [String] {
        [
            "--mode", mode, "--vcpus", String(c.vcpus), "--vcpu-type", c.cpu, "--vmm-type", c.vmm,
            "--guest-features", c.features, "--ovmf", c.firmware,
        ]
    }

    @Test(arguments: debianCases)
    func snpDigestOnDebianOVMF(_ c: Case) throws {
        let reference = try SEVSNPMeasure.run(referenceArgs(c))
        #expect(reference.status == 0, "\(reference.stderr)")
        #expect(try SNPMeasure.measure(request(c)).digest.hex == reference.trimmedStdout)
    }

    @Test(arguments: [SEVSNPMeasure.debianCode, SEVSNPMeasure.debianFull])
    func seveAndSEVModesOnDebianOVMF(firmware: String) throws {
        let c = Case(firmware: firmware, vcpus: 4, cpu: "EPYC-Milan")
        let seves = try SEVSNPMeasure.run(referenceArgs(c, mode: "seves"))
        #expect(seves.status == 0, "\(seves.stderr)")
        #expect(try SNPMeasure.measure(request(c, mode: .seves)).digest.hex == seves.trimmedStdout)
        let sev = try SEVSNPMeasure.run(["--mode", "sev", "--ovmf", firmware])
        #expect(sev.status == 0, "\(sev.stderr)")
        #expect(
            try SNPMeasure.measure(SNPMeasureRequest(firmware: .path(firmware), mode: .sev)).digest.hex
                == sev.trimmedStdout)
    }

    @Test(arguments: [SEVSNPMeasure.debianCode, SEVSNPMeasure.debianFull, SEVSNPMeasure.debianCode4M])
    func ovmfHashAndSeededDigestOnDebianOVMF(firmware: String) throws {
        let reference = try SEVSNPMeasure.run(["--mode", "snp:ovmf-hash", "--ovmf", firmware])
        #expect(reference.status == 0, "\(reference.stderr)")
        let ours = try SNPMeasure.measure(SNPMeasureRequest(firmware: .path(firmware), mode: .snpOVMFHash))
        #expect(ours.digest.hex == reference.trimmedStdout)
        // The OVMF hash is the SNP digest's prefix: seeding with it gives the full digest.
        if firmware != SEVSNPMeasure.debianCode4M {
            var seeded = try request(Case(firmware: firmware, vcpus: 2, cpu: "EPYC-v4"))
            let full = try SNPMeasure.measure(seeded)
            #expect(full.ovmfHash == ours.digest)
            seeded.ovmfHash = ours.digest
            #expect(try SNPMeasure.measure(seeded).digest == full.digest)
        }
    }

    /// The two suffix fixtures stand for whole builds with `--snp-ovmf-hash` (the hash is made up here, so
    /// the test does not depend on the upstream vector).
    @Test(arguments: [
        ("ovmf_AmdSev_suffix.bin", 1, "EPYC-v4", "QEMU"), ("ovmf_AmdSev_suffix.bin", 4, "EPYC-Milan", "ec2"),
        ("ovmf_AmdSev_suffix.bin", 2, "EPYC-Genoa", "gce"), ("ovmf_OvmfX64_suffix.bin", 1, "EPYC-v4", "QEMU"),
        ("ovmf_OvmfX64_suffix.bin", 8, "EPYC-Turin", "ec2"), ("ovmf_OvmfX64_suffix.bin", 3, "EPYC-Rome", "gce"),
    ])
    func suffixWithOVMFHash(name: String, vcpus: Int, cpu: String, vmm: String) throws {
        let seed = Digest.sha384(Array("enclavekit \(name)".utf8))
        let c = Case(firmware: Fixtures.path(name), vcpus: vcpus, cpu: cpu, features: "0x21", vmm: vmm)
        let reference = try SEVSNPMeasure.run(referenceArgs(c) + ["--snp-ovmf-hash", seed.hex])
        #expect(reference.status == 0, "\(reference.stderr)")
        var r = try request(c)
        r.ovmfHash = seed
        #expect(try SNPMeasure.measure(r).digest.hex == reference.trimmedStdout)
    }

    /// Measured direct boot on the AmdSev build: kernel, initrd and cmdline hashes in the SNP_KERNEL_HASHES page.
    @Test(
        arguments: [
            (4096 * 3 + 17, 1000, "console=ttyS0 root=/dev/vda1", 1, "QEMU"),
            (65536, 0, "", 2, "QEMU"),
            (12345, 777, "quiet é ü", 4, "ec2"),
            (1, -1, nil, 1, "gce"),
        ] as [(Int, Int, String?, Int, String)])
    func kernelHashesOnAmdSevSuffix(kernelSize: Int, initrdSize: Int, append: String?, vcpus: Int, vmm: String) throws {
        let dir = try TestDirectory()
        let kernel = try dir.write("bzImage", pseudoRandomBytes(kernelSize, seed: UInt64(kernelSize)))
        let initrd = initrdSize < 0 ? nil : try dir.write("initrd", pseudoRandomBytes(initrdSize, seed: 99))
        let seed = Digest.sha384(Array("seed".utf8))
        let c = Case(firmware: Fixtures.path("ovmf_AmdSev_suffix.bin"), vcpus: vcpus, cpu: "EPYC-v4", vmm: vmm)
        var args = referenceArgs(c) + ["--snp-ovmf-hash", seed.hex, "--kernel", kernel]
        if let initrd { args += ["--initrd", initrd] }
        if let append { args += ["--append", append] }
        let reference = try SEVSNPMeasure.run(args)
        #expect(reference.status == 0, "\(reference.stderr)")
        var r = try request(c)
        r.ovmfHash = seed
        r.kernel = kernel
        r.initrd = initrd
        r.append = append
        let ours = try SNPMeasure.measure(r)
        #expect(ours.digest.hex == reference.trimmedStdout)
        #expect(ours.kernelHashes?.kernel == Digest.sha256(pseudoRandomBytes(kernelSize, seed: UInt64(kernelSize))))
        // SEV and SEV-ES modes hash the same table.
        for mode in ["sev", "seves"] {
            var refArgs = ["--mode", mode, "--vcpus", String(vcpus), "--vcpu-type", "EPYC-v4", "--vmm-type", vmm]
            refArgs += ["--ovmf", c.firmware, "--kernel", kernel]
            if let initrd { refArgs += ["--initrd", initrd] }
            if let append { refArgs += ["--append", append] }
            let ref = try SEVSNPMeasure.run(refArgs)
            #expect(ref.status == 0, "\(ref.stderr)")
            var m = try request(c, mode: mode == "sev" ? .sev : .seves)
            (m.kernel, m.initrd, m.append) = (kernel, initrd, append)
            #expect(try SNPMeasure.measure(m).digest.hex == ref.trimmedStdout)
        }
    }

    /// The VMSA pages themselves, byte for byte, from `--dump-vmsa`.
    @Test(arguments: ["QEMU", "ec2", "gce"])
    func vmsaPagesMatchDumpedOnes(vmm: String) throws {
        let dir = try TestDirectory()
        let c = Case(firmware: SEVSNPMeasure.debianCode, vcpus: 2, cpu: "EPYC-Milan", features: "0x21", vmm: vmm)
        let reference = try SEVSNPMeasure.run(referenceArgs(c) + ["--dump-vmsa"], in: dir.path)
        #expect(reference.status == 0, "\(reference.stderr)")
        let ours = try SNPMeasure.measure(request(c))
        for index in 0..<2 {
            let dumped = Array(try Data(contentsOf: URL(fileURLWithPath: dir.path + "/vmsa\(index).bin")))
            #expect(ours.vmsaPage(index) == dumped, "vCPU \(index)")
        }
    }
}
