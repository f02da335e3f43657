import ArgumentParser
import EnclaveCore
import Nitro

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// `--json`, declared once for the commands whose JSON replaces their text output as a whole. Commands whose
/// `--json` says more about its schema declare their own flag with that help.
struct JSONOutputOption: ParsableArguments {
    @Flag(help: "Print JSON instead of text.")
    var json = false
}

/// `--cache`, for the commands that read or fill EnclaveKit's cache (build, rebuild, compare).
struct CacheOption: ParsableArguments {
    @Option(help: "The cache directory (default $XDG_CACHE_HOME/enclavekit or ~/.cache/enclavekit).")
    var cache: String?
}

/// `--diffoscope`, for the commands that drill into differences (compare, rebuild).
struct DiffoscopeFlag: ParsableArguments {
    @Flag(help: "Add diffoscope's view of each differing entry (when diffoscope is installed).")
    var diffoscope = false
}

/// `--build-time` of the commands that write EIF metadata (eif build, eif build-enclave).
struct EIFBuildTimeOption: ParsableArguments {
    @Option(name: .customLong("build-time"), help: "RFC 3339 build time (default: SOURCE_DATE_EPOCH, else 1970).")
    var buildTime: String?

    /// `--build-time`, else SOURCE_DATE_EPOCH as RFC 3339, else the epoch; a malformed SOURCE_DATE_EPOCH
    /// is an error (the spec says so).
    func resolved() throws -> String {
        if let buildTime { return buildTime }
        guard let raw = getenv("SOURCE_DATE_EPOCH").map({ String(cString: $0) }), !raw.isEmpty else {
            return EIFMetadata.rfc3339(epochSeconds: 0)
        }
        guard let seconds = Int64(raw), seconds >= 0, raw.allSatisfy(\.isNumber) else {
            throw UsageError(
                "SOURCE_DATE_EPOCH=\(raw) is not a whole number of seconds", hint: "e.g. $(git log -1 --pretty=%ct)")
        }
        return EIFMetadata.rfc3339(epochSeconds: seconds)
    }
}

/// The optional signing pair of the commands that build an EIF (eif build, eif build-enclave): both or
/// neither. `eif sign` requires both and declares its own.
struct EIFSigningOptions: ParsableArguments {
    @Option(name: .customLong("private-key"), help: "EC private key (P-256/P-384/P-521 PEM) to sign PCR0 with.")
    var privateKey: String?

    @Option(name: .customLong("signing-certificate"), help: "The key's X.509 certificate (PEM); PCR8 measures it.")
    var signingCertificate: String?

    func validate() throws {
        guard (privateKey == nil) == (signingCertificate == nil) else {
            throw ValidationError("--private-key and --signing-certificate go together")
        }
    }

    /// The signer, when both files are given.
    func signer() throws -> EIFSigner? {
        guard let privateKey, let signingCertificate else { return nil }
        return try EIFSigner(privateKeyPath: privateKey, certificatePath: signingCertificate)
    }
}

/// A container image given as a tarball or an OCI layout directory (eif build-enclave, eif ramdisk app).
struct ContainerImageOptions: ParsableArguments {
    @Option(help: "A docker-archive tarball (docker save, kaniko --tarPath) or an OCI layout tarball.")
    var image: String?

    @Option(name: .customLong("image-layout"), help: "An OCI image layout directory.")
    var imageLayout: String?

    /// The image given, whichever option named it.
    var path: String? { image ?? imageLayout }
}

/// A file the user names with `--output` and the `--force` that lets it replace an existing one. Without
/// `--force` an existing file is refused before any work and again, race-free, when the new file is put in
/// place (`AtomicOutput.ExistingFile.refuse`).
protocol OutputFileOption {
    var output: String { get }
    var force: Bool { get }
}

extension OutputFileOption {
    /// Refuses an existing --output (without --force) before the command does any work.
    func checkAvailable() throws {
        if !force { try AtomicOutput.checkAbsent(output) }
    }

    /// What the library does with an existing --output: refuse it, or replace it under --force.
    var existing: AtomicOutput.ExistingFile { force ? .replace : .refuse }
}

/// `--output` of the commands that write an EIF from their inputs (eif build, eif build-enclave). `eif sign`
/// declares its own: its `--output` is optional and defaults to the input file.
struct EIFOutputOption: ParsableArguments, OutputFileOption {
    @Option(help: "The EIF to write.")
    var output: String

    @Flag(help: "Replace --output if it exists (without it an existing file is refused).")
    var force = false
}

/// `--output` of the ramdisk commands (eif ramdisk bootstrap, eif ramdisk app).
struct RamdiskOutputOption: ParsableArguments, OutputFileOption {
    @Option(help: "Where to write the ramdisk.")
    var output: String

    @Flag(help: "Replace --output if it exists (without it an existing file is refused).")
    var force = false
}
