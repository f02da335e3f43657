import EnclaveCore
import TestSupport
import Testing

@testable import TDX

/// Authenticode PE hashes against digests computed by signify (PyPI) for the synthetic images that
/// `Fixtures/make_pe.py` writes, and the PE bounds checks.
@Suite struct AuthenticodeTests {
    static let signify: [(String, HashAlgorithm, String)] = [
        (
            "pe64_kernel.efi", .sha384,
            "8580070bb078db86306bf4c99b75bf75a7cb970d79a4b198a1423a655ef2e79a4202be89ee3756ca559cb911b0fa11d4"
        ),
        ("pe64_kernel.efi", .sha256, "cf0d1b3e97a09cb4960d515c6c59f40446f576c96e76554a9c29d102a823e3e1"),
        (
            "pe32_plain.efi", .sha384,
            "595aba27cda307a949ff2399a85ef949ea543f9b8912a122769b769c48d08315c8874dcd331af335f8b637fc98149762"
        ),
        ("pe32_plain.efi", .sha256, "29eb82fb3f3c5665e1b2128fef2540e39b1c1a3879e78fcdb205b5e723c9a03c"),
        (
            "pe64_fewdirs.efi", .sha384,
            "9e62b1e151fe075ff78265ec072206455eda1838c960cb3241d1dfaed582a38d17af8144bac1c78a75b4c9d2dcaae669"
        ),
        ("pe64_fewdirs.efi", .sha256, "b1869de9f59f2918c357a11481b3692e3dd7cf453041941ba9b6596d9542ab9e"),
    ]

    @Test(arguments: 0..<signify.count)
    func matchesSignify(index: Int) throws {
        let (name, algorithm, expected) = Self.signify[index]
        #expect(try Authenticode.hash(Fixtures.bytes(name), algorithm).hex == expected)
        // The streaming path (bounded memory, several small chunks) gives the same digest.
        #expect(try Authenticode.hash(path: Fixtures.path(name), algorithm).hex == expected)
    }

    @Test func certificateTableIsFound() throws {
        let bytes = try Fixtures.bytes("pe64_kernel.efi")
        let layout = try AuthenticodeLayout(headers: bytes, fileSize: UInt64(bytes.count))
        #expect(layout.certificateTable?.upperBound == UInt64(bytes.count))
        #expect(layout.certificateTable?.count == 64)
    }

    /// QEMU-patched kernel digests: signify over files written by `patch_ref.py` (a transcription of
    /// dstack-mr's patch_kernel), for (initrd size, memory size).
    static let patched: [(UInt64, UInt64, String)] = [
        (
            0, 2 << 30,
            "f442bbd5df1da4029f2c58783d93af570efb8cd880a124d247e4fe1a1fda699b155b0d7d83e4831ac512f774f886c4d6"
        ),
        (
            64 << 20, 2 << 30,
            "479190ff8e385d9fe829a3d81fbcdebf1d4a3a2916df991d86a5a695028e621fba25c8d4450b7fea9cd9ed328329474b"
        ),
        (
            64 << 20, 1 << 30,
            "de5f78fafa2737486e6b3391fcbd9783e70757763d9c26fbcdffc649afe6ab66749b3ee59098f06f23e47557a5669fd7"
        ),
        (
            64 << 20, 4 << 30,
            "479190ff8e385d9fe829a3d81fbcdebf1d4a3a2916df991d86a5a695028e621fba25c8d4450b7fea9cd9ed328329474b"
        ),
    ]

    @Test(arguments: 0..<patched.count)
    func patchedKernelMatchesSignify(index: Int) throws {
        let (initrd, memory, expected) = Self.patched[index]
        let file = try FileInput(path: Fixtures.path("pe64_kernel.efi"))
        let header = try file.read(at: 0, count: 4096, format: "kernel")
        let patches = try QEMUKernelHeaderPatch.patches(
            header: header, kernelSize: file.size, initrdSize: initrd, memorySize: memory)
        #expect(try Authenticode.hash(file: file, .sha384, patches: patches).hex == expected)
    }

    @Test func headerPatchFieldsFollowQEMU() throws {
        // Boot protocol 2.15 with XLF_CAN_BE_LOADED_ABOVE_4G, 64 MiB initrd, 2 GiB: initrd_max is clamped to
        // 0x80000000 - 0x28000 - 1 = 0x7ffd7fff, so initrd goes to (0x7ffd7fff - 0x4000000) & ~0xfff.
        let header = Array(try Fixtures.bytes("pe64_kernel.efi").prefix(4096))
        let patches = try QEMUKernelHeaderPatch.patches(
            header: header, kernelSize: 7976, initrdSize: 64 << 20, memorySize: 2 << 30)
        let byOffset = Dictionary(uniqueKeysWithValues: patches.map { ($0.offset, $0.bytes) })
        #expect(byOffset[0x210] == [0xb0])
        #expect(byOffset[0x211] == [0x81])
        #expect(byOffset[0x224] == [0x00, 0xfe])  // u16 heap_end_ptr = 0x20000 - 0x10000 - 0x200
        #expect(byOffset[0x228] == [0x00, 0x00, 0x02, 0x00])  // 0x20000
        #expect(byOffset[0x218] == [0x00, 0x70, 0xfd, 0x7b])  // 0x7bfd7000
        #expect(byOffset[0x21c] == [0x00, 0x00, 0x00, 0x04])
    }

