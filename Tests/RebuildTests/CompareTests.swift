import Archive
import Builder
import EnclaveCore
import Foundation
import Nitro
import Release
import TestSupport
import Testing

@testable import Rebuild

/// One change to the app ramdisk and where `compare` must report it.
struct AppChange: Sendable, CustomStringConvertible {
    var name: String
    var change: @Sendable ([Member]) -> [Member]
    /// The location of the (first) entry difference, below the ramdisk section.
    var location: [String]
    var expected: String?
    var actual: String?
    var description: String { name }

    static func edit(_ path: String, _ body: @escaping @Sendable (inout Member) -> Void)
        -> @Sendable ([Member]) -> [Member]
    {
        { members in
            members.map { m in
                var m = m
                if m.name == path { body(&m) }
                return m
            }
        }
    }

    static let all: [AppChange] = [
        AppChange(
            name: "one byte of a binary", change: edit("rootfs/bin/node") { $0.data[4321] ^= 1 },
            location: ["entry rootfs/bin/node", "content"], expected: nil, actual: nil),
        AppChange(
            name: "mode", change: edit("rootfs/app.js") { $0.mode = 0o600 }, location: ["entry rootfs/app.js", "mode"],
            expected: "0644", actual: "0600"),
        AppChange(
            name: "mtime", change: edit("cmd") { $0.mtime += 1 }, location: ["entry cmd", "mtime"],
            expected: "1700000000 (2023-11-14T22:13:20+00:00)", actual: "1700000001 (2023-11-14T22:13:21+00:00)"),
        AppChange(
            name: "uid", change: edit("env") { $0.uid = 1000 }, location: ["entry env", "uid"], expected: "0",
            actual: "1000"),
        AppChange(
            name: "symlink target", change: edit("rootfs/bin/sh") { $0.data = Array("dash".utf8) },
            location: ["entry rootfs/bin/sh", "link target"], expected: "busybox", actual: "dash"),
        AppChange(
            name: "removed entry", change: { $0.filter { $0.name != "env" } }, location: ["entry env"],
            expected: "regular file, mode 0644, 10 bytes, sha256 "
                + Digest.sha256(Array("PATH=/bin\n".utf8)).hex, actual: nil),
        AppChange(
            name: "added entry", change: { $0 + [Member.file("rootfs/new", "x")] }, location: ["entry rootfs/new"],
            expected: nil, actual: "regular file, mode 0644, 1 bytes, sha256 " + Digest.sha256([0x78]).hex),
    ]
}

@Suite("compare: cpio ramdisks")
struct CPIOCompareTests {
    @Test func identicalArchivesAreIdentical() throws {
        let dir = try TestDirectory()
        let a = try dir.write("a.cpio", try Build.cpio(Build.app))
        let b = try dir.write("b.cpio", try Build.cpio(Build.app))
        let report = try Comparer.compareFiles(a, b)
        #expect(report.identical)
        #expect(report.render() == "identical")
    }

