import Foundation
import TestSupport
import Testing

@testable import EnclaveCore

@Suite struct DigestTests {
    @Test(arguments: [
        (HashAlgorithm.sha256, "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            .sha384, "abc",
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"
        ),
        (
            .sha384, "",
            "38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b"
        ),
    ])
    func knownAnswers(algorithm: HashAlgorithm, input: String, expected: String) {
        #expect(Digest.hash(algorithm, utf8: input).hex == expected)
    }

    @Test func copyForksTheRunningState() {
        let d = Digest(.sha384)
        d.update(Array("ab".utf8))
        let fork = d.copy()
        d.update(Array("c".utf8))
        #expect(d.finalize() == Digest.sha384(Array("abc".utf8)))
        #expect(fork.finalize() == Digest.sha384(Array("ab".utf8)))
    }

    @Test func crc32MatchesTheCheckValue() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        var c = CRC32()
        c.update(Array("12345".utf8))
        c.update(Array("6789".utf8))
        #expect(c.value == 0xCBF4_3926)
    }

    @Test func streamedFileHashEqualsOneShot() throws {
        let dir = try TestDirectory()
        let bytes = (0..<(9 << 20) + 17).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let path = dir.path + "/big.bin"
        try AtomicOutput.write(bytes, to: path)
        #expect(try FileStream.hash(path: path, .sha256) == Digest.sha256(bytes))
    }

    /// The overlapping reader: the background lane sees every chunk once, in order, even when it is
    /// the slower lane and the ring wraps many times; the foreground sees the same bytes.
    @Test(arguments: [
        (chunkSize: 1 << 20, slots: 4, ranges: [0..<UInt64(9 << 20) + 17]),
        (chunkSize: 4096, slots: 2, ranges: [0..<100_000, 100_000..<100_001, 5..<70_000]),
        (chunkSize: 777, slots: 3, ranges: [0..<0, 13..<300_013]),
    ])
    func overlappingReaderHashesEveryChunkOnBothLanes(chunkSize: Int, slots: Int, ranges: [Range<UInt64>]) throws {
        let dir = try TestDirectory()
        let bytes = (0..<(9 << 20) + 17).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ $0 >> 11) }
        let path = dir.path + "/big.bin"
        try AtomicOutput.write(bytes, to: path)
        let file = try FileInput(path: path)
        let expected = ranges.map { Digest.sha384(Array(bytes[Int($0.lowerBound)..<Int($0.upperBound)])) }
        let foreground = ranges.map { _ in Digest(.sha384) }
        let background = ranges.map { _ in Digest(.sha384) }
        try FileStream.forEachChunk(
            of: file, ranges: ranges, chunkSize: chunkSize, slots: slots,
            overlapping: { index, chunk, hashInBackground in
                hashInBackground(background[index])
                foreground[index].update(chunk)
            })
        #expect(foreground.map { $0.finalize() } == expected)
        #expect(background.map { $0.finalize() } == expected)
    }

    @Test func overlappingReaderStopsCleanlyWhenTheBodyThrows() throws {
        struct Stop: Error {}
        let dir = try TestDirectory()
        let path = dir.path + "/f.bin"
        try AtomicOutput.write([UInt8](repeating: 7, count: 1 << 16), to: path)
        let file = try FileInput(path: path)
        let digest = Digest(.sha256)
        var seen = 0
        #expect(throws: Stop.self) {
            try FileStream.forEachChunk(
                of: file, ranges: [0..<file.size], chunkSize: 4096, slots: 2,
                overlapping: { _, _, background in
                    background(digest)
                    seen += 1
                    if seen == 5 { throw Stop() }
                })
        }
        #expect(seen == 5)
        #expect(digest.finalize() == Digest.sha256([UInt8](repeating: 7, count: 5 * 4096)))
    }

    @Test func overlappingReaderRefusesARangePastTheEnd() throws {
        let dir = try TestDirectory()
        let path = dir.path + "/f.bin"
        try AtomicOutput.write([1, 2, 3], to: path)
        let file = try FileInput(path: path)
        let error = #expect(throws: FormatError.self) {
            try FileStream.forEachChunk(of: file, ranges: [0..<4], overlapping: { _, _, _ in })
        }
        #expect(error?.kind == .truncated)
        #expect(error?.offset == 3)
        #expect(error?.message.contains("up to offset 4") == true)
    }
}

@Suite struct ByteReaderTests {
    @Test func readsBothEndiannesses() throws {
        var r = ByteReader([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], format: "test")
        #expect(try r.readU16BE() == 0x0102)
        #expect(try r.readU16LE() == 0x0403)
        #expect(try r.readU32BE() == 0x0506_0708)
        #expect(r.remaining == 2)
    }

