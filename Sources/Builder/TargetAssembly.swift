import Archive
import EnclaveCore
import Nitro
import Release
import SEVSNP
import SGX
import TDX

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// What every target needs from the build: the release's name and time, the root filesystem, the
/// command and environment the init runs, and the output directory artifacts go to.
public struct TargetContext: Sendable {
    public var releaseName: String
    public var releaseVersion: String
    public var sourceDateEpoch: Int64
    public var rootfs: RootfsTree
    public var cmd: [String]
    public var environment: [String]
    /// The directory artifacts are written to; names in the manifest are relative to it.
    public var outputDirectory: String
    /// Scratch space for intermediate files of this one context (ramdisks before they go into an EIF, the
    /// initrd the TDX and SEV-SNP targets share): never reuse it for another rootfs.
    public var workDirectory: String

    public init(
        releaseName: String, releaseVersion: String, sourceDateEpoch: Int64, rootfs: RootfsTree, cmd: [String],
        environment: [String], outputDirectory: String, workDirectory: String
    ) {
        self.releaseName = releaseName
        self.releaseVersion = releaseVersion
        self.sourceDateEpoch = sourceDateEpoch
        self.rootfs = rootfs
        self.cmd = cmd
        self.environment = environment
        self.outputDirectory = outputDirectory
        self.workDirectory = workDirectory
    }

    /// nitro-cli's `cmd` file: one argument per line, each ending in a newline.
    var cmdFile: [UInt8] { Array(cmd.map { $0 + "\n" }.joined().utf8) }
    /// nitro-cli's `env` file: one `KEY=VALUE` per line.
    var envFile: [UInt8] { Array(environment.map { $0 + "\n" }.joined().utf8) }

    func path(_ name: String) -> String { outputDirectory + "/" + name }
}

/// One built target: its manifest entry and the artifacts it wrote (relative names).
public struct BuiltTarget: Sendable {
    public var manifest: ReleaseManifest.Target
    public var artifacts: [String]
}

/// A Nitro target with its inputs resolved to host files.
public struct NitroTargetSpec: Sendable {
    public var name: String
    public var kernel: String
    public var kernelConfig: String?
    public var cmdline: String
    public var initPath: String
    public var nsmPath: String?
    public var architecture: EIFArchitecture = .x86_64
    public var imageOS: String?
    public var imageKernel: String?
    public var buildTool: String?
    public var buildToolVersion: String?

    public init(name: String, kernel: String, cmdline: String, initPath: String) {
        self.name = name
        self.kernel = kernel
        self.cmdline = cmdline
        self.initPath = initPath
    }
}

/// A TDX or SEV-SNP target with its inputs resolved to host files.
public struct ConfidentialVMTargetSpec: Sendable {
    public var name: String
    public var firmware: String
    public var kernel: String?
    public var cmdline: String?
    public var initPath: String?

    public init(name: String, firmware: String) {
        self.name = name
        self.firmware = firmware
    }
}

/// Builds each platform's artifacts from the root filesystem and measures them with the same
/// modules `enclavekit measure` uses.
public enum TargetAssembly {
    // MARK: Nitro

    /// `NAME/RELEASE.eif`: the bootstrap ramdisk (`dev`, `init`, `nsm.ko` when given) and the app ramdisk
    /// (linuxkit layout: `rootfs/`, `cmd`, `env`), both in linuxkit's byte format, with EIF metadata
    /// from the recipe and a build time of SOURCE_DATE_EPOCH.
    public static func nitro(_ spec: NitroTargetSpec, context: TargetContext) throws -> BuiltTarget {
        let rootfs = ExportList(context.rootfs.exportEntries(sourceDateEpoch: context.sourceDateEpoch))
        var build = EnclaveImageBuild(
            kernel: spec.kernel, cmdline: spec.cmdline, initPath: spec.initPath,
            application: .export(rootfs, cmd: context.cmdFile, env: context.envFile),
            metadata: EIFMetadata(
                imageName: context.releaseName, imageVersion: context.releaseVersion,
                buildTime: EIFMetadata.rfc3339(epochSeconds: context.sourceDateEpoch),
                buildTool: spec.buildTool ?? "enclavekit", buildToolVersion: spec.buildToolVersion ?? "0.1"))
        build.nsmPath = spec.nsmPath
        build.architecture = spec.architecture
        build.kernelConfig = spec.kernelConfig
        build.operatingSystem = spec.imageOS
        build.kernelVersion = spec.imageKernel
        let eifName = "\(spec.name)/\(context.releaseName).eif"
        try FileTree.makeDirectories(context.path(spec.name))
        let m = try build.write(to: context.path(eifName), workDirectory: context.workDirectory, prefix: spec.name)
        let settings: JSONValue = .object([
            ("arch", .string(spec.architecture.rawValue)),
            ("cmdline", .string(spec.cmdline)),
            ("bootstrap", .string(spec.nsmPath == nil ? "init" : "init+nsm.ko")),
            ("kernelSha256", .string(try FileStream.hash(path: spec.kernel, .sha256).hex)),
        ])
        let target = ReleaseManifest.Target(
            name: spec.name, platform: .nitro, artifacts: [eifName],
            measurements: [("PCR0", m.pcr0.hex), ("PCR1", m.pcr1.hex), ("PCR2", m.pcr2.hex)], settings: settings)
        return BuiltTarget(manifest: target, artifacts: [eifName])
    }

