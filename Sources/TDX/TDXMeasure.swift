import EnclaveCore
import OVMF

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where OVMF puts `initrd=initrd` in the kernel's LoadOptions when an initrd is given
/// (<doc:RTMRReplay>, "RTMR2").
public enum CmdlineInitrdPlacement: String, Sendable, CaseIterable {
    /// `"<cmdline> initrd=initrd"`: edk2 up to edk2-stable202505 (Debian 12's OVMF, dstack).
    case suffix
    /// `"initrd=initrd <cmdline>"`: edk2 after PR #11115 (2025).
    case prefix
}

/// Whether the kernel's EFI stub measures the cmdline and initrd into RTMR2.
public enum StubMeasurement: String, Sendable, CaseIterable {
    /// Look for the EFI CC measurement protocol GUID in the kernel (Linux ≥ 6.9 has it; Debian 12's 6.1 not).
    case auto
    case yes
    case no
}

/// Every input of a TDX measurement, VMM- and firmware-dependent choices included, with the defaults
/// documented in the README (`enclavekit tdx measure`).
///
/// ```swift
/// var inputs = TDXMeasureInputs(firmware: "OVMF.fd")
/// inputs.kernel = "bzImage"; inputs.memorySize = 4 << 30
/// let result = try TDXMeasurer.measure(inputs)
/// ```
public struct TDXMeasureInputs: Sendable {
    /// The image QEMU maps with `-bios` (OVMF.fd = VARS ‖ CODE).
    public var firmware: String
    public var kernel: String?
    public var initrd: String?
    /// The `-append` string.
    public var cmdline: String = ""
    /// Guest RAM (`-m`), default 2 GiB.
    public var memorySize: UInt64 = 2 << 30
    /// Picks the page-add order (8.x two-pass) and the kernel header patch (≤ 10.1) unless given directly.
    public var qemuVersion: QEMUVersion = .defaultVersion
    public var pageAddOrder: TDXPageAddOrder?
    /// Leave out PAGE.ADD for PAGE.AUG sections (true: dstack-mr, td-shim; false: gce-tcb-verifier).
    public var skipPageAug = true
    /// Apply QEMU's setup-header rewrite before hashing the kernel; nil: only when QEMU < 10.2.
    public var patchKernelHeader: Bool?
    public var acpiDataSize: UInt64 = QEMUKernelHeaderPatch.defaultACPIDataSize
    public var cmdlineInitrd: CmdlineInitrdPlacement = .suffix
    public var stubMeasures: StubMeasurement = .auto
    /// QEMU's fw_cfg `etc/table-loader`, `etc/acpi/rsdp`, `etc/acpi/tables` blobs (all three or none).
    public var acpiLoader: String?
    public var acpiRSDP: String?
    public var acpiTables: String?
    /// Secure Boot variable contents (SecureBoot, PK, KEK, db, dbx); empty when Secure Boot is not set up.
    public var secureBootData: [String: [UInt8]] = [:]
    /// BootOrder variable data, default `00 00`.
    public var bootOrder: [UInt8] = [0, 0]
    /// Boot#### variable data files (EFI_LOAD_OPTION bytes, without efivarfs's 4 attribute bytes), in
    /// order. Empty: the Boot0000 digest of OVMF's UiApp entry that dstack-mr uses for its OVMF.
    public var bootOptions: [String] = []
    /// Old TDVF (before edk2 efaf893) logs the ReadyToBoot separator into RTMR0 instead of RTMR1.
    public var separatorInRTMR0 = false

    public init(firmware: String) { self.firmware = firmware }

    public var effectivePageAddOrder: TDXPageAddOrder {
        get throws(TDXError) {
            if let pageAddOrder { return pageAddOrder }
            return try TDXPageAddOrder(qemuVersion: qemuVersion)
        }
    }
    public var effectivePatchKernelHeader: Bool { patchKernelHeader ?? (qemuVersion < .unpatchedKernelHeader) }
}

/// The result of a TDX measurement: MRTD, RTMR0-3 (nil where an input is missing), the events replayed,
/// and notes about defaults that were assumed.
public struct TDXMeasurement: Sendable {
    public var mrtd: [UInt8]
    /// RTMR0…RTMR3; nil when not computable from the inputs (see ``notes``).
    public var rtmrs: [[UInt8]?]
    public var events: [TDXEvent]
    public var notes: [String]
}