    @Test(arguments: AppChange.all)
    func oneChangeIsLocated(change: AppChange) throws {
        let dir = try TestDirectory()
        let a = try dir.write("a.cpio", try Build.cpio(Build.app))
        let b = try dir.write("b.cpio", try Build.cpio(change.change(Build.app)))
        let report = try Comparer.compareFiles(a, b)
        #expect(!report.identical)
        let first = try #require(
            report.differences.first {
                $0.location.first?.hasPrefix("entry") == true && $0.location.first != "entry TRAILER!!!"
            })
        #expect(first.location == change.location)
        if change.expected != nil || change.actual != nil {
            #expect(first.expected == change.expected)
            #expect(first.actual == change.actual)
        }
    }

    @Test func binaryContentNamesTheFirstDifferingOffset() throws {
        let dir = try TestDirectory()
        let a = try dir.write("a.cpio", try Build.cpio(Build.app))
        let b = try dir.write("b.cpio", try Build.cpio(AppChange.all[0].change(Build.app)))
        let report = try Comparer.compareFiles(a, b)
        let d = try #require(report.differences.first { $0.location == ["entry rootfs/bin/node", "content"] })
        #expect(d.detail == ["binary content: first difference at offset 4321 (0x10e1)"])
        let old = Build.app[3].data
        var new = old
        new[4321] ^= 1
        #expect(d.expected == "5000 bytes, sha256 \(Digest.sha256(old).hex)")
        #expect(d.actual == "5000 bytes, sha256 \(Digest.sha256(new).hex)")
    }

    @Test func textContentGetsAUnifiedDiff() throws {
        let dir = try TestDirectory()
        let changed = AppChange.edit("rootfs/app.js") {
            $0.data = Array("const a = 2;\nconsole.log(a);\nexit(0);\n".utf8)
        }
        let a = try dir.write("a.cpio", try Build.cpio(Build.app))
        let b = try dir.write("b.cpio", try Build.cpio(changed(Build.app)))
        let report = try Comparer.compareFiles(a, b)
        let d = try #require(report.differences.first { $0.location == ["entry rootfs/app.js", "content"] })
        #expect(d.detail == ["@@ -1,3 +1,3 @@", "-const a = 1;", "+const a = 2;", " console.log(a);", " exit(0);"])
    }

    @Test func inodeOnlyDifferencesAreReported() throws {
        // Same members, but the canonical profile numbers inodes and devices differently from linuxkit.
        let dir = try TestDirectory()
        let a = try dir.write("a.cpio", try Build.cpio(Build.app))
        let out = MemoryByteOutput()
        let writer = CPIOWriter(output: out, profile: .canonical)
        for m in Build.app {
            try writer.append(
                CPIOEntry(name: m.name, type: m.type, permissions: m.mode, mtime: m.mtime, size: UInt64(m.data.count)),
                data: m.data.isEmpty ? .none : .bytes(m.data))
        }
        try writer.finish()
        let b = try dir.write("b.cpio", out.bytes)
        let report = try Comparer.compareFiles(a, b)
        #expect(!report.identical)
        #expect(report.differences.contains { $0.location == ["entry rootfs", "inode"] })
    }

    /// Hostile input: truncated, bad magic, bad hex, names past the end. Each throws a FormatError.
    @Test(arguments: [
        ("truncated header", 60, FormatError.Kind.truncated),
        ("truncated data", 400, .truncated),
    ])
    func truncatedArchivesThrow(name: String, keep: Int, kind: FormatError.Kind) throws {
        let dir = try TestDirectory()
        let bytes = try Build.cpio(Build.app)
        let a = try dir.write("a.cpio", Array(bytes.prefix(keep)))
        let b = try dir.write("b.cpio", bytes)
        #expect {
            try Comparer.compareFiles(a, b)
        } throws: { error in
            (error as? FormatError)?.kind == kind && (error as? FormatError)?.file == a
        }
    }

    @Test(arguments: [
        (6, UInt8(ascii: "z"), FormatError.Kind.badValue, UInt64(6)),  // inode field not hex
        (94, UInt8(ascii: "0"), .badValue, 94),  // name size 0x0000000? → NUL missing or size 0
    ])
    func malformedHeadersThrowWithTheirOffset(at: Int, byte: UInt8, kind: FormatError.Kind, offset: UInt64) throws {
        var bytes = try Build.cpio(Build.app)
        for i in at..<(at + 8) { bytes[i] = byte }
        let dir = try TestDirectory()
        let a = try dir.write("a.cpio", bytes)
        let b = try dir.write("b.cpio", try Build.cpio(Build.app))
        #expect(throws: FormatError(kind, format: "cpio", offset: offset, "")) { try Comparer.compareFiles(a, b) }
    }

    @Test func garbageAfterTheTrailerThrows() throws {
        var bytes = try Build.cpio(Build.app)
        bytes[bytes.count - 3] = 0x41
        let dir = try TestDirectory()
        let a = try dir.write("a.cpio", bytes)
        let b = try dir.write("b.cpio", try Build.cpio(Build.app))
        let error = #expect(throws: FormatError.self) { try Comparer.compareFiles(a, b) }
        #expect(error?.kind == .badValue)
        #expect(error?.offset == UInt64(bytes.count - 3))
        #expect(error?.message.contains("non-zero byte after the trailer") == true)
    }

    @Test func concatenatedArchivesAreReadInTurn() throws {
        let dir = try TestDirectory()
        let one = try Build.cpio(Build.bootstrap)
        let a = try dir.write("a.cpio", one + (try Build.cpio(Build.app)))
        let b = try dir.write("b.cpio", one + (try Build.cpio(AppChange.all[1].change(Build.app))))
        let report = try Comparer.compareFiles(a, b)
        #expect(report.differences.map(\.location) == [["entry rootfs/app.js", "mode"]])
    }
}

