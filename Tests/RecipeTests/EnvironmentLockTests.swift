import Recipe
import Testing

@Suite("Lock file: environments")
struct EnvironmentLockTests {
    static let a = String(repeating: "a", count: 64)

    static let package = """
        {"architecture": "amd64", "archive": "debian", "name": "libc6", \
        "path": "pool/main/g/glibc/libc6_2.36-9+deb12u14_amd64.deb", "sha256": "\(a)", "size": 2759320, \
        "version": "2.36-9+deb12u14"}
        """
    static let hello = """
        {"architecture": "amd64", "archive": "debian", "name": "hello", \
        "path": "pool/main/h/hello/hello_2.10-3_amd64.deb", "sha256": "\(a)", "size": 53044, "version": "2.10-3"}
        """

    /// A lock with one environment whose closure is `closure` and whose other fields are `fields`.
    static func lock(closure: String = "[\(hello), \(package)]", fields: String? = nil) -> String {
        let rest =
            fields
            ?? #""arch": "amd64", "packages": ["hello"], "snapshot": "2026-11-30T02:21:41Z", "suite": "bookworm", "variant": "essential""#
        return #"{"environments": {"build": {"closure": \#(closure), \#(rest)}}, "inputs": {}, "lock": 1}"#
    }

    @Test func parsesAndRoundTrips() throws {
        let lock = try RecipeLock(json: Array(Self.lock().utf8), file: "recipe.lock")
        let entry = try #require(lock.environments["build"])
        #expect(entry.closure.map(\.name) == ["hello", "libc6"])
        #expect(entry.closure[1].size == 2_759_320)
        #expect(entry.closure[1].path == "pool/main/g/glibc/libc6_2.36-9+deb12u14_amd64.deb")
        #expect(entry.snapshot == "2026-11-30T02:21:41Z")
        #expect(try RecipeLock(json: Array(lock.json.utf8), file: "recipe.lock") == lock)
        #expect(lock.json.hasPrefix("{\n  \"environments\": {\n    \"build\": {\n      \"arch\": \"amd64\",\n"))
    }

    /// A lock without environments keeps its old bytes: no "environments" key is written.
    @Test func oldLocksKeepTheirBytes() throws {
        let old = RecipeLock(entries: ["k": .init(kind: .debian, source: "ovmf=1", sha256: Self.a)])
        #expect(!old.json.contains("environments"))
        #expect(try RecipeLock(json: Array(old.json.utf8), file: "l").json == old.json)
    }

    @Test func holdsWhileTheAskIsUnchanged() throws {
        let lock = try RecipeLock(json: Array(Self.lock().utf8), file: "recipe.lock")
        let same = RecipeEnvironment(name: "build", suite: "bookworm", packages: ["hello"])
        #expect(lock.environmentLock(for: same) != nil)
        for changed in [
            RecipeEnvironment(name: "build", suite: "trixie", packages: ["hello"]),
            RecipeEnvironment(name: "build", suite: "bookworm", packages: ["hello", "curl"]),
            RecipeEnvironment(name: "build", suite: "bookworm", packages: ["hello"], variant: .apt),
            RecipeEnvironment(name: "other", suite: "bookworm", packages: ["hello"]),
        ] {
            #expect(lock.environmentLock(for: changed) == nil, "\(changed)")
        }
    }

    static let good =
        #""arch": "amd64", "packages": ["hello"], "snapshot": "2026-11-30T02:21:41Z", "suite": "bookworm", "variant": "essential""#

    /// (closure, other fields, what the message must say)
    static let badLocks: [(String, String, String)] = [
        ("[\(hello), \(package)]", good + #", "extra": 1"#, "unknown key 'extra'"),
        (
            "[\(hello), \(package)]",
            #""arch": "amd64", "packages": ["hello"], "suite": "bookworm", "variant": "essential""#,
            "missing 'snapshot'"
        ),
        ("[\(hello), \(package)]", good.replacingOccurrences("2026-11-30T02:21:41Z", "30 Nov 2026"), "RFC 3339"),
        ("[\(hello), \(package)]", good.replacingOccurrences("essential\"", "full\""), "not a variant"),
        ("[\(hello), \(package)]", good.replacingOccurrences("\"amd64\"", "\"arm64\""), "only amd64"),
        (
            "[\(hello), \(package)]", good.replacingOccurrences("[\"hello\"]", "[\"Hello\"]"),
            "not a Debian package name"
        ),
        ("[]", good, "closure is empty"),
        ("[\(package), \(hello)]", good, "not sorted"),
        ("[\(hello), \(hello)]", good, "'hello' twice"),
        ("[\(hello.replacingOccurrences(a, "ABC"))]", good, "sha256 'ABC'"),
        ("[\(hello.replacingOccurrences(a, String(repeating: "A", count: 64)))]", good, "not 64 lowercase hex"),
        ("[\(hello.replacingOccurrences("pool/main/h/hello/", "dists/"))]", good, "not a pool path"),
        ("[\(hello.replacingOccurrences("pool/main/h/hello/", "pool/../../etc/"))]", good, "not a pool path"),
        ("[\(hello.replacingOccurrences("pool/main/h/hello/", "pool/main//"))]", good, "not a pool path"),
        ("[\(hello.replacingOccurrences("_amd64.deb", "_amd64.deb%00"))]", good, "not a pool path"),
        ("[\(hello.replacingOccurrences("53044", "-1"))]", good, "whole number"),
        ("[\(hello.replacingOccurrences("53044", "\"53044\""))]", good, "whole number"),
        ("[\(hello.replacingOccurrences("\"2.10-3\"", "\"v2\""))]", good, "not a Debian version"),
        ("[\(hello.replacingOccurrences("\"debian\"", "\"../debian\""))]", good, "not an archive name"),
        (
            "[\(hello.replacingOccurrences("\"amd64\", \"archive\"", "\"i386\", \"archive\""))]", good,
            "not amd64 or all"
        ),
        ("[\(hello.replacingOccurrences("\"size\"", "\"bytes\""))]", good, "unknown key 'bytes'"),
        ("{}", good, "closure must be an array"),
    ]

    @Test(arguments: badLocks.indices)
    func badLockIsRefused(index: Int) {
        let (closure, fields, expected) = Self.badLocks[index]
        let text = Self.lock(closure: closure, fields: fields)
        let error = #expect(throws: RecipeError.self) { try RecipeLock(json: Array(text.utf8), file: "recipe.lock") }
        #expect(error?.description.contains(expected) == true, "\(String(describing: error)) for \(text)")
        #expect(error?.description.hasPrefix("recipe.lock: ") == true)
    }

    @Test func badEnvironmentName() {
        let text = #"{"environments": {"9x": {}}, "inputs": {}, "lock": 1}"#
        let error = #expect(throws: RecipeError.self) { try RecipeLock(json: Array(text.utf8), file: "l") }
        #expect(error?.description.contains("'9x' is not valid") == true)
    }
}

extension String {
    /// Foundation-free replacement of every `target` by `replacement`.
    func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        var out = ""
        var rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            out += rest[..<range.lowerBound] + replacement
            rest = rest[range.upperBound...]
        }
        return out + rest
    }
}