/// Computes MRTD and RTMR0-3 for an OVMF/TDVF direct kernel boot by replaying the boot's events
/// (<doc:MRTDComputation>, <doc:RTMRReplay>). Kernel and initrd are streamed once in bounded memory.
///
/// ```swift
/// let m = try TDXMeasurer.measure(TDXMeasureInputs(firmware: "OVMF.fd"))
/// print(m.mrtd.hex)
/// ```
public enum TDXMeasurer {
    /// Boot0000 digest for OVMF's UiApp load option in dstack's pre-2025 OVMF (dstack-mr constant).
    public static let dstackBoot0000Digest =
        "23ada07f5261f12f34a0bd8e46760962d6b4d576a416f1fea1c64bc656b1d28eacf7047ae6e967c58fd2a98bfa74c298"
    /// The firmware image size limit (real OVMF images are 2-4 MiB).
    public static let firmwareLimit: UInt64 = 64 << 20
    /// Small side inputs (ACPI blobs, boot variables).
    static let blobLimit: UInt64 = 16 << 20

    public static func measure(_ inputs: TDXMeasureInputs, progress: (any ProgressSink)? = nil) throws -> TDXMeasurement
    {
        let fw = try FileInput.contents(of: inputs.firmware, limit: firmwareLimit, format: "firmware")
        let metadata: TDVFMetadata
        do {
            metadata = try TDVFMetadata(firmware: fw)
        } catch {
            throw error.in(file: inputs.firmware)
        }
        let mrtd = try MRTD.compute(
            firmware: fw, metadata: metadata, order: try inputs.effectivePageAddOrder, skipPageAug: inputs.skipPageAug)
        var notes: [String] = []
        var events = try rtmr0Events(inputs, firmware: fw, metadata: metadata, notes: &notes)
        let acpi = [inputs.acpiLoader, inputs.acpiRSDP, inputs.acpiTables]
        let haveACPI = acpi.allSatisfy { $0 != nil }
        if !haveACPI {
            notes.append(
                "RTMR0 not computed: it needs QEMU's ACPI blobs (--acpi-loader, --acpi-rsdp, --acpi-tables)")
        }
        var haveKernel = false
        if let kernel = inputs.kernel {
            haveKernel = true
            events += try kernelEvents(inputs, kernel: kernel, notes: &notes, progress: progress)
        } else {
            notes.append("RTMR1 and RTMR2 not computed: they need --kernel (and --initrd, --cmdline)")
        }
        let replayed = RTMR.replay(events)
        let rtmrs: [[UInt8]?] = [
            haveACPI ? replayed[0] : nil, haveKernel ? replayed[1] : nil, haveKernel ? replayed[2] : nil, replayed[3],
        ]
        return TDXMeasurement(mrtd: mrtd, rtmrs: rtmrs, events: events, notes: notes)
    }

