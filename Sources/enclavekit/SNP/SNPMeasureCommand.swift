import ArgumentParser
import EnclaveCore
import FoundationEssentials
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
        help: ArgumentHelp(
            "Write the measured VMSAs to vmsa<N>.bin in the current folder (seves, snp and snp:svsm modes).",
            discussion: "An existing vmsa<N>.bin is refused before any file is written; --force replaces it."))
    var dumpVMSA = false

    @Flag(help: "With --dump-vmsa, replace existing vmsa<N>.bin files (sev-snp-measure always does).")
    var force = false

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

    /// The flags as sev-snp-measure's rules see them (SEVSNP applies the rules).
    var flags: SNPMeasureFlags {
        var f = SNPMeasureFlags(mode: mode, ovmf: ovmf)
        f.vcpus = vcpus
        f.vcpuType = vcpuType
        f.vcpuSig = vcpuSig
        f.vcpuFamily = vcpuFamily
        f.vcpuModel = vcpuModel
        f.vcpuStepping = vcpuStepping
        f.vmmType = vmmType
        f.kernel = kernel
        f.initrd = initrd
        f.append = append
        f.guestFeatures = guestFeatures
        f.outputFormat = outputFormat
        f.snpOVMFHash = snpOVMFHash
        f.dumpVMSA = dumpVMSA
        f.svsm = svsm
        f.varsSize = varsSize
        f.varsFile = varsFile
        return f
    }

    func run() throws {
        do {
            try measure()
        } catch let error as SNPFlagError {
            throw UsageError(error.message, hint: error.hint)
        } catch let error as SNPRequestError {
            throw UsageError(error.message, hint: Self.hint(for: error.kind))
        }
    }

    private func measure() throws {
        if force, !dumpVMSA { throw UsageError("--force is only used with --dump-vmsa", hint: "drop --force") }
        let request = try flags.request()
        let expectedDigest = try expected.map { try Self.digest($0) }
        let result = try SNPMeasure.measure(request)
        for warning in result.warnings { Output.warn(warning) }
        if dumpVMSA { try writeVMSAs(result) }
        var candidates: [SNPVariation] = []
        if let expectedDigest, expectedDigest != result.digest {
            candidates = try SNPMeasure.variations(of: request, matching: expectedDigest)
        }
        if json {
            var fields = result.json(request: request, ovmf: ovmf, svsm: svsm)
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

    /// Writes `vmsa<N>.bin` for each vCPU. Every name is checked before the first file is written, so an
    /// existing file (without --force) leaves the folder as it was; each file appears whole or not at all.
    private func writeVMSAs(_ result: SNPMeasurement) throws {
        let existing: AtomicOutput.ExistingFile = force ? .replace : .refuse
        do {
            let outputs = try (0..<result.vcpus).compactMap { index in
                try result.vmsaPage(index).map { (try AtomicOutput(path: "vmsa\(index).bin", existing: existing), $0) }
            }
            for (out, page) in outputs { try out.write(page) }
            for (out, _) in outputs { try out.commit() }
        } catch let error as SystemError where error.operation == AtomicOutput.refusedOperation {
            // The names are fixed, so the hint differs from the shared one; kind and file stay for --json.
            throw HintedError(
                message: "--dump-vmsa: \(error.path) exists (nothing was written)",
                hint: "run in another folder, remove the old VMSA files, or pass --force to replace them",
                kind: "exists", file: error.path)
        }
    }

    /// How to fix a request SEVSNP refuses, in this command's flags.
    static func hint(for kind: SNPRequestError.Kind) -> String {
        switch kind {
        case .ovmfHashNeedsSNP: "drop --snp-ovmf-hash or use --mode snp"
        case .ovmfHashSize: "pass the 96 hex digits printed by --mode snp:ovmf-hash"
        case .kernelMissing: "add --kernel FILE"
        case .noKernelHashes:
            "measured direct boot (QEMU kernel-hashes=on) needs an OVMF AmdSevX64 build; drop "
                + "--kernel/--initrd/--append for this firmware"
        case .vcpus: "pass --vcpus N"
        case .vcpuSignatureMissing, .unknownVCPUType:
            "pass --vcpu-type (e.g. EPYC-v4), --vcpu-sig or --vcpu-family/--vcpu-model/--vcpu-stepping"
        case .svsmNeedsQEMU: "drop --vmm-type or use QEMU"
        case .svsmMissing: "pass --svsm svsm.bin"
        case .varsSize: "check --vars-size/--vars-file"
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
        let trimmed = text.trimmingFoundationWhitespaces()
        if let bytes = Hex.decode(trimmed), bytes.count == 48 || bytes.count == 32 { return bytes }
        if let data = Data(base64Encoded: trimmed), data.count == 48 || data.count == 32 { return Array(data) }
        throw UsageError("bad --expected '\(text)'", hint: "give the 48-byte launch digest in hex or base64")
    }
}

extension String {
    /// Without leading and trailing characters of Foundation's `CharacterSet.whitespaces` (general category
    /// Zs, the tab and U+200B), scalar by scalar as `trimmingCharacters(in: .whitespaces)` did (checked equal
    /// over every scalar); that method is in Foundation, which loads ICU, not in FoundationEssentials.
    fileprivate func trimmingFoundationWhitespaces() -> String {
        let scalars = unicodeScalars
        let isSpace = { (s: Unicode.Scalar) in
            s == "\t" || s == "\u{200B}" || s.properties.generalCategory == .spaceSeparator
        }
        guard let first = scalars.firstIndex(where: { !isSpace($0) }),
            let last = scalars.lastIndex(where: { !isSpace($0) })
        else { return "" }
        return String(scalars[first...last])
    }
}
