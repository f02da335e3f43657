import EnclaveCore
import Foundation
import TestSupport
import Testing

@testable import Rebuild

/// The Rebuild fuzz harnesses on their seed inputs (`Fixtures/fuzz/<harness>/`) and on a few hundred
/// deterministic mutations of each (flipped bytes, truncations): any crash fails the test run.
@Suite("compare: fuzz seeds")
struct FuzzReplayTests {
    static let harnessNames = ["rebuild-cpio", "rebuild-compare", "rebuild-textdiff"]

    static func seeds(_ harness: String) throws -> [[UInt8]] {
        let dir = "fuzz/\(harness)"
        let names = try FileManager.default.contentsOfDirectory(atPath: Fixtures.path(dir)).sorted()
        return try names.map { try Fixtures.bytes(dir + "/" + $0) }
    }

    @Test(arguments: harnessNames)
    func seedsAndMutationsDoNotCrash(harness: String) throws {
        let run = try #require(RebuildFuzz.harnesses[harness])
        let seeds = try Self.seeds(harness)
        #expect(!seeds.isEmpty)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: state >> 33)
        }
        for seed in seeds {
            run(seed)
            for _ in 0..<150 where !seed.isEmpty {
                var m = seed
                if next() % 4 == 0 {
                    m = Array(m.prefix(next() % m.count))
                } else {
                    for _ in 0..<(1 + next() % 3) {
                        m[next() % m.count] ^= UInt8(truncatingIfNeeded: 1 << (next() % 8))
                    }
                }
                run(m)
            }
        }
    }

    @Test func cpioSeedsParseAsExpected() throws {
        let seeds = try Self.seeds("rebuild-cpio")  // concatenated, gnu-newc, truncated
        try #require(seeds.count == 3)
        func count(_ bytes: [UInt8]) throws -> Int {
            try RebuildFuzz.withMemoryFile(bytes) { try CPIOStream.entries(of: FileInput(path: $0)).count }
        }
        let single = try count(seeds[1])
        #expect(single > 0)
        #expect(try count(seeds[0]) == 2 * single)
        let error = #expect(throws: FormatError.self) { try count(seeds[2]) }
        #expect(error?.kind == .truncated)
    }

    @Test func comparePairsDiffer() throws {
        let seeds = try Self.seeds("rebuild-compare")  // cpio, EIF, manifest and text pairs
        #expect(seeds.count == 4)
        for seed in seeds {
            let split = try #require(
                zip(seed.indices, seed.indices.dropFirst()).first { seed[$0.0] == 0xFF && seed[$0.1] == 0xFE }?.0)
            let report = try RebuildFuzz.withMemoryFile(Array(seed[..<split])) { a in
                try RebuildFuzz.withMemoryFile(Array(seed[(split + 2)...])) { b in try Comparer.compareFiles(a, b) }
            }
            #expect(!report.identical)
        }
    }
}