@Suite("compare: EIFs")
struct EIFCompareTests {
    @Test func identicalEIFsAreIdentical() throws {
        let dir = try TestDirectory()
        let a = try Build.eif(in: dir, name: "a")
        let b = try Build.eif(in: dir, name: "b")
        #expect(try Comparer.compareFiles(a, b).identical)
    }

    @Test(arguments: AppChange.all)
    func appRamdiskChangeNamesPCR0AndPCR2AndTheEntry(change: AppChange) throws {
        let dir = try TestDirectory()
        let a = try Build.eif(in: dir, name: "a")
        let b = try Build.eif(in: dir, name: "b", app: change.change(Build.app))
        let report = try Comparer.compareFiles(a, b)
        let ma = try EIFImage(file: FileInput(path: a)).measure().measurements
        let mb = try EIFImage(file: FileInput(path: b)).measure().measurements
        #expect(report.differences.prefix(2).map(\.location) == [["measurement PCR0"], ["measurement PCR2"]])
        #expect(report.differences[0].expected == ma.pcr0.hex)
        #expect(report.differences[0].actual == mb.pcr0.hex)
        #expect(report.differences[1].actual == mb.pcr2.hex)
        #expect(!report.differences.contains { $0.location == ["measurement PCR1"] })
        let entry = try #require(report.differences.first { $0.location.count > 1 })
        #expect(entry.location == ["section Ramdisk[1] (app)"] + change.location)
    }

    @Test func cmdlineChangeNamesPCR0AndPCR1() throws {
        let dir = try TestDirectory()
        let a = try Build.eif(in: dir, name: "a")
        let b = try Build.eif(in: dir, name: "b", cmdline: "console=ttyS0 quiet")
        let report = try Comparer.compareFiles(a, b)
        #expect(
            report.differences.map(\.location) == [
                ["measurement PCR0"], ["measurement PCR1"], ["section Cmdline", "cmdline"],
            ])
        #expect(report.differences[2].expected == "console=ttyS0")
        #expect(report.differences[2].actual == "console=ttyS0 quiet")
    }

    @Test func metadataChangeMovesNoMeasurement() throws {
        let dir = try TestDirectory()
        let a = try Build.eif(in: dir, name: "a")
        let b = try Build.eif(in: dir, name: "b", buildTime: "2024-01-01T00:00:00Z")
        let report = try Comparer.compareFiles(a, b)
        #expect(report.differences.map(\.location) == [["section Metadata", "field BuildMetadata.BuildTime"]])
        #expect(report.differences[0].expected == "\"2023-11-14T22:13:20Z\"")
        #expect(report.differences[0].actual == "\"2024-01-01T00:00:00Z\"")
    }

    @Test func kernelByteIsLocatedByOffset() throws {
        let dir = try TestDirectory()
        var kernel = (0..<4096).map { UInt8($0 % 251) }
        let a = try Build.eif(in: dir, name: "a", kernel: kernel)
        kernel[1000] = 0xFF
        let b = try Build.eif(in: dir, name: "b", kernel: kernel)
        let report = try Comparer.compareFiles(a, b)
        #expect(
            report.differences.map(\.location) == [
                ["measurement PCR0"], ["measurement PCR1"], ["section Kernel", "content"],
            ])
        #expect(report.differences[2].detail == ["binary content: first difference at offset 1000 (0x3e8)"])
    }

    @Test func addedRamdiskIsReported() throws {
        let dir = try TestDirectory()
        let a = try Build.eif(in: dir, name: "a")
        let k = try dir.write("k", (0..<4096).map { UInt8($0 % 251) })
        let r0 = dir.file("a.bootstrap.cpio")
        let r1 = dir.file("a.app.cpio")
        let request = EIFBuildRequest(
            kernelPath: k, cmdline: "console=ttyS0", ramdiskPaths: [r0, r1, r1],
            metadata: EIFMetadata(imageName: "example", imageVersion: "0.1.0", buildTime: "2023-11-14T22:13:20Z"))
        let b = dir.file("b.eif")
        _ = try EIFBuilder.build(request, to: b)
        let report = try Comparer.compareFiles(a, b)
        let locations = report.differences.map(\.location)
        #expect(locations.contains(["measurement PCR0"]))
        #expect(locations.contains(["measurement PCR2"]))
        #expect(locations.contains(["section table"]))
        #expect(locations.contains(["section Ramdisk[2] (app)"]))
    }

    @Test(arguments: [10, 548, 600])
    func truncatedEIFThrows(keep: Int) throws {
        let dir = try TestDirectory()
        let a = try Build.eif(in: dir, name: "a")
        let bytes = try FileInput.contents(of: a)
        let t = try dir.write("t.eif", Array(bytes.prefix(keep)))
        #expect {
            try Comparer.compareFiles(t, a)
        } throws: { error in
            guard let e = error as? FormatError else { return false }
            return e.format == "EIF" && e.file == t
        }
    }

    @Test func corruptRamdiskIsADifferenceNotACrash() throws {
        let dir = try TestDirectory()
        let a = try Build.eif(in: dir, name: "a")
        var bad = try Build.cpio(Build.app)
        bad[200] = UInt8(ascii: "z")
        let r1 = try dir.write("bad.cpio", bad)
        let request = EIFBuildRequest(
            kernelPath: dir.file("a.kernel"), cmdline: "console=ttyS0",
            ramdiskPaths: [dir.file("a.bootstrap.cpio"), r1],
            metadata: EIFMetadata(imageName: "example", imageVersion: "0.1.0", buildTime: "2023-11-14T22:13:20Z"))
        let b = dir.file("b.eif")
        _ = try EIFBuilder.build(request, to: b)
        let report = try Comparer.compareFiles(a, b)
        let d = try #require(report.differences.first { $0.location == ["section Ramdisk[1] (app)", "content"] })
        #expect(d.detail.first?.hasPrefix("not readable as a cpio archive:") == true)
    }
}

