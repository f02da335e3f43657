/// Python's `int(text, 0)` and `int(text)` for unsigned values: the one parser for numbers that tools
/// written in Python accept (sev-snp-measure's `--guest-features` and `--vcpu-sig`, argparse's `int`
/// arguments, `sgx_sign.py`'s sizes), so the same text gives the same number here.
///
/// Surrounding whitespace and one `+` are allowed; underscores may stand between digits (and right after a
/// base prefix), never first, last or doubled. With ``Base/automatic`` the prefixes `0x`, `0o` and `0b`
/// (either case) choose the base, and a decimal number other than zero may not start with `0` (`017` is an
/// error in Python 3). The result is nil where Python raises, for a negative value other than `-0`, for a
/// value above `UInt64.max`, and for non-ASCII digits (which Python would accept).
public enum PythonInteger {
    public enum Base: Sendable {
        /// `int(text, 0)`: the base comes from the prefix.
        case automatic
        /// `int(text)`: decimal only, leading zeros allowed.
        case decimal
    }

    public static func parse(_ text: String, base: Base = .automatic) -> UInt64? {
        var s = Substring(text)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        var negative = false
        if let sign = s.first, sign == "+" || sign == "-" {
            negative = sign == "-"
            s.removeFirst()
        }
        var radix: UInt64 = 10
        var afterPrefix = false
        if base == .automatic, s.count >= 2, s.first == "0" {
            switch s.dropFirst().first {
            case "x", "X": radix = 16
            case "o", "O": radix = 8
            case "b", "B": radix = 2
            default: break
            }
            if radix != 10 {
                s = s.dropFirst(2)
                afterPrefix = true
            }
        }
        guard let value = digits(s, radix: radix, underscoreFirst: afterPrefix) else { return nil }
        if base == .automatic, radix == 10, value != 0, s.first == "0" { return nil }
        if negative, value != 0 { return nil }
        return value
    }

    /// ASCII digits of `radix` with single underscores between them (and, after a prefix, before the first).
    private static func digits(_ s: Substring, radix: UInt64, underscoreFirst: Bool) -> UInt64? {
        var value: UInt64 = 0
        var sawDigit = false
        var previousUnderscore = false
        for c in s.utf8 {
            if c == UInt8(ascii: "_") {
                guard !previousUnderscore, sawDigit || underscoreFirst else { return nil }
                previousUnderscore = true
                continue
            }
            let d: UInt64
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt64(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): d = UInt64(c - UInt8(ascii: "a")) + 10
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): d = UInt64(c - UInt8(ascii: "A")) + 10
            default: return nil
            }
            guard d < radix else { return nil }
            let (shifted, overflow) = value.multipliedReportingOverflow(by: radix)
            let (sum, carry) = shifted.addingReportingOverflow(d)
            guard !overflow, !carry else { return nil }
            value = sum
            sawDigit = true
            previousUnderscore = false
        }
        return sawDigit && !previousUnderscore ? value : nil
    }
}
