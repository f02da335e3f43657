import EnclaveCore
import Foundation
import SGX
import TestSupport
import Testing

/// Gramine manifests the size and shape of real ones, read by the shared TOML reader. The layout follows what
/// Gramine 1.9's `gramine-manifest` / `gramine-sgx-sign` write with `tomli_w`: literals of a table first, arrays of
/// short tables inline (one per line), arrays of long tables as `[[…]]` headers. The old hand-written reader
/// refused arrays of more than ~127 inline tables ("arrays nested too deeply") and skipped inline tables.
@Suite struct GramineManifestTests {
    /// A `manifest.sgx` with `mounts` inline `fs.mounts` entries and `files` trusted files, in Gramine 1.9's
    /// layout; `sgx` holds the `[sgx]` literals and `trustedInline` writes `sgx.trusted_files` inline.
    static func manifest(mounts: Int, files: Int, sgx: String, trustedInline: Bool = false) -> [UInt8] {
        var text = """
            [libos]
            entrypoint = "/usr/bin/python3"

            [loader]
            entrypoint = { uri = "file:/usr/lib/x86_64-linux-gnu/gramine/libsysdb.so", sha256 = "\(hex(0))" }
            log_level = "error"
            argv = [ "python3", "-c", "print('[}{]')" ]

            [loader.env]
            LD_LIBRARY_PATH = "/lib:/usr/lib/x86_64-linux-gnu"

            [fs]
            mounts = [

            """
        for i in 0..<mounts {
            text += "    { path = \"/m\(i)\", uri = \"file:/srv/m\(i)\"\(i % 3 == 0 ? ", type = \"chroot\"" : "") },\n"
        }
        text += "]\n\n[sgx]\n" + sgx + "\n"
        if trustedInline {
            text += "trusted_files = [\n"
            for i in 0..<files { text += "    { uri = \"file:/usr/lib/t\(i).so\", sha256 = \"\(hex(i))\" },\n" }
            text += "]\n"
        } else {
            for i in 0..<files {
                text += "\n[[sgx.trusted_files]]\nuri = \"file:/usr/lib/python3.11/site-packages/pkg/m\(i).py\"\n"
                text += "sha256 = \"\(hex(i))\"\n"
            }
        }
        return Array(text.utf8)
    }

    static func hex(_ seed: Int) -> String {
        String(repeating: String(seed % 16, radix: 16), count: 64)
    }

    static let cases: [(String, Int, Int, String, Bool, GramineManifestAttributes)] = [
        (
            "150 mounts (refused before)", 150, 10, "enclave_size = \"64M\"\nmax_threads = 8", false,
            GramineManifestAttributes(enclaveSize: 64 << 20, maxThreads: 8, edmmEnable: false)
        ),
        (
            "600 mounts, 800 trusted files", 600, 800, "enclave_size = \"1G\"\nmax_threads = 16\nedmm_enable = false",
            false, GramineManifestAttributes(enclaveSize: 1 << 30, maxThreads: 16, edmmEnable: false)
        ),
        (
            "300 inline trusted files", 200, 300, "edmm_enable = true\nmax_threads = 2", true,
            GramineManifestAttributes(enclaveSize: 1 << 40, maxThreads: 2, edmmEnable: true)
        ),
        (
            "no sgx values: defaults", 400, 400, "debug = false", false,
            GramineManifestAttributes(enclaveSize: 256 << 20, maxThreads: 4, edmmEnable: false)
        ),
    ]

    @Test(arguments: cases)
    func largeManifestsInGramineLayout(
        name: String, mounts: Int, files: Int, sgx: String, inline: Bool, expected: GramineManifestAttributes
    ) throws {
        let bytes = Self.manifest(mounts: mounts, files: files, sgx: sgx, trustedInline: inline)
        #expect(try GramineLayout.attributes(manifest: bytes) == expected, "\(name)")
    }

    /// The whole manifest (NUL-terminated) is the first measured area, whatever its size.
    @Test func largeManifestIsPlannedAsTheFirstArea() throws {
        let bytes = Self.manifest(mounts: 500, files: 500, sgx: "enclave_size = \"256M\"\nmax_threads = 4")
        let libpal = try ELFFile(file: FileInput(path: Fixtures.path("gramine_libpal.so")))
        let layout = try GramineLayout.plan(manifest: bytes, libpal: libpal)
        let first = try #require(layout.regions.first)
        #expect(first.label == "manifest")
        #expect(first.pageCount == (UInt64(bytes.count) + 1 + 4095) / 4096)
        guard case .bytes(let content) = first.source else {
            Issue.record("the manifest area holds the manifest bytes")
            return
        }
        #expect(content == bytes + [0])
    }

    /// Every way TOML can say `sgx.X`: table, dotted keys, inline table, dotted keys inside an inline table,
    /// quoted keys. A quoted key holding a dot is one key, not a path, as for Gramine's `tomli`.
    static let spellings: [(String, String, GramineManifestAttributes?)] = [
        ("table", "[sgx]\nenclave_size = \"128M\"\nmax_threads = 3\n", attr(128 << 20, 3)),
        ("dotted keys", "sgx.enclave_size = \"128M\"\nsgx.max_threads = 3\n", attr(128 << 20, 3)),
        ("inline table", "sgx = { enclave_size = \"128M\", max_threads = 3 }\n", attr(128 << 20, 3)),
        ("inline table with EDMM", "sgx = { enclave_size = \"128M\", max_threads = 3, edmm_enable = true }\n", nil),
        ("quoted keys", "\"sgx\".'max_threads' = 3\n\"sgx\".\"enclave_size\" = \"128M\"\n", attr(128 << 20, 3)),
        (
            "sub-table dotted", "[loader]\nlog_level = \"error\"\n[sgx]\ncpu_features.avx = \"required\"\n",
            attr(256 << 20, 4)
        ),
        ("quoted dot is one key", "\"sgx.max_threads\" = 9\n", attr(256 << 20, 4)),
        ("hex integer", "[sgx]\nmax_threads = 0x10\nenclave_size = \"0x4000_0000\"\n", attr(1 << 30, 16)),
    ]

    static func attr(_ size: UInt64, _ threads: UInt64) -> GramineManifestAttributes {
        GramineManifestAttributes(enclaveSize: size, maxThreads: threads, edmmEnable: false)
    }

    @Test(arguments: spellings) func keySpellings(name: String, text: String, expected: GramineManifestAttributes?)
        throws
    {
        let a = try GramineLayout.attributes(manifest: Array(text.utf8))
        #expect(
            a == expected ?? GramineManifestAttributes(enclaveSize: 128 << 20, maxThreads: 3, edmmEnable: true),
            "\(name)")
    }

    static let refused: [(String, String)] = [
        ("sgx not a table", "sgx = 5\n"),
        ("mismatched bracket", "[fs]\nmounts = [ { path = \"/a\" } }\n"),
        ("deep nesting", "a = " + String(repeating: "[", count: 200) + String(repeating: "]", count: 200) + "\n"),
        ("table redefined by dotted key", "sgx.max_threads = 4\n[sgx]\nenclave_size = \"1G\"\n"),
        ("escaped NUL", "loader.argv = [\"a\\u0000b\"]\n"),
        ("not UTF-8", "a = \"\u{FF}\"\n"),
    ]

    @Test(arguments: refused) func refusedManifests(name: String, text: String) {
        var bytes = Array(text.utf8)
        if name == "not UTF-8" { bytes = [0x61, 0x3d, 0x22, 0xff, 0x22, 0x0a] }
        let error = #expect(throws: FormatError.self, "\(name)") { try GramineLayout.attributes(manifest: bytes) }
        #expect(error?.format == "manifest", "\(name)")
        #expect(error?.offset != nil || name == "sgx not a table", "\(name): \(String(describing: error))")
    }
}
