import Foundation
import Recipe
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
        let tmp = try TemporaryDirectory()
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
}
