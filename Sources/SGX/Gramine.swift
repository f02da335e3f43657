import EnclaveCore
import TOML
import TOMLKit

/// Gramine's layout constants, all in one place. Values are those of **Gramine 1.9** (tag v1.9), taken from
/// `pal/src/host/linux-sgx/pal_linux_defs.h`, `sgx_arch.h`, `pal_tcb.h`, `pal/include/arch/x86_64/pal_arch.h`
/// (the structs whose offsets `generated_offsets.c` exports to `sgx_sign.py`) and
/// `python/graminelibos/manifest.py` (defaults). Another Gramine version is a new instance of this struct.
public struct GramineConstants: Sendable {
    public var version: String
    public var ssaFrameSize: UInt64  // SSA_FRAME_SIZE (bytes)
    public var ssaFrameNum: UInt64  // SSA_FRAME_NUM
    public var tcsSize: UInt64  // sizeof(sgx_arch_tcs_t)
    public var enclaveStackSize: UInt64  // ENCLAVE_STACK_SIZE
    public var enclaveSigStackSize: UInt64  // ENCLAVE_SIG_STACK_SIZE
    public var defaultEnclaveBase: UInt64  // DEFAULT_ENCLAVE_BASE
    public var mmapMinAddr: UInt64  // MMAP_MIN_ADDR (enclave_heap_min)
    public var stackProtectorCanary: UInt64  // STACK_PROTECTOR_CANARY_DEFAULT
    public var gprSize: UInt64  // sizeof(sgx_pal_gpr_t)
    // sgx_arch_tcs_t field offsets
    public var tcsOSSA = 16, tcsNSSA = 28, tcsOEntry = 32, tcsOGSBase = 56, tcsOFSLimit = 64, tcsOGSLimit = 68
    // struct pal_enclave_tcb field offsets (PAL_TCB common part is 16 + PAL_LIBOS_TCB_SIZE 256 bytes)
    public var tlsSelf = 0, tlsCanary = 8, tlsEnclaveSize = 272, tlsTCSOffset = 280, tlsInitialStackAddr = 288
    public var tlsSigStackLow = 304, tlsSigStackHigh = 312, tlsSSA = 328, tlsGPR = 336
    public var tlsManifestSize = 416, tlsHeapMin = 424, tlsHeapMax = 432
    // manifest defaults
    public var defaultMaxThreads: UInt64 = 4
    public var defaultEnclaveSize = "256M"
    public var defaultEnclaveSizeWithEDMM = "1024G"

    public static let v1_9 = GramineConstants(
        version: "1.9", ssaFrameSize: 4 * 4096, ssaFrameNum: 2, tcsSize: 4096, enclaveStackSize: 64 * 4096,
        enclaveSigStackSize: 16 * 4096, defaultEnclaveBase: 0, mmapMinAddr: 0x10000,
        stackProtectorCanary: 0xbadb_adba_dbad, gprSize: 184)
}

/// The values of a Gramine manifest that enter MRENCLAVE (Gramine PR #1550): enclave size, thread count, EDMM.
public struct GramineManifestAttributes: Sendable, Equatable {
    public var enclaveSize: UInt64
    public var maxThreads: UInt64
    public var edmmEnable: Bool

    public init(enclaveSize: UInt64, maxThreads: UInt64, edmmEnable: Bool) {
        self.enclaveSize = enclaveSize
        self.maxThreads = maxThreads
        self.edmmEnable = edmmEnable
    }
}

/// Recomputes what `gramine-sgx-sign` (Gramine 1.9, `python/graminelibos/sgx_sign.py`
/// `get_mrenclave_and_manifest`) computes from the final manifest and `libpal.so` (<doc:EnclaveLayouts>): areas
/// placed top-down from `sgx.enclave_size` (manifest, SSA, TCS, TLS, stacks, signal stacks, libpal.so), then
/// the unmeasured "free" heap down to MMAP_MIN_ADDR (none with EDMM).
///
/// ```swift
/// let layout = try GramineLayout.plan(manifest: manifestBytes, libpal: elf)
/// let result = try layout.measure(file: libpalFile)
/// ```
public enum GramineLayout {
    public static let format = "Gramine"