    // MARK: TDX and SEV-SNP

    /// Writes `NAME/firmware.fd`, and with a kernel `NAME/kernel`, `NAME/initrd.cpio` (canonical: `init`,
    /// `rootfs/`, `cmd`, `env`) and `NAME/cmdline`; returns the artifact names and their host paths.
    static func bootSet(_ spec: ConfidentialVMTargetSpec, context: TargetContext) throws -> (
        names: [String], firmware: String, kernel: String?, initrd: String?
    ) {
        try FileTree.makeDirectories(context.path(spec.name))
        var names = ["\(spec.name)/firmware.fd"]
        try copyFile(spec.firmware, to: context.path(names[0]))
        guard let kernel = spec.kernel, let initPath = spec.initPath else {
            return (names, context.path(names[0]), nil, nil)
        }
        let kernelName = "\(spec.name)/kernel"
        let initrdName = "\(spec.name)/initrd.cpio"
        let cmdlineName = "\(spec.name)/cmdline"
        try copyFile(kernel, to: context.path(kernelName))
        // The initrd depends only on the rootfs, cmd, env (one per build) and the init: targets with the same
        // init (TDX and SEV-SNP usually) share one written in the work directory, which matters when the
        // rootfs is a whole environment.
        let shared = context.workDirectory + "/initrd-" + Digest.sha256(Array(initPath.utf8)).hex + ".cpio"
        if FileStatus(shared) == nil {
            let initSize = try FileInput(path: initPath).size
            let cmd = context.cmdFile
            let env = context.envFile
            let initrd = try FileByteOutput(path: shared)
            try context.rootfs.writeInitrd(
                extra: [
                    ("cmd", .bytes(cmd), UInt64(cmd.count), 0o644), ("env", .bytes(env), UInt64(env.count), 0o644),
                    ("init", .file(initPath), initSize, 0o755),
                ], sourceDateEpoch: context.sourceDateEpoch, to: initrd)
            try initrd.commit()
        }
        if link(shared, context.path(initrdName)) != 0 { try copyFile(shared, to: context.path(initrdName)) }
        try AtomicOutput.write(Array((spec.cmdline ?? "").utf8), to: context.path(cmdlineName))
        names += [kernelName, initrdName, cmdlineName]
        return (names, context.path(names[0]), context.path(kernelName), context.path(initrdName))
    }

    /// A TDX target: MRTD and RTMR0–3 of the boot set under the given VMM settings.
    public static func tdx(
        _ spec: ConfidentialVMTargetSpec, inputs template: TDXMeasureInputs, vcpus: Int, context: TargetContext
    ) throws -> BuiltTarget {
        let set = try bootSet(spec, context: context)
        var inputs = template
        inputs.firmware = set.firmware
        inputs.kernel = set.kernel
        inputs.initrd = set.initrd
        inputs.cmdline = spec.cmdline ?? ""
        let m = try TDXMeasurer.measure(inputs)
        var measurements: [(String, String)] = [("MRTD", m.mrtd.hex)]
        for (i, r) in m.rtmrs.enumerated() {
            if let r { measurements.append(("RTMR\(i)", r.hex)) }
        }
        let order = try inputs.effectivePageAddOrder
        var settings: [(String, JSONValue)] = [
            ("memory", .int(inputs.memorySize)), ("vcpus", .int(UInt64(vcpus))),
            ("qemu", .string(inputs.qemuVersion.description)), ("pageAddOrder", .string(order.rawValue)),
            ("kernelHeaderPatch", .bool(inputs.effectivePatchKernelHeader)),
            ("cmdline", .string(inputs.cmdline)), ("cmdlineInitrd", .string(inputs.cmdlineInitrd.rawValue)),
            ("acpiTables", .bool(inputs.acpiTables != nil)),
        ]
        if !m.notes.isEmpty { settings.append(("notes", .array(m.notes.map { .string($0) }))) }
        let target = ReleaseManifest.Target(
            name: spec.name, platform: .tdx, artifacts: set.names, measurements: measurements,
            settings: .object(settings))
        return BuiltTarget(manifest: target, artifacts: set.names)
    }