@Suite("compare: manifests")
struct ManifestCompareTests {
    static func example() throws -> ReleaseManifest {
        try ReleaseManifest(json: try Fixtures.bytes("example-manifest.json"), format: "example-manifest.json")
    }

    @Test func identicalManifestsAreIdentical() throws {
        let m = try Self.example()
        #expect(try Comparer.compareManifests(expected: m, actual: m).identical)
    }

    struct Change: Sendable, CustomStringConvertible {
        var name: String
        var change: @Sendable (inout ReleaseManifest) -> Void
        var location: [String]
        var description: String { name }
    }

    static let changes: [Change] = [
        Change(name: "version", change: { $0.version = "0.2.0" }, location: ["field version"]),
        Change(name: "sde", change: { $0.sourceDateEpoch += 1 }, location: ["field sourceDateEpoch"]),
        Change(
            name: "lock", change: { $0.lock.sha256 = String(repeating: "0", count: 64) },
            location: ["field lock.sha256"]),
        Change(
            name: "input digest", change: { $0.inputs[2].sha256 = String(repeating: "1", count: 64) },
            location: ["input zig", "sha256"]),
        Change(name: "input removed", change: { $0.inputs.removeFirst() }, location: ["input node-src"]),
        Change(
            name: "artifact size", change: { $0.artifacts[1].size = 61 },
            location: ["artifact example-node.sgx.so", "size"]),
        Change(
            name: "measurement", change: { $0.targets[0].measurements[1].1 = String(repeating: "2", count: 96) },
            location: ["target nitro", "measurement PCR1"]),
        Change(
            name: "setting",
            change: {
                $0.targets[1].settings = .object([
                    ("memory", .string("4G")), ("qemu", .string("7.2")), ("vcpus", .int(1)),
                ])
            },
            location: ["target tdx", "setting memory"]),
        Change(name: "platform", change: { $0.targets[2].platform = .tdx }, location: ["target sgx", "platform"]),
        Change(
            name: "environment added",
            change: {
                $0.environments = [.init(name: "build", sha256: String(repeating: "3", count: 64), packageCount: 9)]
            },
            location: ["environment build"]),
    ]