    /// RTMR0 (and the legacy separator): TD HOB, CFV, Secure Boot variables, separator, ACPI, boot variables.
    static func rtmr0Events(
        _ inputs: TDXMeasureInputs, firmware fw: [UInt8], metadata: TDVFMetadata, notes: inout [String]
    ) throws -> [TDXEvent] {
        var events: [TDXEvent] = []
        let hob = try TDHOB(metadata: metadata, memorySize: inputs.memorySize)
        events.append(
            TDXEvent(
                rtmr: 0, type: .efiHandoffTables2, name: "TD HOB (\(formatSize(inputs.memorySize)) of RAM)",
                digest: Digest.sha384(hob.bytes)))
        if let cfv = metadata.sections.first(where: { $0.type == .cfv }),
            Int(cfv.dataOffset) + Int(cfv.rawDataSize) <= fw.count
        {
            // In bounds (checked above, and by the metadata validation when RawDataSize > 0).
            let start = Int(cfv.dataOffset)
            let bytes = Array(fw[start..<start + Int(cfv.rawDataSize)])
            events.append(
                TDXEvent(
                    rtmr: 0, type: .efiPlatformFirmwareBlob2, name: "CFV (OVMF variable store)",
                    digest: Digest.sha384(bytes)))
        }
        let secureBoot: [(EFIGUID, String)] = [
            (EFIVariableData.efiGlobalVariable, "SecureBoot"), (EFIVariableData.efiGlobalVariable, "PK"),
            (EFIVariableData.efiGlobalVariable, "KEK"), (EFIVariableData.imageSecurityDatabase, "db"),
            (EFIVariableData.imageSecurityDatabase, "dbx"),
        ]
        for (guid, name) in secureBoot {
            let data = inputs.secureBootData[name] ?? []
            events.append(
                TDXEvent(
                    rtmr: 0, type: .efiVariableDriverConfig, name: "\(name) variable (\(data.count) bytes)",
                    digest: Digest.sha384(EFIVariableData.encode(vendor: guid, name: name, data: data))))
        }
        events.append(separator(rtmr: 0))
        let acpi: [(String?, String)] = [
            (inputs.acpiLoader, "etc/table-loader"), (inputs.acpiRSDP, "etc/acpi/rsdp"),
            (inputs.acpiTables, "etc/acpi/tables"),
        ]
        if acpi.allSatisfy({ $0.0 != nil }) {
            for case (let path?, let name) in acpi {
                let data = try FileInput.contents(of: path, limit: blobLimit, format: name)
                events.append(
                    TDXEvent(
                        rtmr: 0, type: .platformConfigFlags, name: "\(name) (\(data.count) bytes)",
                        digest: Digest.sha384(data)))
            }
        }
        events.append(
            TDXEvent(
                rtmr: 0, type: .efiVariableBoot, name: "BootOrder (\(inputs.bootOrder.hex))",
                digest: Digest.sha384(inputs.bootOrder)))
        if inputs.bootOptions.isEmpty {
            notes.append("Boot0000: dstack-mr's digest of OVMF's UiApp entry assumed (pass --boot-option FILE)")
            events.append(
                TDXEvent(
                    rtmr: 0, type: .efiVariableBoot, name: "Boot0000 (dstack OVMF UiApp, assumed)",
                    digest: Hex.decode(dstackBoot0000Digest) ?? []))
        } else {
            for (i, path) in inputs.bootOptions.enumerated() {
                let data = try FileInput.contents(of: path, limit: blobLimit, format: "boot option")
                let number = String(i, radix: 16, uppercase: true)
                let name = "Boot" + String(repeating: "0", count: 4 - number.count) + number
                events.append(
                    TDXEvent(
                        rtmr: 0, type: .efiVariableBoot, name: "\(name) (\(data.count) bytes)",
                        digest: Digest.sha384(data)))
            }
        }
        return events
    }

    /// RTMR1 (kernel, OVMF actions) and RTMR2 (EFI stub cmdline and initrd).
    static func kernelEvents(
        _ inputs: TDXMeasureInputs, kernel: String, notes: inout [String], progress: (any ProgressSink)?
    ) throws -> [TDXEvent] {
        let file = try FileInput(path: kernel)
        let initrd = try inputs.initrd.map { try FileInput(path: $0) }
        var patches: [BytePatch] = []
        if inputs.effectivePatchKernelHeader {
            let header = try file.read(at: 0, count: Int(min(file.size, 0x1000)), format: "kernel")
            do {
                patches = try QEMUKernelHeaderPatch.patches(
                    header: header, kernelSize: file.size, initrdSize: initrd?.size ?? 0,
                    memorySize: inputs.memorySize, acpiDataSize: inputs.acpiDataSize, cmdline: inputs.cmdline)
            } catch {
                throw error.in(file: kernel)
            }
        }
        // The initrd is hashed on a second core while the kernel's Authenticode pass runs on this one.
        let initrdHash = initrd.map { file in
            Parallel.Background { try FileStream.hash(file: file, .sha384, progress: progress) }
        }
        var scanner = ByteScanner(pattern: ccMeasurementGUIDPrefix)
        let kernelDigest = try Authenticode.hash(file: file, .sha384, patches: patches, progress: progress) {
            scanner.feed($0)
        }
        let initrdDigest = try initrdHash?.wait()
        let header = inputs.effectivePatchKernelHeader ? "QEMU-patched header" : "unpatched header"
        var events = [
            TDXEvent(
                rtmr: 1, type: .efiBootServicesApplication, name: "kernel Authenticode SHA-384 (\(header))",
                digest: kernelDigest)
        ]
        events.append(action(rtmr: 1, "Calling EFI Application from Boot Option"))
        events.append(separator(rtmr: inputs.separatorInRTMR0 ? 0 : 1))
        events.append(action(rtmr: 1, "Exit Boot Services Invocation"))
        events.append(action(rtmr: 1, "Exit Boot Services Returned with Success"))

        let measures: Bool
        switch inputs.stubMeasures {
        case .yes: measures = true
        case .no: measures = false
        case .auto:
            measures = scanner.found
            if !measures {
                notes.append(
                    "RTMR2 = 0: the kernel's EFI stub has no CC measurement protocol (Linux < 6.9, e.g. Debian 12's "
                        + "6.1), so it measures neither cmdline nor initrd; pass --stub-measures yes to override")
            }
        }
        guard measures else { return events }
        let options = loadOptions(cmdline: inputs.cmdline, hasInitrd: initrd != nil, placement: inputs.cmdlineInitrd)
        if !options.isEmpty {
            var bytes: [UInt8] = []
            for c in options.utf16 { bytes += [UInt8(c & 0xff), UInt8(c >> 8)] }
            bytes += [0, 0]
            events.append(
                TDXEvent(
                    rtmr: 2, type: .eventTag, name: "LOADED_IMAGE::LoadOptions \"\(options)\"",
                    digest: Digest.sha384(bytes)))
        } else {
            notes.append("empty LoadOptions (no cmdline, no initrd): no cmdline event assumed")
        }
        if let initrd, let initrdDigest {
            events.append(
                TDXEvent(rtmr: 2, type: .eventTag, name: "Linux initrd (\(initrd.size) bytes)", digest: initrdDigest))
        }
        return events
    }

