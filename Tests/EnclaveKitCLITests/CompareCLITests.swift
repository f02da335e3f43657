import EnclaveCore
import Foundation
import TestSupport
import Testing

/// `enclavekit compare` end to end: ramdisks made by GNU cpio, EIFs made by `enclavekit eif build`.
@Suite("compare CLI")
struct CompareCLITests {
    /// Two trees that differ in one text file, packed as newc archives by GNU cpio (`--reproducible`),
    /// and EIFs built from them; returns the directory.
    static func inputs() throws -> TestDirectory {
        let dir = try TestDirectory()
        let fm = FileManager.default
        for (side, text) in [("a", "hello\nworld\n"), ("b", "hello\nthere\n")] {
            let root = dir.path + "/tree-\(side)"
            try fm.createDirectory(atPath: root + "/etc", withIntermediateDirectories: true)
            try Data(text.utf8).write(to: URL(fileURLWithPath: root + "/etc/motd"))
            for p in [root + "/etc/motd", root + "/etc", root] {
                try fm.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_700_000_000)], ofItemAtPath: p)
            }
            let status = try shell(
                "cd '\(root)' && find . | LC_ALL=C sort | cpio -o -H newc --reproducible --quiet > '\(dir.path)/\(side).cpio'"
            )
            #expect(status == 0)
        }
        try Data((0..<3000).map { UInt8($0 % 256) }).write(to: URL(fileURLWithPath: dir.path + "/kernel"))
        for side in ["a", "b"] {
            let r = try CLIRunner.run([
                "eif", "build", "--kernel", dir.path + "/kernel", "--cmdline", "console=ttyS0", "--ramdisk",
                dir.path + "/a.cpio", "--ramdisk", dir.path + "/\(side).cpio", "--output", dir.path + "/\(side).eif",
                "--build-time", "2023-11-14T22:13:20+00:00",
            ])
            #expect(r.status == 0, "\(r.stderr)")
        }
        return dir
    }

    static func shell(_ script: String) throws -> Int32 {
        try ToolRunner.run("/bin/sh", ["-c", script]).status
    }

    @Test(arguments: ["a.cpio", "a.eif"])
    func identicalInputsExitZero(name: String) throws {
        let dir = try Self.inputs()
        let r = try CLIRunner.run(["compare", dir.path + "/" + name, dir.path + "/" + name])
        #expect(r.status == 0)
        #expect(r.stdout == "identical\n")
        #expect(r.stderr == "")
    }

    @Test func differentRamdisksExitThreeWithTheEntryAndItsDiff() throws {
        let dir = try Self.inputs()
        let r = try CLIRunner.run(["compare", dir.path + "/a.cpio", dir.path + "/b.cpio"])
        #expect(r.status == 3)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "entry etc/motd")
        #expect(lines.contains("      -world"))
        #expect(lines.contains("      +there"))
        #expect(lines.last == "1 difference")
    }

    @Test func differentEIFsNamePCR2AndTheEntryInJSON() throws {
        let dir = try Self.inputs()
        let r = try CLIRunner.run(["compare", dir.path + "/a.eif", dir.path + "/b.eif", "--json"])
        #expect(r.status == 3)
        let json = try JSONParser.parse(r.stdout)
        #expect(json["identical"] == .bool(false))
        guard case .array(let differences)? = json["differences"] else {
            Issue.record("no differences array")
            return
        }
        let locations = differences.compactMap { d -> [String]? in
            guard case .array(let parts)? = d["location"] else { return nil }
            return parts.compactMap(\.stringValue)
        }
        #expect(
            locations == [
                ["measurement PCR0"], ["measurement PCR2"],
                ["section Ramdisk[1] (app)", "entry etc/motd", "content"],
            ])
    }

    @Test func diffoscopeAddsItsViewWhenInstalled() throws {
        let dir = try Self.inputs()
        let r = try CLIRunner.run(["compare", dir.path + "/a.cpio", dir.path + "/b.cpio", "--diffoscope"])
        #expect(r.status == 3)
        #expect(r.stdout.contains("diffoscope:"))
        #expect(r.stdout.contains("    --- expected/motd\n"))
        #expect(r.stdout.contains("    -world\n"))
        #expect(!r.stdout.contains("not installed"))
    }

    @Test func missingDiffoscopeIsANoteNotAFailure() throws {
        let dir = try Self.inputs()
        let r = try CLIRunner.run(
            ["compare", dir.path + "/a.cpio", dir.path + "/b.cpio", "--diffoscope"],
            environment: ["PATH": "/nonexistent"])
        #expect(r.status == 3)
        #expect(r.stdout.hasSuffix("note: diffoscope is not installed (apt-get install diffoscope-minimal)\n"))
    }

    @Test(arguments: [
        (["a.cpio", "truncated.cpio"], "truncated.cpio: cpio: offset "),
        (["a.eif", "a.cpio"], "cannot compare"),
        (["a.cpio", "missing.cpio"], "missing.cpio"),
    ])
    func badInputExitsOneWithOneLine(args: [String], message: String) throws {
        let dir = try Self.inputs()
        let bytes = try Data(contentsOf: URL(fileURLWithPath: dir.path + "/a.cpio"))
        try bytes.prefix(200).write(to: URL(fileURLWithPath: dir.path + "/truncated.cpio"))
        let r = try CLIRunner.run(["compare"] + args.map { dir.path + "/" + $0 })
        #expect(r.status == 1)
        #expect(r.stdout == "")
        #expect(r.stderr.hasPrefix("Error: "))
        #expect(r.stderr.contains(message))
        #expect(r.stderr.split(separator: "\n").count == 1)
    }

    /// Two release directories A and B (an EIF each, named as the manifest names it) and their manifests
    /// A.json and B.json, which differ in the EIF's size and sha256.
    static func releases() throws -> TestDirectory {
        let dir = try Self.inputs()
        let fm = FileManager.default
        for (side, eif) in [("A", "a.eif"), ("B", "b.eif")] {
            try fm.createDirectory(atPath: dir.path + "/" + side, withIntermediateDirectories: true)
            try fm.copyItem(atPath: dir.path + "/" + eif, toPath: dir.path + "/\(side)/example-node.eif")
            let sha = try FileStream.hash(path: dir.path + "/" + eif, .sha256).hex
            let original = try Fixtures.text("compare-manifest.json")
            let size = try FileInput(path: dir.path + "/" + eif).size
            let text = original.replacingOccurrences(
                of: #""sha256":"7f8ba8efcfab937f04be28e6aa8fb0aa530b17628f57abd84b9937f801c56cea","size":82"#,
                with: #""sha256":"\#(sha)","size":\#(size)"#)
            #expect(text != original)
            try Data(text.utf8).write(to: URL(fileURLWithPath: dir.path + "/\(side).json"))
        }
        return dir
    }

    @Test func manifestsDrillIntoTheirArtifacts() throws {
        let dir = try Self.releases()
        let r = try CLIRunner.run([
            "compare", dir.path + "/A.json", dir.path + "/B.json", "--expected-artifacts", dir.path + "/A",
            "--actual-artifacts", dir.path + "/B",
        ])
        #expect(r.status == 3)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "artifact example-node.eif")
        #expect(lines.contains { $0.hasPrefix("  sha256: expected ") })
        #expect(lines.contains { $0.hasPrefix("  measurement PCR2: expected ") })
        #expect(lines.contains("  section Ramdisk[1] (app)"))
        #expect(lines.contains("    entry etc/motd"))
        let plain = try CLIRunner.run(["compare", dir.path + "/A.json", dir.path + "/B.json"])
        #expect(plain.status == 3)
        #expect(!plain.stdout.contains("section"))
    }

    /// Issue #13 item 12: two output directories are compared through their manifests, field by field,
    /// not with a one-line text diff of manifest.json; files no manifest lists are still entries.
    @Test func outputDirectoriesCompareTheirManifestsFieldByField() throws {
        let dir = try Self.releases()
        let fm = FileManager.default
        for side in ["A", "B"] {
            try fm.copyItem(atPath: dir.path + "/\(side).json", toPath: dir.path + "/\(side)/manifest.json")
        }
        try Data("only here\n".utf8).write(to: URL(fileURLWithPath: dir.path + "/B/notes.txt"))
        let r = try CLIRunner.run(
            ["compare", dir.path + "/A", dir.path + "/B", "--exclude-directory-metadata"])
        #expect(r.status == 3, "\(r.stdout)\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "artifact example-node.eif", "\(r.stdout)")
        #expect(lines.contains { $0.hasPrefix("  sha256: expected ") }, "\(r.stdout)")
        #expect(lines.contains("  section Ramdisk[1] (app)"), "\(r.stdout)")
        #expect(lines.contains { $0.hasPrefix("entry notes.txt: only in the actual input") }, "\(r.stdout)")
        #expect(!r.stdout.contains("manifest.json"), "\(r.stdout)")
        #expect(!r.stdout.contains("\"artifacts\""), "no raw JSON diff: \(r.stdout)")

        let json = try CLIRunner.run(["compare", dir.path + "/A", dir.path + "/B", "--json"])
        let parsed = try JSONParser.parse(json.stdout)
        guard case .array(let differences)? = parsed["differences"] else {
            Issue.record("no differences array in \(json.stdout)")
            return
        }
        let locations = differences.compactMap { d -> [String]? in
            guard case .array(let parts)? = d["location"] else { return nil }
            return parts.compactMap(\.stringValue)
        }
        #expect(locations.first == ["artifact example-node.eif", "sha256"], "\(locations)")
        #expect(!locations.contains { $0.first == "entry manifest.json" })

        // Identical output directories are identical.
        let same = try CLIRunner.run(["compare", dir.path + "/A", dir.path + "/A"])
        #expect(same.status == 0)
        #expect(same.stdout == "identical\n")
    }

    @Test(arguments: [["onlyone"], ["a", "b", "--max-differences", "0"], ["a", "b", "--expected-artifacts", "x"]])
    func usageErrorsExit64(args: [String]) throws {
        let r = try CLIRunner.run(["compare"] + args)
        #expect(r.status == 64)
    }

    @Test func helpHasExamples() throws {
        let r = try CLIRunner.run(["compare", "--help"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("Examples:"))
        #expect(r.stdout.contains("Exit status: 0 identical; 3 different"))
    }
}
