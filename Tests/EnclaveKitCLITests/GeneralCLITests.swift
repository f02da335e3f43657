import Foundation
import TestSupport
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

    /// The exit statuses the top-level help lists are the ones the commands use (and the README's Usage
    /// section gives): 3 belongs to rebuild and compare, a signal ends the process after the cleanup.
    @Test func helpListsTheExitStatuses() throws {
        let help = try CLIRunner.run(["--help"])
        let text = help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        for phrase in [
            "0 success; 1 an error or a check that failed;", "3 not reproduced (rebuild, compare);",
            "64 a command line that does not parse;", "SIGINT, SIGTERM or SIGHUP (130, 143, 129 in a shell)",
        ] {
            #expect(text.contains(phrase), "--help does not say \(phrase)")
        }
        #expect(!text.contains("reserved"))
    }

    @Test func measureRejectsUnknownFormatWithOneLine() throws {
        let dir = try TestDirectory()
        let path = dir.path + "/random.bin"
        try Array(repeating: UInt8(7), count: 100).withUnsafeBytes {
            try Data($0).write(to: URL(fileURLWithPath: path))
        }
        let r = try CLIRunner.run(["measure", path])
        #expect(r.status == 1)
        #expect(r.stderr.contains("not a format EnclaveKit can measure"))
        #expect(r.stderr.split(separator: "\n").count == 1)
    }

    @Test func measureMissingFileNamesIt() throws {
        let r = try CLIRunner.run(["measure", "/nonexistent/x.eif"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("/nonexistent/x.eif"))
    }
}
