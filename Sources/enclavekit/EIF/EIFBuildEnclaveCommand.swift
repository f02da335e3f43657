import Archive
import ArgumentParser
import EnclaveCore
import FoundationEssentials
import Measure
import Nitro

struct EIFBuildEnclaveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build-enclave",
        abstract: "nitro-cli build-enclave without Docker: an image tarball and nitro-cli's blobs to an EIF.",
        discussion: """
            Takes a `docker save`/kaniko `--tarPath` tarball or an OCI layout and a folder laid out like \
            nitro-cli's blobs (bzImage or Image, cmdline, init, nsm.ko, optionally bzImage.config), and \
            writes the bootstrap ramdisk, the app ramdisk and the EIF as nitro-cli 1.x would: same \
            ramdisk bytes, so the same PCR0, PCR1 and PCR2. The EIF's metadata differs from \
            nitro-cli's (no wall-clock time, no `docker inspect` output); it is not measured. The layers \
            are flattened as `enclavekit eif ramdisk app --image` does (see its --help): symbolic links \
            0777 as on Linux, entries written through a link of the same layer land where it leads, and a \
            layer writing through a link of a lower layer is refused.

            Examples:
              enclavekit eif build-enclave --image app.tar --blobs /usr/share/nitro_enclaves/blobs --output app.eif
              enclavekit eif build-enclave --image-layout oci-dir --blobs blobs --output app.eif --json
            """)

    static let defaultBlobs = "/usr/share/nitro_enclaves/blobs"

    @OptionGroup var image: ContainerImageOptions

    @Option(help: "nitro-cli's blobs folder (default: \(defaultBlobs) when it exists).")
    var blobs: String?

    @OptionGroup var outputOption: EIFOutputOption
    var output: String { outputOption.output }

    @Option(help: "Image name in the metadata (default: the image file's name).")
    var name: String?

    @Option(help: "Image version in the metadata (default: 1.0).")
    var version: String?

    @OptionGroup var buildTime: EIFBuildTimeOption

    @OptionGroup var signing: EIFSigningOptions

    @Flag(help: "Print nitro-cli build-enclave's JSON ({\"Measurements\": …}).")
    var json = false

    func validate() throws {
        guard (image.image == nil) != (image.imageLayout == nil) else {
            throw ValidationError("give exactly one of --image and --image-layout")
        }
    }

    func run() throws {
        try outputOption.checkAvailable()
        let imagePath = image.path ?? ""
        let blobDir = try resolveBlobs()
        let container = try ContainerImage.open(path: imagePath)
        let arch: EIFArchitecture
        switch container.config.architecture {
        case "amd64", "x86_64": arch = .x86_64
        case "arm64", "aarch64": arch = .aarch64
        default:
            throw UsageError("\(imagePath): image architecture \(container.config.architecture) is not amd64 or arm64")
        }
        let kernelName = arch == .x86_64 ? "bzImage" : "Image"
        for blob in [kernelName, "cmdline", "init", "nsm.ko"]
        where FileStatus("\(blobDir)/\(blob)", followLinks: true) == nil {
            throw UsageError(
                "\(blobDir)/\(blob) is missing", hint: "--blobs must hold \(kernelName), cmdline, init and nsm.ko")
        }
        // nitro-cli trims the cmdline blob (it ends with a newline, which is not measured).
        let cmdline = String(decoding: try FileInput.contents(of: "\(blobDir)/cmdline", limit: 1 << 20), as: UTF8.self)
            .trimmingFoundationWhitespacesAndNewlines()

        let work = try TemporaryDirectory(
            in: URL(fileURLWithPath: output).deletingLastPathComponent().path, prefix: ".enclavekit-work-")
        let imageName = name ?? String(imagePath.split(separator: "/").last ?? "enclave")
        var build = EnclaveImageBuild(
            kernel: "\(blobDir)/\(kernelName)", cmdline: cmdline, initPath: "\(blobDir)/init",
            application: .image(container),
            metadata: EIFMetadata(
                imageName: imageName, imageVersion: version ?? "1.0",
                buildTime: try buildTime.resolved(), buildTool: "enclavekit",
                buildToolVersion: EnclaveKitVersion.string, operatingSystem: "Linux", kernelVersion: "unknown"))
        build.nsmPath = "\(blobDir)/nsm.ko"
        build.architecture = arch
        // nitro-cli reads the kernel's version from bzImage.config when the blobs have one.
        let kernelConfig = "\(blobDir)/\(kernelName).config"
        if FileManager.default.isReadableFile(atPath: kernelConfig) { build.kernelConfig = kernelConfig }
        build.signer = try signing.signer()
        let m = try build.write(to: output, existing: outputOption.existing, workDirectory: work.path)
        EIFReport.print(m, heading: "\(output): EIF v4 (\(arch.rawValue)) from \(imagePath)", json: json)
    }

    func resolveBlobs() throws -> String {
        if let blobs { return blobs }
        if FileStatus.isDirectory(Self.defaultBlobs) {
            return Self.defaultBlobs
        }
        throw UsageError(
            "no --blobs folder given and \(Self.defaultBlobs) does not exist",
            hint: "pass --blobs DIR with bzImage, cmdline, init and nsm.ko (from nitro-cli's package)")
    }
}

extension String {
    /// Without leading and trailing characters of Foundation's `CharacterSet.whitespacesAndNewlines` (general
    /// category Z*, U+0009 to U+000D, U+0085 and U+200B), scalar by scalar as `trimmingCharacters(in:)` did
    /// (checked equal over every scalar); that method is in Foundation, which loads ICU, not in
    /// FoundationEssentials.
    fileprivate func trimmingFoundationWhitespacesAndNewlines() -> String {
        let scalars = unicodeScalars
        let isBlank = { (s: Unicode.Scalar) in
            switch s.properties.generalCategory {
            case .spaceSeparator, .lineSeparator, .paragraphSeparator: return true
            default: return (0x09...0x0D).contains(s.value) || s.value == 0x85 || s.value == 0x200B
            }
        }
        guard let first = scalars.firstIndex(where: { !isBlank($0) }),
            let last = scalars.lastIndex(where: { !isBlank($0) })
        else { return "" }
        return String(scalars[first...last])
    }
}
