import EnclaveCore

/// sev-snp-measure's command line as values: the flags as the user typed them, and the rules
/// (`sev-snp-measure.py`'s argparse checks and its `int(value, 0)` numbers) that turn them into an
/// ``SNPMeasureRequest``. `enclavekit snp measure` only copies its arguments into one of these.
///
/// ```swift
/// var flags = SNPMeasureFlags(mode: "snp", ovmf: "OVMF.fd")
/// flags.vcpus = 4
/// flags.vcpuType = "EPYC-v4"
/// let digest = try SNPMeasure.measure(try flags.request()).digest
/// ```
public struct SNPMeasureFlags: Sendable, Hashable {
    public var mode: String
    public var ovmf: String
    public var vcpus: Int?
    public var vcpuType: String?
    /// `--vcpu-sig`: Python `int(value, 0)`.
    public var vcpuSig: String?
    public var vcpuFamily: Int?
    public var vcpuModel: Int?
    public var vcpuStepping: Int?
    public var vmmType = "QEMU"
    public var kernel: String?
    public var initrd: String?
    public var append: String?
    /// `--guest-features`: Python `int(value, 0)`.
    public var guestFeatures = "0x1"
    public var outputFormat = "hex"
    public var snpOVMFHash: String?
    public var dumpVMSA = false
    public var svsm: String?
    /// `--vars-size`: argparse `int`, decimal only.
    public var varsSize: String?
    public var varsFile: String?

    public init(mode: String, ovmf: String) {
        self.mode = mode
        self.ovmf = ovmf
    }

    /// The request these flags describe, or the first rule they break (in sev-snp-measure's order).
    /// Reads only the size of `--vars-file`.
    public func request() throws -> SNPMeasureRequest {
        guard let mode = SEVGuestMode(name: mode) else {
            throw SNPFlagError(
                "--mode", "unknown mode '\(self.mode)'", hint: "use one of sev, seves, snp, snp:ovmf-hash, snp:svsm")
        }
        guard ["hex", "base64"].contains(outputFormat) else {
            throw SNPFlagError("--output-format", "unknown output format '\(outputFormat)'", hint: "use hex or base64")
        }
        // Like sev-snp-measure's argparse choices, a bad --vcpu-type is an error in every mode.
        if let vcpuType { _ = try Self.signature(ofType: vcpuType) }
        var request = SNPMeasureRequest(firmware: .path(ovmf), mode: mode)
        if mode == .snpOVMFHash { return request }
        if initrd != nil, kernel == nil { throw SNPFlagError("--initrd", "--kernel required when using --initrd") }
        if append != nil, kernel == nil { throw SNPFlagError("--append", "--kernel required when using --append") }
        if mode != .sev {
            guard let vcpus else { throw SNPFlagError("--vcpus", "missing --vcpus N in guest mode '\(self.mode)'") }
            guard vcpus >= 1 else { throw SNPFlagError("--vcpus", "--vcpus must be at least 1, got \(vcpus)") }
            request.vcpus = vcpus
        }
        guard let vmm = SNPVMMType(name: vmmType) else {
            throw SNPFlagError("--vmm-type", "unknown VMM type '\(vmmType)'", hint: "use QEMU, ec2 or gce")
        }
        request.vmm = vmm
        if mode != .sev { request.vcpuSignature = try vcpuSignature(vmm: vmm) }
        guard let features = PythonInteger.parse(guestFeatures) else {
            throw SNPFlagError(
                "--guest-features", "bad --guest-features '\(guestFeatures)'", hint: "give a number such as 0x1 or 0x21"
            )
        }
        request.guestFeatures = features
        if let snpOVMFHash {
            guard mode == .snp else {
                throw SNPFlagError("--snp-ovmf-hash", "--snp-ovmf-hash only works with --mode snp")
            }
            guard let hash = Hex.decode(snpOVMFHash.trimmingWhitespace()), hash.count == SNPLaunchDigest.size else {
                throw SNPFlagError(
                    "--snp-ovmf-hash", "bad --snp-ovmf-hash '\(snpOVMFHash)'",
                    hint: "expected \(SNPLaunchDigest.size * 2) hex digits, as printed by --mode snp:ovmf-hash")
            }
            request.ovmfHash = hash
        }
        if varsSize != nil, varsFile != nil {
            throw SNPFlagError(
                "--vars-file", "argument --vars-file: not allowed with argument --vars-size", hint: "give one of them")
        }
        if mode == .snpSVSM { try svsmSettings(&request) }
        if dumpVMSA, mode != .seves, mode != .snp, mode != .snpSVSM {
            throw SNPFlagError("--dump-vmsa", "--dump-vmsa is only available in seves, snp and snp:svsm modes")
        }
        request.kernel = kernel
        request.initrd = initrd
        request.append = append
        return request
    }

