import Foundation
import TestSupport
import Testing

@testable import Recipe

@Suite("Unpacker")
struct UnpackerTests {
    func resolved(_ tmp: TestDirectory, _ name: String, _ bytes: [UInt8], unpack: UnpackMode, file: String)
        throws -> ResolvedInput
    {
        let path = try tmp.write(file, bytes)
        let input = RecipeInput(name: name, kind: .url, source: "http://h/\(file)", unpack: unpack)
        return ResolvedInput(input: input, sha256: try sha256sum(path), file: path, origin: input.source)
    }

    @Test func compressedTarAndZipMatchReferenceTools() throws {
        let tmp = try TestDirectory()
        try tmp.write("src/a/b.txt", "b\n")
        try tmp.write("src/run", "#!/bin/sh\n", mode: 0o755)
        try tmp.symlink("src/link", to: "a/b.txt")
        let reference = try TreeDigest.digest(directory: tmp.path + "/src")
        _ = try runProgram("tar", ["-C", tmp.path + "/src", "-cJf", tmp.path + "/src.tar.xz", "."])
        _ = try runProgram(
            "python3",
            [
                "-c",
                """
                import os, sys, zipfile
                root = sys.argv[1]
                with zipfile.ZipFile(sys.argv[2], "w") as z:
                    for d, dirs, files in os.walk(root):
                        for n in sorted(dirs + files):
                            p = os.path.join(d, n)
                            info = zipfile.ZipInfo(os.path.relpath(p, root) + ("/" if os.path.isdir(p) and not os.path.islink(p) else ""))
                            st = os.lstat(p)
                            info.external_attr = st.st_mode << 16
                            z.writestr(info, os.readlink(p) if os.path.islink(p) else (b"" if os.path.isdir(p) else open(p, "rb").read()))
                """,
                tmp.path + "/src", tmp.path + "/src.zip",
            ])
        for (file, mode) in [("src.tar.xz", UnpackMode.tar), ("src.zip", .zip)] {
            let path = tmp.path + "/" + file
            let input = RecipeInput(name: "s", kind: .url, source: "http://h/" + file, unpack: mode)
            let out = tmp.path + "/out-" + file
            try Unpacker.unpack(ResolvedInput(input: input, sha256: "", file: path, origin: ""), into: out)
            #expect(try TreeDigest.digest(directory: out) == reference, "\(file)")
        }
    }

    @Test func noneLinksTheFileUnderItsName() throws {
        let tmp = try TestDirectory()
        let input = try resolved(tmp, "blob", Array("payload".utf8), unpack: .none, file: "blob.bin")
        try Unpacker.unpack(input, into: tmp.path + "/out")
        #expect(try String(contentsOfFile: tmp.path + "/out/blob.bin", encoding: .utf8) == "payload")
        let exists = #expect(throws: RecipeError.self) { try Unpacker.unpack(input, into: tmp.path + "/out") }
        #expect(exists?.description.contains("already exists") == true)
    }

    /// The Archive module's errors come back as recipe errors that name the input first, and a failed
    /// extraction leaves no output folder.
    @Test(arguments: [(UnpackMode.tar, "bad.tar"), (.zip, "bad.zip"), (.deb, "bad.deb"), (.image, "bad.tar")])
    func archiveErrorsNameTheInputAndLeaveNothing(mode: UnpackMode, file: String) throws {
        let tmp = try TestDirectory()
        let input = try resolved(tmp, "evil", Array("not an archive of any kind".utf8), unpack: mode, file: file)
        let out = tmp.path + "/out"
        let error = #expect(throws: RecipeError.self) { try Unpacker.unpack(input, into: out) }
        #expect(error?.kind == .unpack, "\(String(describing: error))")
        #expect(
            error?.description.hasPrefix("input 'evil': archive '\(file)': ") == true, "\(String(describing: error))")
        #expect(!FileManager.default.fileExists(atPath: out), "no partial output")
    }

    @Test(arguments: [("../evil", "contains '..'"), ("/abs", "is absolute"), ("a/../../b", "contains '..'")])
    func zipRefusesEscapingNames(name: String, fragment: String) throws {
        let tmp = try TestDirectory()
        let zip = tmp.path + "/bad.zip"
        _ = try runProgram(
            "python3",
            [
                "-c",
                "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1], 'w'); z.writestr(sys.argv[2], 'x'); z.close()",
                zip, name,
            ])
        let input = RecipeInput(name: "z", kind: .url, source: "http://h/bad.zip", unpack: .zip)
        let error = #expect(throws: RecipeError.self) {
            try Unpacker.unpack(ResolvedInput(input: input, sha256: "", file: zip, origin: ""), into: tmp.path + "/out")
        }
        #expect(error?.description == "input 'z': archive 'bad.zip': entry '\(name)' \(fragment)")
        #expect(!FileManager.default.fileExists(atPath: tmp.path + "/out"))
    }
}
