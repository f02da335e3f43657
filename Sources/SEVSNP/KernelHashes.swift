import EnclaveCore
import OVMF

/// The SEV hashes table QEMU writes for measured direct kernel boot (`sev_add_kernel_loader_hashes`,
/// <doc:KernelHashesPage>): SHA-256 of the cmdline (with its NUL), the initrd and
/// the whole kernel file, each behind its GUID, padded to 176 bytes.
///
/// ```swift
/// let hashes = try SEVKernelHashes(kernel: "bzImage", initrd: "initrd.img", append: "console=ttyS0")
/// let page = try hashes.page(offset: 0xc00)
/// ```
public struct SEVKernelHashes: Sendable {
    public static let tableGUID = guidBytes("9438d606-4f22-4cc9-b479-a793d411fd21")
    public static let cmdlineGUID = guidBytes("97d02dd8-bd20-4c94-aa78-e7714d36ab2a")
    public static let initrdGUID = guidBytes("44baf731-3a2f-4bd7-9af1-41e29169781d")
    public static let kernelGUID = guidBytes("4de79437-abd2-427f-b835-d5b172d2045b")
    /// GUID + u16 length + three 50-byte entries.
    public static let tableSize = 16 + 2 + 3 * entrySize
    public static let entrySize = 16 + 2 + 32
    /// The table padded to a multiple of 16 bytes.
    public static let paddedSize = (tableSize + 15) & ~15

    public let cmdline: [UInt8]
    public let initrd: [UInt8]
    public let kernel: [UInt8]

    /// From precomputed SHA-256 digests.
    public init(cmdline: [UInt8], initrd: [UInt8], kernel: [UInt8]) {
        self.cmdline = cmdline
        self.initrd = initrd
        self.kernel = kernel
    }

    /// Hashes the files (streamed) and the command line. A missing initrd hashes as empty; the command
    /// line is its UTF-8 bytes plus a NUL (an absent one is a single NUL).
    public init(kernel: String, initrd: String?, append: String?) throws {
        self.kernel = try FileStream.hash(path: kernel, .sha256)
        self.initrd = try initrd.map { try FileStream.hash(path: $0, .sha256) } ?? Digest.sha256([])
        self.cmdline = Digest.sha256(Array((append ?? "").utf8) + [0])
    }

    /// The 176-byte padded table.
    public var table: [UInt8] {
        var w = ByteWriter(capacity: Self.paddedSize)
        w.append(Self.tableGUID)
        w.appendU16LE(UInt16(Self.tableSize))
        for (guid, hash) in [(Self.cmdlineGUID, cmdline), (Self.initrdGUID, initrd), (Self.kernelGUID, kernel)] {
            w.append(guid)
            w.appendU16LE(UInt16(Self.entrySize))
            w.append(hash)
        }
        w.pad(toMultipleOf: 16)
        return w.bytes
    }

    /// A zero page with the table at `offset` (the low 12 bits of the hashes table GPA).
    public func page(offset: Int) throws(FormatError) -> [UInt8] {
        guard offset >= 0, offset + Self.paddedSize <= SNPLaunchDigest.pageSize else {
            let at = offset < 0 ? "\(offset)" : "0x" + String(offset, radix: 16)
            throw FormatError(
                .outOfBounds, format: "SEV hashes table", offset: nil,
                "the table (\(Self.paddedSize) bytes) does not fit in its page at offset \(at)")
        }
        var page = [UInt8](repeating: 0, count: SNPLaunchDigest.pageSize)
        page.replaceSubrange(offset..<offset + Self.paddedSize, with: table)
        return page
    }

    /// The binary (mixed-endian) form of a GUID written in this file.
    static func guidBytes(_ text: String) -> [UInt8] {
        guard let guid = EFIGUID(text) else { preconditionFailure("malformed GUID constant \(text)") }
        return guid.bytes
    }
}
