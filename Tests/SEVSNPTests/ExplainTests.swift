import EnclaveCore
import TestSupport
import Testing

@testable import SEVSNP

/// `SNPMeasure.variations` finds the vCPU count, type, VMM and guest features behind a digest that the
/// reference client produced with other settings.
@Suite struct ExplainTests {
    @Test(arguments: [
        ("6", "EPYC-Milan", "QEMU", "0x21"), ("1", "EPYC-v4", "gce", "0x1"), ("3", "EPYC-Genoa", "ec2", "0x21"),
        ("200", "EPYC-Turin", "QEMU", "0x1"),
    ])
    func findsTheSettingsOfAReferenceDigest(vcpus: String, cpu: String, vmm: String, features: String) throws {
        let reference = try SEVSNPMeasure.run([
            "--mode", "snp", "--vcpus", vcpus, "--vcpu-type", cpu, "--vmm-type", vmm, "--guest-features", features,
            "--ovmf", SEVSNPMeasure.debianCode,
        ])
        #expect(reference.status == 0, "\(reference.stderr)")
        let expected = try #require(Hex.decode(reference.trimmedStdout))
        var request = SNPMeasureRequest(firmware: .path(SEVSNPMeasure.debianCode))
        request.vcpus = 2
        request.vcpuSignature = SNPVCPU.signature(named: "EPYC-v4")
        let found = try SNPMeasure.variations(of: request, matching: expected)
        let match = try #require(found.first)
        #expect(found.count == 1)
        #expect(match.vcpus == Int(vcpus))
        #expect(match.vmm.rawValue == vmm)
        #expect("0x" + String(match.guestFeatures, radix: 16) == features)
        if vmm == "QEMU" { #expect(match.vcpuSignature == SNPVCPU.signature(named: cpu)) }
    }

    @Test func otherFirmwareMatchesNothing() throws {
        var other = SNPMeasureRequest(firmware: .path(SEVSNPMeasure.debianFull))
        other.vcpuSignature = SNPVCPU.signature(named: "EPYC-v4")
        let expected = try SNPMeasure.measure(other).digest
        var request = SNPMeasureRequest(firmware: .path(SEVSNPMeasure.debianCode))
        request.vcpuSignature = other.vcpuSignature
        #expect(try SNPMeasure.variations(of: request, matching: expected, maxVCPUs: 16).isEmpty)
    }
}
