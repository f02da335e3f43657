import Synchronization
import TestSupport
import Testing

@testable import EnclaveCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A ``ProgressSink`` that keeps every advance and counts finishes.
private final class Recorder: ProgressSink {
    private let state = Mutex<(advances: [UInt64], finishes: Int)>(([], 0))
    func advance(by n: UInt64) { state.withLock { $0.advances.append(n) } }
    func finish() { state.withLock { $0.finishes += 1 } }
    var advances: [UInt64] { state.withLock { $0.advances } }
}

/// Bytes that differ at every position, so a chunk hashed twice or skipped changes the digest.
private func pattern(_ count: Int) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) } }

/// The streaming reader reports each chunk it reads, and `Parallel` hashes beside the main stream with the
/// results it would give on one thread.
@Suite struct ParallelTests {
    /// Sizes around the chunk size: empty, one short chunk, exactly one, one and a bit, several.
    static let sizes = [0, 1, 4096, 4097, 3 * 4096 + 5]

    @Test(arguments: sizes) func streamReportsEveryChunkOnce(size: Int) throws {
        let dir = try TestDirectory()
        let bytes = pattern(size)
        let file = try FileInput(path: try dir.write("data.bin", bytes))
        let recorder = Recorder()
        let digest = Digest(.sha256)
        try FileStream.forEachChunk(of: file, ranges: [0..<file.size], chunkSize: 4096, progress: recorder) {
            _, chunk in digest.update(chunk)
        }
        #expect(digest.finalize() == Digest.hash(.sha256, bytes))
        #expect(recorder.advances.allSatisfy { $0 > 0 && $0 <= 4096 })
        #expect(recorder.advances.reduce(0, +) == UInt64(size))
        #expect(recorder.advances.count == (size + 4095) / 4096)
    }

    /// The overlapping reader: the background lane's hash equals the foreground's and a one-thread hash,
    /// and progress still counts each chunk once.
    @Test(arguments: sizes) func overlappingLaneHashesTheSameBytes(size: Int) throws {
        let dir = try TestDirectory()
        let bytes = pattern(size)
        let file = try FileInput(path: try dir.write("data.bin", bytes))
        let recorder = Recorder()
        let foreground = Digest(.sha384)
        let background = Digest(.sha384)
        try FileStream.forEachChunk(
            of: file, ranges: [0..<file.size], chunkSize: 4096, slots: 2, progress: recorder,
            overlapping: { _, chunk, lane in
                lane(background)
                foreground.update(chunk)
            })
        let expected = Digest.hash(.sha384, bytes)
        #expect(foreground.finalize() == expected)
        #expect(background.finalize() == expected)
        #expect(recorder.advances.reduce(0, +) == UInt64(size))
    }

    @Test(arguments: [nil, [2, 0, 3, 1]] as [[Int]?]) func mapKeepsIndexOrder(startOrder: [Int]?) {
        let results = Parallel.map(4, startOrder: startOrder) { i -> Int in
            if i == 2 { throw TestFailure("job 2 fails") }
            return i * 10
        }
        #expect(results.count == 4)
        #expect((try? results[0].get()) == 0)
        #expect((try? results[1].get()) == 10)
        #expect(throws: TestFailure.self) { try results[2].get() }
        #expect((try? results[3].get()) == 30)
    }

    @Test func hashFilesMatchesOneThread() throws {
        let dir = try TestDirectory()
        let sizes = [10_000, 0, 70_000]
        let paths = try sizes.enumerated().map { try dir.write("f\($0.offset)", pattern($0.element)) }
        let missing = dir.path + "/missing"
        let results = Parallel.hash(files: paths + [missing], .sha256, sizes: sizes.map(UInt64.init) + [0])
        for (path, size) in zip(paths, sizes) {
            #expect(try results[paths.firstIndex(of: path) ?? 0].get() == Digest.hash(.sha256, pattern(size)))
        }
        let error = #expect(throws: SystemError.self) { try results[3].get() }
        #expect(error?.errno == ENOENT)
        #expect(error?.path == missing)
    }

    @Test func backgroundGivesItsResultOrError() throws {
        let value = Parallel.Background { 6 * 7 }
        #expect(try value.wait() == 42)
        let failing = Parallel.Background { () throws -> Int in throw TestFailure("no") }
        #expect(throws: TestFailure.self) { try failing.wait() }
    }

    @Test func laneRunsJobsInOrder() {
        let lane = Parallel.Lane()
        let seen = Mutex<[Int]>([])
        for i in 0..<100 { lane.async { seen.withLock { $0.append(i) } } }
        lane.drain()
        #expect(seen.withLock { $0 } == Array(0..<100))
    }
}