    /// `--vcpu-family/--vcpu-model/--vcpu-stepping`, else `--vcpu-sig`, else `--vcpu-type`; QEMU needs one.
    private func vcpuSignature(vmm: SNPVMMType) throws -> UInt32? {
        if vcpuFamily != nil || vcpuModel != nil || vcpuStepping != nil {
            guard let family = vcpuFamily, let model = vcpuModel, let stepping = vcpuStepping,
                family >= 0, model >= 0, stepping >= 0
            else {
                throw SNPFlagError(
                    "--vcpu-family", "--vcpu-family, --vcpu-model and --vcpu-stepping go together",
                    hint: "give all three as non-negative decimal numbers, e.g. 25 1 1 for EPYC-Milan")
            }
            return SNPVCPU.signature(family: family, model: model, stepping: stepping)
        }
        if let vcpuSig {
            guard let sig = PythonInteger.parse(vcpuSig), let value = UInt32(exactly: sig) else {
                throw SNPFlagError(
                    "--vcpu-sig", "bad --vcpu-sig '\(vcpuSig)'", hint: "give a 32-bit value such as 0x800f12")
            }
            return value
        }
        if let vcpuType { return try Self.signature(ofType: vcpuType) }
        guard vmm != .qemu else {
            throw SNPFlagError(
                "--vcpu-type", "missing --vcpu-type or --vcpu-sig or --vcpu-family in guest mode '\(mode)'",
                hint: "QEMU puts the vCPU signature in the VMSA; e.g. --vcpu-type EPYC-v4")
        }
        return nil
    }

    /// argparse's `choices` for `--vcpu-type`.
    private static func signature(ofType name: String) throws(SNPFlagError) -> UInt32 {
        guard let sig = SNPVCPU.signature(named: name) else {
            throw SNPFlagError(
                "--vcpu-type", "unknown vCPU type '\(name)'",
                hint: "use one of \(SNPVCPU.typeNames.joined(separator: ", ")), or give --vcpu-sig or "
                    + "--vcpu-family/--vcpu-model/--vcpu-stepping")
        }
        return sig
    }

    /// snp:svsm mode: the SVSM image and the size of the variables store between it and OVMF.
    private func svsmSettings(_ request: inout SNPMeasureRequest) throws {
        if let varsFile {
            request.varsSize = try FileInput(path: varsFile).size
        } else if let varsSize {
            guard let size = PythonInteger.parse(varsSize, base: .decimal) else {
                throw SNPFlagError(
                    "--vars-size", "argument --vars-size: invalid int value: '\(varsSize)'",
                    hint: "give the size of OVMF_VARS.fd in bytes, in decimal")
            }
            request.varsSize = size
        }
        guard varsFile != nil || request.varsSize != 0 else {
            throw SNPFlagError(
                "--vars-size", "snp:svsm mode requires --vars-size or --vars-file",
                hint: "pass --vars-file OVMF_VARS.fd (or its size in bytes with --vars-size)")
        }
        guard let svsm else {
            throw SNPFlagError("--svsm", "snp:svsm mode requires --svsm", hint: "pass --svsm svsm.bin")
        }
        request.svsm = .path(svsm)
    }
}

/// A sev-snp-measure flag that breaks its rules: the flag, the message, and how to fix it in terms of
/// sev-snp-measure's flags (which are this type's input: ``SNPMeasureFlags`` models that command line).
public struct SNPFlagError: Error, Sendable, Hashable, CustomStringConvertible {
    public var flag: String
    public var message: String
    public var hint: String?

    public init(_ flag: String, _ message: String, hint: String? = nil) {
        self.flag = flag
        self.message = message
        self.hint = hint
    }

    public var description: String {
        if let hint { return "\(message) (\(hint))" }
        return message
    }
}

extension String {
    /// Without leading and trailing spaces, tabs and line breaks.
    fileprivate func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}
