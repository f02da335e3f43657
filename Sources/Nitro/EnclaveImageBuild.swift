import Archive
import EnclaveCore

/// nitro-cli's `build-enclave` without Docker, the one flow behind `enclavekit eif build-enclave` and the
/// Nitro targets of `enclavekit build`: the bootstrap ramdisk (`dev`, `init`, `nsm.ko` when given) and the
/// app ramdisk (linuxkit layout: `rootfs/`, `cmd`, `env`), both in linuxkit's byte format, then the EIF
/// (<doc:NitroCLIRamdisks>).
///
/// ```swift
/// var build = EnclaveImageBuild(
///     kernel: "blobs/bzImage", cmdline: "reboot=k", initPath: "blobs/init",
///     application: .image(try ContainerImage.open(path: "app.tar")), metadata: metadata)
/// build.nsmPath = "blobs/nsm.ko"
/// let pcrs = try build.write(to: "app.eif", workDirectory: scratch)
/// ```
public struct EnclaveImageBuild {
    /// What goes into the app ramdisk.
    public enum Application {
        /// A container image, flattened as `docker export` gives it, with its config's `cmd` and `env`.
        case image(ContainerImage)
        /// A root filesystem already listed, with nitro-cli's `cmd` and `env` file contents.
        case export(ExportList, cmd: [UInt8], env: [UInt8])
    }

    public var kernel: String
    public var cmdline: String
    public var initPath: String
    public var nsmPath: String?
    public var application: Application
    public var architecture: EIFArchitecture = .x86_64
    /// The metadata section; ``kernelConfig`` fills in its operating system and kernel version.
    public var metadata: EIFMetadata
    /// The kernel's `.config`: when set, its version line gives the metadata's OS and kernel version.
    public var kernelConfig: String?
    /// Set over what ``kernelConfig`` gives (a recipe's `image-os`, `image-kernel`).
    public var operatingSystem: String?
    public var kernelVersion: String?
    public var signer: EIFSigner?

    public init(kernel: String, cmdline: String, initPath: String, application: Application, metadata: EIFMetadata) {
        self.kernel = kernel
        self.cmdline = cmdline
        self.initPath = initPath
        self.application = application
        self.metadata = metadata
    }

    /// Writes the two ramdisks into `workDirectory` (named `PREFIX-bootstrap.cpio`, `PREFIX-app.cpio`),
    /// then the EIF to `output` (temporary name and rename), and returns its measurements. `existing`: whether
    /// an existing file at `output` is replaced or refused (`AtomicOutput.ExistingFile`).
    public func write(
        to output: String, existing: AtomicOutput.ExistingFile = .replace, workDirectory: String,
        prefix: String = "enclave"
    ) throws -> EIFMeasurements {
        let bootstrap = workDirectory + "/\(prefix)-bootstrap.cpio"
        let app = workDirectory + "/\(prefix)-app.cpio"
        try LinuxKitRamdisk.writeBootstrap(initPath: initPath, nsmPath: nsmPath, to: bootstrap)
        switch application {
        case .image(let image):
            try LinuxKitRamdisk.writeApp(image: image, to: app)
        case .export(let list, let cmd, let env):
            let appOutput = try FileByteOutput(path: app)
            try LinuxKitRamdisk.writeApp(export: list, cmd: cmd, env: env, to: appOutput)
            try appOutput.commit()
        }
        var metadata = metadata
        if let kernelConfig {
            let text = String(
                decoding: try FileInput.contents(of: kernelConfig, limit: 16 << 20, format: "kernel config"),
                as: UTF8.self)
            if let info = EIFMetadata.kernelInfo(fromConfig: text) {
                metadata.operatingSystem = info.os
                metadata.kernelVersion = info.kernel
            }
        }
        if let operatingSystem { metadata.operatingSystem = operatingSystem }
        if let kernelVersion { metadata.kernelVersion = kernelVersion }
        var request = EIFBuildRequest(
            kernelPath: kernel, cmdline: cmdline, ramdiskPaths: [bootstrap, app], metadata: metadata)
        request.architecture = architecture
        request.signer = signer
        return try EIFBuilder.build(request, to: output, existing: existing)
    }
}
