import EnclaveCore
import TOMLKit

/// Reads one `[targets.NAME]` table (`Recipes/README.md`, "Targets").
struct TargetParser {
    let fields: Fields
    let name: String
    let context: ReferenceContext

    func parse() throws -> TargetSettings {
        let platformText = try fields.requiredString("platform")
        guard let platform = TargetPlatform(rawValue: platformText) else {
            throw fields.bad(
                "platform",
                "'\(platformText)' is not a platform; use one of \(TargetPlatform.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        switch platform {
        case .nitro: return .nitro(try nitro())
        case .tdx: return .tdx(try tdx())
        case .sevSNP: return .sevSNP(try sevSNP())
        case .sgx: return .sgx(try sgx())
        }
    }

    private func missing(_ key: String) -> RecipeError {
        RecipeError(.missingKey, file: fields.file, table: fields.table, "target '\(name)': missing '\(key)'")
    }

    private func reference(_ key: String) throws -> FileReference? {
        guard let text = try fields.string(key) else { return nil }
        return try context.reference(text, fields: fields, key: key)
    }

    private func requiredReference(_ key: String) throws -> FileReference {
        guard let ref = try reference(key) else { throw missing(key) }
        return ref
    }

    private func requiredString(_ key: String) throws -> String {
        guard let s = try fields.string(key) else { throw missing(key) }
        return s
    }

    /// An unsigned integer from a TOML integer or a string (`"0x4"`, `"4096"`), at most `max`.
    private func unsigned(_ key: String, max: UInt64) throws -> UInt64? {
        guard let value = fields.value(key) else { return nil }
        var parsed: UInt64?
        if let i = value.int {
            parsed = i >= 0 ? UInt64(i) : nil
        } else if let text = value.string {
            if text.hasPrefix("0x") || text.hasPrefix("0X") {
                parsed = text.count > 2 ? UInt64(text.dropFirst(2), radix: 16) : nil
            } else {
                parsed = UInt64(text)
            }
        } else {
            throw fields.bad(key, "expected an integer or a hex string such as \"0x4\", found a \(value.type.rawValue)")
        }
        guard let number = parsed, number <= max else {
            throw fields.bad(key, "expected an integer from 0 to \(max) (decimal, or hex as \"0x…\")")
        }
        return number
    }

    private func count(_ key: String, default value: Int) throws -> Int {
        guard let n = try unsigned(key, max: 4096) else { return value }
        guard n >= 1 else { throw fields.bad(key, "must be at least 1") }
        return Int(n)
    }

    // MARK: - Platforms

    private func nitro() throws -> NitroTargetSettings {
        try fields.allow(["platform", "kernel", "cmdline", "init", "nsm", "arch", "kernel-config", "metadata"])
        let kernel = try requiredReference("kernel")
        let cmdline = try requiredString("cmdline")
        let initProgram = try requiredReference("init")
        let arch = try fields.string("arch") ?? "x86_64"
        guard arch == "x86_64" || arch == "aarch64" else {
            throw fields.bad("arch", "'\(arch)' is not an EIF architecture; use x86_64 or aarch64")
        }
        var metadata = NitroTargetSettings.Metadata()
        if let table = try fields.table("metadata") {
            let meta = Fields(table, table: fields.table + " metadata", file: fields.file)
            try meta.allow(["img-os", "img-kernel", "build-tool", "build-tool-version"])
            metadata = NitroTargetSettings.Metadata(
                imageOS: try meta.string("img-os"), imageKernel: try meta.string("img-kernel"),
                buildTool: try meta.string("build-tool"), buildToolVersion: try meta.string("build-tool-version"))
        }
        return NitroTargetSettings(
            kernel: kernel, cmdline: cmdline, initProgram: initProgram, nsm: try reference("nsm"), arch: arch,
            kernelConfig: try reference("kernel-config"), metadata: metadata)
    }

    private func tdx() throws -> TDXTargetSettings {
        try fields.allow([
            "platform", "firmware", "kernel", "cmdline", "init", "memory", "vcpus", "qemu-version", "page-add-order",
            "cmdline-initrd", "acpi-loader", "acpi-rsdp", "acpi-tables",
        ])
        let firmware = try requiredReference("firmware")
        let kernel = try requiredReference("kernel")
        let cmdline = try requiredString("cmdline")
        let initProgram = try requiredReference("init")
        var memory: UInt64 = 2 << 30
        if let value = fields.value("memory") {
            memory = try Self.memory(value, fields)
        }
        let qemuVersion = try fields.string("qemu-version") ?? "9.1"
        let parts = qemuVersion.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...3).contains(parts.count),
            parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) && UInt($0) != nil })
        else {
            throw fields.bad("qemu-version", "'\(qemuVersion)' is not a QEMU version such as \"9.1\"")
        }
        var order: TDXTargetSettings.PageAddOrder?
        if let text = try fields.string("page-add-order") {
            guard let parsed = TDXTargetSettings.PageAddOrder(rawValue: text) else {
                throw fields.bad("page-add-order", "'\(text)' is not per-page or two-pass")
            }
            order = parsed
        }
        var placement = TDXTargetSettings.CmdlineInitrd.suffix
        if let text = try fields.string("cmdline-initrd") {
            guard let parsed = TDXTargetSettings.CmdlineInitrd(rawValue: text) else {
                throw fields.bad("cmdline-initrd", "'\(text)' is not suffix or prefix")
            }
            placement = parsed
        }
        let acpi = (try reference("acpi-loader"), try reference("acpi-rsdp"), try reference("acpi-tables"))
        let given = [acpi.0, acpi.1, acpi.2].filter { $0 != nil }.count
        guard given == 0 || given == 3 else {
            throw RecipeError(
                .missingKey, file: fields.file, table: fields.table,
                "target '\(name)': give all three of 'acpi-loader', 'acpi-rsdp' and 'acpi-tables', or none")
        }
        return TDXTargetSettings(
            firmware: firmware, kernel: kernel, cmdline: cmdline, initProgram: initProgram, memory: memory,
            vcpus: try count("vcpus", default: 1), qemuVersion: qemuVersion, pageAddOrder: order,
            cmdlineInitrd: placement, acpiLoader: acpi.0, acpiRSDP: acpi.1, acpiTables: acpi.2)
    }

    private func sevSNP() throws -> SEVSNPTargetSettings {
        try fields.allow([
            "platform", "firmware", "kernel", "cmdline", "init", "vcpus", "vcpu-type", "vmm", "guest-features",
        ])
        let firmware = try requiredReference("firmware")
        let kernel = try reference("kernel")
        let cmdline = try fields.string("cmdline")
        let initProgram = try reference("init")
        let given = [kernel != nil, cmdline != nil, initProgram != nil]
        guard given.allSatisfy({ $0 }) || given.allSatisfy({ !$0 }) else {
            let absent = zip(["kernel", "cmdline", "init"], given).filter { !$0.1 }.map { "'\($0.0)'" }
            throw RecipeError(
                .missingKey, file: fields.file, table: fields.table,
                "target '\(name)': missing \(absent.joined(separator: " and ")) (kernel, cmdline and init go together: "
                    + "give all three, or none for a firmware-only launch)")
        }
        let vcpuType = try fields.string("vcpu-type") ?? "EPYC-v4"
        guard !vcpuType.isEmpty else { throw fields.bad("vcpu-type", "must name a CPU model such as EPYC-v4") }
        let vmm = try fields.string("vmm") ?? "QEMU"
        guard ["qemu", "ec2", "gce"].contains(vmm.lowercased()) else {
            throw fields.bad("vmm", "'\(vmm)' is not a VMM; use QEMU, ec2 or gce")
        }
        return SEVSNPTargetSettings(
            firmware: firmware, kernel: kernel, cmdline: cmdline, initProgram: initProgram,
            vcpus: try count("vcpus", default: 1), vcpuType: vcpuType, vmm: vmm,
            guestFeatures: try unsigned("guest-features", max: UInt64.max) ?? 0x1)
    }

    private func sgx() throws -> SGXTargetSettings {
        try fields.allow([
            "platform", "enclave", "signing-key", "heap-size", "isv-prod-id", "isv-svn", "attributes", "xfrm",
            "misc-select",
        ])
        let enclave = try requiredReference("enclave")
        let key = try requiredReference("signing-key")
        let heap = try unsigned("heap-size", max: 1 << 40) ?? 4096
        guard heap > 0 else { throw fields.bad("heap-size", "must be greater than 0") }
        return SGXTargetSettings(
            enclave: enclave, signingKey: key, heapSize: heap,
            isvProdID: UInt16(try unsigned("isv-prod-id", max: UInt64(UInt16.max)) ?? 0),
            isvSVN: UInt16(try unsigned("isv-svn", max: UInt64(UInt16.max)) ?? 0),
            attributes: try unsigned("attributes", max: UInt64.max) ?? 0x4,
            xfrm: try unsigned("xfrm", max: UInt64.max) ?? 0x3,
            miscSelect: UInt32(try unsigned("misc-select", max: UInt64(UInt32.max)) ?? 0))
    }

    /// `memory`: a string as QEMU's `-m` takes it (`2G`, `512M`, `2048` = MiB; K/M/G/T binary units) or
    /// a TOML integer in bytes.
    static func memory(_ value: any TOMLValueConvertible, _ f: Fields) throws -> UInt64 {
        let why = "expected a size such as \"2G\", \"512M\" or \"2048\" (MiB), or an integer number of bytes"
        if let i = value.int {
            guard i > 0 else { throw f.bad("memory", why) }
            return UInt64(i)
        }
        guard let text = value.string, let bytes = MemorySize.parse(text) else { throw f.bad("memory", why) }
        return bytes
    }
}
