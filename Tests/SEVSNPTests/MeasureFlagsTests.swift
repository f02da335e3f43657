import EnclaveCore
import SEVSNP
import Testing

/// sev-snp-measure's flag rules (`SNPMeasureFlags.request()`): each table row is a command line as flags and
/// the flag the rules refuse, or the request they give.
@Suite struct MeasureFlagsTests {
    static func flags(_ mode: String = "snp", _ edit: (inout SNPMeasureFlags) -> Void = { _ in }) -> SNPMeasureFlags {
        var f = SNPMeasureFlags(mode: mode, ovmf: "OVMF.fd")
        edit(&f)
        return f
    }

    static let refused: [(String, SNPMeasureFlags, String)] = [
        ("unknown mode", flags("snp2"), "--mode"),
        ("unknown output format", flags { $0.outputFormat = "bin" }, "--output-format"),
        ("unknown vCPU type, even in sev mode", flags("sev") { $0.vcpuType = "EPYC-v9" }, "--vcpu-type"),
        (
            "initrd without kernel",
            flags {
                $0.vcpus = 1; $0.vcpuType = "EPYC"; $0.initrd = "i"
            }, "--initrd"
        ),
        ("append without kernel", flags("sev") { $0.append = "console=ttyS0" }, "--append"),
        ("no vCPU count", flags { $0.vcpuType = "EPYC" }, "--vcpus"),
        (
            "zero vCPUs",
            flags("seves") {
                $0.vcpus = 0; $0.vcpuType = "EPYC"
            }, "--vcpus"
        ),
        (
            "unknown VMM",
            flags {
                $0.vcpus = 1; $0.vmmType = "kvm"
            }, "--vmm-type"
        ),
        (
            "family without model",
            flags {
                $0.vcpus = 1; $0.vcpuFamily = 25
            }, "--vcpu-family"
        ),
        (
            "negative stepping",
            flags {
                $0.vcpus = 1; $0.vcpuFamily = 25; $0.vcpuModel = 1; $0.vcpuStepping = -1
            },
            "--vcpu-family"
        ),
        (
            "signature over 32 bits",
            flags {
                $0.vcpus = 1; $0.vcpuSig = "0x100000000"
            }, "--vcpu-sig"
        ),
        (
            "octal-looking signature",
            flags {
                $0.vcpus = 1; $0.vcpuSig = "0800"
            }, "--vcpu-sig"
        ),
        ("QEMU needs a signature", flags { $0.vcpus = 1 }, "--vcpu-type"),
        (
            "bad guest features",
            flags {
                $0.vcpus = 1; $0.vcpuType = "EPYC"; $0.guestFeatures = "1__0"
            },
            "--guest-features"
        ),
        (
            "OVMF hash outside snp",
            flags("seves") {
                $0.vcpus = 1; $0.vcpuType = "EPYC"; $0.snpOVMFHash = "00"
            },
            "--snp-ovmf-hash"
        ),
        (
            "OVMF hash too short",
            flags {
                $0.vcpus = 1; $0.vcpuType = "EPYC"; $0.snpOVMFHash = "00"
            },
            "--snp-ovmf-hash"
        ),
        (
            "both vars flags",
            flags {
                $0.vcpus = 1; $0.vcpuType = "EPYC"; $0.varsSize = "1"; $0.varsFile = "v"
            },
            "--vars-file"
        ),
        (
            "vars size in hex",
            flags("snp:svsm") {
                $0.vcpus = 1; $0.vcpuType = "EPYC"; $0.varsSize = "0x20000"
            },
            "--vars-size"
        ),
        (
            "svsm without vars",
            flags("snp:svsm") {
                $0.vcpus = 1; $0.vcpuType = "EPYC"; $0.svsm = "s"
            },
            "--vars-size"
        ),
        (
            "svsm without image",
            flags("snp:svsm") {
                $0.vcpus = 1; $0.vcpuType = "EPYC"; $0.varsSize = "131072"
            },
            "--svsm"
        ),
        ("dump-vmsa in sev mode", flags("sev") { $0.dumpVMSA = true }, "--dump-vmsa"),
    ]

    @Test(arguments: refused) func refuses(_ name: String, flags: SNPMeasureFlags, flag: String) {
        let error = #expect(throws: SNPFlagError.self, "\(name)") { try flags.request() }
        #expect(error?.flag == flag, "\(name): \(error.map { "\($0)" } ?? "")")
    }

    static let accepted: [(String, SNPMeasureFlags, UInt32?, UInt64, Int)] = [
        (
            "named type",
            flags {
                $0.vcpus = 4; $0.vcpuType = "EPYC-v4"
            }, SNPVCPU.signature(named: "EPYC-v4"), 0x1, 4
        ),
        (
            "family, model, stepping win over the type",
            flags {
                $0.vcpus = 2; $0.vcpuType = "EPYC"; $0.vcpuFamily = 25; $0.vcpuModel = 1; $0.vcpuStepping = 1
            },
            SNPVCPU.signature(family: 25, model: 1, stepping: 1), 0x1, 2
        ),
        (
            "signature in Python syntax",
            flags {
                $0.vcpus = 1; $0.vcpuSig = "0xa1_0f10"; $0.guestFeatures = "0b100001"
            },
            0xa1_0f10, 0x21, 1
        ),
        (
            "GCE needs no signature",
            flags {
                $0.vcpus = 1; $0.vmmType = "gce"
            }, nil, 0x1, 1
        ),
    ]

    @Test(arguments: accepted)
    func maps(_ name: String, flags: SNPMeasureFlags, signature: UInt32?, features: UInt64, vcpus: Int) throws {
        let request = try flags.request()
        #expect(request.vcpuSignature == signature, "\(name)")
        #expect(request.guestFeatures == features, "\(name)")
        #expect(request.vcpus == vcpus, "\(name)")
    }

    @Test func ovmfHashModeIgnoresTheOtherFlags() throws {
        let request = try Self.flags("snp:ovmf-hash") { $0.guestFeatures = "not a number" }.request()
        #expect(request.mode == .snpOVMFHash)
    }

    @Test func svsmSettings() throws {
        let request = try Self.flags("snp:svsm") {
            $0.vcpus = 2
            $0.vcpuType = "EPYC-v4"
            $0.varsSize = "131_072"
            $0.svsm = "svsm.bin"
        }.request()
        #expect(request.varsSize == 131_072)
        guard case .path(let path) = request.svsm else {
            Issue.record("no SVSM path")
            return
        }
        #expect(path == "svsm.bin")
    }
}
