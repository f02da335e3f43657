import Archive
import EnclaveCore

/// The two Nitro Enclaves ramdisks byte for byte as nitro-cli 1.x's (AWS-patched) linuxkit writes
/// them with `--format kernel+initrd-nogz` (Nitro catalog, article "nitro-cli Ramdisks"): the bootstrap ramdisk (`dev`,
/// `init`, `nsm.ko`) and the app ramdisk (`rootfs/` from `docker export`, `cmd`, `env`).
///
/// ```swift
/// try LinuxKitRamdisk.writeBootstrap(initPath: "blobs/init", nsmPath: "blobs/nsm.ko", to: "bootstrap.cpio")
/// try LinuxKitRamdisk.writeApp(rootfs: "rootfs", cmdPath: "cmd", envPath: "env", to: "app.cpio")
/// ```
public enum LinuxKitRamdisk {
    /// linuxkit's `defaultModTime`, 2017-04-18T16:30:00Z: the mtime of every entry it synthesizes.
    public static let defaultModTime: Int64 = 1_492_533_000

    /// The fixed `/etc/hosts` that linuxkit writes in place of the image's (160 bytes).
    public static let hostsFile: [UInt8] = Array(
        """
        127.0.0.1       localhost
        ::1     localhost ip6-localhost ip6-loopback
        fe00::0 ip6-localnet
        ff00::0 ip6-mcastprefix
        ff02::1 ip6-allnodes
        ff02::2 ip6-allrouters

        """.utf8)

    /// Where linuxkit points `/etc/resolv.conf` for `init:` images (`resolvconfSymlink`).
    public static let resolvConfTarget: [UInt8] = Array("/run/resolvconf/resolv.conf".utf8)

    // MARK: - Bootstrap

    /// Writes the bootstrap ramdisk: `dev` (directory 0755), `init` and `nsm.ko` (regular 0755, the
    /// blobs' bytes), all uid/gid 0 and mtime ``defaultModTime``, then the trailer.
    /// `existing`: whether an existing file at `path` is replaced or refused (`AtomicOutput.ExistingFile`).
    public static func writeBootstrap(
        initPath: String, nsmPath: String?, to path: String, existing: AtomicOutput.ExistingFile = .replace
    ) throws {
        let out = try FileByteOutput(path: path, existing: existing)
        try writeBootstrap(initPath: initPath, nsmPath: nsmPath, to: out)
        try out.commit()
    }

    /// Writes the bootstrap ramdisk to any `ByteOutput`.
    /// Without `nsmPath` the ramdisk has no `nsm.ko` (for kernels with the NSM driver built in, or none).
    public static func writeBootstrap(initPath: String, nsmPath: String?, to output: any ByteOutput) throws {
        let cpio = CPIOWriter(output: output, profile: .linuxkit)
        try cpio.append(CPIOEntry(name: "dev", type: .directory, permissions: 0o755, mtime: defaultModTime))
        let members = [("init", initPath)] + (nsmPath.map { [("nsm.ko", $0)] } ?? [])
        for (name, source) in members {
            let size = try FileInput(path: source).size
            try cpio.append(
                CPIOEntry(name: name, type: .regular, permissions: 0o755, mtime: defaultModTime, size: size),
                data: .file(source))
        }
        try cpio.finish()
    }

    // MARK: - App

    /// Writes the app ramdisk from a directory that holds the container's root filesystem, as if it
    /// were `docker export`ed: entries keep their own mode, owner and mtime (`DirectoryExport`).
    /// `cmdPath` and `envPath` are copied verbatim as `/cmd` and `/env`.
    public static func writeApp(
        rootfs: String, cmdPath: String, envPath: String, to path: String,
        existing: AtomicOutput.ExistingFile = .replace
    ) throws {
        let cmd = try FileInput.contents(of: cmdPath, limit: 16 << 20, format: "cmd")
        let env = try FileInput.contents(of: envPath, limit: 16 << 20, format: "env")
        let out = try FileByteOutput(path: path, existing: existing)
        try writeApp(export: DirectoryExport(root: rootfs), cmd: cmd, env: env, to: out)
        try out.commit()
    }

