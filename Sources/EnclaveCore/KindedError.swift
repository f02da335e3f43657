/// An error that is a kind to match on and one line to print: its `description` is its `message`.
///
/// The module error types whose description adds nothing to the message adopt it for that default, so the
/// rule lives in one place; types that prefix a path, an offset or a remedy keep their own `description`.
///
/// ```swift
/// public struct ToolError: KindedError, Hashable {
///     public enum Kind: Sendable, Hashable { case missing, failed }
///     public var kind: Kind
///     public var message: String
/// }
/// print(ToolError(kind: .missing, message: "curl is not installed"))  // curl is not installed
/// ```
public protocol KindedError: Error, Sendable, CustomStringConvertible {
    associatedtype Kind: Sendable & Hashable
    /// What went wrong, coarse enough for tests and scripts to match on.
    var kind: Kind { get }
    /// The one line shown to the user.
    var message: String { get }
}

extension KindedError {
    public var description: String { message }
}
