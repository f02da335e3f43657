/// How a library reports progress through long work (hashing a multi-gigabyte image, streaming an
/// enclave): the bytes done so far, then the end. Libraries never draw anything themselves; the
/// command-line tool passes a terminal bar, a test passes a recorder, and `nil` reports nothing.
///
/// ```swift
/// final class Recorder: ProgressSink { … }
/// try FileStream.hash(path: "image.eif", .sha384, progress: recorder)
/// ```
public protocol ProgressSink: Sendable {
    /// `n` more bytes (or units of ``ProgressFactory``'s `total`) are done.
    func advance(by n: UInt64)
    /// The work is over (also after an error): a reporter clears whatever it shows.
    func finish()
}

/// Starts a reporter for one piece of work, where a library (not its caller) knows the label and the
/// total: `"measuring image.eif"` and the file's size. Returns `nil` to report nothing.
///
/// ```swift
/// let m = try SGXMeasurer.measure(.sgxs(path: "enclave.sgxs"), progress: { label, total in bar(label, total) })
/// ```
public typealias ProgressFactory = (_ label: String, _ total: UInt64) -> (any ProgressSink)?
