import Foundation
import Testing

@Suite struct GeneralCLITests {
    @Test func versionAndHelp() throws {
        let version = try CLIRunner.run(["--version"])
        #expect(version.status == 0)
        #expect(version.stdout.hasPrefix("0."))
        let help = try CLIRunner.run(["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("Examples:"))
    }

    @Test func measureRejectsUnknownFormatWithOneLine() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/random.bin"
        try Array(repeating: UInt8(7), count: 100).withUnsafeBytes {
            try Data($0).write(to: URL(fileURLWithPath: path))
        }
        let r = try CLIRunner.run(["measure", path])
        #expect(r.status != 0)
        #expect(r.stderr.contains("not a format EnclaveKit can measure"))
        #expect(r.stderr.split(separator: "\n").count == 1)
    }

    @Test func measureMissingFileNamesIt() throws {
        let r = try CLIRunner.run(["measure", "/nonexistent/x.eif"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("/nonexistent/x.eif"))
    }
}
