import Archive
import Foundation
import TestSupport
import Testing

/// Builds ustar archives byte by byte, so tests can craft hostile entries no tar tool would write (moved
/// here with the extraction tests from RecipeTests' Unpacker suite).
struct TarBuilder {
    var bytes: [UInt8] = []

    mutating func add(_ name: String, type: Character = "0", mode: Int = 0o644, data: [UInt8] = [], link: String = "") {
        var header = [UInt8](repeating: 0, count: 512)
        func put(_ text: [UInt8], at offset: Int, max: Int) {
            for (i, b) in text.prefix(max).enumerated() { header[offset + i] = b }
        }
        func octal(_ value: Int, at offset: Int, width: Int) {
            let text = String(value, radix: 8)
            put(Array((String(repeating: "0", count: width - 1 - text.count) + text).utf8), at: offset, max: width - 1)
        }
        put(Array(name.utf8), at: 0, max: 100)
        octal(mode, at: 100, width: 8)
        octal(0, at: 108, width: 8)
        octal(0, at: 116, width: 8)
        octal(data.count, at: 124, width: 12)
        octal(0, at: 136, width: 12)
        header[156] = UInt8(ascii: type.unicodeScalars.first ?? "0")
        put(Array(link.utf8), at: 157, max: 100)
        put(Array("ustar\u{0}00".utf8), at: 257, max: 8)
        for i in 148..<156 { header[i] = UInt8(ascii: " ") }
        let sum = header.reduce(0) { $0 + Int($1) }
        let text = String(sum, radix: 8)
        put(Array((String(repeating: "0", count: 6 - text.count) + text).utf8) + [0, 32], at: 148, max: 8)
        bytes += header + data
        bytes += [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
    }

    func finished() -> [UInt8] { bytes + [UInt8](repeating: 0, count: 1024) }
}

/// `ar` archives (the `.deb` container).
func arArchive(_ members: [(String, [UInt8])]) -> [UInt8] {
    var out = Array("!<arch>\n".utf8)
    for (name, data) in members {
        func field(_ s: String, _ width: Int) -> [UInt8] {
            Array((s + String(repeating: " ", count: width - s.count)).utf8)
        }
        out += field(name, 16) + field("0", 12) + field("0", 6) + field("0", 6) + field("100644", 8)
        out += field(String(data.count), 10) + Array("`\n".utf8) + data
        if data.count % 2 == 1 { out.append(UInt8(ascii: "\n")) }
    }
    return out
}

@Suite("ArchiveExtraction")
struct ExtractionTests {
    /// Writes `bytes` as `name`, extracts it into a new folder `out-NAME` and returns that folder.
    @discardableResult
    func extract(_ tmp: TestDirectory, _ name: String, _ bytes: [UInt8], as format: ArchiveExtraction.Format)
        throws -> String
    {
        let path = try tmp.write(name, bytes)
        let out = tmp.path + "/out-" + name
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: false)
        try ArchiveExtraction.extract(path, format: format, name: name, into: out)
        return out
    }

    @Test func tarKeepsModesAndLinksAndDropsSetuid() throws {
        let tmp = try TestDirectory()
        var tar = TarBuilder()
        tar.add("./", type: "5", mode: 0o755)
        tar.add("bin/", type: "5", mode: 0o755)
        tar.add("bin/tool", mode: 0o4755, data: Array("#!/bin/sh\n".utf8))
        tar.add("etc/conf", mode: 0o600, data: Array("a=1\n".utf8))
        tar.add("bin/alias", type: "2", link: "tool")
        tar.add("bin/abs", type: "2", link: "/etc/conf")
        tar.add("bin/again", type: "1", link: "bin/tool")
        tar.add("ro/", type: "5", mode: 0o555)
        tar.add("ro/file", data: Array("x".utf8))
        let out = try extract(tmp, "t.tar", tar.finished(), as: .tar)
        let fm = FileManager.default
        #expect((try fm.attributesOfItem(atPath: out + "/bin/tool")[.posixPermissions] as? Int) == 0o755)
        #expect((try fm.attributesOfItem(atPath: out + "/etc/conf")[.posixPermissions] as? Int) == 0o600)
        #expect((try fm.attributesOfItem(atPath: out + "/ro")[.posixPermissions] as? Int) == 0o755)
        #expect(try fm.destinationOfSymbolicLink(atPath: out + "/bin/alias") == "tool")
        #expect(try fm.destinationOfSymbolicLink(atPath: out + "/bin/abs") == "/etc/conf")
        #expect(try String(contentsOfFile: out + "/bin/again", encoding: .utf8) == "#!/bin/sh\n")
        #expect(try String(contentsOfFile: out + "/ro/file", encoding: .utf8) == "x")
    }

    @Test func debExtractsDataTar() throws {
        let tmp = try TestDirectory()
        try tmp.write("pkg/usr/share/OVMF/OVMF.fd", "firmware")
        #expect(
            try ToolRunner.run("tar", ["-C", tmp.path + "/pkg", "-cJf", tmp.path + "/data.tar.xz", "./usr"]).status == 0
        )
        let data = Array(try Data(contentsOf: URL(fileURLWithPath: tmp.path + "/data.tar.xz")))
        var control = TarBuilder()
        control.add("./control", data: Array("Package: ovmf\n".utf8))
        let deb = arArchive([
            ("debian-binary", Array("2.0\n".utf8)), ("control.tar", control.finished()), ("data.tar.xz", data),
        ])
        let out = try extract(tmp, "ovmf.deb", deb, as: .deb)
        #expect(try String(contentsOfFile: out + "/usr/share/OVMF/OVMF.fd", encoding: .utf8) == "firmware")
        #expect(!FileManager.default.fileExists(atPath: out + "/control"))

