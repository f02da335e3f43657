/// Guards TOMLKit's parser (toml++ 3.4) from the input it does not handle. toml++ checks some of its own
/// preconditions with `assert` (TOML_ASSERT_ASSUME), and TOMLKit compiles it without NDEBUG, so those become
/// SIGABRT on hostile text; built with NDEBUG they would become `__builtin_assume`, undefined behaviour. A
/// package cannot set C++ defines for a dependency's target, and NDEBUG would not help anyway, so the shapes
/// that reach such an assertion are refused here, with line and column, before toml++ sees them:
///
/// - a table header whose first character cannot start a key (`[é]`, `[+]`, also after a byte-order mark):
///   `parse_key` asserts one (found by libFuzzer on the recipe and toml corpora);
/// - a closing bracket that does not match the innermost open one (`n=[}`, `a=[1,}`, `a={b=[}}`): inside an
///   array toml++ hands `}` to `parse_value()`, which asserts `!is_value_terminator(*cp)` (issue 13 item 14);
/// - a character that is not ASCII outside strings and comments (a UTF-8 byte-order mark at the start aside):
///   toml++ takes U+2028, U+2029 and U+0085 for whitespace, and inside an array hands them to `parse_value()`
///   like `}` (valid TOML 1.0 has non-ASCII text only in strings and comments);
/// - a date followed by a space and a single digit (`d = 1979-05-27 1`): toml++ then scans on past the digit and
///   asserts no terminator follows (found by libFuzzer, see ``dateSpaceDigit(_:_:)``);
/// - a date followed by `T` and no digit (`d = 1979-05-27T:`): parse_time() asserts a digit (libFuzzer);
/// - arrays and inline tables nested deeper than ``TOMLReader/maxNesting``.
///
/// The scanner follows the parser's structure: table headers at the start of a statement outside any array
/// or inline table, strings (basic, literal, multi-line) and comments skipped. Valid TOML never has a
/// mismatched bracket or a header that does not start with a key, so it always passes (nesting aside);
/// where this scan and toml++ could disagree, toml++ has already stopped with an error earlier in the text.
/// The `sgx-gramine-manifest` and `recipe-toml` fuzz harnesses run this guard and toml++ together.
enum TOMLPrecheck {
    static func check(_ bytes: [UInt8]) throws(TOMLReadError) {
        var i = 0
        var line = 1
        var lineStart = 0
        /// Open `[` and `{` of values, with where they were opened.
        var open: [(byte: UInt8, line: Int, column: Int)] = []
        var statementStart = true
        /// In a table header line: its brackets are not values.
        var header = false
        // toml++ skips a UTF-8 byte-order mark at the start.
        if starts([0xEF, 0xBB, 0xBF], 0) { i = 3 }
        func at(_ offset: Int) -> UInt8? { offset < bytes.count ? bytes[offset] : nil }
        func starts(_ token: [UInt8], _ offset: Int) -> Bool {
            offset + token.count <= bytes.count && bytes[offset..<offset + token.count].elementsEqual(token)
        }
        func newline(_ offset: Int) {
            line += 1
            lineStart = offset + 1
        }
        func error(_ offset: Int, _ message: String) -> TOMLReadError {
            TOMLReadError(
                .syntax, line: line, column: offset - lineStart + 1, offset: offset, "TOML syntax error: \(message)")
        }
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || c == UInt8(ascii: "\r") {
                i += 1
                continue
            }
            if c == UInt8(ascii: "\n") {
                newline(i)
                if open.isEmpty { statementStart = true }
                header = false
                i += 1
                continue
            }
            if c == UInt8(ascii: "#") {
                while i < bytes.count, bytes[i] != UInt8(ascii: "\n") { i += 1 }
                continue
            }
            if statementStart, open.isEmpty, c == UInt8(ascii: "[") {
                var j = i + 1
                if at(j) == UInt8(ascii: "[") { j += 1 }
                while at(j) == UInt8(ascii: " ") || at(j) == UInt8(ascii: "\t") { j += 1 }
                if let next = at(j), !isKeyStart(next) {
                    throw error(j, "a table header must start with a key (letters, digits, _ - or a quote)")
                }
                header = true
                statementStart = false
                i = j
                continue
            }
            statementStart = false
            if c >= 0x80 {
                throw error(
                    i,
                    "a character that is not ASCII outside a string or comment (keys and values other than strings are ASCII)"
                )
            }
            if starts(tripleQuote, i) || starts(tripleApostrophe, i) {
                let quote = bytes[i]
                let closing = quote == UInt8(ascii: "\"") ? tripleQuote : tripleApostrophe
                i += 3
                while i < bytes.count {
                    if bytes[i] == UInt8(ascii: "\\"), quote == UInt8(ascii: "\"") {
                        if at(i + 1) == UInt8(ascii: "\n") { newline(i + 1) }
                        i += 2
                        continue
                    }
                    if bytes[i] == UInt8(ascii: "\n") { newline(i) }
                    if starts(closing, i) {
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
                    if c == UInt8(ascii: "\""), bytes[i] == UInt8(ascii: "\\"), at(i + 1) != UInt8(ascii: "\n") {
                        i += 1
                    }
                    i += 1
                }
                if at(i) == c { i += 1 }
                continue
            }
            if i == 0 || isBoundary(bytes[i - 1]) {
                if let digit = dateSpaceDigit(bytes, i) {
                    throw error(digit, "a date must be followed by a time (HH:MM:SS), not a single digit")
                }
                if let t = dateTNonDigit(bytes, i) {
                    throw error(t, "a date-time needs the time (HH:MM:SS) right after the T")
                }
            }
            if header, c == UInt8(ascii: "[") || c == UInt8(ascii: "]") {
                i += 1
                continue
            }
            if c == UInt8(ascii: "[") || c == UInt8(ascii: "{") {
                guard open.count < TOMLReader.maxNesting else {
                    throw error(i, "arrays and inline tables are nested more than \(TOMLReader.maxNesting) deep")
                }
                open.append((c, line, i - lineStart + 1))
            }
            if c == UInt8(ascii: "]") || c == UInt8(ascii: "}"), let top = open.last {
                let expected = top.byte == UInt8(ascii: "[") ? UInt8(ascii: "]") : UInt8(ascii: "}")
                guard c == expected else {
                    throw error(
                        i,
                        "'\(Character(UnicodeScalar(c)))' does not close the '\(Character(UnicodeScalar(top.byte)))' "
                            + "opened at line \(top.line), column \(top.column); expected a value or "
                            + "'\(Character(UnicodeScalar(expected)))'")
                }
                open.removeLast()
            }
            i += 1
        }
    }