    /// An SEV-SNP target: the launch digest (the attestation report's MEASUREMENT) for the VMM settings.
    public static func sevSNP(
        _ spec: ConfidentialVMTargetSpec, request template: SNPMeasureRequest, vcpuType: String,
        context: TargetContext
    ) throws -> BuiltTarget {
        let set = try bootSet(spec, context: context)
        var request = template
        request.firmware = .path(set.firmware)
        request.kernel = set.kernel
        request.initrd = set.initrd
        request.append = set.kernel == nil ? nil : (spec.cmdline ?? "")
        let m = try SNPMeasure.measure(request)
        let settings: JSONValue = .object([
            ("vcpus", .int(UInt64(request.vcpus))), ("vcpuType", .string(vcpuType)),
            ("vmm", .string(request.vmm.rawValue)),
            (
                "guestFeatures",
                .string(
                    "0x"
                        + String(
                            request.guestFeatures,
                            radix: 16))
            ),
            ("kernelHashes", .bool(set.kernel != nil)),
            ("cmdline", spec.cmdline.map { .string($0) } ?? .null),
        ])
        let target = ReleaseManifest.Target(
            name: spec.name, platform: .sevSNP, artifacts: set.names, measurements: [("MEASUREMENT", m.digest.hex)],
            settings: settings)
        return BuiltTarget(manifest: target, artifacts: set.names)
    }

    // MARK: SGX

    /// `NAME/enclave.elf` and `NAME/enclave.sig`: MRENCLAVE by the Linux selftest rule and a SIGSTRUCT
    /// dated from SOURCE_DATE_EPOCH (RSA PKCS#1 v1.5 is deterministic, so the `.sig` reproduces).
    public static func sgx(
        name: String, enclave: String, signingKey: String, heapSize: UInt64, fields template: SigstructFields,
        context: TargetContext
    ) throws -> BuiltTarget {
        try FileTree.makeDirectories(context.path(name))
        let elfName = "\(name)/enclave.elf"
        let sigName = "\(name)/enclave.sig"
        try copyFile(enclave, to: context.path(elfName))
        let m = try SGXMeasurer.measure(
            .elf(path: context.path(elfName), heapSize: heapSize, tail: .file))
        var fields = template
        fields.date = sgxDate(epochSeconds: context.sourceDateEpoch)
        var sig = fields.sigstruct(mrenclave: m.mrenclave)
        let key = try SGXRSAKey(
            pem: FileInput.contents(of: signingKey, limit: 1 << 20, format: "PEM"), source: signingKey)
        try sig.sign(with: key)
        try AtomicOutput.write(sig.serialized, to: context.path(sigName))
        let settings: JSONValue = .object([
            ("heapSize", .int(heapSize)), ("isvProdId", .int(UInt64(fields.isvProdID))),
            ("isvSvn", .int(UInt64(fields.isvSVN))),
            ("attributes", .string("0x" + String(sig.attributesFlags, radix: 16))),
            ("xfrm", .string("0x" + String(sig.attributesXfrm, radix: 16))),
            ("miscSelect", .string("0x" + String(fields.miscSelect, radix: 16))),
            ("date", .string(fields.date.description)),
        ])
        let target = ReleaseManifest.Target(
            name: name, platform: .sgx, artifacts: [elfName, sigName],
            measurements: [("MRENCLAVE", m.mrenclave.hex), ("MRSIGNER", sig.mrsigner.hex)], settings: settings)
        return BuiltTarget(manifest: target, artifacts: [elfName, sigName])
    }

    /// The UTC calendar date of an epoch time (SIGSTRUCT's DATE field).
    static func sgxDate(epochSeconds: Int64) -> SGXDate {
        let text = EIFMetadata.rfc3339(epochSeconds: epochSeconds)
        let parts = text.prefix(10).split(separator: "-").compactMap { Int($0) }
        return SGXDate(year: parts[0], month: parts[1], day: parts[2])
    }
}
