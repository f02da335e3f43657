import EnclaveCore

/// Just enough TOML (v1.0) to read scalar keys from a Gramine manifest: `[table]` / `[[array.table]]`
/// headers, dotted and quoted keys, basic and literal strings, integers (decimal, 0x/0o/0b, `_`), booleans.
/// Other values (arrays, inline tables, multi-line strings, floats, dates) are skipped, not interpreted.
/// Errors carry the byte offset of the offending line.
enum MiniTOML {
    enum Value: Equatable {
        case string(String)
        case integer(Int64)
        case bool(Bool)
        case other
    }

    struct Entry {
        var value: Value
        /// Byte offset of the line holding the key.
        var line: UInt64
    }

    static let format = "manifest"

    /// The values of `keys` (full dotted paths) found in the document.
    static func scalars(_ bytes: [UInt8], keys: Set<String>) throws -> [String: Entry] {
        guard bytes.count <= 64 << 20 else {
            throw FormatError(.tooLarge, format: format, offset: nil, "manifest over 64 MiB")
        }
        var p = Parser(bytes: bytes)
        var table: [String] = []
        var found: [String: Entry] = [:]
        while true {
            p.skipWhitespaceAndComments(newlines: true)
            guard let c = p.peek() else { break }
            let lineStart = UInt64(p.i)
            if c == UInt8(ascii: "[") {
                p.i += 1
                var arrayTable = false
                if p.peek() == UInt8(ascii: "[") {
                    arrayTable = true
                    p.i += 1
                }
                p.skipSpaces()
                table = try p.key()
                p.skipSpaces()
                guard p.eat("]"), !arrayTable || p.eat("]") else { throw p.error("expected ] after the table name") }
                p.skipWhitespaceAndComments(newlines: false)
                guard p.atLineEnd else { throw p.error("unexpected text after the table header") }
                if arrayTable { table = table.map { $0 } + ["[]"] }
                continue
            }
            let key = try p.key()
            p.skipSpaces()
            guard p.eat("=") else { throw p.error("expected = after the key") }
            p.skipSpaces()
            let value = try p.value()
            p.skipWhitespaceAndComments(newlines: false)
            guard p.atLineEnd else { throw p.error("unexpected text after the value") }
            let full = (table + key).joined(separator: ".")
            if keys.contains(full) {
                guard found[full] == nil else {
                    throw FormatError(.badValue, format: format, offset: lineStart, "key \(full) is defined twice")
                }
                found[full] = Entry(value: value, line: lineStart)
            }
        }
        return found
    }

    struct Parser {
        let bytes: [UInt8]
        var i = 0

        func peek(_ k: Int = 0) -> UInt8? { i + k < bytes.count ? bytes[i + k] : nil }
        var atLineEnd: Bool { peek() == nil || peek() == 0x0a || (peek() == 0x0d && peek(1) == 0x0a) }

        func error(_ message: String) -> FormatError {
            var start = min(i, bytes.count)
            while start > 0 && bytes[start - 1] != 0x0a { start -= 1 }
            return FormatError(.badValue, format: MiniTOML.format, offset: start, message)
        }

        mutating func eat(_ s: String) -> Bool {
            let u = Array(s.utf8)
            guard i + u.count <= bytes.count, Array(bytes[i..<i + u.count]) == u else { return false }
            i += u.count
            return true
        }

        mutating func skipSpaces() {
            while let c = peek(), c == 0x20 || c == 0x09 { i += 1 }
        }

        mutating func skipWhitespaceAndComments(newlines: Bool) {
            while let c = peek() {
                if c == 0x20 || c == 0x09 {
                    i += 1
                } else if c == UInt8(ascii: "#") {
                    while let d = peek(), d != 0x0a { i += 1 }
                } else if newlines && (c == 0x0a || c == 0x0d) {
                    i += 1
                } else {
                    break
                }
            }
        }

        static func isBare(_ c: UInt8) -> Bool {
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x5f || c == 0x2d
        }

        mutating func key() throws -> [String] {
            var parts: [String] = []
            while true {
                skipSpaces()
                guard let c = peek() else { throw error("expected a key") }
                if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                    guard case .string(let s) = try value() else { throw error("bad quoted key") }
                    parts.append(s)
                } else {
                    let start = i
                    while let d = peek(), Self.isBare(d) { i += 1 }
                    guard i > start else { throw error("expected a key, found '\(Character(UnicodeScalar(c)))'") }
                    parts.append(String(decoding: bytes[start..<i], as: UTF8.self))
                }
                skipSpaces()
                if !eat(".") { return parts }
            }
        }

