import ArgumentParser
import EnclaveCore
import Foundation
import OVMF
import SEVSNP

/// `enclavekit snp measure`: a drop-in replacement for `sev-snp-measure` (same flag names, same output).
struct SNPMeasureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "measure",
        abstract: "Calculate an AMD SEV/SEV-ES/SEV-SNP guest launch measurement (sev-snp-measure compatible).",
        discussion: """
            Takes sev-snp-measure's flags and prints what it prints: the measurement in hex (or base64), \
            or with --mode snp:ovmf-hash the digest of the firmware pages, to pass back later as \
            --snp-ovmf-hash. --json adds each step of the digest (firmware pages, every SEV metadata \
            section, every VMSA) so a mismatch can be traced.

            Examples:
              enclavekit snp measure --mode snp --vcpus 4 --vcpu-type EPYC-v4 \\
                --ovmf OVMF.fd
              enclavekit snp measure --mode snp --vcpus 2 --vcpu-type EPYC-Milan \\
                --guest-features 0x21 --ovmf OVMF.amdsev.fd --kernel bzImage \\
                --initrd initrd.img --append "console=ttyS0"
              enclavekit snp measure --mode snp:ovmf-hash --ovmf OVMF.fd
              enclavekit snp measure --mode snp:svsm --vcpus 2 --vcpu-type EPYC-v4 \\
                --ovmf OVMF_CODE.fd --svsm svsm.bin --vars-file OVMF_VARS.fd
              enclavekit snp measure --mode snp --vcpus 1 --vmm-type gce \\
                --ovmf suffix.bin --snp-ovmf-hash HEX
              enclavekit snp measure --mode snp --vcpus 1 --vcpu-type EPYC-v4 \\
                --ovmf OVMF.fd --json
              enclavekit snp measure --mode snp --vcpus 1 --vcpu-type EPYC-v4 \\
                --ovmf OVMF.fd --expected MEASUREMENT_FROM_REPORT
            """)

    @Option(help: "Guest mode: sev, seves, snp, snp:ovmf-hash or snp:svsm.")
    var mode: String

    @Option(
        help: ArgumentHelp("Number of guest vCPUs (required except in sev and snp:ovmf-hash modes).", valueName: "N"))
    var vcpus: Int?

    @Option(
        name: .customLong("vcpu-type"),
        help: ArgumentHelp(
            "Type of guest vCPU (\(SNPVCPU.typeNames.joined(separator: ", "))).", valueName: "CPUTYPE"))
    var vcpuType: String?

    @Option(
        name: .customLong("vcpu-sig"),
        help: ArgumentHelp("Guest vCPU signature value (0x… or decimal).", valueName: "VALUE"))
    var vcpuSig: String?

    @Option(name: .customLong("vcpu-family"), help: ArgumentHelp("Guest vCPU family.", valueName: "FAMILY"))
    var vcpuFamily: Int?

    @Option(name: .customLong("vcpu-model"), help: ArgumentHelp("Guest vCPU model.", valueName: "MODEL"))
    var vcpuModel: Int?

    @Option(name: .customLong("vcpu-stepping"), help: ArgumentHelp("Guest vCPU stepping.", valueName: "STEPPING"))
    var vcpuStepping: Int?

    @Option(
        name: .customLong("vmm-type"), help: ArgumentHelp("Type of guest VMM (QEMU, ec2, gce).", valueName: "VMMTYPE"))
    var vmmType: String = "QEMU"

    @Option(help: ArgumentHelp("OVMF file to calculate the hash from.", valueName: "PATH"))
    var ovmf: String

    @Option(help: ArgumentHelp("Kernel file to calculate the hash from.", valueName: "PATH"))
    var kernel: String?

    @Option(help: ArgumentHelp("Initrd file to calculate the hash from (use with --kernel).", valueName: "PATH"))
    var initrd: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Kernel command line to calculate the hash from (use with --kernel).", valueName: "CMDLINE"))
    var append: String?

    @Option(
        name: .customLong("guest-features"),
        help: ArgumentHelp(
            "SEV_FEATURES of the guest (0x1 = SNPActive; 0x21 adds DebugSwap).", valueName: "VALUE"))
    var guestFeatures: String = "0x1"

    @Option(name: .customLong("output-format"), help: "Measurement output format: hex or base64.")
    var outputFormat: String = "hex"

    @Option(
        name: .customLong("snp-ovmf-hash"),
        help: ArgumentHelp("Precalculated hash of the OVMF binary (hex, from --mode snp:ovmf-hash).", valueName: "HASH")
    )
    var snpOVMFHash: String?

    @Flag(
        name: .customLong("dump-vmsa"),
        help: "Write the measured VMSAs to vmsa<N>.bin (seves, snp and snp:svsm modes).")
    var dumpVMSA = false

    @Option(help: ArgumentHelp("SVSM binary (snp:svsm mode).", valueName: "PATH"))
    var svsm: String?

    @Option(
        name: .customLong("vars-size"),
        help: ArgumentHelp(
            "Size of the OVMF_VARS file in bytes (snp:svsm mode; conflicts with --vars-file).", valueName: "SIZE"))
    var varsSize: String?

    @Option(
        name: .customLong("vars-file"),
        help: ArgumentHelp("OVMF_VARS file (snp:svsm mode; conflicts with --vars-size).", valueName: "PATH"))
    var varsFile: String?

    @Flag(name: [.short, .long], help: "Print 'Calculated <MODE> guest measurement: ' before the value.")
    var verbose = false

    @Flag(help: "Print JSON (measurement, inputs and each step of the digest) instead of text.")
    var json = false

    @Option(
        help: ArgumentHelp(
            "The digest the guest reported (hex or base64): on a mismatch, exit 1 and name the vCPU count, vCPU "
                + "type, VMM type and guest features that give it, if any.", valueName: "DIGEST"))
    var expected: String?

    func run() throws {
        let request = try makeRequest()
        let expectedDigest = try expected.map { try Self.digest($0) }
        let result = try SNPMeasure.measure(request)
        for warning in result.warnings { Output.warn(warning) }
        if dumpVMSA {
            for index in 0..<result.vcpus {
                guard let page = result.vmsaPage(index) else { continue }
                let out = try AtomicOutput(path: "vmsa\(index).bin")
                try out.write(page)
                try out.commit()
            }
        }
        var candidates: [SNPVariation] = []
        if let expectedDigest, expectedDigest != result.digest {
            candidates = try SNPMeasure.variations(of: request, matching: expectedDigest)
        }
        if json {
            var fields = report(result, request: request)
            if let expectedDigest, case .object(var pairs) = fields {
                pairs.append(("expected", .string(expectedDigest.hex)))
                pairs.append(("matches_expected", .bool(expectedDigest == result.digest)))
                pairs.append(("matching_settings", .array(candidates.map { .string($0.description) })))
                fields = .object(pairs)
            }
            Output.json(fields)
        } else if request.mode == .snpOVMFHash {
            print(result.digest.hex)
        } else {
            let text = outputFormat == "base64" ? Data(result.digest).base64EncodedString() : result.digest.hex
            print(verbose ? "Calculated \(request.mode.referenceName) guest measurement: \(text)" : text)
        }
        if let expectedDigest, expectedDigest != result.digest {
            throw Self.mismatch(expectedDigest, result.digest, candidates, mode: request.mode)
        }
    }

    /// A one-line explanation of a mismatch with `--expected`.
    static func mismatch(_ expected: [UInt8], _ actual: [UInt8], _ found: [SNPVariation], mode: SEVGuestMode)
        -> UsageError
    {
        let head = "the measurement \(actual.hex) differs from the expected \(expected.hex)"
        guard mode == .snp else { return UsageError(head) }
        if found.isEmpty {
            return UsageError(
                head + "; no vCPU count (1-512), vCPU type, VMM type or guest features 0x1/0x21 gives it",
                hint: "so the firmware file (OVMF_CODE.fd vs OVMF.fd, another build) or the kernel, initrd or "
                    + "cmdline differ; compare the --json steps of both setups")
        }
        let shown = found.prefix(3).map { "'\($0)'" }.joined(separator: " or ")
        return UsageError(
            head + "; it matches with \(shown)" + (found.count > 3 ? " (\(found.count) settings in all)" : ""))
    }

    /// A 48- or 32-byte digest in hex or base64.
    static func digest(_ text: String) throws -> [UInt8] {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let bytes = Hex.decode(trimmed), bytes.count == 48 || bytes.count == 32 { return bytes }
        if let data = Data(base64Encoded: trimmed), data.count == 48 || data.count == 32 { return Array(data) }
        throw UsageError("bad --expected '\(text)'", hint: "give the 48-byte launch digest in hex or base64")
    }

    /// Maps the flags to a request, with sev-snp-measure's rules; errors are one line with a fix.
    func makeRequest() throws -> SNPMeasureRequest {
        guard let mode = SEVGuestMode(name: mode) else {
            throw UsageError(
                "unknown mode '\(self.mode)'",
                hint: "use one of sev, seves, snp, snp:ovmf-hash, snp:svsm")
        }
        guard ["hex", "base64"].contains(outputFormat) else {
            throw UsageError("unknown output format '\(outputFormat)'", hint: "use hex or base64")
        }
        // Like sev-snp-measure's argparse choices, a bad --vcpu-type is an error in every mode.
        if let vcpuType { _ = try SNPVCPU.requireSignature(named: vcpuType) }
        var request = SNPMeasureRequest(firmware: .path(ovmf), mode: mode)
        if mode == .snpOVMFHash { return request }
        if initrd != nil, kernel == nil { throw UsageError("--kernel required when using --initrd") }
        if append != nil, kernel == nil { throw UsageError("--kernel required when using --append") }
        if mode != .sev {
            guard let vcpus else { throw UsageError("missing --vcpus N in guest mode '\(self.mode)'") }
            guard vcpus >= 1 else { throw UsageError("--vcpus must be at least 1, got \(vcpus)") }
            request.vcpus = vcpus
        }
        guard let vmm = SNPVMMType(name: vmmType) else {
            throw UsageError("unknown VMM type '\(vmmType)'", hint: "use QEMU, ec2 or gce")
        }
        request.vmm = vmm
        if mode != .sev {
            if vcpuFamily != nil || vcpuModel != nil || vcpuStepping != nil {
                guard let family = vcpuFamily, let model = vcpuModel, let stepping = vcpuStepping,
                    family >= 0, model >= 0, stepping >= 0
                else {
                    throw UsageError(
                        "--vcpu-family, --vcpu-model and --vcpu-stepping go together",
                        hint: "give all three as non-negative decimal numbers, e.g. 25 1 1 for EPYC-Milan")
                }
                request.vcpuSignature = SNPVCPU.signature(family: family, model: model, stepping: stepping)
            } else if let vcpuSig {
                guard let sig = PythonInteger.parse(vcpuSig), let value = UInt32(exactly: sig) else {
                    throw UsageError("bad --vcpu-sig '\(vcpuSig)'", hint: "give a 32-bit value such as 0x800f12")
                }
                request.vcpuSignature = value
            } else if let vcpuType {
                request.vcpuSignature = try SNPVCPU.requireSignature(named: vcpuType)
            } else if vmm == .qemu {
                throw UsageError(
                    "missing --vcpu-type or --vcpu-sig or --vcpu-family in guest mode '\(self.mode)'",
                    hint: "QEMU puts the vCPU signature in the VMSA; e.g. --vcpu-type EPYC-v4")
            }
        }
        guard let features = PythonInteger.parse(guestFeatures) else {
            throw UsageError("bad --guest-features '\(guestFeatures)'", hint: "give a number such as 0x1 or 0x21")
        }
        request.guestFeatures = features
        if let snpOVMFHash {
            guard mode == .snp else {
                throw UsageError("--snp-ovmf-hash only works with --mode snp")
            }
            guard let hash = Hex.decode(snpOVMFHash.trimmingCharacters(in: .whitespaces)),
                hash.count == SNPLaunchDigest.size
            else {
                throw UsageError(
                    "bad --snp-ovmf-hash '\(snpOVMFHash)'",
                    hint: "expected \(SNPLaunchDigest.size * 2) hex digits, as printed by --mode snp:ovmf-hash")
            }
            request.ovmfHash = hash
        }
        if varsSize != nil, varsFile != nil {
            throw UsageError("argument --vars-file: not allowed with argument --vars-size", hint: "give one of them")
        }
        if mode == .snpSVSM {
            if let varsFile {
                request.varsSize = try FileInput(path: varsFile).size
            } else if let varsSize {
                // argparse's int(): decimal only.
                guard let size = PythonInteger.parse(varsSize, base: .decimal) else {
                    throw UsageError(
                        "argument --vars-size: invalid int value: '\(varsSize)'",
                        hint: "give the size of OVMF_VARS.fd in bytes, in decimal")
                }
                request.varsSize = size
            }
            guard varsFile != nil || request.varsSize != 0 else {
                throw UsageError(
                    "snp:svsm mode requires --vars-size or --vars-file",
                    hint: "pass --vars-file OVMF_VARS.fd (or its size in bytes with --vars-size)")
            }
            guard let svsm else { throw UsageError("snp:svsm mode requires --svsm", hint: "pass --svsm svsm.bin") }
            request.svsm = .path(svsm)
        }
        if dumpVMSA, mode != .seves, mode != .snp, mode != .snpSVSM {
            throw UsageError("--dump-vmsa is only available in seves, snp and snp:svsm modes")
        }
        request.kernel = kernel
        request.initrd = initrd
        request.append = append
        return request
    }

    func report(_ result: SNPMeasurement, request: SNPMeasureRequest) -> JSONValue {
        var fields: [(String, JSONValue)] = [
            ("mode", .string(request.mode.rawValue)),
            ("measurement", .string(result.digest.hex)),
            ("measurement_base64", .string(Data(result.digest).base64EncodedString())),
            ("ovmf", .string(ovmf)),
        ]
        if request.mode != .snpOVMFHash {
            fields.append(("vcpus", .int(request.mode == .sev ? 0 : request.vcpus)))
            if request.mode != .sev {
                fields.append(("vcpu_sig", .string("0x" + String(request.vcpuSignature ?? 0, radix: 16))))
                fields.append(("vmm_type", .string(request.vmm.rawValue)))
            }
            if request.mode == .snpSVSM {
                fields.append(("svsm", .string(svsm ?? "")))
                fields.append(("vars_size", .int(Int(request.varsSize))))
            }
            if request.mode == .snp {
                fields.append(("guest_features", .string("0x" + String(request.guestFeatures, radix: 16))))
            }
        }
        if let ovmfHash = result.ovmfHash { fields.append(("ovmf_hash", .string(ovmfHash.hex))) }
        if let hashes = result.kernelHashes {
            fields.append(
                (
                    "kernel_hashes",
                    .object([
                        ("cmdline", .string(hashes.cmdline.hex)), ("initrd", .string(hashes.initrd.hex)),
                        ("kernel", .string(hashes.kernel.hex)),
                    ])
                ))
        }
        if !result.steps.isEmpty {
            fields.append(
                (
                    "steps",
                    .array(
                        result.steps.map { step in
                            var entry: [(String, JSONValue)] = [("step", .string(step.label))]
                            if let type = step.pageType { entry.append(("page_type", .string(type.description))) }
                            if let gpa = step.gpa { entry.append(("gpa", .string("0x" + String(gpa, radix: 16)))) }
                            entry.append(("pages", .int(step.pages)))
                            entry.append(("digest", .string(step.digest.hex)))
                            return .object(entry)
                        })
                ))
        }
        if !result.warnings.isEmpty { fields.append(("warnings", .array(result.warnings.map { .string($0) }))) }
        return .object(fields)
    }
}
