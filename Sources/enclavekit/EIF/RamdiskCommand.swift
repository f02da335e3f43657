import Archive
import ArgumentParser
import EnclaveCore
import Nitro

struct RamdiskCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ramdisk",
        abstract: "Write the bootstrap or app ramdisk byte for byte as nitro-cli's linuxkit does.",
        discussion: """
            Both ramdisks are uncompressed cpio (newc) archives in linuxkit's exact encoding, so their \
            SHA-384 hashes (and the PCRs of an EIF built from them) equal nitro-cli's.

            Examples:
              enclavekit eif ramdisk bootstrap --init blobs/init --nsm blobs/nsm.ko --output bootstrap.cpio
              enclavekit eif ramdisk app --image image.tar --output app.cpio
              enclavekit eif ramdisk app --rootfs rootfs --cmd cmd --env env --output app.cpio
            """,
        subcommands: [RamdiskBootstrapCommand.self, RamdiskAppCommand.self])
}

/// What the ramdisk commands print.
enum RamdiskReport {
    static func print(kind: String, output: String, json: Bool, extra: [(String, JSONValue)] = []) throws {
        let size = try FileInput(path: output).size
        let sha384 = try FileStream.hash(path: output, .sha384).hex
        if json {
            Output.json(
                .object(
                    [
                        ("Ramdisk", .string(kind)), ("Output", .string(output)), ("Size", .int(size)),
                        ("SHA384", .string(sha384)),
                    ] + extra))
        } else {
            Swift.print("\(output): \(kind) ramdisk, \(size) bytes")
            Output.table([("SHA384", sha384)] + extra.compactMap { key, value in value.stringValue.map { (key, $0) } })
        }
    }
}

struct RamdiskBootstrapCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bootstrap",
        abstract: "Write the bootstrap ramdisk (dev, init, nsm.ko).",
        discussion: """
            Examples:
              enclavekit eif ramdisk bootstrap --init /usr/share/nitro_enclaves/blobs/init \\
                --nsm /usr/share/nitro_enclaves/blobs/nsm.ko --output bootstrap.cpio
            """)

    @Option(name: .customLong("init"), help: "The init blob (nitro-cli's blobs/init).")
    var initPath: String

    @Option(name: .customLong("nsm"), help: "The NSM driver blob (blobs/nsm.ko).")
    var nsmPath: String

    @OptionGroup var outputOption: RamdiskOutputOption
    var output: String { outputOption.output }

    @OptionGroup var jsonOutput: JSONOutputOption
    var json: Bool { jsonOutput.json }

    func run() throws {
        try outputOption.checkAvailable()
        try LinuxKitRamdisk.writeBootstrap(
            initPath: initPath, nsmPath: nsmPath, to: output, existing: outputOption.existing)
        try RamdiskReport.print(kind: "bootstrap", output: output, json: json)
    }
}

struct RamdiskAppCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "app",
        abstract: "Write the app ramdisk (rootfs/, cmd, env) from a directory or a container image.",
        discussion: """
            With --image (a `docker save` or kaniko --tarPath tarball, or an OCI layout tarball) or \
            --image-layout (an OCI layout directory), the layers are verified against their digests and \
            flattened as `docker export` of a container of that image gives them (Docker's init-layer \
            entries included), and cmd/env come from the image config as nitro-cli writes them (Cmd, else \
            Entrypoint, one argument per line; Env). Symbolic links get mode 0777 whatever their tar header \
            says, as on Linux. An entry written through a symbolic link of the same layer (esc -> /, then \
            esc/tmp/file) lands where the link leads, resolved inside the image (at most 40 links, `..` \
            stops at the root), and the link stays; a layer writing through a link of a lower layer, or \
            through a link to nothing or to a file, is refused, since Docker's storage drivers disagree on it. \
            With --rootfs, the directory is taken as the exported root filesystem: entries keep their own \
            mode, owner and mtime (links 0777); --cmd and --env are copied verbatim.

            Examples:
              enclavekit eif ramdisk app --image image.tar --output app.cpio
              enclavekit eif ramdisk app --image-layout oci-dir --platform linux/arm64 --output app.cpio
              enclavekit eif ramdisk app --rootfs rootfs --cmd cmd --env env --output app.cpio
            """)

    @Option(help: "A root filesystem directory, taken as `docker export` would give it.")
    var rootfs: String?

    @Option(help: "With --rootfs: the cmd file (one argument per line).")
    var cmd: String?

    @Option(help: "With --rootfs: the env file (one KEY=VALUE per line).")
    var env: String?

    @OptionGroup var image: ContainerImageOptions

    @Option(help: "With an OCI index of several images: the platform to take (default linux/amd64).")
    var platform: String?

    @Flag(help: "Accept device nodes in image layers.")
    var allowDeviceNodes = false

    @OptionGroup var outputOption: RamdiskOutputOption
    var output: String { outputOption.output }

    @OptionGroup var jsonOutput: JSONOutputOption
    var json: Bool { jsonOutput.json }

    func validate() throws {
        let sources = [rootfs, image.image, image.imageLayout].compactMap { $0 }
        guard sources.count == 1 else {
            throw ValidationError("give exactly one of --rootfs DIR, --image IMAGE.tar or --image-layout DIR")
        }
        if rootfs != nil, cmd == nil || env == nil {
            throw ValidationError("--rootfs needs --cmd FILE and --env FILE")
        }
        if rootfs == nil, cmd != nil || env != nil {
            throw ValidationError("--cmd and --env go with --rootfs; an image's come from its config")
        }
    }

    func run() throws {
        try outputOption.checkAvailable()
        if let rootfs, let cmd, let env {
            try LinuxKitRamdisk.writeApp(
                rootfs: rootfs, cmdPath: cmd, envPath: env, to: output, existing: outputOption.existing)
            try RamdiskReport.print(kind: "app", output: output, json: json)
            return
        }
        guard let imagePath = image.path else { return }
        let container = try ContainerImage.open(path: imagePath, platform: platform)
        var options = FlattenOptions()
        options.allowDeviceNodes = allowDeviceNodes
        try LinuxKitRamdisk.writeApp(image: container, to: output, existing: outputOption.existing, options: options)
        try RamdiskReport.print(
            kind: "app", output: output, json: json,
            extra: [
                ("Layout", .string(container.layout.rawValue)), ("Layers", .int(container.layers.count)),
                ("Architecture", .string(container.config.architecture)),
            ])
    }
}
