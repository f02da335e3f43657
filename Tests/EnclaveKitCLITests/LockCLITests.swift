import Foundation
import TestSupport
import Testing

@Suite("enclavekit lock")
struct LockCLITests {
    /// A recipe folder with a file input, a pinned url input (never fetched) and the given extra text.
    func makeRecipe(_ tmp: TestDirectory, extra: String = "") throws -> String {
        let dir = tmp.path + "/node"
        try FileManager.default.createDirectory(atPath: dir + "/src", withIntermediateDirectories: true)
        try Data("int main(void) { return 0; }\n".utf8).write(to: URL(fileURLWithPath: dir + "/src/node.c"))
        try Data("port = 8080\n".utf8).write(to: URL(fileURLWithPath: dir + "/node.conf"))
        let recipe = """
            recipe = 1
            name = "node"
            version = "0.1.0"
            source-date-epoch = 1700000000

            [inputs.conf]
            kind = "path"
            source = "node.conf"

            [inputs.tool]
            kind = "url"
            source = "http://127.0.0.1:1/tool.bin"
            sha256 = "\(String(repeating: "a", count: 64))"

            """ + extra
        try Data(recipe.utf8).write(to: URL(fileURLWithPath: dir + "/recipe.toml"))
        return dir
    }

    func sha256(_ path: String) throws -> String {
        String(try ToolRunner.run("sha256sum", [path]).stdout.prefix(64))
    }

    @Test func locksPathInputsAndLeavesRecipePinsAlone() throws {
        let tmp = try TestDirectory()
        let dir = try makeRecipe(tmp)
        let env = ["XDG_CACHE_HOME": tmp.path + "/cache"]
        let result = try CLIRunner.run(["lock", dir + "/recipe.toml"], environment: env)
        #expect(result.status == 0, "\(result.stderr)")
        let digest = try sha256(dir + "/node.conf")
        #expect(result.stdout.hasPrefix("wrote \(dir)/recipe.lock (1 of 2 inputs pinned there)\n"))
        #expect(result.stdout.contains("conf  \(digest)  path node.conf  (hashed)"))
        #expect(
            result.stdout.contains(
                "tool  \(String(repeating: "a", count: 64))  url http://127.0.0.1:1/tool.bin  (pinned in the recipe)"))
        let lock = try String(contentsOfFile: dir + "/recipe.lock", encoding: .utf8)
        #expect(
            lock == """
                {
                  "inputs": {
                    "conf": {
                      "kind": "path",
                      "sha256": "\(digest)",
                      "source": "node.conf"
                    }
                  },
                  "lock": 1
                }

                """)

        // A changed input is re-hashed and reported as changed; the JSON report says so.
        try Data("port = 9090\n".utf8).write(to: URL(fileURLWithPath: dir + "/node.conf"))
        let again = try CLIRunner.run(["lock", dir + "/recipe.toml", "--json"], environment: env)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains(#""sha256": "\#(try sha256(dir + "/node.conf"))""#))
        #expect(again.stdout.contains(#""changed": true"#))
        #expect(again.stdout.contains(#""pin": "recipe""#))
    }

    @Test func unknownKeyIsOneLineError() throws {
        let tmp = try TestDirectory()
        let dir = try makeRecipe(tmp, extra: "[targets.nitro]\nplatform = \"nitro\"\nkernal = \"input:conf\"\n")
        let result = try CLIRunner.run(["lock", dir + "/recipe.toml"], environment: ["XDG_CACHE_HOME": tmp.path])
        #expect(result.status == 1)
        #expect(result.stderr == "Error: \(dir)/recipe.toml: [targets.nitro]: unknown key 'kernal'\n")
        #expect(!FileManager.default.fileExists(atPath: dir + "/recipe.lock"))
    }

    @Test func fetchFailureWritesNoLock() throws {
        let tmp = try TestDirectory()
        let dir = try makeRecipe(
            tmp, extra: "[inputs.gone]\nkind = \"url\"\nsource = \"http://127.0.0.1:1/gone.bin\"\n")
        let result = try CLIRunner.run(["lock", dir + "/recipe.toml"], environment: ["XDG_CACHE_HOME": tmp.path])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("Error: input 'gone' (url http://127.0.0.1:1/gone.bin)"))
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: dir + "/recipe.lock"))
    }

    @Test func missingRecipeAndSyntaxErrors() throws {
        let tmp = try TestDirectory()
        let missing = try CLIRunner.run(["lock", tmp.path + "/none.toml"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("none.toml"))
        let bad = tmp.path + "/bad.toml"
        try Data("recipe = 1\nname = [\n".utf8).write(to: URL(fileURLWithPath: bad))
        let syntax = try CLIRunner.run(["lock", bad])
        #expect(syntax.status == 1)
        #expect(syntax.stderr.hasPrefix("Error: \(bad):"))
        #expect(syntax.stderr.contains("TOML syntax error"))
    }

    @Test func helpHasExamples() throws {
        let result = try CLIRunner.run(["lock", "--help"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("Examples:"))
        #expect(result.stdout.contains("enclavekit lock Recipes/example-node/recipe.toml"))
    }
}
