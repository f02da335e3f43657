/// Lowercase hexadecimal encoding and strict decoding.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    /// `[0xde, 0xad]` → `"dead"`.
    public static func encode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xf)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes hex (either case, optional `0x` prefix); nil for odd length or a non-hex character.
    /// The one parser for hex bytes given on the command line or in a file, so every hex argument
    /// takes `0x` the same way.
    public static func decode(_ text: String) -> [UInt8]? {
        let utf8 = Array(digits(of: text).utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count / 2)
        var i = 0
        while i < utf8.count {
            guard let hi = digitValue(utf8[i]), let lo = digitValue(utf8[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    /// Hex bytes in canonical form: lowercase, without `0x` (`"0xDEAD"` → `"dead"`); nil when `text` is
    /// not hex bytes (see ``decode(_:)``).
    public static func normalized(_ text: String) -> String? {
        decode(text).map { encode($0) }
    }

    /// A hex number (either case, optional `0x` prefix, no sign), e.g. `"0x8086"` or `"ffffffff"`; nil when
    /// empty, not hex or too large for `T`. The one parser for hex integers given on the command line.
    public static func integer<T: FixedWidthInteger & UnsignedInteger>(_ text: String, as type: T.Type = T.self) -> T? {
        let utf8 = Array(digits(of: text).utf8)
        guard !utf8.isEmpty else { return nil }
        var value: T = 0
        for c in utf8 {
            guard let d = digitValue(c) else { return nil }
            let (shifted, overflow) = value.multipliedReportingOverflow(by: 16)
            guard !overflow else { return nil }
            value = shifted | T(d)
        }
        return value
    }

    /// `text` without one leading `0x` or `0X`.
    private static func digits(of text: String) -> Substring {
        let s = Substring(text)
        return s.hasPrefix("0x") || s.hasPrefix("0X") ? s.dropFirst(2) : s
    }

    /// The value of one hex digit (either case), or nil.
    public static func digitValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

extension Array where Element == UInt8 {
    /// Lowercase hex of these bytes.
    public var hex: String { Hex.encode(self) }
}
