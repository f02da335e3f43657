import EnclaveCore

/// QEMU's rewrite of a Linux kernel's setup header before it hands the kernel to OVMF over fw_cfg
/// (QEMU `x86_load_linux`, up to QEMU 10.1; <doc:KernelMeasurement>). OVMF measures the rewritten
/// bytes, so RTMR1 depends on the guest memory size and the initrd size. QEMU ≥ 10.2 (commit
/// a7542a38f399) no longer rewrites the header for confidential guests.
///
/// ```swift
/// let patches = try QEMUKernelHeaderPatch.patches(header: first4K, kernelSize: size, initrdSize: 64 << 20,
///                                                 memorySize: 2 << 30)
/// ```
public enum QEMUKernelHeaderPatch {
    public static let format = "Linux setup header"
    /// The smallest kernel the patch accepts (dstack-mr's bound; a bzImage with its setup is far larger).
    public static let minimumKernelSize: UInt64 = 0x1000
    /// ACPI data size QEMU reserves below 4 GiB on q35 (0x20000 + 0x8000).
    public static let defaultACPIDataSize: UInt64 = 0x28000

    /// The bytes QEMU changes, as patches over the original file.
    /// `cmdline` matters for old kernels (its length moves the cmdline address) and for `vga=`, which
    /// QEMU copies into the header's vid_mode field.
    public static func patches(
        header h: [UInt8], kernelSize: UInt64, initrdSize: UInt64, memorySize: UInt64,
        acpiDataSize: UInt64 = defaultACPIDataSize, cmdline: String = ""
    ) throws(FormatError) -> [BytePatch] {
        guard kernelSize >= minimumKernelSize, h.count >= Int(minimumKernelSize) else {
            throw FormatError(
                .truncated, format: format, offset: kernelSize,
                "a kernel of \(kernelSize) bytes is too small for QEMU's setup-header patch "
                    + "(at least \(minimumKernelSize) bytes expected; is this a bzImage?)")
        }
        var out: [BytePatch] = []
        func u16(_ at: Int) -> UInt16 { h.le(UInt16.self, at: at) ?? 0 }
        func u32(_ at: Int) -> UInt32 { h.le(UInt32.self, at: at) ?? 0 }
        func put16(_ at: Int, _ v: UInt16) { out.append(BytePatch(offset: UInt64(at), bytes: le(v))) }
        func put32(_ at: Int, _ v: UInt32) { out.append(BytePatch(offset: UInt64(at), bytes: le(v))) }
        // QEMU: bootProtocol 0 unless the "HdrS" signature is at 0x202.
        let bootProtocol = u32(0x202) == 0x5372_6448 ? u16(0x206) : 0
        var setupSectors = UInt64(h[0x1f1])
        if setupSectors == 0 { setupSectors = 4 }
        guard (setupSectors + 1) * 512 <= kernelSize else {
            throw FormatError(
                .badValue, format: format, offset: 0x1f1,
                "setup_sects \(setupSectors) describes a setup larger than the \(kernelSize)-byte kernel "
                    + "(QEMU: invalid kernel header)")
        }
        var loadflags = h[0x211]
        let low = bootProtocol < 0x200 || loadflags & 1 == 0
        let cmdlineSize = UInt32(truncatingIfNeeded: (cmdline.utf8.count + 16) & ~15)
        let (realAddress, cmdlineAddress): (UInt32, UInt32) =
            low ? (0x90000, 0x9a000 &- cmdlineSize) : (0x10000, 0x20000)
        if bootProtocol >= 0x200 { out.append(BytePatch(offset: 0x210, bytes: [0xb0])) }
        if bootProtocol >= 0x201 {
            loadflags |= 0x80
            out.append(BytePatch(offset: 0x211, bytes: [loadflags]))
            put16(0x224, UInt16(truncatingIfNeeded: cmdlineAddress &- realAddress &- 0x200))  // heap_end_ptr
        }
        if bootProtocol >= 0x202 {
            put32(0x228, cmdlineAddress)
        } else {
            put16(0x20, 0xa33f)
            put16(0x22, UInt16(truncatingIfNeeded: cmdlineAddress &- realAddress))
        }
        if let mode = try videoMode(cmdline) { put16(0x1fa, mode) }
        if initrdSize > 0 {
            guard bootProtocol >= 0x200 else {
                throw FormatError(
                    .unsupported, format: format, offset: 0x206,
                    "boot protocol 0x\(String(bootProtocol, radix: 16)) is too old for an initrd (QEMU refuses it)")
            }
            var initrdMax: UInt64
            if bootProtocol >= 0x20c && u16(0x236) & 0x40 != 0 {
                initrdMax = 0xffff_ffff
            } else if bootProtocol >= 0x203 {
                initrdMax = UInt64(u32(0x22c))
                if initrdMax == 0 { initrdMax = 0x37ff_ffff }
            } else {
                initrdMax = 0x37ff_ffff
            }
            let lowmem: UInt64 = memorySize >= 0xb000_0000 ? 0x8000_0000 : 0xb000_0000
            let below4G = min(memorySize, lowmem)
            guard below4G > acpiDataSize else {
                throw FormatError(
                    .badValue, format: format, offset: nil,
                    "guest memory of \(memorySize) bytes leaves no room below 4 GiB for the ACPI data")
            }
            if initrdMax >= below4G - acpiDataSize { initrdMax = below4G - acpiDataSize - 1 }
            guard initrdSize < initrdMax else {
                throw FormatError(
                    .tooLarge, format: format, offset: nil,
                    "an initrd of \(initrdSize) bytes does not fit below 0x\(String(initrdMax, radix: 16)) "
                        + "(QEMU: initrd is too large); give the guest more memory")
            }
            put32(0x218, UInt32((initrdMax - initrdSize) & ~0xfff))
            put32(0x21c, UInt32(initrdSize))
        }
        // QEMU copies its patched header over the setup only for a kernel with a boot protocol.
        return bootProtocol > 0 ? out : []
    }

    /// QEMU's `vga=` handling: `normal`, `ext`, `ask` or a number (C `strtoul` base 0) up to a space.
    static func videoMode(_ cmdline: String) throws(FormatError) -> UInt16? {
        let bytes = Array(cmdline.utf8)
        let key = Array("vga=".utf8)
        guard bytes.count >= key.count,
            let at = (0...(bytes.count - key.count)).first(where: { Array(bytes[$0..<$0 + key.count]) == key })
        else { return nil }
        let rest = Substring(String(decoding: bytes[(at + key.count)...], as: UTF8.self))
        if rest.hasPrefix("normal") { return 0xffff }
        if rest.hasPrefix("ext") { return 0xfffe }
        if rest.hasPrefix("ask") { return 0xfffd }
        let word = rest.prefix { $0 != " " }
        var digits = Substring(word)
        var radix = 10
        if digits.hasPrefix("0x") || digits.hasPrefix("0X") {
            digits = digits.dropFirst(2)
            radix = 16
        } else if digits.count > 1 && digits.hasPrefix("0") {
            digits = digits.dropFirst()
            radix = 8
        }
        guard !digits.isEmpty, let value = UInt32(digits, radix: radix) else {
            throw FormatError(
                .badValue, format: "kernel command line", offset: nil,
                "invalid vga= value \"\(word)\" (QEMU: invalid 'vga=' kernel parameter)")
        }
        return UInt16(truncatingIfNeeded: value)
    }

    private static func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] {
        var w = ByteWriter()
        w.appendLE(v)
        return w.bytes
    }
}