    @Test func anEnvironmentWithAnotherDigestIsNamed() throws {
        var a = try Self.example()
        a.environments = [.init(name: "runtime", sha256: String(repeating: "4", count: 64), packageCount: 9)]
        var b = a
        b.environments[0].sha256 = String(repeating: "5", count: 64)
        let report = try Comparer.compareManifests(expected: a, actual: b)
        #expect(report.differences.map(\.location) == [["environment runtime", "sha256"]])
    }

    @Test(arguments: changes)
    func oneFieldChangeIsLocated(change: Change) throws {
        let a = try Self.example()
        var b = a
        change.change(&b)
        let report = try Comparer.compareManifests(expected: a, actual: b)
        #expect(report.differences.map(\.location) == [change.location])
    }

    @Test func artifactDigestDrillsIntoTheFiles() throws {
        let dir = try TestDirectory()
        let ea = try Build.eif(in: dir, name: "a")
        let eb = try Build.eif(in: dir, name: "b", app: AppChange.all[1].change(Build.app))
        try FileManager.default.createDirectory(atPath: dir.file("A"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir.file("B"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: ea, toPath: dir.file("A/example-node.eif"))
        try FileManager.default.copyItem(atPath: eb, toPath: dir.file("B/example-node.eif"))
        let a = try Self.example()
        var b = a
        b.artifacts[0].sha256 = try FileStream.hash(path: eb, .sha256).hex
        let report = try Comparer.compareManifests(
            expected: a, actual: b, expectedArtifacts: dir.file("A"), actualArtifacts: dir.file("B"))
        let locations = report.differences.map(\.location)
        #expect(locations.first == ["artifact example-node.eif", "sha256"])
        #expect(locations.contains(["artifact example-node.eif", "measurement PCR0"]))
        #expect(
            locations.contains(["artifact example-node.eif", "section Ramdisk[1] (app)", "entry rootfs/app.js", "mode"])
        )
    }

    @Test func envelopesAreComparedByTheirManifests() throws {
        let dir = try TestDirectory()
        let a = try Self.example()
        var b = a
        b.name = "other"
        let envelope = DSSEEnvelope(payload: Statement(manifest: b).payload, payloadType: DSSE.inTotoPayloadType)
        let pa = try dir.write("a.json", a.canonicalBytes)
        let pb = try dir.write("b.dsse.json", envelope.fileBytes)
        let report = try Comparer.compareFiles(pa, pb)
        #expect(report.differences.map(\.location) == [["field name"]])
        #expect(report.notes == ["signatures are not checked by compare; use enclavekit verify for that"])
    }

    /// Broken JSON and a document of no known kind are FormatErrors at the offending offset, naming the file.
    @Test(arguments: [
        ("{", FormatError.Kind.truncated, 1, "expected an object key"),
        ("{\"x\": 1}", .badValue, 0, "not a release manifest"),
    ])
    func badJSONThrows(text: String, kind: FormatError.Kind, offset: UInt64, message: String) throws {
        let dir = try TestDirectory()
        let a = try dir.write("a.json", Array(text.utf8))
        let b = try dir.write("b.json", try Self.example().canonicalBytes)
        let error = try #require(throws: FormatError.self) { try Comparer.compareFiles(a, b) }
        #expect(error.kind == kind, "\(error)")
        #expect(error.offset == offset, "\(error)")
        #expect("\(error)".contains("a.json") && "\(error)".contains(message), "\(error)")
    }

    @Test func unsupportedSchemaVersionThrows() throws {
        let dir = try TestDirectory()
        let a = try dir.write("a.json", Array("{\"schemaVersion\": 2}".utf8))
        let b = try dir.write("b.json", try Self.example().canonicalBytes)
        let error = try #require(throws: ReleaseError.self) { try Comparer.compareFiles(a, b) }
        #expect(error.kind == .schemaVersion, "\(error)")
        #expect("\(error)".contains("a.json"), "\(error)")
    }
}

@Suite("compare: directories, tar, reports")
struct TreeCompareTests {
    @Test func directoriesDrillIntoArchives() throws {
        let dir = try TestDirectory()
        _ = try dir.write("A/app.cpio", try Build.cpio(Build.app))
        _ = try dir.write("B/app.cpio", try Build.cpio(AppChange.all[1].change(Build.app)))
        _ = try dir.write("A/notes.txt", Array("one\ntwo\n".utf8))
        _ = try dir.write("B/notes.txt", Array("one\n2\n".utf8))
        _ = try dir.write("A/same", [1, 2, 3])
        _ = try dir.write("B/same", [1, 2, 3])
        _ = try dir.write("B/extra", [])
        for side in ["A", "B"] {
            try FileManager.default.setAttributes(
                [.modificationDate: Date(timeIntervalSince1970: 1_700_000_000), .posixPermissions: 0o600],
                ofItemAtPath: dir.file("\(side)/same"))
        }
        let report = try Comparer.compareFiles(dir.file("A"), dir.file("B"))
        let locations = report.differences.map(\.location)
        #expect(locations.contains(["entry app.cpio", "content"]))
        #expect(locations.contains(["entry app.cpio", "entry rootfs/app.js", "mode"]))
        #expect(locations.contains(["entry notes.txt", "content"]))
        #expect(locations.contains(["entry extra"]))
        #expect(!locations.contains { $0.first == "entry same" })
        let notes = try #require(report.differences.first { $0.location == ["entry notes.txt", "content"] })
        #expect(notes.detail == ["@@ -1,2 +1,2 @@", " one", "-two", "+2"])
    }

