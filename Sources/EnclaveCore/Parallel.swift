import Dispatch
import Synchronization

/// Work beside the main stream on other cores: the one place EnclaveKit's libraries start threads.
///
/// - ``map(_:startOrder:_:)``: independent jobs, one per core at once (two images' sections, a release's
///   artifacts); ``hash(files:_:sizes:)`` is the common case of hashing whole files.
/// - ``Background``: one job started now and collected later (a kernel hashed while its sections are
///   measured).
/// - ``Lane``: jobs run in order on one other core (``FileStream``'s overlapping reader feeds a second
///   hash through one).
///
/// ```swift
/// let digests = Parallel.hash(files: ["a.eif", "b.eif"], .sha384)   // both files at once
/// let pending = Parallel.Background { try FileStream.hash(path: "vmlinuz", .sha384) }
/// let kernel = try pending.wait()
/// ```
public enum Parallel {
    /// `body(i)` for every `i` in `0..<count`, as many at once as there are cores; returns when all are
    /// done, each result at its index. `startOrder` (a permutation of the indices) is the order the jobs
    /// start in: largest first puts the big ones on different cores.
    public static func map<T: Sendable>(
        _ count: Int, startOrder: [Int]? = nil, _ body: (Int) throws -> T
    ) -> [Result<T, any Error>] {
        precondition(startOrder.map { $0.sorted() == Array(0..<count) } ?? true, "startOrder must permute 0..<count")
        let results = UnsafeMutableBufferPointer<Result<T, any Error>?>.allocate(capacity: count)
        results.initialize(repeating: nil)
        defer {
            results.deinitialize()
            results.deallocate()
        }
        // Each slot is written by exactly one job, and concurrentPerform returns only when every job is
        // done; `body` runs on several threads at once, so it must only touch its own index's state.
        nonisolated(unsafe) let slots = results
        nonisolated(unsafe) let work = body
        let order = startOrder ?? Array(0..<count)
        switch count {
        case 0: break
        case 1: slots[0] = Result { try work(0) }
        default:
            DispatchQueue.concurrentPerform(iterations: count) { position in
                let index = order[position]
                slots[index] = Result { try work(index) }
            }
        }
        return results.map { $0 ?? .failure(CancellationError()) }
    }

    /// The digest of each whole file (streamed, one chunk in memory per file), several files at once; with
    /// `sizes`, the largest start first.
    public static func hash(files: [String], _ algorithm: HashAlgorithm, sizes: [UInt64]? = nil) -> [Result<
        [UInt8], any Error
    >] {
        let order = sizes.map { sizes in files.indices.sorted { sizes[$0] > sizes[$1] } }
        return map(files.count, startOrder: order) { try FileStream.hash(path: files[$0], algorithm) }
    }

    /// One job started on another core at once; ``wait()`` blocks until it is done and gives its result.
    public final class Background<T: Sendable>: Sendable {
        private let group = DispatchGroup()
        private let result = Mutex<Result<T, any Error>?>(nil)

        public init(_ body: @escaping @Sendable () throws -> T) {
            group.enter()
            DispatchQueue.global().async { [self] in
                let outcome = Result { try body() }
                result.withLock { $0 = outcome }
                group.leave()
            }
        }

        /// The job's result, or the error it threw.
        public func wait() throws -> T {
            group.wait()
            return try result.withLock { $0 ?? .failure(CancellationError()) }.get()
        }
    }

    /// A serial lane on another core: jobs run one after another in the order they were queued, beside
    /// the caller; ``drain()`` waits until every queued job is done.
    public final class Lane: Sendable {
        private let queue: DispatchQueue

        public init(label: String = "enclavekit.lane") { queue = DispatchQueue(label: label) }

        /// Queues `job` after those already queued and returns at once.
        public func async(_ job: @escaping @Sendable () -> Void) { queue.async(execute: job) }

        /// Returns when every job queued so far has run.
        public func drain() { queue.sync {} }
    }
}

/// Runs several consumers of one buffer at once, one per core (a consumer must only touch its own state).
public enum ParallelLanes {
    public static func run(_ buffer: UnsafeRawBufferPointer, _ lanes: [(UnsafeRawBufferPointer) -> Void]) {
        // The buffer outlives Parallel.map, which returns only when every lane is done.
        nonisolated(unsafe) let shared = buffer
        _ = Parallel.map(lanes.count) { lanes[$0](shared) }
    }
}
