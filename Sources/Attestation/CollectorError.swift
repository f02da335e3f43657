/// Evidence that cannot be requested as asked. The cases carry facts and name no command-line option; the
/// CLI adds the hint.
///
/// ```swift
/// throw CollectorError.reportDataTooLong(count: 65)
/// ```
public enum CollectorError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Report data longer than the 64 bytes a report or quote binds.
    case reportDataTooLong(count: Int)

    public var description: String {
        switch self {
        case .reportDataTooLong(let count): "report data is \(count) bytes, at most 64"
        }
    }
}