    /// Writes the app ramdisk from an export stream and the `cmd`/`env` file contents.
    public static func writeApp(
        export: some ExportSource, cmd: [UInt8], env: [UInt8], to output: any ByteOutput
    ) throws {
        let cpio = CPIOWriter(output: output, profile: .linuxkit)
        let builder = AppRamdiskBuilder(cpio: cpio)
        try builder.begin()
        try export.forEachEntry { try builder.add($0) }
        try builder.finish(cmd: cmd, env: env)
    }
}

/// The linuxkit `ImageTar` filter (prefix `rootfs/`, `resolv` = ``LinuxKitRamdisk/resolvConfTarget``)
/// followed by `initrd.CopySplitTar`, over a stream of export entries.
final class AppRamdiskBuilder {
    private let cpio: CPIOWriter
    private var touchFound: Set<[UInt8]> = []
    private let modTime = LinuxKitRamdisk.defaultModTime

    /// Exact tar names that linuxkit drops (`exclude`).
    static let excluded: Set<[UInt8]> = Set(
        [".dockerenv", "Dockerfile", "dev/console", "dev/pts", "dev/shm", "etc/hostname"].map { Array($0.utf8) })

    /// linuxkit's `touch` table, in `sort.Strings` order of its keys: the name to create when the
    /// key is missing, the type, the mode and (for links) the target.
    static let touch: [(key: String, name: String, type: CPIOFileType, mode: UInt32, target: [UInt8]?)] = [
        ("dev/", "dev", .directory, 0o755, nil),
        ("dev/pts/", "dev/pts", .directory, 0o755, nil),
        ("dev/shm/", "dev/shm", .directory, 0o755, nil),
        ("etc/", "etc", .directory, 0o755, nil),
        ("etc/hosts", "etc/hosts", .regular, 0o644, nil),
        ("etc/mtab", "etc/mtab", .symlink, 0o755, Array("/proc/mounts".utf8)),
        ("etc/resolv.conf", "etc/resolv.conf", .symlink, 0o644, LinuxKitRamdisk.resolvConfTarget),
        ("proc/", "proc", .directory, 0o755, nil),
        ("sys/", "sys", .directory, 0o755, nil),
    ]
    static let touchKeys: Set<[UInt8]> = Set(touch.map { Array($0.key.utf8) })
    static let hostsName = Array("etc/hosts".utf8)
    static let resolvName = Array("etc/resolv.conf".utf8)
    static let prefix = Array("rootfs/".utf8)

    init(cpio: CPIOWriter) { self.cpio = cpio }

    /// `filepath.Rel(filepath.Dir(name), target)` for two relative paths: the relative symlink that
    /// linuxkit writes in place of a tar hard link.
    static func relativeLink(from name: [UInt8], to target: [UInt8]) -> [UInt8] {
        var base = PathBytes.clean(name)
        if !base.isEmpty { base.removeLast() }
        let targ = PathBytes.clean(target)
        var common = 0
        while common < base.count, common < targ.count, base[common] == targ[common] { common += 1 }
        var parts: [[UInt8]] = Array(repeating: [UInt8(ascii: "."), UInt8(ascii: ".")], count: base.count - common)
        parts.append(contentsOf: targ[common...])
        if parts.isEmpty { return [UInt8(ascii: ".")] }
        return Array(parts.joined(separator: [UInt8(ascii: "/")]))
    }

    /// `tarPrefix("rootfs/")`: the `rootfs` directory.
    func begin() throws {
        try cpio.append(CPIOEntry(name: "rootfs", type: .directory, permissions: 0o755, mtime: modTime))
    }

