#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// UTC calendar times and Unix seconds, without Foundation: RFC 3339 text in and out, and the civil date
/// of X.509 and CRL times. One place for H. Hinnant's days-from-civil and civil-from-days algorithms
/// (proleptic Gregorian calendar), which EIF metadata, attestation checks, DCAP collateral and
/// reproduction attestations all need.
///
/// ```swift
/// CivilTime.parseRFC3339("2022-10-13T08:58:02Z")          // 1665651482
/// CivilTime.format(seconds: 1665651482)                   // "2022-10-13T08:58:02Z"
/// CivilTime.format(seconds: 0, zone: "+00:00")            // "1970-01-01T00:00:00+00:00"
/// ```
public enum CivilTime {
    /// Unix seconds of a date and time in UTC.
    public static func seconds(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0)
        -> Int64
    {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = Int64((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1)
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        return days * 86_400 + Int64(hour * 3600 + minute * 60 + second)
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` (`t`, `z` and a space for `T` are accepted too);
    /// the fraction is dropped. With `utcOnly`, only `Z` ends it and only `T` or `t` separates date and time
    /// (as Intel's collateral and reproduction attestations write it). nil when the text is not that.
    public static func parseRFC3339(_ text: String, utcOnly: Bool = false) -> Int64? {
        let b = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= b.count, range.allSatisfy({ b[$0] >= 0x30 && b[$0] <= 0x39 }) else { return nil }
            return range.reduce(0) { $0 * 10 + Int(b[$1] - 0x30) }
        }
        let separators: [UInt8] = utcOnly ? [0x54, 0x74] : [0x54, 0x74, 0x20]
        guard b.count >= 20, b[4] == 0x2D, b[7] == 0x2D, separators.contains(b[10]), b[13] == 0x3A, b[16] == 0x3A,
            let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var i = 19
        if b[i] == 0x2E {
            i += 1
            let start = i
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 { i += 1 }
            guard i > start else { return nil }
        }
        guard i < b.count else { return nil }
        var offset = 0
        if b[i] == 0x5A || b[i] == 0x7A {
            guard i + 1 == b.count else { return nil }
        } else if !utcOnly, b[i] == 0x2B || b[i] == 0x2D {
            guard b.count == i + 6, b[i + 3] == 0x3A, let h = number(i + 1..<i + 3), let m = number(i + 4..<i + 6),
                h < 24, m < 60
            else { return nil }
            offset = (h * 3600 + m * 60) * (b[i] == 0x2B ? 1 : -1)
        } else {
            return nil
        }
        return seconds(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
            - Int64(offset)
    }

    /// `YYYY-MM-DDTHH:MM:SS` followed by `zone` (`Z`, or `+00:00` as Rust's chrono `to_rfc3339` writes UTC).
    public static func format(seconds: Int64, zone: String = "Z") -> String {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let rest = seconds - days * 86_400
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let yearText = String(year)
        let paddedYear = String(repeating: "0", count: max(0, 4 - yearText.count)) + yearText
        return "\(paddedYear)-\(two(month))-\(two(day))T\(two(rest / 3600)):\(two(rest / 60 % 60)):\(two(rest % 60))"
            + zone
    }

    /// The current time in Unix seconds (the realtime clock).
    public static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec)
    }
}