    /// Manifests are read up to this size.
    public static let maxManifestBytes = 64 << 20

    /// Reads `sgx.enclave_size`, `sgx.max_threads`, `sgx.edmm_enable` (with Gramine's defaults) from the whole
    /// manifest, parsed as TOML by the shared `TOMLReader` (the TOML module, the same reader as recipes), so `[sgx]` tables,
    /// dotted keys (`sgx.max_threads = 4`) and inline tables (`sgx = { max_threads = 4 }`) all count, as they do
    /// for Gramine's `tomli`, and arrays of any length (hundreds of `fs.mounts`, `sgx.trusted_files`) are read.
    public static func attributes(manifest: [UInt8], constants: GramineConstants = .v1_9) throws
        -> GramineManifestAttributes
    {
        let root: TOMLTable
        do {
            root = try TOMLReader.parse(manifest, what: "manifest", limit: maxManifestBytes)
        } catch {
            throw FormatError(
                error.kind == .tooLarge ? .tooLarge : .badValue, format: "manifest",
                offset: error.offset.map(UInt64.init),
                error.description)
        }
        var sgx: TOMLTable?
        if let value = root["sgx"] {
            guard let table = value.table else {
                throw FormatError(
                    .badValue, format: "manifest", offset: nil, "sgx must be a table, found a \(value.type)")
            }
            sgx = table
        }
        var edmm = false
        if let v = sgx?["edmm_enable"] {
            guard let b = v.bool else {
                throw FormatError(.badValue, format: "manifest", offset: nil, "sgx.edmm_enable must be a boolean")
            }
            edmm = b
        }
        var threads = constants.defaultMaxThreads
        if let v = sgx?["max_threads"] {
            guard let n = v.int, n > 0, n <= 1 << 16 else {
                throw FormatError(
                    .badValue, format: "manifest", offset: nil, "sgx.max_threads must be an integer 1...65536")
            }
            threads = UInt64(n)
        }
        var sizeText = edmm ? constants.defaultEnclaveSizeWithEDMM : constants.defaultEnclaveSize
        if let v = sgx?["enclave_size"] {
            guard let s = v.string else {
                throw FormatError(
                    .badValue, format: "manifest", offset: nil, "sgx.enclave_size must be a string such as \"256M\"")
            }
            sizeText = s
        }
        guard let size = parseSize(sizeText) else {
            throw FormatError(
                .badValue, format: "manifest", offset: nil,
                "sgx.enclave_size \"\(sizeText)\" is not a size (a number with an optional K, M or G suffix)")
        }
        return GramineManifestAttributes(enclaveSize: size, maxThreads: threads, edmmEnable: edmm)
    }

    /// `sgx_sign.py` `parse_size`: optional K/M/G suffix, then Python's `int(value, 0)`.
    public static func parseSize(_ text: String) -> UInt64? {
        var body = Substring(text)
        var scale: UInt64 = 1
        switch body.last {
        case "K": scale = 1 << 10
        case "M": scale = 1 << 20
        case "G": scale = 1 << 30
        default: break
        }
        if scale != 1 { body = body.dropLast() }
        guard let value = PythonInteger.parse(String(body)) else { return nil }
        let (result, overflow) = value.multipliedReportingOverflow(by: scale)
        return overflow ? nil : result
    }

    private struct Area {
        var desc: String
        var addr: UInt64?
        var size: UInt64
        var flags: SecInfoFlags
        var measured = true
        var content: [UInt8]?
    }

