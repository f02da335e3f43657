import EnclaveCore
import Recipe

/// The most a Debian tool may print on standard output where it is read (apt-get --print-uris, apt-cache
/// show, apt-ftparchive): the runner fails beyond it rather than keep an unbounded buffer.
let toolOutputLimit = 64 << 20

/// An error while resolving, fetching or assembling a Debian environment: one line that names the
/// environment, the package or tool, and says how to fix it.
///
/// ```swift
/// do { _ = try await assembler.assemble(env, recipe: recipe, lock: lock) } catch let e as EnvironmentError { print(e) }
/// ```
public struct EnvironmentError: KindedError, Hashable {
    public enum Kind: String, Sendable, Hashable {
        /// A package asked for is not in the suite.
        case unknownPackage
        /// No apt source names the suite or the archive a package comes from.
        case noSource
        /// A fetched `.deb` differs from its pin.
        case pinMismatch
        /// The lock has no entry for the environment, or one made for other packages.
        case notLocked
        /// The lock's closure lacks a package apt needs.
        case incompleteClosure
        /// mmdebstrap, apt-ftparchive, apt-get or curl is not installed.
        case toolMissing
        /// A tool failed.
        case tool
        /// Output of a tool or a sources file that does not parse.
        case format
        /// The file system refused something.
        case io
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// A Debian tool that could not run (``Kind/toolMissing``, with what to install) or failed (``Kind/tool``).
    public init(_ failure: ProcessRunner.Failure) {
        switch failure.kind {
        case .cannotRun:
            self.init(.toolMissing, failure.message + ": apt-get install mmdebstrap apt-utils curl")
        case .failed:
            self.init(.tool, failure.message)
        }
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif
