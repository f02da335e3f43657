import TOML
import TOMLKit
import Testing

/// The shared TOML reader: hostile text throws `TOMLReadError` (toml++ never asserts), valid TOML reads whole.
@Suite struct TOMLReaderTests {
    /// Inputs that abort the process when they reach toml++ unguarded (`n=[}`, issue 13 item 14, found by
    /// libFuzzer on the recipe corpus) and their neighbours: every one must be a syntax error, with a line.
    static let nasty: [String] = [
        "n=[}", "a=[}", "a=[1,}", "a=[1}", "a=[ }", "a=[\n}", "a=[1,\n# c\n}", "a=[\"}\" }", "a=[[}]", "a=[{}}",
        "a={b=[}}", "a=[[1],}", "a={]", "a={b=1]", "a=[1,{x=[}]}]", "[a]]", "[[a]", "[[a]]]", "[", "[[", "]", "}",
        "[é]", "[+]", "[[ +]]", "a=", "a=\n", "=1", "a.=1", "a=[", "a={", "a=[1,,2]", "a=[,]", "a={,}", "a={b=1,}",
        "a=\"abc", "a='abc", "a=\"\"\"abc", "a='''abc", "a=\"abc\\", "a=\"\\u12\"", "a=1]", "a=1}", "a=[1]]",
        String(repeating: "[", count: 300),
        "a=" + String(repeating: "[", count: 300) + String(repeating: "]", count: 300),
        "a=" + String(repeating: "{b=", count: 300) + "1" + String(repeating: "}", count: 300),
        "a=" + String(repeating: "[", count: 300) + "}",
        // Found by libFuzzer once toml++ was instrumented: a byte-order mark hid the header from the pre-scan.
        "\u{FEFF}[+]", "\u{FEFF}[\u{B5}", "\u{FEFF}[[[[#\n",
        // Unicode line separators, which toml++ takes for whitespace: in an array they reach parse_value().
        "a=[\u{2028}]", "a=[1,\u{2029}]", "a=[\u{85}]", "a=[1,\u{A0}]", "x=1\n\u{A0}[+]", "a\u{2028}=1",
        // Found by libFuzzer: a date, a space and one digit, then a terminator (toml++ scans on past the digit).
        "d = 1979-05-27 1\n", "d = [1979-05-27 1]", "d=1979-05-27 1,", "d = 19_79-05-27 1 ", "n=0000-10-0\u{3} 0\u{C}",
        "s = 0-m-----E- 2  ]", "d = {a = 1979-05-27 7}",
        "hg=0000-11-15t[u:k\u{1B}", "d = 1979-05-27T:", "d = [1979-05-27t ]", "d=1979-05-27Tx\n",
    ]

    @Test(arguments: nasty) func hostileTextThrows(text: String) {
        let error = #expect(throws: TOMLReadError.self) { try TOMLReader.parse(text, what: "test", limit: 1 << 20) }
        #expect(error?.kind == .syntax)
        #expect(error?.line != nil, "\(String(describing: error))")
    }

    @Test func mismatchedBracketNamesWhereTheArrayOpened() {
        let error = #expect(throws: TOMLReadError.self) { try TOMLReader.parse("x = 1\nn=[}", what: "t", limit: 64) }
        #expect(error?.line == 2)
        #expect(error?.column == 4)
        #expect(error?.offset == 9)
        #expect(
            error?.description
                == "line 2, column 4: TOML syntax error: '}' does not close the '[' opened at line 2, column 3; expected a value or ']'"
        )
    }

    @Test func guardsRefuseNULTooLargeAndBadUTF8() {
        let nul = #expect(throws: TOMLReadError.self) { try TOMLReader.parse("a = 1\0", what: "t", limit: 64) }
        #expect(nul?.message.contains("NUL byte") == true)
        let escaped = #expect(throws: TOMLReadError.self) {
            try TOMLReader.parse("a = \"x\\u0000\"", what: "t", limit: 64)
        }
        #expect(escaped?.message.contains("escaped NUL") == true)
        let large = #expect(throws: TOMLReadError.self) { try TOMLReader.parse("a = 12345", what: "t", limit: 8) }
        #expect(large?.kind == .tooLarge)
        let utf8 = #expect(throws: TOMLReadError.self) {
            try TOMLReader.parse([0x61, 0x3d, 0x22, 0xff, 0x22], what: "t", limit: 64)
        }
        #expect(utf8?.message.contains("UTF-8") == true)
    }

    @Test func datesAndDateTimesStillRead() throws {
        let root = try TOMLReader.parse(
            "a = 1979-05-27\nb = 1979-05-27 07:32:00\nc = 1979-05-27T07:32:00Z\nd = [1979-05-27, 1979-05-27 07:32:00]\n"
                + "e = 2024-01-01 # 1\nabcd-ef-gh = 1\n", what: "t", limit: 1024)
        #expect(root.keys.sorted() == ["a", "abcd-ef-gh", "b", "c", "d", "e"])
        #expect(root["d"]?.array?.count == 2)
    }

    @Test func longArraysOfInlineTablesDottedKeysAndNesting() throws {
        var text =
            "a.b.c = 1\nq = { r = { s = \"t\" } }\nd = " + String(repeating: "[", count: 100) + "1"
            + String(repeating: "]", count: 100) + "\nlist = [\n"
        for i in 0..<1000 { text += "  { path = \"/p\(i)\", uri = \"file:/p]}[{\(i)\" },\n" }
        text += "]\n"
        let root = try TOMLReader.parse(text, what: "t", limit: 1 << 20)
        #expect(root["a"]?.table?["b"]?.table?["c"]?.int == 1)
        #expect(root["q"]?.table?["r"]?.table?["s"]?.string == "t")
        #expect(root["list"]?.array?.count == 1000)
        #expect(root["list"]?.array?[999].table?["uri"]?.string == "file:/p]}[{999")
    }
}

@Suite struct TOMLReaderUTF8Tests {
    @Test func invalidUTF8NamesItsOffset() {
        let error = #expect(throws: TOMLReadError.self) {
            try TOMLReader.parse(Array("a = 1\nb = \"é".utf8) + [0xff, 0x22], what: "t", limit: 64)
        }
        #expect(error?.offset == 13)
        #expect(error?.line == 2)
        #expect(error?.column == 8)
    }
}