    /// The LoadOptions string OVMF builds for the kernel (`X86QemuLoadImageLib`).
    public static func loadOptions(cmdline: String, hasInitrd: Bool, placement: CmdlineInitrdPlacement) -> String {
        guard hasInitrd else { return cmdline }
        if cmdline.isEmpty { return "initrd=initrd" }
        switch placement {
        case .suffix: return cmdline + " initrd=initrd"
        case .prefix: return "initrd=initrd " + cmdline
        }
    }

    /// First 8 bytes of EFI_CC_MEASUREMENT_PROTOCOL_GUID 96751a3d-72f4-41a6-a794-ed5d0e67ae6b as stored
    /// (also the immediate of the `movabs` that builds it on the stack in Linux's stub).
    static let ccMeasurementGUIDPrefix: [UInt8] = [0x3d, 0x1a, 0x75, 0x96, 0xf4, 0x72, 0xa6, 0x41]

    static func separator(rtmr: Int) -> TDXEvent {
        TDXEvent(rtmr: rtmr, type: .separator, name: "separator", digest: Digest.sha384([0, 0, 0, 0]))
    }

    static func action(rtmr: Int, _ text: String) -> TDXEvent {
        TDXEvent(rtmr: rtmr, type: .efiAction, name: "\"\(text)\"", digest: Digest.hash(.sha384, utf8: text))
    }

    static func formatSize(_ bytes: UInt64) -> String {
        if bytes % (1 << 30) == 0 { return "\(bytes >> 30) GiB" }
        if bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
        return "\(bytes) bytes"
    }
}

/// Finds a byte pattern in a stream of chunks (patterns may straddle chunk boundaries).
struct ByteScanner {
    let pattern: [UInt8]
    private var tail: [UInt8] = []
    private(set) var found = false

    init(pattern: [UInt8]) { self.pattern = pattern }

    mutating func feed(_ chunk: UnsafeRawBufferPointer) {
        guard !found, !pattern.isEmpty, chunk.count > 0 else { return }
        // The boundary: the previous chunk's tail followed by this chunk's head.
        let head = Array(chunk.prefix(pattern.count - 1))
        if !tail.isEmpty, contains(tail + head) {
            found = true
            return
        }
        if contains(chunk) {
            found = true
            return
        }
        tail = Array((tail + Array(chunk.suffix(pattern.count - 1))).suffix(pattern.count - 1))
    }

    private func contains(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { contains($0) }
    }

    private func contains(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count >= pattern.count, let base = bytes.baseAddress, let first = pattern.first else {
            return false
        }
        // memchr finds candidates at memory speed; memcmp confirms them.
        var start = 0
        let last = bytes.count - pattern.count
        while start <= last {
            guard let hit = memchr(base + start, Int32(first), last - start + 1) else { return false }
            let index = base.distance(to: UnsafeRawPointer(hit))
            let same = pattern.withUnsafeBytes { p in
                guard let pbase = p.baseAddress else { return false }
                return memcmp(base + index, pbase, p.count) == 0
            }
            if same { return true }
            start = index + 1
        }
        return false
    }
}