    /// Plans the layout exactly as `sgx_sign.py` does for the given manifest bytes and libpal.so.
    public static func plan(manifest: [UInt8], libpal: ELFFile, constants c: GramineConstants = .v1_9) throws
        -> SGXLayout
    {
        let attr = try attributes(manifest: manifest, constants: c)
        let page = SGXRecord.pageSize
        func roundup(_ v: UInt64) -> UInt64 { (v + page - 1) & ~(page - 1) }
        func rounddown(_ v: UInt64) -> UInt64 { v & ~(page - 1) }
        guard attr.enclaveSize >= 8192, attr.enclaveSize.nonzeroBitCount == 1 else {
            throw FormatError(
                .badValue, format: "manifest", offset: nil,
                "sgx.enclave_size 0x\(String(attr.enclaveSize, radix: 16)) must be a power of two of at least 8K")
        }
        let threads = attr.maxThreads
        let loads = libpal.loadSegments
        guard !loads.isEmpty else {
            throw FormatError(.missing, format: ELFFile.format, offset: 32, "libpal.so has no PT_LOAD segment")
        }
        var mapaddr = UInt64.max
        var mapend: UInt64 = 0
        for ph in loads {
            mapaddr = min(mapaddr, rounddown(ph.vaddr))
            mapend = max(mapend, roundup(ph.vaddr + ph.memorySize))
        }
        let manifestContent = manifest + [0]
        var areas: [Area] = [
            Area(
                desc: "manifest", size: roundup(UInt64(manifestContent.count)), flags: .reg(read: true),
                content: manifestContent),
            Area(desc: "ssa", size: threads * c.ssaFrameSize * c.ssaFrameNum, flags: .reg(read: true, write: true)),
            Area(desc: "tcs", size: threads * c.tcsSize, flags: .tcs),
            Area(desc: "tls", size: threads * page, flags: .reg(read: true, write: true)),
        ]
        for _ in 0..<threads {
            areas.append(Area(desc: "stack", size: c.enclaveStackSize, flags: .reg(read: true, write: true)))
        }
        for _ in 0..<threads {
            areas.append(Area(desc: "sig_stack", size: c.enclaveSigStackSize, flags: .reg(read: true, write: true)))
        }
        areas.append(
            Area(
                desc: "pal", addr: mapaddr > 0 ? mapaddr : nil, size: mapend - mapaddr,
                flags: SecInfoFlags(rawValue: 0x200)))

        let base = c.defaultEnclaveBase
        let heapMin = c.mmapMinAddr
        var last = base + attr.enclaveSize
        for i in areas.indices where areas[i].addr == nil {
            guard areas[i].size <= last, last - areas[i].size >= heapMin else {
                throw FormatError(
                    .badValue, format: "manifest", offset: nil,
                    "sgx.enclave_size 0x\(String(attr.enclaveSize, radix: 16)) is not large enough for \(threads) threads and libpal.so (Gramine: \"Enclave size is not large enough\")"
                )
            }
            areas[i].addr = last - areas[i].size
            last = last - areas[i].size
        }
        func addr(_ desc: String) -> UInt64 { areas.first { $0.desc == desc }?.addr ?? 0 }
        let palAddr = addr("pal")
        let ssaAddr = addr("ssa")
        let tcsAddr = addr("tcs")
        let tlsAddr = addr("tls")
        let stacks = areas.filter { $0.desc == "stack" }
        let sigStacks = areas.filter { $0.desc == "sig_stack" }
        for area in areas {
            guard let a = area.addr else { continue }
            if !(a + area.size <= heapMin || a >= palAddr) {
                throw FormatError(
                    .overlap, format: format, offset: nil, "memory area \(area.desc) is in the heap range")
            }
        }
        var tcs = [UInt8](repeating: 0, count: Int(threads * c.tcsSize))
        var tls = [UInt8](repeating: 0, count: Int(threads * page))
        func put(_ buffer: inout [UInt8], _ at: Int, _ value: UInt64, _ width: Int = 8) {
            for i in 0..<width { buffer[at + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
        }
        for t in 0..<threads {
            let ssa = ssaAddr + c.ssaFrameSize * c.ssaFrameNum * t
            let tb = Int(t * c.tcsSize)
            put(&tcs, tb + c.tcsOSSA, ssa - base)
            put(&tcs, tb + c.tcsNSSA, c.ssaFrameNum, 4)
            put(&tcs, tb + c.tcsOEntry, palAddr &+ libpal.entry &- base)
            put(&tcs, tb + c.tcsOGSBase, tlsAddr - base + page * t)
            put(&tcs, tb + c.tcsOFSLimit, 0xfff, 4)
            put(&tcs, tb + c.tcsOGSLimit, 0xfff, 4)
            let lb = Int(t * page)
            put(&tls, lb + c.tlsSelf, tlsAddr + page * t)
            put(&tls, lb + c.tlsCanary, c.stackProtectorCanary)
            put(&tls, lb + c.tlsEnclaveSize, attr.enclaveSize)
            put(&tls, lb + c.tlsTCSOffset, tcsAddr - base + c.tcsSize * t)
            let stack = stacks[Int(t)]
            let sigStack = sigStacks[Int(t)]
            put(&tls, lb + c.tlsInitialStackAddr, (stack.addr ?? 0) + stack.size)
            put(&tls, lb + c.tlsSigStackLow, sigStack.addr ?? 0)
            put(&tls, lb + c.tlsSigStackHigh, (sigStack.addr ?? 0) + sigStack.size)
            put(&tls, lb + c.tlsSSA, ssa)
            put(&tls, lb + c.tlsGPR, ssa + c.ssaFrameSize - c.gprSize)
            put(&tls, lb + c.tlsManifestSize, UInt64(manifestContent.count))
            put(&tls, lb + c.tlsHeapMin, heapMin)
            put(&tls, lb + c.tlsHeapMax, palAddr)
        }
        for i in areas.indices {
            if areas[i].desc == "tcs" { areas[i].content = tcs }
            if areas[i].desc == "tls" { areas[i].content = tls }
        }
        var free: [Area] = []
        if !attr.edmmEnable {
            for area in areas {
                let end = (area.addr ?? 0) + area.size
                if end < last {
                    free.append(
                        Area(
                            desc: "free", addr: end, size: last - end,
                            flags: .reg(read: true, write: true, execute: true), measured: false))
                    last = area.addr ?? 0
                }
            }
            if last > heapMin {
                free.append(
                    Area(
                        desc: "free", addr: heapMin, size: last - heapMin,
                        flags: .reg(read: true, write: true, execute: true), measured: false))
            }
        }

        var regions: [SGXRegion] = []
        for area in areas + free {
            let a = area.addr ?? 0
            if area.desc == "pal" {
                let shift = a &- mapaddr
                for ph in loads {
                    var flags = area.flags.rawValue
                    if ph.flags & 4 != 0 { flags |= SecInfoFlags.read }
                    if ph.flags & 2 != 0 { flags |= SecInfoFlags.write }
                    if ph.flags & 1 != 0 { flags |= SecInfoFlags.execute }
                    let mAddr = rounddown(shift &+ ph.vaddr)
                    let mSize = roundup(shift &+ ph.vaddr &+ ph.memorySize) - mAddr
                    regions.append(
                        SGXRegion(
                            label: flags & SecInfoFlags.execute != 0 ? "pal code" : "pal data", offset: mAddr - base,
                            pageCount: mSize / page, flags: SecInfoFlags(rawValue: flags), measured: true,
                            source: .file(
                                pageStart: rounddown(ph.offset), valid: ph.offset..<ph.offset + ph.fileSize,
                                zeroOutside: true)))
                }
            } else {
                regions.append(
                    SGXRegion(
                        label: area.desc, offset: a - base, pageCount: area.size / page, flags: area.flags,
                        measured: area.measured, source: area.content.map { .bytes($0) } ?? .zero))
            }
        }
        return SGXLayout(
            format: format, size: attr.enclaveSize, ssaFrameSize: UInt32(c.ssaFrameSize / page), regions: regions)
    }
}
