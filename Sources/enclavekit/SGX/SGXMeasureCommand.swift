import ArgumentParser
import EnclaveCore
import SGX

struct SGXMeasureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "measure",
        abstract: "Compute MRENCLAVE from an SGXS stream, an ELF enclave or a Gramine manifest + libpal.so.",
        discussion: """
            --elf uses the Linux kernel SGX selftest rule: the first PT_LOAD (exactly RW) is TCS pages, pages \
            placed by file offset and measured, then --heap-size bytes of unmeasured RW heap, SIZE the next \
            power of two, SSAFRAMESIZE 1. --tail zero fills the bytes past p_filesz with zeros (Gramine's \
            loader) instead of taking them from the file. --gramine-manifest reproduces gramine-sgx-sign of \
            Gramine 1.9; the manifest is read as a whole TOML document, so sgx.enclave_size, sgx.max_threads \
            and sgx.edmm_enable count whether written in an [sgx] table, as dotted keys or as an inline table, \
            and TOML that is not valid is an error with its line and column.

            Examples:
              enclavekit sgx measure --sgxs enclave.sgxs
              enclavekit sgx measure --elf test_encl.elf --heap-size 4096 --sgxs-out test_encl.sgxs --verbose
              enclavekit sgx measure --gramine-manifest app.manifest.sgx --libpal /usr/lib/x86_64-linux-gnu/gramine/sgx/libpal.so --json
            """)

    @OptionGroup var input: SGXInputOptions

    @Option(name: .customLong("sgxs-out"), help: "Also write the measured record stream (SGXS) to this file.")
    var sgxsOut: String?

    @Flag(name: .shortAndLong, help: "Print the page layout.")
    var verbose = false

    @OptionGroup var jsonOutput: JSONOutputOption
    var json: Bool { jsonOutput.json }

    func validate() throws {
        guard input.given else {
            throw ValidationError("give --sgxs FILE, --elf FILE or --gramine-manifest FILE --libpal FILE")
        }
    }

    func run() throws {
        guard let measureInput = input.input else { return }
        let m = try SGXMeasurer.measure(measureInput, sgxsOut: sgxsOut, progress: ProgressBar.make)
        if json {
            Output.json(SGXMeasurer.json(m, verbose: verbose))
            return
        }
        if verbose {
            print("Attributes:")
            Output.table(
                [
                    ("size:", "0x" + String(m.size, radix: 16)), ("ssa_frame_size:", String(m.ssaFrameSize)),
                    ("pages_added:", String(m.pagesAdded)), ("chunks_extended:", String(m.chunksExtended)),
                ], indent: "    ")
            print("Memory:")
            for line in SGXMeasurer.layoutLines(m) { print("    " + line) }
            print("Measurement:")
            print("    " + m.mrenclave.hex)
        } else {
            print("mrenclave  \(m.mrenclave.hex)")
        }
    }
}

struct SGXSignCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign",
        abstract: "Build and sign a SIGSTRUCT (RSA-3072, e = 3, PKCS#1 v1.5 SHA-256).",
        discussion: """
            Defaults follow gramine-sgx-sign: ATTRIBUTES.FLAGS 0x4 (MODE64BIT, +0x2 with --debug), XFRM 0x3, \
            masks ffffffffffffffff / fffffffffff9ff1b, MISCMASK ffffffff. DATE defaults to 1970-01-01 so \
            the output is reproducible; PKCS#1 v1.5 is deterministic, so the same inputs give the same bytes. \
            The output file appears only when everything succeeded.

            Examples:
              enclavekit sgx sign --mrenclave 3ade32…5fd1 --key key.pem --out enclave.sig --date 2024-01-15
              enclavekit sgx sign --elf test_encl.elf --key key.pem --out test_encl.sig --isvprodid 1 --isvsvn 2
              enclavekit sgx sign --gramine-manifest app.manifest.sgx --libpal libpal.so --key key.pem --out app.sig --debug
            """)

    @OptionGroup var input: SGXInputOptions
    @OptionGroup var fields: SigstructFieldOptions

    @Option(help: "The RSA-3072, e = 3 private key (PEM); `enclavekit keygen --type sgx-rsa3072` makes one.")
    var key: String

    @OptionGroup var output: SigstructOutputOption

    @Flag(help: "Print the SIGSTRUCT's fields as JSON.")
    var json = false

    func run() throws {
        let rsa = try SGXRSAKey(pem: FileInput.contents(of: key, limit: 1 << 20, format: "PEM"), source: key)
        var sig = try fields.unsigned(input: input)
        try sig.sign(with: rsa)
        let written = try output.write(sig)
        if json {
            Output.json(sig.json(verification: try sig.verify()))
        } else {
            Output.table(written)
        }
    }
}

