/// A strict JSON parser (RFC 8259) for untrusted input: manifests, envelopes, policies, bundles.
///
/// It produces the ordered ``JSONValue`` (object keys keep their order, numbers keep their text) and
/// rejects everything RFC 8259 does not allow plus what a security tool should not accept silently:
/// duplicate object keys, trailing bytes after the value, invalid UTF-8, lone surrogate escapes,
/// raw control characters in strings, leading zeros, nesting deeper than ``Limits/maxDepth`` and
/// input larger than ``Limits/maxBytes``. Every error is a ``FormatError`` whose offset is the byte
/// where the problem starts.
///
/// ```swift
/// let value = try JSONParser.parse(Array(#"{"a":[1,true,null]}"#.utf8), format: "policy")
/// ```
public enum JSONParser {
    /// Bounds on what the parser accepts.
    public struct Limits: Sendable {
        /// Deepest nesting of arrays and objects.
        public var maxDepth: Int
        /// Largest document, in bytes.
        public var maxBytes: Int

        public init(maxDepth: Int = 64, maxBytes: Int = 64 << 20) {
            self.maxDepth = maxDepth
            self.maxBytes = maxBytes
        }

        public static let `default` = Limits()
    }

    /// Parses one JSON document (optionally surrounded by whitespace); `format` names it in errors.
    public static func parse(_ bytes: [UInt8], format: String = "JSON", limits: Limits = .default) throws(FormatError)
        -> JSONValue
    {
        guard bytes.count <= limits.maxBytes else {
            throw FormatError(
                .tooLarge, format: format, offset: 0,
                "document is \(bytes.count) bytes, the limit is \(limits.maxBytes)")
        }
        var parser = Parser(bytes: bytes, format: format, maxDepth: limits.maxDepth)
        // A byte order mark is rejected like any other stray byte (RFC 8259 §8.1: "MUST NOT add" one).
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.position == bytes.count else {
            throw parser.error(.badValue, "unexpected \(parser.describeCurrent()) after the JSON value")
        }
        return value
    }

    /// Parses `text`'s UTF-8 bytes.
    public static func parse(_ text: String, format: String = "JSON", limits: Limits = .default) throws(FormatError)
        -> JSONValue
    {
        try parse(Array(text.utf8), format: format, limits: limits)
    }

    private struct Parser {
        let bytes: [UInt8]
        let format: String
        let maxDepth: Int
        var position = 0

        init(bytes: [UInt8], format: String, maxDepth: Int) {
            self.bytes = bytes
            self.format = format
            self.maxDepth = maxDepth
        }

        func error(_ kind: FormatError.Kind, _ message: String, at offset: Int? = nil) -> FormatError {
            FormatError(kind, format: format, offset: offset ?? position, message)
        }

        func describeCurrent() -> String {
            guard position < bytes.count else { return "end of input" }
            let b = bytes[position]
            if b >= 0x21 && b < 0x7f { return "'\(Character(Unicode.Scalar(b)))'" }
            return "byte 0x\(String(b, radix: 16))"
        }

        mutating func skipWhitespace() {
            while position < bytes.count {
                switch bytes[position] {
                case 0x20, 0x09, 0x0A, 0x0D: position += 1
                default: return
                }
            }
        }

