import EnclaveCore

/// Base64 as DSSE uses it (RFC 4648 §4 and §5): EnclaveKit writes padded standard base64 on one
/// line; it reads standard or URL-safe (DSSE v1.0.2: "verifiers MUST accept either"), with or without
/// padding, but never a mix of alphabets, whitespace, misplaced padding or non-zero trailing bits.
///
/// ```swift
/// let text = Base64.encode([0x68, 0x69])          // "aGk="
/// let bytes = try Base64.decode(text, format: "DSSE payload")
/// ```
public enum Base64 {
    private static let standard = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Padded standard base64.
    public static func encode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        let input = Array(bytes)
        var out = [UInt8]()
        out.reserveCapacity((input.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= input.count {
            let n = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8 | UInt32(input[i + 2])
            out += [
                standard[Int(n >> 18 & 63)], standard[Int(n >> 12 & 63)], standard[Int(n >> 6 & 63)],
                standard[Int(n & 63)],
            ]
            i += 3
        }
        let rest = input.count - i
        if rest == 1 {
            let n = UInt32(input[i]) << 16
            out += [standard[Int(n >> 18 & 63)], standard[Int(n >> 12 & 63)], UInt8(ascii: "="), UInt8(ascii: "=")]
        } else if rest == 2 {
            let n = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8
            out += [
                standard[Int(n >> 18 & 63)], standard[Int(n >> 12 & 63)], standard[Int(n >> 6 & 63)], UInt8(ascii: "="),
            ]
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes standard or URL-safe base64; `format` names the field in errors, offsets are
    /// positions in `text`'s UTF-8 bytes.
    public static func decode(_ text: String, format: String) throws(FormatError) -> [UInt8] {
        let chars = Array(text.utf8)
        var end = chars.count
        var padding = 0
        while end > 0, chars[end - 1] == UInt8(ascii: "="), padding < 2 {
            end -= 1
            padding += 1
        }
        var alphabet: UInt8 = 0  // 1 standard, 2 URL-safe
        var out = [UInt8]()
        out.reserveCapacity(end / 4 * 3 + 2)
        var accumulator: UInt32 = 0
        var bits = 0
        for index in 0..<end {
            let c = chars[index]
            let value: UInt8
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = c - UInt8(ascii: "A")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = c - UInt8(ascii: "a") + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = c - UInt8(ascii: "0") + 52
            case UInt8(ascii: "+"), UInt8(ascii: "/"), UInt8(ascii: "-"), UInt8(ascii: "_"):
                // 1: standard (`+/`), 2: URL-safe (`-_`); a text uses one of them.
                let used: UInt8 = c == UInt8(ascii: "+") || c == UInt8(ascii: "/") ? 1 : 2
                guard alphabet == 0 || alphabet == used else {
                    throw FormatError(
                        .badValue, format: format, offset: index, "base64 mixes the standard and URL-safe alphabets")
                }
                alphabet = used
                value = c == UInt8(ascii: "+") || c == UInt8(ascii: "-") ? 62 : 63
            case UInt8(ascii: "="):
                throw FormatError(
                    .badValue, format: format, offset: index, "base64 padding '=' in the middle of the text")
            default:
                let shown =
                    c >= 0x21 && c < 0x7f ? "'\(Character(Unicode.Scalar(c)))'" : "byte 0x\(String(c, radix: 16))"
                throw FormatError(.badValue, format: format, offset: index, "\(shown) is not a base64 character")
            }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
                accumulator &= (1 << UInt32(bits)) - 1
            }
        }
        if padding > 0, chars.count % 4 != 0 {
            throw FormatError(
                .badValue, format: format, offset: end, "base64 padding does not complete a 4-character group")
        }
        if end % 4 == 1 {
            throw FormatError(
                .truncated, format: format, offset: end, "base64 text has an impossible length (\(end) characters)")
        }
        if accumulator != 0 {
            throw FormatError(
                .badValue, format: format, offset: max(0, end - 1), "base64 text has non-zero trailing bits")
        }
        return out
    }
}
