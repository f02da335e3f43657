/// An error a test's own helper throws when its setup goes wrong (a fixture that does not parse, a tool
/// that failed), or that a test throws on purpose to see it passed through.
public struct TestFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