        let error = #expect(throws: ArchiveError.self) {
            try extract(tmp, "x.deb", arArchive([("other", [1, 2])]), as: .deb)
        }
        #expect(error?.kind == .wrongContainer)
        #expect(error?.description == "archive 'x.deb': no data.tar member; is it a Debian package (.deb)?")
    }

    /// (label, the crafted archive, text the error must contain; the truncated and non-archives are `malformed`,
    /// the others `refusedEntry`)
    static let refusals: [(String, [UInt8], String)] = {
        func tar(_ build: (inout TarBuilder) -> Void) -> [UInt8] {
            var t = TarBuilder()
            build(&t)
            return t.finished()
        }
        return [
            ("absolute", tar { $0.add("/etc/passwd", data: [1]) }, "entry '/etc/passwd' is absolute"),
            ("dotdot", tar { $0.add("a/../../evil", data: [1]) }, "entry 'a/../../evil' contains '..'"),
            (
                "escaping symlink", tar { $0.add("up", type: "2", link: "../../etc") },
                "entry 'up' is a symlink to '../../etc'"
            ),
            (
                "write through symlink",
                tar {
                    $0.add("dir", type: "2", link: "/tmp")
                    $0.add("dir/file", data: [1])
                },
                "entry 'dir/file' is below 'dir', which is not a directory"
            ),
            ("escaping hard link", tar { $0.add("h", type: "1", link: "../outside") }, "entry 'h' is a hard link"),
            (
                "hard link to nothing", tar { $0.add("h", type: "1", link: "missing") },
                "not a file earlier in the archive"
            ),
            ("char device", tar { $0.add("dev/null", type: "3") }, "entry 'dev/null' is a device"),
            ("fifo", tar { $0.add("pipe", type: "6") }, "entry 'pipe' is a device, fifo or socket"),
            (
                "duplicate",
                tar {
                    $0.add("a", data: [1])
                    $0.add("./a", data: [2])
                },
                "entry './a' appears twice"
            ),
            (
                "file over directory",
                tar {
                    $0.add("d/x", data: [1])
                    $0.add("d", data: [2])
                },
                "entry 'd' appears twice"
            ),
            (
                "truncated", Array(tar { $0.add("big", data: [UInt8](repeating: 7, count: 5000)) }.prefix(1500)),
                "archive 'bad.tar'"
            ),
            ("not an archive", Array("hello, this is not a tar file at all".utf8), "archive 'bad.tar'"),
        ]
    }()

    @Test(arguments: refusals.map(\.0))
    func refusesHostileEntries(label: String) throws {
        guard let (_, archive, fragment) = Self.refusals.first(where: { $0.0 == label }) else {
            Issue.record("no case \(label)")
            return
        }
        let tmp = try TestDirectory()
        let error = #expect(throws: ArchiveError.self, "\(label)") { try extract(tmp, "bad.tar", archive, as: .tar) }
        let malformed = fragment == "archive 'bad.tar'"
        #expect(error?.kind == (malformed ? .malformed : .refusedEntry), "\(label): \(String(describing: error))")
        #expect(error?.description.hasPrefix("archive 'bad.tar'") == true, "\(label): \(String(describing: error))")
        #expect(error?.description.contains(fragment) == true, "\(label): \(String(describing: error))")
        #expect(!FileManager.default.fileExists(atPath: tmp.path + "/etc"), "\(label): nothing written outside")
    }

    @Test func imageIsFlattened() throws {
        let tmp = try TestDirectory()
        // A docker-archive with two layers: the second deletes a file of the first (whiteout).
        var layer1 = TarBuilder()
        layer1.add("app/", type: "5", mode: 0o755)
        layer1.add("app/keep", data: Array("keep".utf8))
        layer1.add("app/drop", data: Array("drop".utf8))
        var layer2 = TarBuilder()
        layer2.add("app/.wh.drop", data: [])
        layer2.add("app/new", mode: 0o755, data: Array("new".utf8))
        let l1 = layer1.finished()
        let l2 = layer2.finished()
        let d1 = try sha256Hex(l1)
        let d2 = try sha256Hex(l2)
        let config = Array(
            #"{"architecture":"amd64","os":"linux","config":{"Cmd":["/app/new"]},"rootfs":{"type":"layers","diff_ids":["sha256:\#(d1)","sha256:\#(d2)"]}}"#
                .utf8)
        let manifest = Array(#"[{"Config":"config.json","RepoTags":["t:1"],"Layers":["l1.tar","l2.tar"]}]"#.utf8)
        var image = TarBuilder()
        image.add("manifest.json", data: manifest)
        image.add("config.json", data: config)
        image.add("l1.tar", data: l1)
        image.add("l2.tar", data: l2)
        let out = try extract(tmp, "image.tar", image.finished(), as: .image)
        let fm = FileManager.default
        #expect(try String(contentsOfFile: out + "/app/keep", encoding: .utf8) == "keep")
        #expect(!fm.fileExists(atPath: out + "/app/drop"))
        #expect((try fm.attributesOfItem(atPath: out + "/app/new")[.posixPermissions] as? Int) == 0o755)
        #expect(fm.fileExists(atPath: out + "/.dockerenv"), "docker export's init layer")
    }

    func sha256Hex(_ bytes: [UInt8]) throws -> String {
        let tmp = try TestDirectory()
        let result = try ToolRunner.run("sha256sum", [try tmp.write("b", bytes)])
        #expect(result.status == 0)
        return String(result.stdout.prefix(64))
    }
}