    @Test func tarArchivesCompareByEntry() throws {
        let dir = try TestDirectory()
        _ = try dir.write("A/x/hello.txt", Array("hello\n".utf8))
        _ = try dir.write("B/x/hello.txt", Array("hello!\n".utf8))
        for side in ["A", "B"] {
            let tar = try ToolRunner.run(
                "/bin/tar",
                [
                    "--sort=name", "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner", "-czf",
                    dir.file("\(side).tgz"), "-C", dir.file(side), "x",
                ])
            #expect(tar.status == 0, "\(tar.stderr)")
        }
        let report = try Comparer.compareFiles(dir.file("A.tgz"), dir.file("B.tgz"))
        #expect(report.differences.map(\.location) == [["entry x/hello.txt", "content"]])
        #expect(report.differences[0].detail == ["@@ -1 +1 @@", "-hello", "+hello!"])
    }

    @Test func differentKindsAreARebuildError() throws {
        let dir = try TestDirectory()
        let a = try Build.eif(in: dir, name: "a")
        let b = try dir.write("b.cpio", try Build.cpio(Build.app))
        let error = #expect(throws: RebuildError.self) { try Comparer.compareFiles(a, b) }
        #expect(error?.kind == .kindsDiffer)
    }

    @Test func maxDifferencesCountsTheRest() throws {
        let dir = try TestDirectory()
        let a = try dir.write("a.cpio", try Build.cpio(Build.app))
        let b = try dir.write(
            "b.cpio",
            try Build.cpio(
                Build.app.map {
                    var m = $0; m.mtime += 5; return m
                }))
        var options = Comparer.Options()
        options.maxDifferences = 2
        let report = try Comparer.compareFiles(a, b, options: options)
        #expect(report.differences.count == 2)
        #expect(report.omitted == Build.app.count - 2)
        #expect(report.render().contains("… \(Build.app.count - 2) more differences not shown"))
    }

    @Test func jsonShape() throws {
        let report = ComparisonReport(differences: [
            Difference(location: ["entry a", "mode"], expected: "0644", actual: "0600"),
            Difference(location: ["entry b"], expected: nil, actual: "fifo", detail: ["x"]),
        ])
        #expect(
            report.json().serialized(style: .compact)
                == #"{"identical":false,"differences":[{"location":["entry a","mode"],"expected":"0644","actual":"0600","#
                + #""detail":[]},{"location":["entry b"],"expected":null,"actual":"fifo","detail":["x"]}],"omitted":0,"#
                + #""notes":[]}"#)
        #expect(
            report.render()
                == "entry a\n  mode: expected 0644, actual 0600\nentry b: only in the actual input (fifo)\n    x\n"
                + "2 differences")
    }
}

@Suite("compare: text diff against GNU diff -u")
struct TextDiffTests {
    static func numbered(_ range: ClosedRange<Int>) -> String { range.map { "line \($0)\n" }.joined() }

