import ArgumentParser
import EnclaveCore
import SGX

struct SGXCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sgx",
        abstract: "Intel SGX: MRENCLAVE, SIGSTRUCT and MRSIGNER.",
        discussion: """
            Recompute MRENCLAVE offline from an SGXS stream, an ELF enclave (Linux selftest rule) or a Gramine \
            manifest + libpal.so; sign SIGSTRUCTs (in one step, or in two with gendata/catsig); read them back.

            Examples:
              enclavekit sgx measure --sgxs enclave.sgxs
              enclavekit sgx sign --gramine-manifest app.manifest.sgx --libpal libpal.so --key key.pem --out app.sig
              enclavekit sgx view app.sig --json
            """,
        subcommands: [
            SGXMeasureCommand.self, SGXSignCommand.self, SGXGendataCommand.self, SGXCatsigCommand.self,
            SGXViewCommand.self, SGXMrsignerCommand.self,
        ])
}

/// An unsigned integer given in decimal or as 0x-prefixed hex.
struct IntegerArgument<Value: FixedWidthInteger & UnsignedInteger & Sendable>: ExpressibleByArgument, Sendable {
    var value: Value
    init?(argument: String) {
        let v: Value?
        if argument.hasPrefix("0x") || argument.hasPrefix("0X") {
            v = Hex.integer(argument)
        } else {
            v = Value(argument, radix: 10)
        }
        guard let v else { return nil }
        value = v
    }
}

/// A hex number (with or without 0x).
struct HexArgument<Value: FixedWidthInteger & UnsignedInteger & Sendable>: ExpressibleByArgument, Sendable {
    var value: Value
    init?(argument: String) {
        guard let v: Value = Hex.integer(argument) else { return nil }
        value = v
    }
}

extension ELFTailRule: ExpressibleByArgument {}

/// The inputs of an MRENCLAVE computation, shared by `measure`, `sign` and `gendata`.
struct SGXInputOptions: ParsableArguments {
    @Option(name: .customLong("sgxs"), help: "An SGXS stream (Fortanix format).")
    var sgxs: String?

    @Option(name: .customLong("elf"), help: "An ELF enclave, laid out with the Linux SGX selftest rule.")
    var elf: String?

    @Option(
        name: .customLong("heap-size"), help: "ELF rule: bytes of unmeasured heap after the segments (default 4096).")
    var heapSize: IntegerArgument<UInt64>?

    @Option(name: .customLong("tail"), help: "ELF rule: bytes past p_filesz in a segment's last page: file or zero.")
    var tail: ELFTailRule = .file

    @Option(
        name: .customLong("gramine-manifest"), help: "A Gramine final manifest (*.manifest.sgx), Gramine 1.9 layout.")
    var gramineManifest: String?

    @Option(name: .customLong("libpal"), help: "The libpal.so the Gramine manifest runs with.")
    var libpal: String?

    var given: Bool { sgxs != nil || elf != nil || gramineManifest != nil }

    func validate() throws {
        let count = [sgxs, elf, gramineManifest].compactMap { $0 }.count
        guard count <= 1 else { throw ValidationError("give only one of --sgxs, --elf, --gramine-manifest") }
        if gramineManifest != nil && libpal == nil {
            throw ValidationError("--gramine-manifest needs --libpal (the libpal.so of the same Gramine build)")
        }
        if libpal != nil && gramineManifest == nil { throw ValidationError("--libpal goes with --gramine-manifest") }
        if elf == nil && (heapSize != nil || tail != .file) {
            throw ValidationError("--heap-size and --tail apply to --elf only")
        }
        if let heapSize, heapSize.value % 4096 != 0 {
            throw ValidationError("--heap-size must be a multiple of 4096 (whole pages)")
        }
    }

    var input: SGXMeasureInput? {
        if let sgxs { return .sgxs(path: sgxs) }
        if let elf {
            return .elf(path: elf, heapSize: heapSize?.value ?? SelftestELFLayout.defaultHeapSize, tail: tail)
        }
        if let gramineManifest, let libpal {
            return .gramine(manifest: gramineManifest, libpal: libpal, constants: .v1_9)
        }
        return nil
    }
}

/// `--out` of the commands that write a whole SIGSTRUCT (sgx sign, sgx catsig), and the writing. `sgx gendata`
/// declares its own: it writes the 256 bytes to sign, not a SIGSTRUCT.
struct SigstructOutputOption: ParsableArguments {
    @Option(help: "Where to write the 1808-byte SIGSTRUCT.")
    var out: String

    @Flag(help: "Replace --out if it exists (without it an existing file is refused).")
    var force = false

