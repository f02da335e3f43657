import EnclaveCore
import Foundation
import SGX
import TestSupport
import Testing

/// SIGSTRUCTs inside enclave ELFs. The section layouts are hand-derived (see Fixtures/README.md): no Intel
/// SDK or Open Enclave signing tool can run here, so the fixtures embed the reference `v2_ref.sigstruct`.
@Suite struct EmbeddedSigstructTests {
    static let v2 = "3ade326cde767dee16aabc53a0fb800646ef246213b0fdcbf2e09ea9b7dd5fd1"

    @Test(arguments: [
        ("sdk_signed.elf", SigstructSource.sgxmeta, UInt64(0x6080 + 12 + 13 + 64)),
        ("oe_signed.elf", SigstructSource.oeinfo, UInt64(0x6080 + 144)),
        ("v2_ref.sigstruct", SigstructSource.raw, UInt64(0)),
    ])
    func findsTheSigstruct(file: String, source: SigstructSource, offset: UInt64) throws {
        let found = try SigstructLocator.read(path: Fixtures.path(file))
        #expect(found.source == source)
        #expect(found.offset == offset)
        #expect(found.sigstruct.serialized == (try Fixtures.bytes("v2_ref.sigstruct")))
        #expect(found.sigstruct.enclaveHash.hex == Self.v2)
    }

    @Test func olderOpenEnclaveOffsetIsFound() throws {
        var props = [UInt8](repeating: 0, count: 48 + Sigstruct.size)
        props.replaceSubrange(48..<48 + Sigstruct.size, with: try Fixtures.bytes("v2_ref.sigstruct"))
        let found = try SigstructLocator.fromOEInfo(props, sectionOffset: 1000)
        #expect(found.offset == 1048)
    }

    @Test func unsignedOpenEnclaveIsReported() throws {
        let error = #expect(throws: FormatError.self) {
            try SigstructLocator.read(path: Fixtures.path("oe_unsigned.elf"))
        }
        #expect(error?.kind == .missing)
        #expect(error?.message.contains("not signed") == true)
    }

    @Test func elfWithoutSectionsIsReported() throws {
        let error = #expect(throws: FormatError.self) {
            try SigstructLocator.read(path: Fixtures.path("selftest_encl.elf"))
        }
        #expect(error?.kind == .missing)
    }

    @Test func badSGXMetaThrows() throws {
        let good = try Fixtures.bytes("sdk_signed.elf")
        let section = 0x6080
        let note = Array(good[section..<section + 12 + 13 + 64 + Sigstruct.size])
        #expect(try SigstructLocator.fromSGXMeta(note, sectionOffset: 0).sigstruct.enclaveHash.hex == Self.v2)
        var name = note
        name[12] = UInt8(ascii: "x")
        #expect(throws: FormatError(.badMagic, format: ".note.sgxmeta", offset: 0, "")) {
            try SigstructLocator.fromSGXMeta(name, sectionOffset: 0)
        }
        var magic = note
        magic[25] ^= 0xff
        #expect(throws: FormatError(.badMagic, format: ".note.sgxmeta", offset: 25, "")) {
            try SigstructLocator.fromSGXMeta(magic, sectionOffset: 0)
        }
        let error = #expect(throws: FormatError.self) {
            try SigstructLocator.fromSGXMeta(Array(note.prefix(500)), sectionOffset: 0)
        }
        #expect(error?.kind == .truncated)
        let noHeader = #expect(throws: FormatError.self) {
            try SigstructLocator.fromOEInfo([UInt8](repeating: 1, count: 4000), sectionOffset: 0)
        }
        #expect(noHeader?.kind == .badMagic)
        #expect(noHeader?.message.contains("no SIGSTRUCT header") == true)
    }

    @Test func wrongSizedSigFileIsRefused() throws {
        let dir = try TestDirectory()
        let path = dir.path + "/short.sig"
        try Data(try Fixtures.bytes("v2_ref.sigstruct").prefix(1000)).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: FormatError.self) { try SigstructLocator.read(path: path) }
        #expect(error?.kind == .truncated)
        #expect(error?.file == path)
    }
}
