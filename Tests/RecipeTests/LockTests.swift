import Foundation
import Recipe
import TestSupport
import Testing

@Suite("Lock file")
struct LockTests {
    static let a = String(repeating: "a", count: 64)
    static let b = String(repeating: "b", count: 64)

    @Test func serializesPrettyWithSortedKeys() throws {
        let lock = RecipeLock(entries: [
            "zig": .init(kind: .pypi, source: "ziglang==0.13.0", sha256: Self.a),
            "src": .init(kind: .path, source: "src", sha256: Self.b),
        ])
        // The contract's example document, pretty printed the way `python3 -m json.tool --sort-keys` does.
        let expected = try runProgram(
            "python3",
            [
                "-c",
                "import json,sys; print(json.dumps(json.loads(sys.argv[1]), indent=2, sort_keys=True))",
                #"{"lock": 1, "inputs": {"zig": {"kind": "pypi", "source": "ziglang==0.13.0", "sha256": "\#(Self.a)"}, "#
                    + #""src": {"source": "src", "kind": "path", "sha256": "\#(Self.b)"}}}"#,
            ])
        #expect(lock.json == expected)
        #expect(try RecipeLock(json: Array(lock.json.utf8), file: "recipe.lock") == lock)
    }

    @Test func saveIsAtomicAndRoundTrips() throws {
        let tmp = try TestDirectory()
        let path = tmp.path + "/recipe.lock"
        let lock = RecipeLock(entries: ["k": .init(kind: .debian, source: "ovmf=1", sha256: Self.a)])
        try lock.save(path: path)
        #expect(try RecipeLock.load(path: path) == lock)
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.path) == ["recipe.lock"])
        #expect(try RecipeLock.loadIfPresent(path: tmp.path + "/none.lock") == RecipeLock())
    }

    @Test func pinRules() throws {
        let lock = RecipeLock(entries: ["zig": .init(kind: .pypi, source: "ziglang==0.13.0", sha256: Self.a)])
        let zig = RecipeInput(name: "zig", kind: .pypi, source: "ziglang==0.13.0", file: "z.whl")
        #expect(lock.pin(for: zig) == Self.a)
        var pinned = zig
        pinned.sha256 = Self.b
        #expect(lock.pin(for: pinned) == Self.b, "the recipe's pin wins")
        var moved = zig
        moved.source = "ziglang==0.14.0"
        #expect(lock.pin(for: moved) == nil, "a changed source drops the pin")
        var otherKind = zig
        otherKind.kind = .url
        #expect(lock.pin(for: otherKind) == nil, "a changed kind drops the pin")
        #expect(lock.pin(for: RecipeInput(name: "other", kind: .url, source: "http://h/x")) == nil)
    }

    static let badLocks: [(String, String, RecipeError.Kind, String)] = [
        ("not json", "{", .syntax, "not valid JSON"),
        ("array", "[]", .badValue, "expected a JSON object"),
        ("no lock", #"{"inputs": {}}"#, .missingKey, "missing 'lock'"),
        ("lock 2", #"{"lock": 2, "inputs": {}}"#, .badValue, "lock format 1"),
        ("lock string", #"{"lock": "1", "inputs": {}}"#, .badValue, "lock format 1"),
        ("no inputs", #"{"lock": 1}"#, .missingKey, "missing 'inputs'"),
        ("extra key", #"{"lock": 1, "inputs": {}, "x": 1}"#, .unknownKey, "unknown key 'x'"),
        ("inputs array", #"{"lock": 1, "inputs": []}"#, .badValue, "must be an object"),
        ("bad name", #"{"lock": 1, "inputs": {"Bad": {}}}"#, .badValue, "input name 'Bad'"),
        ("entry not object", #"{"lock": 1, "inputs": {"a": 1}}"#, .badValue, "inputs.a must be an object"),
        (
            "entry extra key", #"{"lock": 1, "inputs": {"a": {"kind": "url", "source": "s", "sha256": "x", "at": 1}}}"#,
            .unknownKey, "unknown key 'at'"
        ),
        (
            "entry missing sha", #"{"lock": 1, "inputs": {"a": {"kind": "url", "source": "s"}}}"#, .missingKey,
            "missing 'sha256'"
        ),
        (
            "entry bad kind", #"{"lock": 1, "inputs": {"a": {"kind": "git", "source": "s", "sha256": "x"}}}"#,
            .badValue, "not an input kind"
        ),
        (
            "entry bad sha", #"{"lock": 1, "inputs": {"a": {"kind": "url", "source": "s", "sha256": "ABC"}}}"#,
            .badValue, "64 lowercase hex"
        ),
        (
            "entry source number", #"{"lock": 1, "inputs": {"a": {"kind": "url", "source": 1, "sha256": "x"}}}"#,
            .badValue, "must be a string"
        ),
        ("duplicate key", #"{"lock": 1, "lock": 1, "inputs": {}}"#, .syntax, "not valid JSON"),
    ]

    @Test(arguments: badLocks)
    func strictParsing(label: String, json: String, kind: RecipeError.Kind, fragment: String) throws {
        let error = #expect(throws: RecipeError.self, "\(label)") {
            try RecipeLock(json: Array(json.utf8), file: "r.lock")
        }
        #expect(error?.kind == kind, "\(label): \(String(describing: error))")
        #expect(error?.description.hasPrefix("r.lock: ") == true)
        #expect(error?.description.contains(fragment) == true, "\(label): \(String(describing: error))")
    }

    /// Issue #13 item 5: a directory's listing is kept in the lock with its pin and must hash to it.
    @Test func filesListingRoundTripsAndMustMatchItsPin() throws {
        let tmp = try TestDirectory()
        try tmp.write("src/node.c", "int main(void) { return 0; }\n")
        try tmp.write("src/run.sh", "#!/bin/sh\n", mode: 0o755)
        let entries = try TreeDigest.entries(directory: tmp.path + "/src")
        let digest = try TreeDigest.digest(directory: tmp.path + "/src")
        let lock = RecipeLock(entries: [
            "src": .init(kind: .path, source: "src", sha256: digest, files: entries),
            "zig": .init(kind: .pypi, source: "ziglang==0.13.0", sha256: Self.a),
        ])
        #expect(lock.json.contains("\"files\": [\n        \"f 0644 29 "))
        #expect(lock.json.contains(" node.c\",\n        \"f 0755 10 "))
        #expect(try RecipeLock(json: Array(lock.json.utf8), file: "recipe.lock") == lock)
        #expect(!lock.json.contains("\"zig\": {\n      \"files\""), "only directories carry a listing")

        let edited = lock.json.replacingOccurrences(of: " node.c\"", with: " main.c\"")
        let error = #expect(throws: RecipeError.self) { try RecipeLock(json: Array(edited.utf8), file: "r.lock") }
        #expect(error?.description.contains("inputs.src.files does not hash to its sha256") == true)
        #expect(error?.description.contains("run enclavekit lock") == true)
        let garbage = lock.json.replacingOccurrences(of: "\"f 0755 10 ", with: "\"q 0755 10 ")
        let bad = #expect(throws: RecipeError.self) { try RecipeLock(json: Array(garbage.utf8), file: "r.lock") }
        #expect(bad?.description.contains("inputs.src.files[1] is not a listing line") == true)
        // A name that is not UTF-8 cannot be carried by JSON text: no listing then (the pin alone).
        let latin1 = try #require(TreeDigest.Entry(line: Array("f 0644 0 \(Self.a) caf".utf8) + [0xE9]))
        #expect(RecipeLock.recordable([latin1]) == nil)
        #expect(RecipeLock.recordable(entries) == entries)
    }
}
