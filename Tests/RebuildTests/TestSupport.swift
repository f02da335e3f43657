import Archive
import EnclaveCore
import Foundation
import Nitro
import TestSupport

/// One member of a test cpio archive.
struct Member: Sendable {
    var name: String
    var type: CPIOFileType = .regular
    var mode: UInt32 = 0o644
    var uid: UInt32 = 0
    var mtime: Int64 = 1_700_000_000
    var data: [UInt8] = []

    static func file(_ name: String, _ text: String, mode: UInt32 = 0o644) -> Member {
        Member(name: name, mode: mode, data: Array(text.utf8))
    }
}

enum Build {
    /// A newc archive of `members` (linuxkit profile), as bytes.
    static func cpio(_ members: [Member]) throws -> [UInt8] {
        let out = MemoryByteOutput()
        let writer = CPIOWriter(output: out, profile: .linuxkit)
        for m in members {
            let entry = CPIOEntry(
                name: m.name, type: m.type, permissions: m.mode, uid: m.uid, mtime: m.mtime, size: UInt64(m.data.count))
            try writer.append(entry, data: m.data.isEmpty ? .none : .bytes(m.data))
        }
        try writer.finish()
        return out.bytes
    }

    static let bootstrap: [Member] = [
        Member(name: "dev", type: .directory, mode: 0o755),
        Member(name: "init", mode: 0o755, data: Array(repeating: 0x7F, count: 3000) + [1, 2, 3]),
    ]

    static let app: [Member] = [
        Member(name: "rootfs", type: .directory, mode: 0o755),
        Member(name: "rootfs/app.js", mode: 0o644, data: Array("const a = 1;\nconsole.log(a);\nexit(0);\n".utf8)),
        Member(name: "rootfs/bin", type: .directory, mode: 0o755),
        Member(name: "rootfs/bin/node", mode: 0o755, data: (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 13) }),
        Member(name: "rootfs/bin/sh", type: .symlink, mode: 0o777, data: Array("busybox".utf8)),
        Member.file("cmd", "/bin/node\n/app.js\n"),
        Member.file("env", "PATH=/bin\n"),
    ]

    /// An EIF with a kernel, a cmdline, the bootstrap and app ramdisks; returns its path.
    static func eif(
        in dir: TestDirectory, name: String, kernel: [UInt8] = (0..<4096).map { UInt8($0 % 251) },
        cmdline: String = "console=ttyS0", app: [Member] = Build.app, buildTime: String = "2023-11-14T22:13:20Z"
    ) throws -> String {
        let k = try dir.write("\(name).kernel", kernel)
        let r0 = try dir.write("\(name).bootstrap.cpio", try cpio(bootstrap))
        let r1 = try dir.write("\(name).app.cpio", try cpio(app))
        let request = EIFBuildRequest(
            kernelPath: k, cmdline: cmdline, ramdiskPaths: [r0, r1],
            metadata: EIFMetadata(imageName: "example", imageVersion: "0.1.0", buildTime: buildTime))
        let out = dir.file("\(name).eif")
        _ = try EIFBuilder.build(request, to: out)
        return out
    }
}
