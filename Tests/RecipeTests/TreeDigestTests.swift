import EnclaveCore
import Foundation
import Recipe
import TestSupport
import Testing

@Suite("Tree digest")
struct TreeDigestTests {
    /// A tree with every entry type, modes that must be reduced, and names whose per-directory order
    /// differs from whole-path byte order (`a-b` sorts before `a/…`).
    func makeTree(_ tmp: TestDirectory) throws -> String {
        let root = try tmp.directory("tree")
        try tmp.write("tree/a/b.txt", "b\n", mode: 0o600)
        try tmp.write("tree/a-b", "dash\n", mode: 0o640)
        try tmp.write("tree/bin/tool", "#!/bin/sh\n", mode: 0o700)
        try tmp.write("tree/bin/other", "", mode: 0o4755)
        _ = try tmp.directory("tree/empty")
        try tmp.symlink("tree/link", to: "a/b.txt")
        try tmp.symlink("tree/dangling", to: "/nowhere/at/all")
        return root
    }

    @Test func matchesIndependentReference() throws {
        let tmp = try TestDirectory()
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
        let tmp = try TestDirectory()
        let root = try makeTree(tmp)
        let before = try TreeDigest.digest(directory: root)
        try FileManager.default.setAttributes(
            [.modificationDate: Date(timeIntervalSince1970: 0), .posixPermissions: 0o664], ofItemAtPath: root + "/a-b")
        try FileManager.default.setAttributes([.posixPermissions: 0o711], ofItemAtPath: root + "/a")
        #expect(try TreeDigest.digest(directory: root) == before)
        try tmp.write("tree/a-b", "dash\n", mode: 0o755)
        #expect(try TreeDigest.digest(directory: root) != before, "owner-executable changes the digest")
    }

    @Test func emptyDirectoryIsDigestOfEmptyListing() throws {
        let tmp = try TestDirectory()
        let root = try tmp.directory("empty")
        #expect(
            try TreeDigest.digest(directory: root) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        )
    }

    @Test func specialFilesAreErrors() throws {
        let tmp = try TestDirectory()
        let root = try tmp.directory("tree")
        guard mkfifo(root + "/pipe", 0o644) == 0 else {
            Issue.record("mkfifo failed")
            return
        }
        let error = #expect(throws: RecipeError.self) { try TreeDigest.digest(directory: root) }
        #expect(error?.description.contains("special file") == true)
    }

    @Test func newlineInNameIsAnError() throws {
        let tmp = try TestDirectory()
        let root = try tmp.directory("tree")
        try tmp.write("tree/bad\nname", "x")
        let error = #expect(throws: RecipeError.self) { try TreeDigest.digest(directory: root) }
        #expect(error?.description.contains("newline") == true)
    }

    /// Issue #13 item 5: the files in which two trees differ, from their listings.
    @Test func changesNameFilesAddedRemovedAndModes() throws {
        let tmp = try TestDirectory()
        try tmp.write("old/node.c", "int main(void) { return 0; }\n")
        try tmp.write("old/run.sh", "#!/bin/sh\n")
        try tmp.write("old/gone.txt", "bye\n")
        try tmp.write("old/swap", "a file\n")
        try tmp.write("new/node.c", "int main(void) { return 1; }\n")
        try tmp.write("new/run.sh", "#!/bin/sh\n", mode: 0o755)
        try tmp.write("new/lib/util.c", "\n")
        try tmp.symlink("new/swap", to: "node.c")
        let old = try TreeDigest.entries(directory: tmp.path + "/old")
        let new = try TreeDigest.entries(directory: tmp.path + "/new")
        let sha = { (text: String) in Digest.sha256(Array(text.utf8)).hex }
        #expect(
            TreeDigest.changes(from: old, to: new) == [
                "file gone.txt removed (sha256 \(sha("bye\n")))",
                "directory lib added",
                "file lib/util.c added (sha256 \(sha("\n")), mode 0644)",
                "file node.c changed (sha256 \(sha("int main(void) { return 0; }\n")) → "
                    + "\(sha("int main(void) { return 1; }\n")))",
                "file run.sh changed (mode 0644 → 0755)",
                "file swap is now a symlink",
            ])
        #expect(TreeDigest.changes(from: old, to: old) == [])

        // A listing's bytes parse back into the same entries and the same digest.
        let listing = try TreeDigest.listing(directory: tmp.path + "/new")
        let parsed = try #require(TreeDigest.entries(listing: listing))
        #expect(parsed.map(\.line) == new.map(\.line))
        #expect(TreeDigest.digest(of: parsed) == (try TreeDigest.digest(directory: tmp.path + "/new")))
        for bad in [
            "x 0644 1 \(sha("")) a", "f 0600 1 \(sha("")) a", "f 0644 -1 \(sha("")) a", "f 0644 1 abc a",
            "f 0644 1 \(sha("")) ", "f 0644 1 \(sha("")) /etc/passwd", "f 0644 1 \(sha(""))",
        ] {
            #expect(TreeDigest.Entry(line: Array(bad.utf8)) == nil, "\(bad)")
        }
        #expect(TreeDigest.entries(listing: Array("f 0644 1 \(sha("")) a".utf8)) == nil, "no final newline")
    }
}