        mutating func value() throws -> Value {
            guard let c = peek() else { throw error("expected a value") }
            switch c {
            case UInt8(ascii: "\""):
                if eat("\"\"\"") {
                    try skipUntil("\"\"\"")
                    return .other
                }
                i += 1
                var out: [UInt8] = []
                while true {
                    guard let d = peek(), d != 0x0a else { throw error("unterminated string") }
                    i += 1
                    if d == UInt8(ascii: "\"") { break }
                    if d == UInt8(ascii: "\\") {
                        guard let e = peek() else { throw error("unterminated escape") }
                        i += 1
                        switch e {
                        case UInt8(ascii: "n"): out.append(0x0a)
                        case UInt8(ascii: "t"): out.append(0x09)
                        case UInt8(ascii: "r"): out.append(0x0d)
                        case UInt8(ascii: "b"): out.append(0x08)
                        case UInt8(ascii: "f"): out.append(0x0c)
                        case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(e)
                        case UInt8(ascii: "u"), UInt8(ascii: "U"):
                            let n = e == UInt8(ascii: "u") ? 4 : 8
                            guard i + n <= bytes.count,
                                let v = UInt32(String(decoding: bytes[i..<i + n], as: UTF8.self), radix: 16),
                                let scalar = Unicode.Scalar(v)
                            else { throw error("bad unicode escape") }
                            i += n
                            out.append(contentsOf: Array(String(Character(scalar)).utf8))
                        default: throw error("bad escape \\\(Character(UnicodeScalar(e)))")
                        }
                    } else {
                        out.append(d)
                    }
                }
                return .string(String(decoding: out, as: UTF8.self))
            case UInt8(ascii: "'"):
                if eat("'''") {
                    try skipUntil("'''")
                    return .other
                }
                i += 1
                let start = i
                while let d = peek(), d != UInt8(ascii: "'") {
                    guard d != 0x0a else { throw error("unterminated string") }
                    i += 1
                }
                guard eat("'") else { throw error("unterminated string") }
                return .string(String(decoding: bytes[start..<i - 1], as: UTF8.self))
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                try skipBracketed()
                return .other
            default:
                let start = i
                while let d = peek(), d != 0x0a, d != 0x0d, d != UInt8(ascii: "#"), d != 0x20, d != 0x09,
                    d != UInt8(ascii: ","), d != UInt8(ascii: "]"), d != UInt8(ascii: "}")
                {
                    i += 1
                }
                let text = String(decoding: bytes[start..<i], as: UTF8.self)
                if text == "true" { return .bool(true) }
                if text == "false" { return .bool(false) }
                guard !text.isEmpty else { throw error("expected a value") }
                let clean = text.filter { $0 != "_" }
                var body = Substring(clean)
                var negative = false
                if body.hasPrefix("+") || body.hasPrefix("-") {
                    negative = body.hasPrefix("-")
                    body = body.dropFirst()
                }
                var v: Int64?
                if body.hasPrefix("0x") {
                    v = Int64(body.dropFirst(2), radix: 16)
                } else if body.hasPrefix("0o") {
                    v = Int64(body.dropFirst(2), radix: 8)
                } else if body.hasPrefix("0b") {
                    v = Int64(body.dropFirst(2), radix: 2)
                } else {
                    v = Int64(body, radix: 10)
                }
                if let v { return .integer(negative ? -v : v) }
                return .other
            }
        }

        mutating func skipUntil(_ terminator: String) throws {
            while i < bytes.count {
                if bytes[i] == UInt8(ascii: "\\") {
                    i += 2
                    continue
                }
                if eat(terminator) {
                    while peek() == terminator.utf8.first { i += 1 }  // up to two extra quotes are content
                    return
                }
                i += 1
            }
            throw error("unterminated multi-line string")
        }

        /// Skips an array or inline table, which may span lines and hold strings and comments.
        mutating func skipBracketed() throws {
            var depth = 0
            var nesting = 0
            repeat {
                guard let c = peek() else { throw error("unterminated array or inline table") }
                switch c {
                case UInt8(ascii: "["), UInt8(ascii: "{"):
                    depth += 1
                    nesting += 1
                    guard nesting < 128 else { throw error("arrays nested too deeply") }
                    i += 1
                case UInt8(ascii: "]"), UInt8(ascii: "}"):
                    depth -= 1
                    i += 1
                case UInt8(ascii: "\""), UInt8(ascii: "'"):
                    _ = try value()
                case UInt8(ascii: "#"):
                    while let d = peek(), d != 0x0a { i += 1 }
                default:
                    i += 1
                }
            } while depth > 0
        }
    }
}
