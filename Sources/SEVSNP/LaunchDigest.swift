import EnclaveCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The type of one page added with `SNP_LAUNCH_UPDATE` (SEV-SNP firmware ABI, §8.17, PAGE_INFO.PAGE_TYPE).
public enum SNPPageType: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case normal = 1
    case vmsa = 2
    case zero = 3
    case unmeasured = 4
    case secrets = 5
    case cpuid = 6

    public var description: String {
        switch self {
        case .normal: "normal"
        case .vmsa: "vmsa"
        case .zero: "zero"
        case .unmeasured: "unmeasured"
        case .secrets: "secrets"
        case .cpuid: "cpuid"
        }
    }
}

/// The SEV-SNP launch digest as the firmware accumulates it: for every page,
/// `LD = SHA-384(PAGE_INFO)` with `PAGE_INFO = LD ‖ CONTENTS ‖ u16 0x70 ‖ u8 type ‖ u8 IMI=0 ‖ u8 VMPL3..1=0 ‖
/// u8 0 ‖ u64 GPA` (SNP firmware ABI §8.17.2, Table 67; <doc:LaunchDigest>).
/// CONTENTS is the SHA-384 of the page for normal and VMSA pages and 48 zero bytes otherwise.
///
/// ```swift
/// var ld = SNPLaunchDigest()
/// ld.updateZeroPages(gpa: 0x80_0000, size: 0x9000)
/// print(ld.value.hex)
/// ```
public struct SNPLaunchDigest: Sendable {
    public static let size = 48
    public static let pageSize = 4096
    /// The VMSA page is recorded at GPA −1, page-aligned, bits above 51 cleared.
    public static let vmsaGPA: UInt64 = 0xFFFF_FFFF_F000
    static let pageInfoSize = 0x70
    /// 48 zero bytes: the initial digest and the contents of zero, unmeasured, secrets and CPUID pages.
    public static let zeros = [UInt8](repeating: 0, count: size)

    /// The current digest.
    public private(set) var value: [UInt8]
    /// How many PAGE_INFO records were hashed.
    public private(set) var records: Int = 0

    /// Starts from 48 zero bytes, or from a precomputed digest (the `--snp-ovmf-hash` shortcut).
    public init(seed: [UInt8] = SNPLaunchDigest.zeros) {
        precondition(seed.count == Self.size, "a launch digest is 48 bytes")
        value = seed
    }

    /// Hashes one PAGE_INFO record.
    public mutating func update(_ type: SNPPageType, gpa: UInt64, contents: [UInt8]) {
        precondition(contents.count == Self.size, "PAGE_INFO contents are 48 bytes")
        var info = [UInt8](repeating: 0, count: Self.pageInfoSize)
        info.replaceSubrange(0..<48, with: value)
        info.replaceSubrange(48..<96, with: contents)
        info[96] = UInt8(Self.pageInfoSize & 0xff)
        info[97] = UInt8(Self.pageInfoSize >> 8)
        info[98] = type.rawValue
        for i in 0..<8 { info[104 + i] = UInt8(truncatingIfNeeded: gpa >> (8 * i)) }
        value = Digest.sha384(info)
        records += 1
    }

    /// Adds `data` (a whole number of pages) as normal pages starting at `gpa`. The pages' SHA-384s are
    /// independent, so large runs are hashed on several cores; the PAGE_INFO chain is then hashed in order.
    public mutating func updateNormalPages(gpa: UInt64, data: UnsafeRawBufferPointer) {
        precondition(data.count % Self.pageSize == 0, "normal pages come in 4 KiB units")
        let pages = data.count / Self.pageSize
        let digests = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: pages * Self.size)
        defer { digests.deallocate() }
        let lanes = pages >= 64 ? min(Self.lanes, pages) : 1
        let perLane = (pages + lanes - 1) / lanes
        let work: [(UnsafeRawBufferPointer) -> Void] = (0..<lanes).map { lane in
            { buffer in
                let first = lane * perLane
                for page in first..<min(first + perLane, pages) {
                    let d = Digest(.sha384)
                    d.update(
                        UnsafeRawBufferPointer(rebasing: buffer[page * Self.pageSize..<(page + 1) * Self.pageSize]))
                    let hash = d.finalize()
                    for i in 0..<Self.size { digests[page * Self.size + i] = hash[i] }
                }
            }
        }
        ParallelLanes.run(data, work)
        for page in 0..<pages {
            let contents = Array(digests[page * Self.size..<(page + 1) * Self.size])
            update(.normal, gpa: gpa + UInt64(page * Self.pageSize), contents: contents)
        }
    }

    /// How many cores hash firmware pages (at most 4).
    static let lanes: Int = max(1, min(4, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))

    /// Adds `data` (a whole number of pages) as normal pages starting at `gpa`.
    public mutating func updateNormalPages(gpa: UInt64, data: [UInt8]) {
        data.withUnsafeBytes { updateNormalPages(gpa: gpa, data: $0) }
    }

    /// Adds one VMSA page (4096 bytes) at ``vmsaGPA``.
    public mutating func updateVMSAPage(_ page: [UInt8]) {
        precondition(page.count == Self.pageSize, "a VMSA page is 4 KiB")
        update(.vmsa, gpa: Self.vmsaGPA, contents: Digest.sha384(page))
    }

    /// Adds `size` bytes of pages of a contents-less type (zero, unmeasured) starting at `gpa`.
    public mutating func updateEmptyPages(_ type: SNPPageType, gpa: UInt64, size: UInt64) {
        var offset: UInt64 = 0
        while offset < size {
            update(type, gpa: gpa + offset, contents: Self.zeros)
            offset += UInt64(Self.pageSize)
        }
    }

    public mutating func updateZeroPages(gpa: UInt64, size: UInt64) { updateEmptyPages(.zero, gpa: gpa, size: size) }
    public mutating func updateSecretsPage(gpa: UInt64) { update(.secrets, gpa: gpa, contents: Self.zeros) }
    public mutating func updateCPUIDPage(gpa: UInt64) { update(.cpuid, gpa: gpa, contents: Self.zeros) }
}
