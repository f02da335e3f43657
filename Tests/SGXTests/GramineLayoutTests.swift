import EnclaveCore
import Foundation
import SGX
import TestSupport
import Testing

/// Gramine 1.9 layout against MRENCLAVEs and a SIGSTRUCT produced by Gramine 1.9's own `sgx_sign.py`, run
/// locally on the same manifests and libpal.so (see Fixtures/README.md).
@Suite struct GramineLayoutTests {
    static let cases: [(String, String)] = [
        // [sgx] table, 32M, 2 threads, arrays / inline tables / array tables to skip.
        ("gramine_m1.manifest.sgx", "df363d6f5693490e5ed9860ea80e3dc270d3791e4e131e37269ac344bf16c4dd"),
        // dotted keys, hex size, EDMM (no free area), comments.
        ("gramine_m2.manifest.sgx", "4a1316425be2f9f5639fca43a75779e0e4e59813a2ba6dc4f60530010d38e731"),
        // Gramine's defaults: 256M, 4 threads, no EDMM.
        ("gramine_m3.manifest.sgx", "4cd6215aed5a28e8a1dd2819098936d6afcc4e1a7e6554fb8734f7ae4aed5b2f"),
    ]

    @Test(arguments: cases) func mrenclaveMatchesGramineSgxSign(manifest: String, expected: String) throws {
        let m = try SGXMeasurer.measure(
            .gramine(manifest: Fixtures.path(manifest), libpal: Fixtures.path("gramine_libpal.so"), constants: .v1_9))
        #expect(m.mrenclave.hex == expected)
        #expect(m.ssaFrameSize == 4)
    }

    @Test func sigstructMatchesGramineSgxSign() throws {
        let m = try SGXMeasurer.measure(
            .gramine(
                manifest: Fixtures.path("gramine_m1.manifest.sgx"), libpal: Fixtures.path("gramine_libpal.so"),
                constants: .v1_9))
        var fields = SigstructFields()
        fields.debug = true
        fields.isvProdID = 5
        fields.isvSVN = 3
        fields.date = SGXDate(year: 2025, month: 3, day: 9)
        var sig = fields.sigstruct(mrenclave: m.mrenclave)
        try sig.sign(with: SGXRSAKey(pem: Fixtures.bytes("key3072_e3.pem")))
        #expect(sig.serialized == (try Fixtures.bytes("gramine_m1.sig")))
    }

    @Test func manifestAttributes() throws {
        let a = try GramineLayout.attributes(manifest: Fixtures.bytes("gramine_m1.manifest.sgx"))
        #expect(a == GramineManifestAttributes(enclaveSize: 32 << 20, maxThreads: 2, edmmEnable: false))
        let b = try GramineLayout.attributes(manifest: Fixtures.bytes("gramine_m2.manifest.sgx"))
        #expect(b == GramineManifestAttributes(enclaveSize: 64 << 20, maxThreads: 4, edmmEnable: true))
        let c = try GramineLayout.attributes(manifest: Array("[sgx]\nedmm_enable = true\n".utf8))
        #expect(c.enclaveSize == 1 << 40)
    }

    @Test(arguments: [("256M", UInt64(256) << 20), ("0x1000_0000", 0x1000_0000), ("4G", 4 << 30), ("8192", 8192)])
    func sizes(text: String, value: UInt64) {
        #expect(GramineLayout.parseSize(text) == value)
    }

    @Test(arguments: ["", "12Q", "0777", "-1M", "M"]) func badSizes(text: String) {
        #expect(GramineLayout.parseSize(text) == nil)
    }

    static let badManifests: [(String, String)] = [
        ("too small for the layout", "sgx.enclave_size = \"1M\"\nsgx.max_threads = 4\n"),
        ("not a power of two", "sgx.enclave_size = \"48M\"\n"),
        ("size is not a string", "sgx.enclave_size = 1024\n"),
        ("threads not an integer", "[sgx]\nmax_threads = \"4\"\n"),
        ("edmm not a bool", "[sgx]\nedmm_enable = 1\n"),
        ("duplicate key", "sgx.max_threads = 4\n[sgx]\nmax_threads = 2\n"),
        ("broken TOML", "[sgx\nmax_threads = 4\n"),
        ("unterminated string", "sgx.enclave_size = \"256M\n"),
    ]

    @Test(arguments: badManifests) func badManifestThrows(name: String, text: String) throws {
        let dir = try TestDirectory()
        let path = dir.path + "/bad.manifest.sgx"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: FormatError.self, "\(name)") {
            try SGXMeasurer.measure(
                .gramine(manifest: path, libpal: Fixtures.path("gramine_libpal.so"), constants: .v1_9))
        }
        #expect(error?.file == path, "\(name)")
    }

    @Test func libpalThatIsNotELFThrows() throws {
        let error = #expect(throws: FormatError.self) {
            try SGXMeasurer.measure(
                .gramine(
                    manifest: Fixtures.path("gramine_m1.manifest.sgx"), libpal: Fixtures.path("gramine_m1.sig"),
                    constants: .v1_9))
        }
        #expect(error?.kind == .badMagic)
    }
}
