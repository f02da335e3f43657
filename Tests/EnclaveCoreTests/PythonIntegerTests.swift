import EnclaveCore
import Testing

/// `PythonInteger` against CPython 3's `int(text, 0)` and `int(text)`: each row's two expected values are
/// what CPython printed for `int(text, 0)` and `int(text)` (nil where it raised ValueError). Rows where this
/// parser deliberately differs (negative numbers, values above UInt64.max, non-ASCII digits) are in
/// `outsideUInt64`.
@Suite struct PythonIntegerTests {
    static let cpython: [(String, UInt64?, UInt64?)] = [
        ("0", 0, 0), ("00", 0, 0), ("0_0", 0, 0), ("12", 12, 12), ("1_000", 1000, 1000), ("_1", nil, nil),
        ("1_", nil, nil), ("1__0", nil, nil), ("0x10", 16, nil), ("0X1f", 31, nil), ("0x_1f", 31, nil),
        ("0x__1f", nil, nil), ("0x", nil, nil), ("0o17", 15, nil), ("0b101", 5, nil), ("0b2", nil, nil),
        ("017", nil, 17), ("+5", 5, 5), ("-0", 0, 0), (" 42 ", 42, 42), ("\t0x21\n", 33, nil), ("", nil, nil),
        ("0x1_", nil, nil), ("18446744073709551615", .max, .max), ("0xffffffffffffffff", .max, nil),
        ("1e3", nil, nil), ("0x+1", nil, nil), ("+0x10", 16, nil), ("0x800f12", 0x80_0f12, nil),
        ("131072", 131_072, 131_072),
    ]

    @Test(arguments: cpython) func matchesCPython(text: String, automatic: UInt64?, decimal: UInt64?) {
        #expect(PythonInteger.parse(text) == automatic)
        #expect(PythonInteger.parse(text, base: .decimal) == decimal)
    }

    /// CPython gives -5, 2^64 and 12 (Arabic-Indic digits); an unsigned 64-bit parser of ASCII text refuses.
    @Test(arguments: ["-5", "18446744073709551616", "0x10000000000000000", "\u{661}\u{662}"])
    func outsideUInt64(text: String) {
        #expect(PythonInteger.parse(text) == nil)
        #expect(PythonInteger.parse(text, base: .decimal) == nil)
    }
}
