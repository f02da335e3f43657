import Foundation
import TestSupport
import Testing

/// TOML that aborted `enclavekit build` and `lock` with SIGABRT inside toml++ (`n=[}`, issue 13 item 14), and its
/// neighbours, as recipes and as Gramine manifests: one error line and exit status 1, never a signal.
@Suite struct HostileTOMLCLITests {
    static let inputs: [(String, String)] = [
        ("n=[}", "recipe.toml:1:4: TOML syntax error: '}' does not close the '['"),
        ("a=[1,}", "recipe.toml:1:6: TOML syntax error: '}' does not close"),
        ("a={]", "recipe.toml:1:4: TOML syntax error: ']' does not close"),
        ("[a]]", "recipe.toml:1:"),
        ("a=\"abc", "recipe.toml:1:"),
        ("a=" + String(repeating: "[", count: 200), "nested more than 128 deep"),
        ("\u{FEFF}[+]", "TOML syntax error: a table header must start with a key"),
        ("a=[1,\u{2028}]", "recipe.toml:1:6: TOML syntax error: a character that is not ASCII"),
    ]

    @Test(arguments: inputs) func buildAndLockReportOneLine(text: String, fragment: String) throws {
        let tmp = try TestDirectory()
        let recipe = tmp.path + "/recipe.toml"
        try Data(text.utf8).write(to: URL(fileURLWithPath: recipe))
        for command in [["lock", recipe], ["build", recipe, "--out", tmp.path + "/out"]] {
            let result = try CLIRunner.run(command, environment: ["XDG_CACHE_HOME": tmp.path + "/cache"])
            #expect(result.status == 1, "\(command[0]) \(text): \(result.stderr)")
            #expect(result.stderr.hasPrefix("Error: \(tmp.path)/"), "\(command[0]) \(text): \(result.stderr)")
            #expect(result.stderr.contains(fragment), "\(command[0]) \(text): \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(command[0]) \(text): \(result.stderr)")
        }
    }

    @Test(arguments: inputs) func gramineManifestReportsOneLine(text: String, fragment: String) throws {
        let tmp = try TestDirectory()
        let manifest = tmp.path + "/app.manifest.sgx"
        try Data(text.utf8).write(to: URL(fileURLWithPath: manifest))
        let result = try CLIRunner.run([
            "sgx", "measure", "--gramine-manifest", manifest, "--libpal", SGXCLITests.fixture("gramine_libpal.so"),
        ])
        #expect(result.status == 1, "\(text): \(result.stderr)")
        #expect(result.stderr.hasPrefix("Error: \(manifest): manifest: "), "\(text): \(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(text): \(result.stderr)")
    }
}
