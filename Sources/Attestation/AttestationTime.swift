import EnclaveCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Verification times: RFC 3339 text or Unix seconds in, `2022-10-13T08:58:02Z` out.
///
/// ```swift
/// AttestationTime.parse("2022-10-13T08:58:02Z")   // 1665651482
/// AttestationTime.parse("1665651482")             // 1665651482
/// ```
public enum AttestationTime {
    /// Parses Unix seconds (`1665651482`) or RFC 3339 (`2022-10-13T08:58:02Z`, `…02.136+02:00`; fractions
    /// are dropped). nil when the text is neither.
    public static func parse(_ text: String) -> Int64? {
        if let seconds = Int64(text) { return seconds }
        return CivilTime.parseRFC3339(text)
    }

    /// `2022-10-13T08:58:02Z`.
    public static func format(seconds: Int64) -> String { CivilTime.format(seconds: seconds) }

    /// `2022-10-13T08:58:02.136Z`.
    public static func format(milliseconds: UInt64) -> String {
        let text = format(seconds: Int64(clamping: milliseconds / 1000))
        let ms = Int(milliseconds % 1000)
        return text.dropLast() + "." + String(repeating: "0", count: 3 - String(ms).count) + String(ms) + "Z"
    }

    static func format(_ date: Date) -> String {
        format(seconds: Int64(date.timeIntervalSince1970.rounded(.down)))
    }

    /// The current time in Unix seconds.
    public static var now: Int64 { CivilTime.now() }
}
