import EnclaveCore

/// What to measure: one of the three inputs `enclavekit sgx measure` accepts.
public enum SGXMeasureInput: Sendable {
    /// An SGXS stream (MRENCLAVE = SHA-256 of its measured records).
    case sgxs(path: String)
    /// An ELF enclave under the Linux selftest loading rule.
    case elf(path: String, heapSize: UInt64, tail: ELFTailRule)
    /// A Gramine final manifest (`*.manifest.sgx`) and the `libpal.so` it was signed with.
    case gramine(manifest: String, libpal: String, constants: GramineConstants)
}

/// One-call MRENCLAVE for the CLI: picks the layout rule, streams the input, optionally writes the SGXS.
///
/// ```swift
/// let m = try SGXMeasurer.measure(.elf(path: "test_encl.elf", heapSize: 4096, tail: .file))
/// print(m.mrenclave.hex)
/// ```
public enum SGXMeasurer {
    /// `progress` starts a reporter for the bytes measured (`measuring PATH`); `nil` reports nothing.
    public static func measure(_ input: SGXMeasureInput, sgxsOut: String? = nil, progress: ProgressFactory? = nil)
        throws -> SGXMeasurement
    {
        switch input {
        case .sgxs(let path):
            guard sgxsOut == nil else {
                throw SGXError.sgxsOutputFromSGXS
            }
            let file = try FileInput(path: path)
            let bar = progress?("measuring \(path)", file.size)
            defer { bar?.finish() }
            let s = try SGXSReader.read(file: file, progress: bar)
            return SGXMeasurement(
                mrenclave: s.mrenclave, size: s.size, ssaFrameSize: s.ssaFrameSize, pagesAdded: s.pageCount,
                chunksExtended: s.measuredChunks, layout: s.layout)
        case .elf(let path, let heapSize, let tail):
            let file = try FileInput(path: path)
            do {
                let layout = try SelftestELFLayout.plan(elf: ELFFile(file: file), heapSize: heapSize, tail: tail)
                let bar = progress?("measuring \(path)", layout.measuredPages * 4096)
                defer { bar?.finish() }
                return try layout.measure(file: file, sgxsOut: sgxsOut, progress: bar)
            } catch let error as FormatError {
                throw error.in(file: path)
            }
        case .gramine(let manifestPath, let libpalPath, let constants):
            let manifest = try FileInput.contents(of: manifestPath, limit: 64 << 20, format: "manifest")
            let libpal = try FileInput(path: libpalPath)
            let elf: ELFFile
            do { elf = try ELFFile(file: libpal) } catch let error as FormatError { throw error.in(file: libpalPath) }
            do {
                let layout = try GramineLayout.plan(manifest: manifest, libpal: elf, constants: constants)
                let bar = progress?("measuring \(manifestPath)", layout.measuredPages * 4096)
                defer { bar?.finish() }
                return try layout.measure(file: libpal, sgxsOut: sgxsOut, progress: bar)
            } catch let error as FormatError {
                throw error.in(file: error.format == "manifest" ? manifestPath : libpalPath)
            }
        }
    }

    /// The measurement as JSON (`mr_enclave` as gramine-sgx-sigstruct-view names it).
    public static func json(_ m: SGXMeasurement, verbose: Bool) -> JSONValue {
        var pairs: [(String, JSONValue)] = [
            ("mr_enclave", .string(m.mrenclave.hex)),
            ("enclave_size", .string("0x" + String(m.size, radix: 16))),
            ("ssa_frame_size", .int(m.ssaFrameSize)),
            ("pages_added", .int(m.pagesAdded)),
            ("chunks_extended", .int(m.chunksExtended)),
        ]
        if verbose {
            pairs.append(
                (
                    "layout",
                    .array(
                        m.layout.map { run in
                            .object([
                                ("offset", .string("0x" + String(run.offset, radix: 16))),
                                ("pages", .int(run.pageCount)),
                                ("flags", .string("0x" + String(run.flags.rawValue, radix: 16))),
                                ("type", .string(run.flags.description)),
                                ("measurement", .string(run.measurement)),
                                ("label", .string(run.label)),
                            ])
                        })
                ))
        }
        return .object(pairs)
    }

    /// `0000000000010000-0000000000018000 [REG:RW-] (ssa) measured`, like `gramine-sgx-sign --verbose`.
    public static func layoutLines(_ m: SGXMeasurement) -> [String] {
        m.layout.map { run in
            func hex16(_ v: UInt64) -> String {
                let s = String(v, radix: 16)
                return String(repeating: "0", count: max(0, 16 - s.count)) + s
            }
            let label = run.label.isEmpty ? "" : " (\(run.label))"
            return "\(hex16(run.offset))-\(hex16(run.end)) [\(run.flags)]\(label) \(run.measurement)"
        }
    }
}

/// The settable SIGSTRUCT fields of `enclavekit sgx sign`/`gendata`, with Gramine's defaults
/// (MODE64BIT, +DEBUG with `debug`; XFRM 0x3; masks all-ones / 0xfffffffffff9ff1b / 0xffffffff).
public struct SigstructFields: Sendable {
    public var date = SGXDate(year: 1970, month: 1, day: 1)
    public var isvProdID: UInt16 = 0
    public var isvSVN: UInt16 = 0
    public var debug = false
    public var vendor: UInt32 = 0
    public var swDefined: UInt32 = 0
    public var miscSelect: UInt32 = 0
    public var miscMask: UInt32 = 0xffff_ffff
    /// ATTRIBUTES.FLAGS; nil means MODE64BIT (0x4). `debug` adds DEBUG (0x2) either way.
    public var attributesFlags: UInt64?
    public var attributesXfrm: UInt64 = 0x3
    public var attributeMaskFlags: UInt64 = 0xffff_ffff_ffff_ffff
    public var attributeMaskXfrm: UInt64 = 0xffff_ffff_fff9_ff1b

    public init() {}

    /// An unsigned SIGSTRUCT carrying `mrenclave` and these fields.
    public func sigstruct(mrenclave: [UInt8]) -> Sigstruct {
        var s = Sigstruct(enclaveHash: mrenclave)
        s.date = date
        s.vendor = vendor
        s.swDefined = swDefined
        s.isvProdID = isvProdID
        s.isvSVN = isvSVN
        s.miscSelect = miscSelect
        s.miscMask = miscMask
        s.attributesFlags = (attributesFlags ?? 0x4) | (debug ? 0x2 : 0)
        s.attributesXfrm = attributesXfrm
        s.attributeMaskFlags = attributeMaskFlags
        s.attributeMaskXfrm = attributeMaskXfrm
        return s
    }
}
