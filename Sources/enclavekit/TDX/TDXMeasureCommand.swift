import ArgumentParser
import EnclaveCore
import TDX

extension TDXPageAddOrder: ExpressibleByArgument {}
extension CmdlineInitrdPlacement: ExpressibleByArgument {}
extension StubMeasurement: ExpressibleByArgument {}

struct TDXMeasureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "measure",
        abstract: "Compute MRTD and RTMR0-3 for an OVMF/TDVF direct kernel boot.",
        discussion: """
            Every VMM- or firmware-dependent choice is an option with a default:
              --qemu-version 9.1       page-add order (8.x two-pass, else per-page)
                                       and kernel header patch (QEMU <= 10.1)
              --memory 2G              TD HOB (RTMR0), patched kernel (RTMR1)
              --cmdline-initrd suffix  edk2 <= stable202505 appends initrd=initrd
              --stub-measures auto     RTMR2 only from a Linux >= 6.9 EFI stub;
                                       Debian 12's 6.1 kernel leaves RTMR2 at 0
              --boot-option FILE       default: dstack's OVMF Boot0000 digest
            RTMR0 needs QEMU's ACPI blobs (--acpi-loader, --acpi-rsdp,
            --acpi-tables). Compare --events listings (or `tdx replay
            --expected`) to find the event that differs.

            Examples:
              enclavekit tdx measure --firmware OVMF.fd
              enclavekit tdx measure --firmware OVMF.fd --kernel bzImage \\
                  --initrd initrd.img --cmdline "console=ttyS0" --memory 4G \\
                  --acpi-loader loader --acpi-rsdp rsdp --acpi-tables tables \\
                  --events
              enclavekit tdx measure --firmware OVMF.fd --kernel bzImage \\
                  --qemu-version 8.2 --json
            """)

    @Option(help: "The firmware image QEMU maps with -bios (OVMF.fd = VARS and CODE).")
    var firmware: String
    @Option(help: "The kernel (bzImage with EFI stub).")
    var kernel: String?
    @Option(help: "The initrd.")
    var initrd: String?
    @Option(help: "The kernel command line (QEMU -append).")
    var cmdline: String = ""
    @Option(help: "Guest RAM as QEMU -m takes it: 2G, 4096M, 8GiB; a bare number is MiB.")
    var memory: String = "2G"
    @Option(help: "QEMU version (MAJOR.MINOR): chooses the page-add order and the kernel header patch.")
    var qemuVersion: String = QEMUVersion.defaultVersion.description
    @Option(help: "Page-add order, overriding --qemu-version: per-page or two-pass.")
    var pageAddOrder: TDXPageAddOrder?
    @Flag(help: "Page-add PAGE.AUG sections too (gce-tcb-verifier; td-shim images only).")
    var pageAugAdded = false
    @Option(help: "Whether QEMU rewrites the kernel setup header: auto (QEMU < 10.2), yes or no.")
    var kernelHeaderPatch: String = "auto"
    @Option(help: "Where OVMF adds initrd=initrd to the cmdline: suffix (edk2 <= stable202505) or prefix.")
    var cmdlineInitrd: CmdlineInitrdPlacement = .suffix
    @Option(help: "Whether the kernel's EFI stub measures cmdline and initrd into RTMR2: auto, yes or no.")
    var stubMeasures: StubMeasurement = .auto
    @Option(help: "QEMU's etc/table-loader fw_cfg blob.")
    var acpiLoader: String?
    @Option(help: "QEMU's etc/acpi/rsdp fw_cfg blob.")
    var acpiRsdp: String?
    @Option(help: "QEMU's etc/acpi/tables fw_cfg blob.")
    var acpiTables: String?
    @Option(
        help: "Secure Boot variable data as NAME=FILE (SecureBoot, PK, KEK, db, dbx); repeat. Default: all unset.")
    var efiVariable: [String] = []
    @Option(help: "BootOrder variable data in hex.")
    var bootOrder: String = "0000"
    @Option(help: "A Boot#### variable's data (EFI_LOAD_OPTION, without efivarfs's 4 attribute bytes); repeat.")
    var bootOption: [String] = []
    @Flag(help: "Old TDVF (before edk2 efaf893): the ReadyToBoot separator goes to RTMR0.")
    var separatorInRtmr0 = false
    @Flag(help: "List every event with its digest.")
    var events = false
    @OptionGroup var jsonOutput: JSONOutputOption
    var json: Bool { jsonOutput.json }

    func validate() throws {
        // swift-argument-parser wraps what validate() throws, so ErrorReport cannot translate it: do it here.
        do { _ = try parsedInputs() } catch { throw LibraryErrors.translated(error) }
    }

    func parsedInputs() throws -> TDXMeasureInputs {
        var inputs = TDXMeasureInputs(firmware: firmware)
        inputs.kernel = kernel
        inputs.initrd = initrd
        inputs.cmdline = cmdline
        guard let bytes = MemorySize.parse(memory) else {
            throw UsageError("--memory \"\(memory)\" is not a size; write it like 2G, 4096M or 8GiB")
        }
        inputs.memorySize = bytes
        inputs.qemuVersion = try QEMUVersion(qemuVersion)
        inputs.pageAddOrder = pageAddOrder
        inputs.skipPageAug = !pageAugAdded
        switch kernelHeaderPatch {
        case "auto": inputs.patchKernelHeader = nil
        case "yes": inputs.patchKernelHeader = true
        case "no": inputs.patchKernelHeader = false
        default: throw UsageError("--kernel-header-patch must be auto, yes or no")
        }
        inputs.cmdlineInitrd = cmdlineInitrd
        inputs.stubMeasures = stubMeasures
        let acpi = [acpiLoader, acpiRsdp, acpiTables]
        guard acpi.allSatisfy({ $0 == nil }) || acpi.allSatisfy({ $0 != nil }) else {
            throw UsageError("give all three of --acpi-loader, --acpi-rsdp and --acpi-tables, or none")
        }
        inputs.acpiLoader = acpiLoader
        inputs.acpiRSDP = acpiRsdp
        inputs.acpiTables = acpiTables
        guard let order = Hex.decode(bootOrder), !order.isEmpty, order.count % 2 == 0 else {
            throw UsageError("--boot-order must be hex of whole UINT16 entries, e.g. 0000 or 00000100")
        }
        inputs.bootOrder = order
        for item in efiVariable {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, ["SecureBoot", "PK", "KEK", "db", "dbx"].contains(parts[0]) else {
                throw UsageError(
                    "--efi-variable \"\(item)\" is not NAME=FILE", hint: "NAME is SecureBoot, PK, KEK, db or dbx")
            }
            inputs.secureBootData[parts[0]] = try FileInput.contents(
                of: parts[1], limit: 16 << 20, format: "EFI variable")
        }
        inputs.bootOptions = bootOption
        inputs.separatorInRTMR0 = separatorInRtmr0
        guard initrd == nil || kernel != nil else { throw UsageError("--initrd needs --kernel") }
        return inputs
    }

    func run() throws {
        let inputs = try parsedInputs()
        let total = [kernel, initrd].compactMap { $0 }.compactMap { try? FileInput(path: $0).size }.reduce(0, +)
        let progress = ProgressBar(label: "measuring", total: total)
        let m = try TDXMeasurer.measure(inputs, progress: progress)
        progress.finish()
        let rows = TDXEventRow.rows(m.events)
        let order = try inputs.effectivePageAddOrder
        let settings: [(String, String)] = [
            ("qemu_version", inputs.qemuVersion.description), ("page_add_order", order.rawValue),
            ("page_aug_sections", inputs.skipPageAug ? "skipped" : "added"),
            ("kernel_header_patch", inputs.effectivePatchKernelHeader ? "yes" : "no"),
            ("memory", String(inputs.memorySize)), ("cmdline_initrd", inputs.cmdlineInitrd.rawValue),
            ("stub_measures", inputs.stubMeasures.rawValue),
        ]
        var values: [(String, String)] = [("mrtd", m.mrtd.hex)]
        for (i, r) in m.rtmrs.enumerated() { values.append(("rtmr\(i)", r?.hex ?? "not computed")) }
        if json {
            var object: [(String, JSONValue)] = [("mrtd", .string(m.mrtd.hex))]
            for (i, r) in m.rtmrs.enumerated() { object.append(("rtmr\(i)", r.map { .string($0.hex) } ?? .null)) }
            object.append(("settings", .object(settings.map { ($0.0, .string($0.1)) })))
            if events { object.append(("events", .array(rows.map(\.json)))) }
            object.append(("notes", .array(m.notes.map { .string($0) })))
            Output.json(.object(object))
            return
        }
        Output.table(values, indent: "")
        if events {
            print("settings: " + settings.map { "\($0.0)=\($0.1)" }.joined(separator: " "))
            print("events:")
            for line in TDXEventOutput.lines(rows) { print(line) }
        }
        for note in m.notes { StandardError.write("note: \(note)\n") }
    }
}
