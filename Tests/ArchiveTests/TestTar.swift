import Archive
import EnclaveCore
import Foundation

/// A tiny ustar/PAX writer for building layers and image tarballs inside tests.
struct TestTar {
    enum Kind: UInt8 {
        case regular = 0x30  // "0"
        case hardlink = 0x31
        case symlink = 0x32
        case char = 0x33
        case block = 0x34
        case directory = 0x35
        case fifo = 0x36
    }

    struct Entry {
        var name: String
        var kind: Kind = .regular
        var mode: UInt32 = 0o644
        var uid: Int = 0
        var gid: Int = 0
        var mtime: Int = 1_700_000_000
        var data: [UInt8] = []
        var link: String = ""
        var pax: [(String, String)] = []
        var devMajor = 0
        var devMinor = 0
    }

    var bytes: [UInt8] = []

    static func file(
        _ name: String, _ text: String, mode: UInt32 = 0o644, uid: Int = 0, gid: Int = 0, mtime: Int = 1_700_000_000
    )
        -> Entry
    {
        Entry(name: name, kind: .regular, mode: mode, uid: uid, gid: gid, mtime: mtime, data: Array(text.utf8))
    }

    static func dir(_ name: String, mode: UInt32 = 0o755, uid: Int = 0, gid: Int = 0, mtime: Int = 1_700_000_000)
        -> Entry
    {
        Entry(name: name, kind: .directory, mode: mode, uid: uid, gid: gid, mtime: mtime)
    }

    static func symlink(_ name: String, _ target: String) -> Entry {
        Entry(name: name, kind: .symlink, mode: 0o777, link: target)
    }

    static func hardlink(_ name: String, _ target: String) -> Entry {
        Entry(name: name, kind: .hardlink, link: target)
    }

    init(_ entries: [Entry] = []) {
        for e in entries { append(e) }
        finish()
    }

    mutating func append(_ e: Entry) {
        if !e.pax.isEmpty {
            var body: [UInt8] = []
            for (k, v) in e.pax {
                let rest = " \(k)=\(v)\n"
                var n = rest.utf8.count + 1
                while String(n).count + rest.utf8.count != n { n += 1 }
                body += Array("\(n)\(rest)".utf8)
            }
            header(name: "PaxHeader", type: 0x78, size: body.count, mode: 0o644, uid: 0, gid: 0, mtime: 0, link: "")
            bytes += body
            pad()
        }
        header(
            name: e.name, type: e.kind.rawValue, size: e.data.count, mode: e.mode, uid: e.uid, gid: e.gid,
            mtime: e.mtime,
            link: e.link, devMajor: e.devMajor, devMinor: e.devMinor)
        bytes += e.data
        pad()
    }

    mutating func finish() {
        bytes += [UInt8](repeating: 0, count: 1024)
    }

    private mutating func pad() {
        let r = bytes.count % 512
        if r != 0 { bytes += [UInt8](repeating: 0, count: 512 - r) }
    }

    private mutating func header(
        name: String, type: UInt8, size: Int, mode: UInt32, uid: Int, gid: Int, mtime: Int, link: String,
        devMajor: Int = 0, devMinor: Int = 0
    ) {
        var h = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, _ at: Int, _ len: Int) {
            for (i, b) in text.utf8.prefix(len).enumerated() { h[at + i] = b }
        }
        func octal(_ v: Int, _ at: Int, _ len: Int) {
            put(
                String(repeating: "0", count: max(0, len - 1 - String(v, radix: 8).count)) + String(v, radix: 8), at,
                len - 1)
        }
        put(name, 0, 100)
        octal(Int(mode), 100, 8)
        octal(uid, 108, 8)
        octal(gid, 116, 8)
        octal(size, 124, 12)
        octal(mtime, 136, 12)
        put("        ", 148, 8)
        h[156] = type
        put(link, 157, 100)
        put("ustar", 257, 6)
        put("00", 263, 2)
        octal(devMajor, 329, 8)
        octal(devMinor, 337, 8)
        let sum = h.reduce(0) { $0 + Int($1) }
        put(String(repeating: "0", count: 6 - String(sum, radix: 8).count) + String(sum, radix: 8), 148, 6)
        h[154] = 0
        h[155] = 0x20
        bytes += h
    }
}

/// Builds a docker-archive (`docker save` layout) tarball from layer tars and a config.
struct TestImage {
    var layers: [[UInt8]]
    var cmd: [String]? = ["/bin/app"]
    var entrypoint: [String]? = nil
    var env: [String]? = ["PATH=/usr/bin:/bin"]
    var architecture = "amd64"

    func configJSON(diffIDs: [String]) -> [UInt8] {
        var config: [String: Any] = [:]
        if let cmd { config["Cmd"] = cmd }
        if let entrypoint { config["Entrypoint"] = entrypoint }
        if let env { config["Env"] = env }
        let object: [String: Any] = [
            "architecture": architecture, "os": "linux", "config": config,
            "rootfs": ["type": "layers", "diff_ids": diffIDs],
        ]
        return Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data())
    }

    /// The tarball bytes; `mutate` may edit the members before they are written.
    func dockerArchive(
        mutate: (inout [(String, [UInt8])], inout [String: Any]) -> Void = { _, _ in }
    ) -> [UInt8] {
        let diffIDs = layers.map { "sha256:" + Digest.sha256($0).hex }
        let config = configJSON(diffIDs: diffIDs)
        let configName = Digest.sha256(config).hex + ".json"
        var members: [(String, [UInt8])] = [(configName, config)]
        var layerNames: [String] = []
        for layer in layers {
            let name = Digest.sha256(layer).hex + "/layer.tar"
            layerNames.append(name)
            members.append((name, layer))
        }
        var manifest: [String: Any] = ["Config": configName, "RepoTags": ["test:latest"], "Layers": layerNames]
        mutate(&members, &manifest)
        let manifestBytes = Array(
            (try? JSONSerialization.data(withJSONObject: [manifest], options: [.sortedKeys])) ?? Data())
        var tar = TestTar()
        tar.bytes = []
        for (name, data) in members { tar.append(TestTar.Entry(name: name, data: data)) }
        tar.append(TestTar.Entry(name: "manifest.json", data: manifestBytes))
        tar.finish()
        return tar.bytes
    }
}