struct SGXGendataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gendata",
        abstract: "Two-step signing, step 1: write the 256 bytes to sign (SIGSTRUCT header ‖ body).",
        discussion: """
            Sign the output elsewhere (an HSM) with RSASSA-PKCS1-v1_5 SHA-256, e.g. \
            `openssl dgst -sha256 -sign key.pem -out sig.bin data.bin`, then assemble with `sgx catsig`.

            Examples:
              enclavekit sgx gendata --elf test_encl.elf --date 2024-01-15 --out data.bin
              enclavekit sgx gendata --mrenclave 3ade32…5fd1 --isvprodid 0x1234 --isvsvn 7 --debug --out data.bin
              enclavekit sgx gendata --mrenclave 0x3ade32…5fd1 --out data.bin --json | jq -r .sha256
            """)

    @OptionGroup var input: SGXInputOptions
    @OptionGroup var fields: SigstructFieldOptions

    @Option(help: "Where to write the 256 signing bytes.")
    var out: String

    @Flag(help: "Replace --out if it exists (without it an existing file is refused).")
    var force = false

    @Flag(help: "Print JSON ({\"mrenclave\", \"sha256\", \"written\"}) instead of text.")
    var json = false

    func run() throws {
        let sig = try fields.unsigned(input: input)
        try AtomicOutput.write(sig.signedBytes, to: out, existing: force ? .replace : .refuse)
        Output.report(
            [("mrenclave", sig.enclaveHash.hex), ("sha256", Digest.sha256(sig.signedBytes).hex), ("written", out)],
            json: json)
    }
}

struct SGXCatsigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catsig",
        abstract: "Two-step signing, step 2: assemble a SIGSTRUCT from the signing bytes and an external signature.",
        discussion: """
            The signature is the raw 384-byte big-endian RSA signature (what `openssl dgst -sign` writes); it \
            is verified against the public key before q1/q2 are computed and the SIGSTRUCT is written.

            Examples:
              enclavekit sgx catsig --data data.bin --signature sig.bin --public-key pub.pem --out enclave.sig
              enclavekit sgx catsig --data data.bin --signature sig.bin --public-key pub.pem --out enclave.sig --json
            """)

    @Option(help: "The 256 bytes written by `sgx gendata`.")
    var data: String

    @Option(help: "The 384-byte big-endian PKCS#1 v1.5 SHA-256 signature over them.")
    var signature: String

    @Option(name: .customLong("public-key"), help: "The signer's RSA-3072 e = 3 public (or private) key, PEM.")
    var publicKey: String

    @OptionGroup var output: SigstructOutputOption

    @Flag(help: "Print JSON ({\"mrenclave\", \"mrsigner\", \"written\"}) instead of text.")
    var json = false

    func run() throws {
        let bytes = try FileInput.contents(of: data, limit: 4096, format: "SIGSTRUCT signing data")
        let signatureBytes = try FileInput.contents(of: signature, limit: 4096, format: "signature")
        let key = try SGXRSAKey(
            pem: FileInput.contents(of: publicKey, limit: 1 << 20, format: "PEM"), source: publicKey)
        var sig: Sigstruct
        do {
            sig = try Sigstruct(signedBytes: bytes)
        } catch let error as FormatError {
            throw error.in(file: data)
        }
        do {
            try sig.attach(signature: signatureBytes, publicKey: key)
        } catch let error as FormatError {
            throw error.in(file: signature)
        }
        Output.report(try output.write(sig), json: json)
    }
}

struct SGXViewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "view",
        abstract:
            "Print a SIGSTRUCT: from a .sig file, or an ELF with .note.sgxmeta (Intel SDK) or .oeinfo (Open Enclave).",
        discussion: """
            Prints the fields of gramine-sgx-sigstruct-view --verbose (same JSON keys) and whether the \
            signature verifies; exits non-zero when it does not. MRSIGNER is SHA-256 of the little-endian \
            modulus as stored in the SIGSTRUCT.

            Examples:
              enclavekit sgx view app.sig
              enclavekit sgx view enclave.signed.so --json
            """)

    @Argument(help: "A .sig file or a signed enclave ELF.")
    var file: String

    @OptionGroup var jsonOutput: JSONOutputOption
    var json: Bool { jsonOutput.json }

    func run() throws {
        let found = try SigstructLocator.read(path: file)
        let verification = try found.sigstruct.verify()
        var value = found.sigstruct.json(verification: verification)
        if case .object(var pairs) = value {
            pairs.append(("source", .string(found.source.rawValue)))
            pairs.append(("offset", .int(found.offset)))
            value = .object(pairs)
        }
        if json {
            Output.json(value)
        } else if case .object(let pairs) = value {
            print("Attributes:")
            for (key, v) in pairs {
                let text: String
                switch v {
                case .string(let s): text = s
                case .number(let n): text = n
                case .bool(let b): text = b ? "True" : "False"
                default: text = v.serialized()
                }
                print("    \(key): \(text)")
            }
        }
        guard verification.isValid else {
            throw UsageError(
                "\(file): the SIGSTRUCT signature does not verify"
                    + (verification.signatureValid ? " (q1/q2 are wrong)" : " with its own modulus"))
        }
    }
}

struct SGXMrsignerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mrsigner",
        abstract: "Print the MRSIGNER of an RSA-3072, e = 3 key (SHA-256 of its little-endian modulus).",
        discussion: """
            Hashing the big-endian modulus (`openssl rsa -modulus` order) is a classic mistake; this prints \
            the value EINIT puts in MRSIGNER.

            Examples:
              enclavekit sgx mrsigner key.pem
              enclavekit sgx mrsigner pub.pem --json
            """)

    @Argument(help: "A PEM private or public key.")
    var key: String

    @OptionGroup var jsonOutput: JSONOutputOption
    var json: Bool { jsonOutput.json }

    func run() throws {
        let rsa = try SGXRSAKey(pem: FileInput.contents(of: key, limit: 1 << 20, format: "PEM"), source: key)
        let value = SGXSigningKey.mrsigner(of: rsa).hex
        if json {
            Output.json(.object([("mr_signer", .string(value))]))
        } else {
            print("mrsigner  \(value)")
        }
    }
}
