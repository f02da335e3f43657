import Dispatch

/// Reads byte ranges of a file once, in bounded chunks, and hands each chunk to consumers.
///
/// Memory stays at one chunk (4 MiB by default) whatever the file size. When two hashes need the same
/// bytes (PCR0 and PCR2 both hash the app ramdisk), the overlapping form hands each chunk to a second
/// core as well, so the file is read once and the wall time is that of one hash.
public enum FileStream {
    public static let defaultChunkSize = 4 << 20

    /// Streams `ranges` of `file` in order. `body(rangeIndex, chunk)` sees each range's bytes in order.
    public static func forEachChunk(
        of file: FileInput, ranges: [Range<UInt64>], chunkSize: Int = defaultChunkSize,
        progress: (any ProgressSink)? = nil,
        _ body: (Int, UnsafeRawBufferPointer) throws -> Void
    ) throws {
        // No bigger than the largest range: a 2 MiB firmware should not fault in a 4 MiB buffer.
        let longest = ranges.map { $0.upperBound - $0.lowerBound }.max() ?? 0
        let buffer = UnsafeMutableRawBufferPointer.allocate(
            byteCount: max(1, Int(min(UInt64(chunkSize), longest))), alignment: 64)
        defer { buffer.deallocate() }
        try stream(
            file, ranges: ranges, chunkSize: chunkSize, progress: progress,
            window: { UnsafeMutableRawBufferPointer(rebasing: buffer[0..<$0]) }, body)
    }

    /// Like ``forEachChunk(of:ranges:chunkSize:progress:_:)``, with a second core: `body` may pass the
    /// chunk it is given to `background(consumer)`, which feeds the same bytes to `consumer` (a
    /// ``Digest`` or a ``RunningCRC32``) on another thread while `body` goes on with its own work. Reads go round a ring of `slots` chunks, so the
    /// background lane may fall up to `slots - 1` chunks behind without stalling the reader; memory is
    /// `slots × chunkSize` whatever the file size. Background hashes run in the order they were asked
    /// for and are all finished when this returns (or throws).
    ///
    /// ```swift
    /// try FileStream.forEachChunk(of: file, ranges: [app], overlapping: { _, chunk, background in
    ///     background(pcr2)    // on the second core
    ///     pcr0.update(chunk)  // on this one, at the same time
    /// })
    /// ```
    public static func forEachChunk(
        of file: FileInput, ranges: [Range<UInt64>], chunkSize: Int = 1 << 20, slots: Int = 4,
        progress: (any ProgressSink)? = nil,
        overlapping body: (Int, UnsafeRawBufferPointer, _ background: (any ChunkConsumer) -> Void) throws -> Void
    ) throws {
        precondition(chunkSize > 0 && slots > 1, "a ring needs at least two slots")
        let ring = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize * slots, alignment: 64)
        defer { ring.deallocate() }
        let lane = Parallel.Lane(label: "enclavekit.hash-lane")
        // One count per slot: the reader takes one before filling a slot, the lane gives it back after
        // the last job on that chunk. The lane runs jobs in order, so the slot taken is the oldest one.
        let free = DispatchSemaphore(value: slots)
        defer { lane.drain() }  // runs before the deallocation above: no job outlives the ring
        var next = 0
        try stream(
            file, ranges: ranges, chunkSize: chunkSize, progress: progress,
            window: { want in
                free.wait()
                let start = (next % slots) * chunkSize
                next += 1
                return UnsafeMutableRawBufferPointer(rebasing: ring[start..<start + want])
            },
            { index, window in
                nonisolated(unsafe) let chunk = window
                defer { lane.async { free.signal() } }
                try body(index, chunk) { consumer in lane.async { consumer.update(chunk) } }
            })
    }

    /// The loop both forms share: checks each range against the file, cuts it into chunks of at most
    /// `chunkSize` bytes, reads each into the buffer `window(count)` gives and hands it to `body`.
    private static func stream(
        _ file: FileInput, ranges: [Range<UInt64>], chunkSize: Int, progress: (any ProgressSink)?,
        window: (Int) -> UnsafeMutableRawBufferPointer, _ body: (Int, UnsafeRawBufferPointer) throws -> Void
    ) throws {
        for (index, range) in ranges.enumerated() {
            guard range.upperBound <= file.size else {
                throw FormatError(
                    .truncated, format: "file", offset: file.size,
                    "expected data up to offset \(range.upperBound), the file ends at \(file.size)", file: file.path)
            }
            var offset = range.lowerBound
            while offset < range.upperBound {
                let want = Int(min(UInt64(chunkSize), range.upperBound - offset))
                let buffer = window(want)
                let got = try file.read(into: buffer, at: offset)
                guard got == want else {
                    throw FormatError(
                        .truncated, format: "file", offset: offset + UInt64(got), "file shrank while reading",
                        file: file.path)
                }
                try body(index, UnsafeRawBufferPointer(buffer))
                offset += UInt64(want)
                progress?.advance(by: UInt64(want))
            }
        }
    }

    /// SHA-2 of a whole file, streamed.
    public static func hash(path: String, _ algorithm: HashAlgorithm, progress: (any ProgressSink)? = nil) throws
        -> [UInt8]
    {
        try hash(file: FileInput(path: path), algorithm, progress: progress)
    }

    /// SHA-2 of a whole open file, streamed.
    public static func hash(file: FileInput, _ algorithm: HashAlgorithm, progress: (any ProgressSink)? = nil) throws
        -> [UInt8]
    {
        let digest = Digest(algorithm)
        try forEachChunk(of: file, ranges: [0..<file.size], progress: progress) { _, chunk in digest.update(chunk) }
        return digest.finalize()
    }
}

/// What the overlapping reader's background lane can feed: a running hash or checksum that it updates in
/// place. The lane and the caller never update one at the same time: the lane has drained when
/// ``FileStream/forEachChunk(of:ranges:chunkSize:slots:progress:overlapping:)`` returns.
public protocol ChunkConsumer: AnyObject, Sendable {
    func update(_ buffer: UnsafeRawBufferPointer)
}

extension Digest: ChunkConsumer {}

/// A ``CRC32`` that the background lane can update in place (the EIF checksum in `eif describe`).
public final class RunningCRC32: ChunkConsumer, @unchecked Sendable {
    // @unchecked: updated by one thread at a time, as ChunkConsumer requires.
    private var crc = CRC32()
    public init() {}
    public func update(_ buffer: UnsafeRawBufferPointer) { crc.update(buffer) }
    public func update(_ bytes: [UInt8]) { crc.update(bytes) }
    public var value: UInt32 { crc.value }
}