    @Test func truncationNamesTheAbsoluteOffset() {
        var r = ByteReader([1, 2, 3], format: "test", baseOffset: 100)
        #expect(throws: FormatError(.truncated, format: "test", offset: 101, "")) {
            _ = try r.readU8()
            _ = try r.readU32LE()
        }
    }

    @Test func errorLineNamesFileFormatAndOffset() {
        let e = FormatError(.badMagic, format: "EIF", offset: 0, "expected .eif").in(file: "x.eif")
        #expect(e.description == "x.eif: EIF: offset 0 (0x0): expected .eif")
    }

    @Test(arguments: ["", "0x", "abc", "zz", "0xg0"])
    func hexRejectsMalformedText(_ text: String) {
        if text.isEmpty || text == "0x" {
            #expect(Hex.decode(text) == [])
        } else {
            #expect(Hex.decode(text) == nil)
        }
    }

    @Test func hexRoundTrips() {
        #expect(Hex.decode("0xDEADbeef") == [0xDE, 0xAD, 0xBE, 0xEF])
        #expect(Hex.encode([0, 0xff, 0x10]) == "00ff10")
    }

    /// The shared parser behind every hex argument: optional 0x, either case, no sign, no overflow.
    @Test(arguments: [
        ("8086", UInt32?(0x8086)), ("0x8086", 0x8086), ("0XfFfFfFfF", 0xFFFF_FFFF), ("ffffffff", 0xFFFF_FFFF),
        ("1ffffffff", nil), ("", nil), ("0x", nil), ("+1", nil), ("-1", nil), ("0x0x1", nil), (" 1", nil),
    ])
    func hexIntegerTakesAnOptional0x(text: String, value: UInt32?) {
        #expect(Hex.integer(text, as: UInt32.self) == value)
    }

    @Test func hexNormalizedDropsThePrefixAndLowercases() {
        #expect(Hex.normalized("0xDEADbeef") == "deadbeef")
        #expect(Hex.normalized("DEAD") == "dead")
        #expect(Hex.normalized("0xabc") == nil)
    }
}

@Suite struct AtomicOutputTests {
    @Test func noFileIsLeftWithoutCommit() throws {
        let dir = try TestDirectory()
        let path = dir.path + "/out.bin"
        do {
            let out = try AtomicOutput(path: path)
            try out.write([1, 2, 3])
        }
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    /// The umask of 077 is set in a child process (an exit test): tests running beside this one in this process
    /// keep theirs. The child also creates a plain file with mode 0666, whose 0600 shows the mask applied there.
    @Test func modeIgnoresTheUmask() async throws {
        let dir = try TestDirectory()
        let path = dir.path + "/key.pem"
        let plain = dir.path + "/plain"
        await #expect(processExitsWith: .success) { [path = path as String, plain = plain as String] in
            umask(0o077)
            do {
                try AtomicOutput.write([1], to: path, mode: 0o644)
            } catch {
                Issue.record(error)
            }
            let fd = open(plain, O_WRONLY | O_CREAT | O_EXCL, 0o666)
            #expect(fd >= 0, "create \(plain): errno \(errno)")
            close(fd)
        }
        let attrs = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attrs[.posixPermissions] as? Int) == 0o644)
        let plainAttrs = try FileManager.default.attributesOfItem(atPath: plain)
        #expect((plainAttrs[.posixPermissions] as? Int) == 0o600)
    }

    @Test func missingDirectoryIsASystemError() {
        let error = #expect(throws: SystemError.self) {
            try AtomicOutput.write([1], to: "/nonexistent-dir-enclavekit/x")
        }
        #expect(error?.errno == ENOENT)
        #expect(error?.path == "/nonexistent-dir-enclavekit/x")
    }
}

@Suite struct JSONValueTests {
    @Test func escapesLikeSerdeJSON() {
        let v: JSONValue = .object([("a/b", .string("q\"\\\n\u{01}é/")), ("n", .null)])
        #expect(v.serialized() == #"{"a/b":"q\"\\\n\u0001é/","n":null}"#)
    }

    @Test func prettyMatchesSerdeJSONLayout() {
        let v: JSONValue = .object([("x", .int(4)), ("y", .object([])), ("z", .array([.bool(true)]))])
        #expect(v.serialized(style: .pretty) == "{\n  \"x\": 4,\n  \"y\": {},\n  \"z\": [\n    true\n  ]\n}")
    }

    @Test func canonicalSortsKeysAtEveryLevel() {
        let v: JSONValue = .object([("b", .object([("d", .int(1)), ("c", .int(2))])), ("a", .string(""))])
        #expect(v.serialized(style: .canonical) == #"{"a":"","b":{"c":2,"d":1}}"#)
    }
}
