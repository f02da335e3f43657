import ArgumentParser
import EnclaveCore
import Measure
import Nitro

struct EIFBuildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Build an EIF, byte for byte as AWS's eif_build does (same flag names).",
        discussion: """
            Sections are written in eif_build's order (Kernel, Cmdline, Metadata, Ramdisk…, Signature). \
            With the same flags and inputs the file is byte-identical to eif_build 0.3.1's, except a \
            signature (ECDSA is randomized). Differences, on purpose:
              - the build time never comes from the clock: --build-time, else SOURCE_DATE_EPOCH, \
            else 1970-01-01T00:00:00+00:00;
              - ImageVersion is --version when given (nitro-cli's rule); eif_build ignores --version and \
            uses --name, which is what happens here when --version is absent.
            Metadata defaults are eif_build's (BuildTool eif_build, 0.3.1, OS, kernel).

            Examples:
              enclavekit eif build --kernel bzImage --cmdline "$(cat cmdline)" --ramdisk bootstrap.cpio \\
                --ramdisk app.cpio --name node --output node.eif
              enclavekit eif build ... --private-key key.pem --signing-certificate cert.pem --json
            """)

    @Option(help: "Kernel image (bzImage on x86_64, Image on aarch64).")
    var kernel: String

    @Option(help: "Kernel command line, measured verbatim (no trailing newline is added or removed).")
    var cmdline: String

    @Option(help: "A ramdisk; repeat in order (the first is the bootstrap ramdisk, measured in PCR1).")
    var ramdisk: [String] = []

    @OptionGroup var outputOption: EIFOutputOption
    var output: String { outputOption.output }

    @Option(help: "x86_64 or aarch64.")
    var arch: String = "x86_64"

    @Option(help: "Image name (default: the kernel's file name).")
    var name: String?

    @Option(help: "Image version (default: --name, as eif_build, else 1.0).")
    var version: String?

    @OptionGroup var buildTime: EIFBuildTimeOption

    @Option(name: .customLong("build-tool")) var buildTool: String = "eif_build"
    @Option(name: .customLong("build-tool-version")) var buildToolVersion: String = "0.3.1"
    @Option(name: .customLong("img-os"), help: "OperatingSystem metadata (default: OS, or from --kernel-config).")
    var imgOS: String?
    @Option(name: .customLong("img-kernel"), help: "KernelVersion metadata (default: kernel, or from --kernel-config).")
    var imgKernel: String?

    @Option(
        name: .customLong("kernel-config"), help: "Kernel config (bzImage.config) to take OS and kernel version from.")
    var kernelConfig: String?

    @OptionGroup var signing: EIFSigningOptions

    @Option(help: "Hash for every PCR: sha384 (Nitro's), sha256 or sha512 (eif_build --algo).")
    var algo: String = "sha384"

    @Flag(help: "Print nitro-cli's JSON ({\"Measurements\": …}) instead of text.")
    var json = false

    func validate() throws {
        guard EIFArchitecture(rawValue: arch) != nil else {
            throw ValidationError("--arch must be x86_64 or aarch64, not \(arch)")
        }
        guard HashAlgorithm(rawValue: algo) != nil else {
            throw ValidationError("--algo must be sha256, sha384 or sha512")
        }
        guard !ramdisk.isEmpty else {
            throw ValidationError("at least one --ramdisk is needed (the bootstrap ramdisk)")
        }
    }

    func run() throws {
        try outputOption.checkAvailable()
        let time = try buildTime.resolved()
        var os = imgOS ?? "OS"
        var kernelVersion = imgKernel ?? "kernel"
        if let kernelConfig {
            let text = String(decoding: try FileInput.contents(of: kernelConfig, limit: 16 << 20), as: UTF8.self)
            guard let info = EIFMetadata.kernelInfo(fromConfig: text) else {
                throw UsageError("\(kernelConfig): line 3 is not '# Linux/ARCH VERSION Kernel Configuration'")
            }
            os = imgOS ?? info.os
            kernelVersion = imgKernel ?? info.kernel
        }
        let imageName = name ?? String(kernel.split(separator: "/").last ?? Substring(kernel))
        let metadata = EIFMetadata(
            imageName: imageName, imageVersion: version ?? name ?? "1.0", buildTime: time, buildTool: buildTool,
            buildToolVersion: buildToolVersion, operatingSystem: os, kernelVersion: kernelVersion)
        var request = EIFBuildRequest(kernelPath: kernel, cmdline: cmdline, ramdiskPaths: ramdisk, metadata: metadata)
        request.architecture = EIFArchitecture(rawValue: arch) ?? .x86_64
        request.algorithm = HashAlgorithm(rawValue: algo) ?? .sha384
        request.signer = try signing.signer()
        let total = ([kernel] + ramdisk).compactMap { try? FileInput(path: $0).size }.reduce(0, +)
        let bar = ProgressBar(label: "building \(output)", total: total)
        let m = try EIFBuilder.build(request, to: output, existing: outputOption.existing, progress: bar)
        bar.finish()
        EIFReport.print(m, heading: "\(output): EIF v4 (\(arch))", json: json)
    }
}
