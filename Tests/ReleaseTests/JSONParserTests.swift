import EnclaveCore
import Testing

@Suite struct JSONParserTests {
    @Test(arguments: [
        (#"{"b":1,"a":[true,false,null]}"#, #"{"b":1,"a":[true,false,null]}"#),
        (" \n\t[ ]\r\n", "[]"),
        (#""\u00e9\ud83d\ude00\n\/""#, "\"é😀\\n/\""),
        (
            #"[-0,0.5,1e10,-2.5E-3,123456789012345678901234567890]"#,
            "[-0,0.5,1e10,-2.5E-3,123456789012345678901234567890]"
        ),
        (#"{"":{}}"#, #"{"":{}}"#),
        ("\"é\"", "\"é\""),
    ])
    func parsesAndKeepsOrderAndNumberText(input: String, compact: String) throws {
        let value = try JSONParser.parse(input)
        #expect(value.serialized(style: .compact) == compact)
    }

    @Test(arguments: [
        (#"{"a":1} x"#, FormatError.Kind.badValue, 8),
        (#"{"a":1,"a":2}"#, .badValue, 7),
        (#"{"a":1,}"#, .badValue, 7),
        (#"[1,]"#, .badValue, 3),
        (#"[01]"#, .badValue, 1),
        (#"[1.]"#, .badValue, 3),
        (#"["a\x"]"#, .badValue, 3),
        (#"["\ud800"]"#, .badValue, 2),
        (#"["\udc00"]"#, .badValue, 2),
        (#"["\u12"]"#, .badValue, 2),
        ("[\"a\u{01}\"]", .badValue, 3),
        (#"{"a" 1}"#, .badValue, 5),
        (#"{1:2}"#, .badValue, 1),
        (#"[tru]"#, .badValue, 1),
        (#"{"a":"#, .truncated, 5),
        (#"["abc"#, .truncated, 5),
        ("", .truncated, 0),
        ("[nul", .truncated, 1),
    ])
    func rejectsMalformedJSONWithOffset(input: String, kind: FormatError.Kind, offset: Int) {
        #expect(throws: FormatError(kind, format: "JSON", offset: offset, "")) { try JSONParser.parse(input) }
    }

    @Test(
        arguments: [
            ([0x22, 0xC3, 0x28, 0x22], 2),  // bad continuation byte
            ([0x22, 0xC0, 0xAF, 0x22], 1),  // overlong '/'
            ([0x22, 0xED, 0xA0, 0x80, 0x22], 1),  // UTF-8-encoded surrogate
            ([0x22, 0xF5, 0x80, 0x80, 0x80, 0x22], 1),  // beyond U+10FFFF
            ([0x22, 0xFF, 0x22], 1),
            ([0xEF, 0xBB, 0xBF, 0x7B, 0x7D], 0),  // byte order mark
        ] as [([UInt8], Int)])
    func rejectsInvalidUTF8(bytes: [UInt8], offset: Int) {
        #expect(throws: FormatError(.badValue, format: "JSON", offset: offset, "")) { try JSONParser.parse(bytes) }
    }

    @Test func truncatedUTF8IsTruncated() {
        #expect(throws: FormatError(.truncated, format: "JSON", offset: 1, "")) {
            try JSONParser.parse([0x22, 0xE2, 0x82])
        }
    }

    @Test func depthAndSizeLimits() throws {
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(throws: FormatError(.tooLarge, format: "JSON", offset: 64, "")) { try JSONParser.parse(deep) }
        let ok = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        _ = try JSONParser.parse(ok)
        let limits = JSONParser.Limits(maxDepth: 64, maxBytes: 10)
        #expect(throws: FormatError(.tooLarge, format: "JSON", offset: 0, "")) {
            try JSONParser.parse("[1,2,3,4,5,6]", limits: limits)
        }
    }

    @Test func errorsNameTheFormatAndOffset() {
        do {
            _ = try JSONParser.parse(#"{"k":1,"k":2}"#, format: "policy.json")
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("policy.json: offset 7"))
            #expect(error.description.contains("duplicate object key \"k\""))
        }
    }

    @Test func canonicalFormSortsKeysByBytes() throws {
        let value = try JSONParser.parse(#"{"b":{"z":1,"a":2},"B":[{"y":1,"x":2}],"a":"\u00e9"}"#)
        #expect(value.serialized(style: .canonical) == #"{"B":[{"x":2,"y":1}],"a":"é","b":{"a":2,"z":1}}"#)
    }
}