        mutating func parseValue(depth: Int) throws(FormatError) -> JSONValue {
            guard position < bytes.count else { throw error(.truncated, "expected a JSON value, found end of input") }
            switch bytes[position] {
            case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
            case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
            case UInt8(ascii: "\""): return .string(try parseString())
            case UInt8(ascii: "t"):
                try literal("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try literal("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try literal("null")
                return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
            default: throw error(.badValue, "expected a JSON value, found \(describeCurrent())")
            }
        }

        mutating func literal(_ word: StaticString) throws(FormatError) {
            let start = position
            let expected = word.withUTF8Buffer { Array($0) }
            guard bytes.count - position >= expected.count,
                bytes[position..<position + expected.count].elementsEqual(expected)
            else {
                let found = position + expected.count > bytes.count ? "end of input" : "something else"
                throw error(
                    position + expected.count > bytes.count ? .truncated : .badValue,
                    "expected '\(word)', found \(found)", at: start)
            }
            position += expected.count
        }

        mutating func enter(_ depth: Int) throws(FormatError) {
            guard depth <= maxDepth else {
                throw error(.tooLarge, "nesting deeper than \(maxDepth) levels")
            }
        }

        mutating func parseObject(depth: Int) throws(FormatError) -> JSONValue {
            try enter(depth)
            position += 1  // {
            var pairs: [(String, JSONValue)] = []
            var seen = Set<String>()
            skipWhitespace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
                position += 1
                return .object(pairs)
            }
            while true {
                skipWhitespace()
                guard position < bytes.count else {
                    throw error(.truncated, "expected an object key, found end of input")
                }
                guard bytes[position] == UInt8(ascii: "\"") else {
                    throw error(.badValue, "expected a string object key, found \(describeCurrent())")
                }
                let keyOffset = position
                let key = try parseString()
                guard seen.insert(key).inserted else {
                    throw error(.badValue, "duplicate object key \"\(key)\"", at: keyOffset)
                }
                skipWhitespace()
                try expect(UInt8(ascii: ":"), "':' after an object key")
                skipWhitespace()
                let value = try parseValue(depth: depth)
                pairs.append((key, value))
                skipWhitespace()
                guard position < bytes.count else { throw error(.truncated, "expected ',' or '}', found end of input") }
                if bytes[position] == UInt8(ascii: ",") {
                    position += 1
                    continue
                }
                if bytes[position] == UInt8(ascii: "}") {
                    position += 1
                    return .object(pairs)
                }
                throw error(.badValue, "expected ',' or '}' in an object, found \(describeCurrent())")
            }
        }

        mutating func parseArray(depth: Int) throws(FormatError) -> JSONValue {
            try enter(depth)
            position += 1  // [
            var items: [JSONValue] = []
            skipWhitespace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
                position += 1
                return .array(items)
            }
            while true {
                skipWhitespace()
                items.append(try parseValue(depth: depth))
                skipWhitespace()
                guard position < bytes.count else { throw error(.truncated, "expected ',' or ']', found end of input") }
                if bytes[position] == UInt8(ascii: ",") {
                    position += 1
                    continue
                }
                if bytes[position] == UInt8(ascii: "]") {
                    position += 1
                    return .array(items)
                }
                throw error(.badValue, "expected ',' or ']' in an array, found \(describeCurrent())")
            }
        }

        mutating func expect(_ byte: UInt8, _ what: String) throws(FormatError) {
            guard position < bytes.count else { throw error(.truncated, "expected \(what), found end of input") }
            guard bytes[position] == byte else {
                throw error(.badValue, "expected \(what), found \(describeCurrent())")
            }
            position += 1
        }