    /// Writes the signed SIGSTRUCT to --out (atomically) and returns the rows both commands print.
    func write(_ sig: Sigstruct) throws -> [(String, String)] {
        try AtomicOutput.write(sig.serialized, to: out, existing: force ? .replace : .refuse)
        return [("mrenclave", sig.enclaveHash.hex), ("mrsigner", sig.mrsigner.hex), ("written", out)]
    }
}

/// SIGSTRUCT fields shared by `sign` and `gendata`.
struct SigstructFieldOptions: ParsableArguments {
    @Option(help: "MRENCLAVE to sign (64 hex digits, optional 0x), instead of measuring an input.")
    var mrenclave: String?

    @Option(help: "SIGSTRUCT.DATE, YYYY-MM-DD (stored as BCD). Default 1970-01-01 for reproducibility.")
    var date: String?

    @Option(help: "ISVPRODID (decimal or 0x hex).")
    var isvprodid: IntegerArgument<UInt16>?

    @Option(help: "ISVSVN (decimal or 0x hex).")
    var isvsvn: IntegerArgument<UInt16>?

    @Flag(help: "Set ATTRIBUTES.DEBUG (0x2): the SIGSTRUCT then only launches debug enclaves.")
    var debug = false

    @Option(help: "MISCSELECT (hex).")
    var miscselect: HexArgument<UInt32>?

    @Option(help: "MISCMASK (hex, default ffffffff).")
    var miscmask: HexArgument<UInt32>?

    @Option(name: .customLong("attributes-flags"), help: "ATTRIBUTES.FLAGS (hex, default 4 = MODE64BIT).")
    var attributesFlags: HexArgument<UInt64>?

    @Option(name: .customLong("attributes-xfrm"), help: "ATTRIBUTES.XFRM (hex, default 3).")
    var attributesXfrm: HexArgument<UInt64>?

    @Option(name: .customLong("attributemask-flags"), help: "ATTRIBUTEMASK flags (hex, default ffffffffffffffff).")
    var attributemaskFlags: HexArgument<UInt64>?

    @Option(name: .customLong("attributemask-xfrm"), help: "ATTRIBUTEMASK xfrm (hex, default fffffffffff9ff1b).")
    var attributemaskXfrm: HexArgument<UInt64>?

    @Option(help: "VENDOR (hex: 0 or 8086).")
    var vendor: HexArgument<UInt32>?

    @Option(help: "SWDEFINED (hex).")
    var swdefined: HexArgument<UInt32>?

    func validate() throws {
        if let mrenclave, Hex.decode(mrenclave)?.count != 32 {
            throw ValidationError("--mrenclave must be 64 hex digits (32 bytes)")
        }
        if let date, SGXDate(date) == nil { throw ValidationError("--date must be YYYY-MM-DD, e.g. 2024-01-15") }
        if let vendor, vendor.value != 0 && vendor.value != 0x8086 {
            throw ValidationError("--vendor must be 0 or 8086 (EINIT rejects other values)")
        }
    }

    var fields: SigstructFields {
        var f = SigstructFields()
        if let date, let d = SGXDate(date) { f.date = d }
        if let isvprodid { f.isvProdID = isvprodid.value }
        if let isvsvn { f.isvSVN = isvsvn.value }
        f.debug = debug
        if let miscselect { f.miscSelect = miscselect.value }
        if let miscmask { f.miscMask = miscmask.value }
        f.attributesFlags = attributesFlags?.value
        if let attributesXfrm { f.attributesXfrm = attributesXfrm.value }
        if let attributemaskFlags { f.attributeMaskFlags = attributemaskFlags.value }
        if let attributemaskXfrm { f.attributeMaskXfrm = attributemaskXfrm.value }
        if let vendor { f.vendor = vendor.value }
        if let swdefined { f.swDefined = swdefined.value }
        return f
    }

    /// The unsigned SIGSTRUCT: MRENCLAVE from --mrenclave or from measuring `input`.
    func unsigned(input: SGXInputOptions) throws -> Sigstruct {
        if mrenclave != nil && input.given {
            throw UsageError("give either --mrenclave or an input to measure, not both")
        }
        if let mrenclave, let bytes = Hex.decode(mrenclave) { return fields.sigstruct(mrenclave: bytes) }
        guard let measureInput = input.input else {
            throw UsageError(
                "nothing to sign",
                hint: "give --mrenclave HEX, --sgxs FILE, --elf FILE or --gramine-manifest FILE --libpal FILE")
        }
        return fields.sigstruct(mrenclave: try SGXMeasurer.measure(measureInput, progress: ProgressBar.make).mrenclave)
    }
}
