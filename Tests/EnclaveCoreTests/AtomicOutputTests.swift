import Foundation
import TestSupport
import Testing

@testable import EnclaveCore

/// ``AtomicOutput/ExistingFile``: `.refuse` keeps an existing file, whether it was there when the output was
/// created or appeared before the commit (another process); `.replace` renames over it.
@Suite struct AtomicOutputExistingTests {
    @Test func refuseKeepsAFileThatExistsAtCreation() throws {
        let dir = try TestDirectory()
        let path = try dir.write("f", "old")
        let error = #expect(throws: SystemError.self) { try AtomicOutput(path: path, existing: .refuse) }
        #expect(error == AtomicOutput.refusal(path))
        #expect(error?.errno == EEXIST)
        #expect(try dir.read("f") == Array("old".utf8))
        #expect(dir.listing() == ["f"])
    }

    @Test func refuseKeepsAFileMadeBetweenCreationAndCommit() throws {
        let dir = try TestDirectory()
        let path = dir.file("f")
        let out = try AtomicOutput(path: path, existing: .refuse)
        try out.write(Array("new".utf8))
        _ = try dir.write("f", "made meanwhile")
        let error = #expect(throws: SystemError.self) { try out.commit() }
        #expect(error == AtomicOutput.refusal(path))
        #expect(try dir.read("f") == Array("made meanwhile".utf8))
        withExtendedLifetime(out) {}
    }

    @Test(arguments: [AtomicOutput.ExistingFile.refuse, .replace])
    func aFreeNameGetsTheFileAndNoTemporaryStays(_ existing: AtomicOutput.ExistingFile) throws {
        let dir = try TestDirectory()
        try AtomicOutput.write(Array("new".utf8), to: dir.file("f"), mode: 0o640, existing: existing)
        #expect(try dir.read("f") == Array("new".utf8))
        #expect(dir.listing() == ["f"])
        let mode = try FileManager.default.attributesOfItem(atPath: dir.file("f"))[.posixPermissions] as? Int
        #expect(mode == 0o640)
    }

    @Test func replaceRenamesOverAnExistingFile() throws {
        let dir = try TestDirectory()
        let path = try dir.write("f", "old")
        try AtomicOutput.write(Array("new".utf8), to: path)
        #expect(try dir.read("f") == Array("new".utf8))
        #expect(dir.listing() == ["f"])
    }

    @Test func checkAbsentSeesADanglingSymlink() throws {
        let dir = try TestDirectory()
        try dir.symlink("l", to: "nowhere")
        #expect(throws: AtomicOutput.refusal(dir.file("l"))) { try AtomicOutput.checkAbsent(dir.file("l")) }
        try AtomicOutput.checkAbsent(dir.file("free"))
    }
}
