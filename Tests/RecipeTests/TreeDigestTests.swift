import Foundation
import Recipe
import Testing

@Suite("Tree digest")
struct TreeDigestTests {
    /// A tree with every entry type, modes that must be reduced, and names whose per-directory order
    /// differs from whole-path byte order (`a-b` sorts before `a/…`).
    func makeTree(_ tmp: TemporaryDirectory) throws -> String {
        let root = try tmp.directory("tree")
        try tmp.file("tree/a/b.txt", "b\n", mode: 0o600)
        try tmp.file("tree/a-b", "dash\n", mode: 0o640)
        try tmp.file("tree/bin/tool", "#!/bin/sh\n", mode: 0o700)
        try tmp.file("tree/bin/other", "", mode: 0o4755)
        _ = try tmp.directory("tree/empty")
        try tmp.symlink("tree/link", to: "a/b.txt")
        try tmp.symlink("tree/dangling", to: "/nowhere/at/all")
        return root
    }

    @Test func matchesIndependentReference() throws {
        let tmp = try TemporaryDirectory()
        let root = try makeTree(tmp)
        let reference = try runProgram("python3", [Fixtures.path("tree_digest.py"), root])
        let lines = reference.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
        let listing = try TreeDigest.listing(directory: root)
        #expect(String(decoding: listing, as: UTF8.self) == String(lines[1]))
        #expect(try TreeDigest.digest(directory: root) == String(lines[0]))
        let entries = try TreeDigest.entries(directory: root)
        #expect(entries.map { String(decoding: $0.path, as: UTF8.self) }.prefix(3) == ["a", "a-b", "a/b.txt"])
        #expect(entries.first { $0.path == Array("bin/other".utf8) }?.mode == "0755")
        #expect(entries.first { $0.path == Array("a/b.txt".utf8) }?.mode == "0644")
    }

    @Test func ignoresTimesOwnersAndOtherModeBits() throws {
        let tmp = try TemporaryDirectory()
        let root = try makeTree(tmp)
        let before = try TreeDigest.digest(directory: root)
        try FileManager.default.setAttributes(
            [.modificationDate: Date(timeIntervalSince1970: 0), .posixPermissions: 0o664], ofItemAtPath: root + "/a-b")
        try FileManager.default.setAttributes([.posixPermissions: 0o711], ofItemAtPath: root + "/a")
        #expect(try TreeDigest.digest(directory: root) == before)
        try tmp.file("tree/a-b", "dash\n", mode: 0o755)
        #expect(try TreeDigest.digest(directory: root) != before, "owner-executable changes the digest")
    }

    @Test func emptyDirectoryIsDigestOfEmptyListing() throws {
        let tmp = try TemporaryDirectory()
        let root = try tmp.directory("empty")
        #expect(
            try TreeDigest.digest(directory: root) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        )
    }

    @Test func specialFilesAreErrors() throws {
        let tmp = try TemporaryDirectory()
        let root = try tmp.directory("tree")
        guard mkfifo(root + "/pipe", 0o644) == 0 else {
            Issue.record("mkfifo failed")
            return
        }
        let error = #expect(throws: RecipeError.self) { try TreeDigest.digest(directory: root) }
        #expect(error?.description.contains("special file") == true)
    }

    @Test func newlineInNameIsAnError() throws {
        let tmp = try TemporaryDirectory()
        let root = try tmp.directory("tree")
        try tmp.file("tree/bad\nname", "x")
        let error = #expect(throws: RecipeError.self) { try TreeDigest.digest(directory: root) }
        #expect(error?.description.contains("newline") == true)
    }
}