    static let pairs: [(String, String, String)] = [
        ("one change", numbered(1...10), numbered(1...10).replacingOccurrences(of: "line 5\n", with: "five\n")),
        ("insert at start", numbered(1...5), "zero\n" + numbered(1...5)),
        ("delete at end", numbered(1...9), numbered(1...7)),
        ("no final newline", "a\nb\nc", "a\nb\nc\n"),
        (
            "two hunks", numbered(1...40),
            numbered(1...40).replacingOccurrences(of: "line 3\n", with: "")
                .replacingOccurrences(of: "line 30\n", with: "thirty\n")
        ),
        (
            "merged hunks", numbered(1...20),
            numbered(1...20).replacingOccurrences(of: "line 5\n", with: "5\n")
                .replacingOccurrences(of: "line 11\n", with: "11\n")
        ),
        ("from empty", "", "x\ny\n"),
        ("to empty", "x\n", ""),
    ]

    @Test(arguments: pairs)
    func matchesGNUDiff(name: String, a: String, b: String) throws {
        let dir = try TestDirectory()
        let pa = try dir.write("a", Array(a.utf8))
        let pb = try dir.write("b", Array(b.utf8))
        let diff = try ToolRunner.run("/usr/bin/diff", ["-u", pa, pb])
        #expect(diff.status == 1)
        let reference = diff.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            .dropFirst(2).dropLast().map(String.init)
        #expect(TextDiff.unified(Array(a.utf8), Array(b.utf8), maxLines: 1000) == reference, "\(name)")
    }

    @Test func outputIsCapped() {
        let lines = TextDiff.unified(Array(Self.numbered(1...100).utf8), Array("".utf8), maxLines: 10)
        #expect(lines.count == 11)
        #expect(lines.last == "… (91 more diff lines not shown)")
    }

    @Test func textDetection() {
        #expect(TextDiff.isText(Array("héllo\n".utf8)))
        #expect(!TextDiff.isText([0x68, 0x00]))
        #expect(!TextDiff.isText([0xFF, 0xFE]))
    }

    @Test func beyondTheEditLimitTheMiddleIsOneBlock() {
        let a = (0..<1500).map { "a\($0)\n" }.joined()
        let b = (0..<1500).map { "b\($0)\n" }.joined()
        let lines = TextDiff.unified(Array(a.utf8), Array(b.utf8), maxLines: 5000)
        #expect(lines.first == "@@ -1,1500 +1,1500 @@")
        #expect(lines.count == 3001)
    }
}

@Suite("compare: directory details")
struct DirectoryDetailTests {
    @Test(arguments: [true, false])
    func directoryMetadataIsOptional(include: Bool) throws {
        let dir = try TestDirectory()
        _ = try dir.write("A/f", [1])
        _ = try dir.write("B/f", [1])
        for (side, t) in [("A", 1_700_000_000.0), ("B", 1_700_000_100.5)] {
            try FileManager.default.setAttributes(
                [.modificationDate: Date(timeIntervalSince1970: t)], ofItemAtPath: dir.file("\(side)/f"))
        }
        var options = Comparer.Options()
        options.directoryMetadata = include
        let report = try Comparer.compareFiles(dir.file("A"), dir.file("B"), options: options)
        #expect(report.differences.map(\.location) == (include ? [["entry f", "mtime"]] : []))
        if include {
            #expect(report.differences[0].actual == "1700000100.500000000 (2023-11-14T22:15:00+00:00)")
        }
    }

    @Test func damagedArchiveInATreeIsADifference() throws {
        let dir = try TestDirectory()
        let good = try Build.cpio(Build.app)
        var bad = good
        bad[300] = UInt8(ascii: "z")
        _ = try dir.write("A/app.cpio", good)
        _ = try dir.write("B/app.cpio", bad)
        var options = Comparer.Options()
        options.directoryMetadata = false
        let report = try Comparer.compareFiles(dir.file("A"), dir.file("B"), options: options)
        #expect(report.differences.map(\.location) == [["entry app.cpio", "content"]])
        #expect(report.differences[0].detail.first?.hasPrefix("not readable as cpio archive: ") == true)
    }
}