    func add(_ entry: ExportEntry) throws {
        let name = entry.name
        if Self.excluded.contains(name) { return }
        let outName = Self.prefix + name
        if name == Self.hostsName {
            touchFound.insert(name)
            try cpio.append(
                CPIOEntry(
                    name: outName, type: .regular, permissions: entry.permissions, uid: entry.uid, gid: entry.gid,
                    mtime: modTime, size: UInt64(LinuxKitRamdisk.hostsFile.count)),
                data: .bytes(LinuxKitRamdisk.hostsFile))
            return
        }
        if name == Self.resolvName {
            touchFound.insert(name)
            let target = LinuxKitRamdisk.resolvConfTarget
            try cpio.append(
                CPIOEntry(
                    name: outName, type: .symlink, permissions: entry.permissions, uid: entry.uid, gid: entry.gid,
                    mtime: modTime, size: UInt64(target.count)),
                data: .bytes(target))
            return
        }
        var mtime = entry.mtime
        if Self.touchKeys.contains(name) {
            mtime = modTime
            touchFound.insert(name)
        }
        let header = { (type: CPIOFileType, size: UInt64) in
            CPIOEntry(
                name: outName, type: type, permissions: entry.permissions, uid: entry.uid, gid: entry.gid,
                mtime: mtime, size: size, rdevMajor: entry.rdevMajor, rdevMinor: entry.rdevMinor)
        }
        switch entry.kind {
        case .directory: try cpio.append(header(.directory, 0))
        case .regular: try cpio.append(header(.regular, entry.size), data: entry.data)
        case .symlink(let target): try cpio.append(header(.symlink, UInt64(target.count)), data: .bytes(target))
        case .hardlink(let target):
            let link = Self.relativeLink(from: outName, to: Self.prefix + target)
            try cpio.append(header(.symlink, UInt64(link.count)), data: .bytes(link))
        case .characterDevice: try cpio.append(header(.characterDevice, 0))
        case .blockDevice: try cpio.append(header(.blockDevice, 0))
        case .fifo: try cpio.append(header(.fifo, 0))
        }
    }

    /// The touch entries the export lacked, the `files:` section and the trailer.
    func finish(cmd: [UInt8], env: [UInt8]) throws {
        for item in Self.touch where !touchFound.contains(Array(item.key.utf8)) {
            let name = Self.prefix + Array(item.name.utf8)
            switch item.type {
            case .symlink:
                let target = item.target ?? []
                try cpio.append(
                    CPIOEntry(
                        name: name, type: .symlink, permissions: item.mode, mtime: modTime, size: UInt64(target.count)),
                    data: .bytes(target))
            case .regular:
                let hosts = LinuxKitRamdisk.hostsFile
                try cpio.append(
                    CPIOEntry(
                        name: name, type: .regular, permissions: item.mode, mtime: modTime, size: UInt64(hosts.count)),
                    data: .bytes(hosts))
            default:
                try cpio.append(CPIOEntry(name: name, type: item.type, permissions: item.mode, mtime: modTime))
            }
        }
        try cpio.append(CPIOEntry(name: "rootfs", type: .directory, permissions: 0o755, mtime: modTime))
        for dir in ["dev", "run", "sys", "var", "proc", "tmp"] {
            try cpio.append(CPIOEntry(name: "rootfs/" + dir, type: .directory, permissions: 0o755, mtime: modTime))
        }
        try cpio.append(
            CPIOEntry(name: "cmd", type: .regular, permissions: 0o644, mtime: modTime, size: UInt64(cmd.count)),
            data: .bytes(cmd))
        try cpio.append(
            CPIOEntry(name: "env", type: .regular, permissions: 0o644, mtime: modTime, size: UInt64(env.count)),
            data: .bytes(env))
        try cpio.finish()
    }
}

extension LinuxKitRamdisk {
    /// Writes the app ramdisk of a container image: its layers flattened as `docker export` gives them,
    /// `cmd`/`env` from its config as nitro-cli writes them (`ImageConfig.cmdFile()`).
    public static func writeApp(
        image: ContainerImage, to path: String, existing: AtomicOutput.ExistingFile = .replace,
        options: FlattenOptions = FlattenOptions()
    ) throws {
        let cmd = try image.config.cmdFile()
        let env = image.config.envFile()
        let rootfs = try image.flatten(options: options)
        let out = try FileByteOutput(path: path, existing: existing)
        try writeApp(export: rootfs, cmd: cmd, env: env, to: out)
        try out.commit()
    }
}