        mutating func parseNumber() throws(FormatError) -> String {
            let start = position
            if bytes[position] == UInt8(ascii: "-") { position += 1 }
            guard position < bytes.count, isDigit(bytes[position]) else {
                throw error(position < bytes.count ? .badValue : .truncated, "expected a digit in a number")
            }
            if bytes[position] == UInt8(ascii: "0") {
                position += 1
                if position < bytes.count, isDigit(bytes[position]) {
                    throw error(.badValue, "a number must not have leading zeros", at: start)
                }
            } else {
                while position < bytes.count, isDigit(bytes[position]) { position += 1 }
            }
            if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
                position += 1
                guard position < bytes.count, isDigit(bytes[position]) else {
                    throw error(position < bytes.count ? .badValue : .truncated, "expected a digit after '.'")
                }
                while position < bytes.count, isDigit(bytes[position]) { position += 1 }
            }
            if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
                position += 1
                if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-")
                {
                    position += 1
                }
                guard position < bytes.count, isDigit(bytes[position]) else {
                    throw error(position < bytes.count ? .badValue : .truncated, "expected a digit in the exponent")
                }
                while position < bytes.count, isDigit(bytes[position]) { position += 1 }
            }
            return String(decoding: bytes[start..<position], as: UTF8.self)
        }

        func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }

        mutating func parseString() throws(FormatError) -> String {
            let start = position
            position += 1  // opening quote
            var scalars = String.UnicodeScalarView()
            while true {
                guard position < bytes.count else {
                    throw error(.truncated, "unterminated string (it starts at offset \(start))")
                }
                let b = bytes[position]
                switch b {
                case UInt8(ascii: "\""):
                    position += 1
                    return String(scalars)
                case UInt8(ascii: "\\"):
                    scalars.append(try parseEscape())
                case 0x00..<0x20:
                    throw error(.badValue, "raw control character 0x\(String(b, radix: 16)) in a string (escape it)")
                case 0x20..<0x80:
                    scalars.append(Unicode.Scalar(b))
                    position += 1
                default:
                    scalars.append(try parseUTF8())
                }
            }
        }

        /// One multi-byte UTF-8 sequence (RFC 3629: shortest form, no surrogates, at most U+10FFFF).
        mutating func parseUTF8() throws(FormatError) -> Unicode.Scalar {
            let lead = bytes[position]
            let count: Int
            var value: UInt32
            var minimum: UInt32
            switch lead {
            case 0xC2...0xDF:
                count = 2
                value = UInt32(lead & 0x1F)
                minimum = 0x80
            case 0xE0...0xEF:
                count = 3
                value = UInt32(lead & 0x0F)
                minimum = 0x800
            case 0xF0...0xF4:
                count = 4
                value = UInt32(lead & 0x07)
                minimum = 0x10000
            default:
                throw error(.badValue, "invalid UTF-8 lead byte 0x\(String(lead, radix: 16))")
            }
            guard bytes.count - position >= count else { throw error(.truncated, "truncated UTF-8 sequence") }
            for i in 1..<count {
                let c = bytes[position + i]
                guard c & 0xC0 == 0x80 else {
                    throw error(
                        .badValue, "invalid UTF-8 continuation byte 0x\(String(c, radix: 16))", at: position + i)
                }
                value = value << 6 | UInt32(c & 0x3F)
            }
            guard value >= minimum, value <= 0x10FFFF, !(0xD800...0xDFFF).contains(value),
                let scalar = Unicode.Scalar(value)
            else {
                throw error(.badValue, "invalid UTF-8 sequence (overlong, surrogate or out of range)")
            }
            position += count
            return scalar
        }

        mutating func parseEscape() throws(FormatError) -> Unicode.Scalar {
            let start = position
            guard bytes.count - position >= 2 else { throw error(.truncated, "truncated escape sequence") }
            let c = bytes[position + 1]
            position += 2
            switch c {
            case UInt8(ascii: "\""): return "\""
            case UInt8(ascii: "\\"): return "\\"
            case UInt8(ascii: "/"): return "/"
            case UInt8(ascii: "b"): return "\u{08}"
            case UInt8(ascii: "f"): return "\u{0C}"
            case UInt8(ascii: "n"): return "\n"
            case UInt8(ascii: "r"): return "\r"
            case UInt8(ascii: "t"): return "\t"
            case UInt8(ascii: "u"):
                let high = try hex4(at: start)
                if (0xDC00...0xDFFF).contains(high) {
                    throw error(.badValue, "lone low surrogate \\u\(String(high, radix: 16)) in a string", at: start)
                }
                if (0xD800...0xDBFF).contains(high) {
                    guard bytes.count - position >= 2, bytes[position] == UInt8(ascii: "\\"),
                        bytes[position + 1] == UInt8(ascii: "u")
                    else {
                        throw error(
                            .badValue, "high surrogate \\u\(String(high, radix: 16)) without a low surrogate", at: start
                        )
                    }
                    position += 2
                    let low = try hex4(at: start)
                    guard (0xDC00...0xDFFF).contains(low) else {
                        throw error(
                            .badValue, "high surrogate \\u\(String(high, radix: 16)) without a low surrogate", at: start
                        )
                    }
                    let value = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
                    guard let scalar = Unicode.Scalar(value) else {
                        throw error(.badValue, "invalid surrogate pair", at: start)
                    }
                    return scalar
                }
                guard let scalar = Unicode.Scalar(high) else { throw error(.badValue, "invalid \\u escape", at: start) }
                return scalar
            default:
                throw error(.badValue, "invalid escape '\\\(Character(Unicode.Scalar(c)))' in a string", at: start)
            }
        }

        mutating func hex4(at escapeStart: Int) throws(FormatError) -> UInt32 {
            guard bytes.count - position >= 4 else { throw error(.truncated, "truncated \\u escape", at: escapeStart) }
            var value: UInt32 = 0
            for i in 0..<4 {
                let b = bytes[position + i]
                let digit: UInt8
                switch b {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = b - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = b - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = b - UInt8(ascii: "A") + 10
                default: throw error(.badValue, "expected 4 hex digits after \\u", at: escapeStart)
                }
                value = value << 4 | UInt32(digit)
            }
            position += 4
            return value
        }
    }
}