    /// toml++ (`parse_value`) reads a value of 10 characters shaped like a date (`-` 5th and 8th, `_` not
    /// counted), then a space and a digit, as a date-time and scans on after the digit, asserting that no
    /// terminator follows: `d = 1979-05-27 1` aborts. Returns the digit's offset for that shape. Valid TOML
    /// never has it (the time after a date's space has at least `HH:MM`).
    static func dateSpaceDigit(_ bytes: [UInt8], _ start: Int) -> Int? {
        var count = 0
        var j = start
        var dashes = true
        while j < bytes.count, j - start < 128, !isTerminator(bytes[j]) {
            if bytes[j] != UInt8(ascii: "_") {
                if count == 4 || count == 7 { dashes = dashes && bytes[j] == UInt8(ascii: "-") }
                count += 1
                if count > 10 { return nil }
            }
            j += 1
        }
        guard count == 10, dashes, j + 2 < bytes.count, bytes[j] == UInt8(ascii: " "),
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[j + 1]), isTerminator(bytes[j + 2])
        else { return nil }
        return j + 1
    }

    /// `YYYY-MM-DD` then `T` or `t` then a character that is not a digit: toml++'s parse_date_time() calls
    /// parse_time(), which asserts a digit (`d = 1979-05-27T:`; found by libFuzzer). Returns the `T`'s offset.
    static func dateTNonDigit(_ bytes: [UInt8], _ start: Int) -> Int? {
        guard start + 11 < bytes.count else { return nil }
        for k in 0..<10 {
            let c = bytes[start + k]
            let ok = k == 4 || k == 7 ? c == UInt8(ascii: "-") : (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c)
            if !ok { return nil }
        }
        let t = bytes[start + 10]
        guard t == UInt8(ascii: "T") || t == UInt8(ascii: "t"),
            !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[start + 11])
        else { return nil }
        return start + 10
    }

    /// toml++'s `is_value_terminator` for ASCII: whitespace (`\t`, `\n` to `\r`, space), `]`, `}`, `,`, `#`.
    static func isTerminator(_ c: UInt8) -> Bool {
        c == 0x20 || c == 0x09 || (0x0a...0x0d).contains(c) || c == UInt8(ascii: "]") || c == UInt8(ascii: "}")
            || c == UInt8(ascii: ",") || c == UInt8(ascii: "#")
    }

    /// Where a value (or key) can begin after: a terminator, `=`, `[` or `{`.
    static func isBoundary(_ c: UInt8) -> Bool {
        isTerminator(c) || c == UInt8(ascii: "=") || c == UInt8(ascii: "[") || c == UInt8(ascii: "{")
    }

    private static let tripleQuote = Array("\"\"\"".utf8)
    private static let tripleApostrophe = Array("'''".utf8)

    /// `A-Za-z0-9_-` or a quote.
    static func isKeyStart(_ c: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(c) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(c)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")
            || c == UInt8(ascii: "\"") || c == UInt8(ascii: "'")
    }
}
