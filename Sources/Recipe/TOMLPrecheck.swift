/// Guards TOMLKit's parser (toml++) from input it does not handle: toml++ asserts (and, built without
/// assertions, assumes) that a table header's first character can start a key, so `[é]` or `[+]` would
/// crash the process instead of giving a parse error. This scanner finds the table headers the way the
/// parser does (at the start of a statement, outside strings, comments and array or inline-table values)
/// and rejects a header that does not begin with a bare-key character or a quote, with its line and
/// column. Valid TOML always passes, since a header must begin with a key.
enum TOMLPrecheck {
    static func check(_ text: String, file: String) throws {
        let bytes = Array(text.utf8)
        var i = 0
        var line = 1
        var lineStart = 0
        var depth = 0
        var statementStart = true
        func at(_ offset: Int) -> UInt8? { offset < bytes.count ? bytes[offset] : nil }
        func starts(_ token: String, _ offset: Int) -> Bool {
            let t = Array(token.utf8)
            return offset + t.count <= bytes.count && Array(bytes[offset..<offset + t.count]) == t
        }
        func newline(_ offset: Int) {
            line += 1
            lineStart = offset + 1
        }
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || c == UInt8(ascii: "\r") {
                i += 1
                continue
            }
            if c == UInt8(ascii: "\n") {
                newline(i)
                if depth == 0 { statementStart = true }
                i += 1
                continue
            }
            if c == UInt8(ascii: "#") {
                while i < bytes.count, bytes[i] != UInt8(ascii: "\n") { i += 1 }
                continue
            }
            if statementStart, depth == 0, c == UInt8(ascii: "[") {
                var j = i + 1
                if at(j) == UInt8(ascii: "[") { j += 1 }
                while at(j) == UInt8(ascii: " ") || at(j) == UInt8(ascii: "\t") { j += 1 }
                if let next = at(j), !isKeyStart(next) {
                    throw RecipeError(
                        .syntax, file: file, line: line, column: j - lineStart + 1,
                        "TOML syntax error: a table header must start with a key (letters, digits, _ - or a quote)")
                }
                while i < bytes.count, bytes[i] != UInt8(ascii: "\n") { i += 1 }
                continue
            }
            statementStart = false
            if starts("\"\"\"", i) || starts("'''", i) {
                let quote = bytes[i]
                i += 3
                while i < bytes.count {
                    if bytes[i] == UInt8(ascii: "\\"), quote == UInt8(ascii: "\"") {
                        if at(i + 1) == UInt8(ascii: "\n") { newline(i + 1) }
                        i += 2
                        continue
                    }
                    if bytes[i] == UInt8(ascii: "\n") { newline(i) }
                    if bytes[i] == quote, starts(String(repeating: String(UnicodeScalar(quote)), count: 3), i) {
                        i += 3
                        while at(i) == quote { i += 1 }  // up to two quotes may end the content
                        break
                    }
                    i += 1
                }
                continue
            }
            if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                i += 1
                while i < bytes.count, bytes[i] != c, bytes[i] != UInt8(ascii: "\n") {
                    if c == UInt8(ascii: "\""), bytes[i] == UInt8(ascii: "\\") { i += 1 }
                    i += 1
                }
                i += 1
                continue
            }
            if c == UInt8(ascii: "[") || c == UInt8(ascii: "{") { depth += 1 }
            if c == UInt8(ascii: "]") || c == UInt8(ascii: "}") { depth = max(0, depth - 1) }
            i += 1
        }
    }

    /// `A-Za-z0-9_-` or a quote.
    static func isKeyStart(_ c: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(c) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(c)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")
            || c == UInt8(ascii: "\"") || c == UInt8(ascii: "'")
    }
}
