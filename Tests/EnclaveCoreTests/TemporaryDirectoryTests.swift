import Foundation
import TestSupport
import Testing

@testable import EnclaveCore

/// The one temporary-directory maker: the TMPDIR rule, removal with the value, and staging directories.
@Suite struct TemporaryDirectoryOwnerTests {
    @Test(arguments: [
        ("/var/tmp/build", "/var/tmp/build"), ("relative/tmp", "/tmp"), ("", "/tmp"), (nil as String?, "/tmp"),
    ])
    func systemBaseIsAnAbsoluteTMPDIRElseTmp(tmpdir: String?, expected: String) {
        #expect(EnclaveCore.TemporaryDirectory.base(tmpdir: tmpdir) == expected)
    }

    @Test func ownedDirectoryIsPrivateAndGoesWithItsValueAndEverythingInIt() throws {
        let parent = try TestDirectory()
        var path = ""
        do {
            let owned = try EnclaveCore.TemporaryDirectory(in: parent.path + "/made/here", prefix: "scratch-")
            path = owned.path
            #expect(path.hasPrefix(parent.path + "/made/here/scratch-"))
            #expect(FileStatus(path)?.type == .directory)
            #expect(FileStatus(path)?.permissions == 0o700)
            try FileManager.default.createDirectory(atPath: path + "/a/b", withIntermediateDirectories: true)
            try Data("x".utf8).write(to: URL(fileURLWithPath: path + "/a/b/file"))
            chmod(path + "/a", 0o500)  // a read-only directory inside is removed too
            withExtendedLifetime(owned) {}
        }
        #expect(FileStatus(path) == nil)
    }

    @Test func withRemovesTheDirectoryAfterTheBodyAlsoWhenItThrows() throws {
        let parent = try TestDirectory()
        var seen = ""
        #expect(throws: TestFailure.self) {
            try EnclaveCore.TemporaryDirectory.with(in: parent.path, prefix: "t-") { path in
                seen = path
                #expect(FileStatus(path)?.type == .directory)
                throw TestFailure("stop")
            }
        }
        #expect(!seen.isEmpty)
        #expect(FileStatus(seen) == nil)
        let value = try EnclaveCore.TemporaryDirectory.with(in: parent.path, prefix: "t-") { $0 }
        #expect(FileStatus(value) == nil)
    }

    @Test func madeStagingDirectoriesAreFreshAndStay() throws {
        let parent = try TestDirectory()
        let first = try EnclaveCore.TemporaryDirectory.make(in: parent.path, prefix: ".tmp-")
        let second = try EnclaveCore.TemporaryDirectory.make(in: parent.path, prefix: ".tmp-")
        #expect(first != second)
        #expect(FileStatus(first)?.type == .directory)
        #expect(FileStatus(second)?.type == .directory)
    }

    @Test func aParentThatIsAFileIsAnErrorNamingIt() throws {
        let parent = try TestDirectory()
        try Data("f".utf8).write(to: URL(fileURLWithPath: parent.path + "/file"))
        #expect {
            try EnclaveCore.TemporaryDirectory.make(in: parent.path + "/file", prefix: "x-")
        } throws: { error in
            (error as? SystemError)?.path.hasPrefix(parent.path + "/file") == true
        }
    }
}
