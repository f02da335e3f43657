import Foundation
import Recipe
import TestSupport
import Testing

@Suite("Input cache")
struct InputCacheTests {
    @Test func defaultLocation() {
        #expect(InputCache.default(environment: ["XDG_CACHE_HOME": "/x", "HOME": "/h"]).root == "/x/enclavekit")
        #expect(InputCache.default(environment: ["HOME": "/h"]).root == "/h/.cache/enclavekit")
        #expect(
            InputCache.default(environment: ["XDG_CACHE_HOME": "relative", "HOME": "/h"]).root == "/h/.cache/enclavekit"
        )
    }

    @Test func storeAndLookup() throws {
        let tmp = try TestDirectory()
        let cache = InputCache(root: tmp.path + "/cache")
        let source = try tmp.write("blob", "hello\n", mode: 0o600)
        let digest = try cache.store(copying: source)
        #expect(digest == (try sha256sum(source)))
        let path = try #require(try cache.lookup(sha256: digest))
        #expect(path == cache.inputsDirectory + "/" + digest)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o644)
        #expect(try cache.lookup(sha256: String(repeating: "0", count: 64)) == nil)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: cache.root + "/tmp").isEmpty, "no temporary files left")
        let error = #expect(throws: RecipeError.self) { try cache.lookup(sha256: "../../etc/passwd") }
        #expect(error?.kind == .badValue)
        #expect(error?.message.contains("'../../etc/passwd' is not a sha256") == true)
    }

    @Test func corruptEntryIsDropped() throws {
        let tmp = try TestDirectory()
        let cache = InputCache(root: tmp.path + "/cache")
        let digest = try cache.store(copying: try tmp.write("blob", "good\n"))
        try Data("evil\n".utf8).write(to: URL(fileURLWithPath: cache.inputPath(sha256: digest)))
        #expect(try cache.lookup(sha256: digest) == nil)
        #expect(!FileManager.default.fileExists(atPath: cache.inputPath(sha256: digest)))
    }

    @Test func stepOutputStoreKeepsTreeAndModes() throws {
        let tmp = try TestDirectory()
        let cache = InputCache(root: tmp.path + "/cache")
        let out = try tmp.directory("out")
        try tmp.write("out/bin/node", "ELF", mode: 0o755)
        try tmp.write("out/etc/conf", "x=1\n", mode: 0o644)
        try tmp.symlink("out/latest", to: "bin/node")
        let key = String(repeating: "c", count: 64)
        #expect(try cache.stepOutput(key: key) == nil)
        let stored = try cache.storeStepOutput(key: key, from: out)
        #expect(try cache.stepOutput(key: key) == stored)
        #expect(try TreeDigest.digest(directory: stored) == (try TreeDigest.digest(directory: out)))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: stored + "/latest") == "bin/node")
        let error = #expect(throws: RecipeError.self) { try cache.storeStepOutput(key: "nothex", from: out) }
        #expect(error?.kind == .badValue)
        #expect(error?.message.contains("'nothex' is not a sha256") == true)
    }

    @Test func concurrentStepStoresKeepOneCopy() async throws {
        let tmp = try TestDirectory()
        let cache = InputCache(root: tmp.path + "/cache")
        let key = String(repeating: "d", count: 64)
        var sources: [String] = []
        for index in 0..<8 {
            let dir = try tmp.directory("out\(index)")
            for file in 0..<50 { try tmp.write("out\(index)/f\(file)", String(repeating: "x", count: file * 100)) }
            sources.append(dir)
        }
        let expected = try TreeDigest.digest(directory: sources[0])
        let results = try await withThrowingTaskGroup(of: String.self) { group in
            for source in sources {
                group.addTask { try cache.storeStepOutput(key: key, from: source) }
            }
            var paths: [String] = []
            for try await path in group { paths.append(path) }
            return paths
        }
        #expect(Set(results) == [cache.stepsDirectory + "/" + key])
        #expect(try TreeDigest.digest(directory: results[0]) == expected)
        #expect(try FileManager.default.contentsOfDirectory(atPath: cache.stepsDirectory) == [key], "no staging left")
    }

    @Test func concurrentInputStoresAgree() async throws {
        let tmp = try TestDirectory()
        let cache = InputCache(root: tmp.path + "/cache")
        let source = try tmp.write("blob", String(repeating: "y", count: 1 << 20))
        let digests = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<8 { group.addTask { try cache.store(copying: source) } }
            var all: [String] = []
            for try await digest in group { all.append(digest) }
            return all
        }
        #expect(Set(digests) == [try sha256sum(source)])
        #expect(try cache.lookup(sha256: digests[0]) != nil)
    }
}