    @Test(arguments: [
        ("console=ttyS0 vga=normal", UInt16?.some(0xffff)), ("vga=ext", 0xfffe), ("quiet vga=0x317 ro", 0x317),
        ("vga=791", 791), ("vga=0755", 0o755), ("console=ttyS0", nil),
    ])
    func vgaParameterSetsTheVideoMode(cmdline: String, mode: UInt16?) throws {
        let header = Array(try Fixtures.bytes("pe64_kernel.efi").prefix(4096))
        let patches = try QEMUKernelHeaderPatch.patches(
            header: header, kernelSize: 7976, initrdSize: 0, memorySize: 2 << 30, cmdline: cmdline)
        let vid = patches.first { $0.offset == 0x1fa }?.bytes
        #expect(vid == mode.map { [UInt8($0 & 0xff), UInt8($0 >> 8)] })
    }

    @Test func invalidVGAParameterIsRejected() throws {
        let header = Array(try Fixtures.bytes("pe64_kernel.efi").prefix(4096))
        let error = #expect(throws: FormatError.self) {
            try QEMUKernelHeaderPatch.patches(
                header: header, kernelSize: 7976, initrdSize: 0, memorySize: 2 << 30, cmdline: "vga=fast")
        }
        #expect(error?.kind == .badValue)
        #expect(error?.message.contains("invalid vga= value \"fast\"") == true)
    }

    @Test func kernelWithoutBootProtocolIsNotPatched() throws {
        var header = Array(try Fixtures.bytes("pe64_kernel.efi").prefix(4096))
        header[0x202] = 0  // no "HdrS": protocol 0, QEMU leaves the header alone
        let patches = try QEMUKernelHeaderPatch.patches(
            header: header, kernelSize: 7976, initrdSize: 0, memorySize: 2 << 30)
        #expect(patches.isEmpty)
    }

    @Test func kernelTooSmallForTheHeaderPatch() {
        let error = #expect(throws: FormatError.self) {
            try QEMUKernelHeaderPatch.patches(
                header: [UInt8](repeating: 0, count: 0x300), kernelSize: 0x300, initrdSize: 0, memorySize: 2 << 30)
        }
        #expect(error?.kind == .truncated)
    }

    @Test func initrdTooLargeForMemory() throws {
        let header = Array(try Fixtures.bytes("pe64_kernel.efi").prefix(4096))
        let error = #expect(throws: FormatError.self) {
            try QEMUKernelHeaderPatch.patches(
                header: header, kernelSize: 7976, initrdSize: 600 << 20, memorySize: 512 << 20)
        }
        #expect(error?.kind == .tooLarge)
    }

    static func put32(_ b: inout [UInt8], _ at: Int, _ v: UInt32) {
        for i in 0..<4 { b[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) }
    }

    /// Corruptions of pe64_kernel.efi (e_lfanew 0x40, optional header 0x58, data directories 0xc8).
    static let badImages: [(String, @Sendable (inout [UInt8]) -> Void, FormatError.Kind)] = [
        ("no MZ", { $0[0] = 0 }, .badMagic),
        ("e_lfanew past the end", { put32(&$0, 0x3c, 0x7fff_0000) }, .badMagic),
        ("no PE signature", { $0[0x40] = UInt8(ascii: "X") }, .badMagic),
        ("bad optional magic", { $0[0x58] = 0x99 }, .badMagic),
        ("too many data directories", { put32(&$0, 0x58 + 108, 40) }, .badValue),
        ("SizeOfHeaders past the end", { put32(&$0, 0x58 + 60, 0x10_0000) }, .outOfBounds),
        ("SizeOfHeaders inside the section table", { put32(&$0, 0x58 + 60, 0x100) }, .outOfBounds),
        ("certificate table past the end", { put32(&$0, 0xc8 + 36, 0x1_0000) }, .outOfBounds),
        ("certificate table inside the headers", { put32(&$0, 0xc8 + 32, 0x10) }, .outOfBounds),
        ("section past the end", { put32(&$0, 0xf8 + 20, 0x1_0000) }, .outOfBounds),
        ("truncated headers", { $0.removeSubrange(0x60...) }, .truncated),
    ]

    @Test(arguments: 0..<badImages.count)
    func badImagesAreRejected(index: Int) throws {
        let (name, corrupt, kind) = Self.badImages[index]
        var bytes = try Fixtures.bytes("pe64_kernel.efi")
        corrupt(&bytes)
        let error = try #require(throws: FormatError.self, "\(name)") { try Authenticode.hash(bytes, .sha384) }
        #expect(error.kind == kind, "\(name): \(error)")
        #expect(error.format == "PE/COFF")
    }
}
