import EnclaveCore
import Testing

/// Conformance cases in the manner of the JSONTestSuite corpus (`y_` must parse, `n_` must be refused),
/// written for this repository: the corpus itself is packaged neither by Debian nor on PyPI. Each case
/// names the RFC 8259 rule (or this parser's stricter rule) it exercises.
@Suite("JSON conformance (y_/n_ cases)")
struct JSONConformanceTests {
    /// Documents RFC 8259 accepts, with the compact form they must round-trip to.
    @Test(arguments: [
        ("y_array_empty", "[]", "[]"),
        ("y_array_nested", "[[[[]]]]", "[[[[]]]]"),
        ("y_array_heterogeneous", #"[null,1,"1",{}]"#, #"[null,1,"1",{}]"#),
        ("y_array_whitespace_everywhere", " [ 1 , 2 ] ", "[1,2]"),
        ("y_object_empty_key", #"{"":0}"#, #"{"":0}"#),
        ("y_object_escaped_key", #"{"\u0061":1}"#, #"{"a":1}"#),
        ("y_object_same_value_different_keys", #"{"a":1,"b":1}"#, #"{"a":1,"b":1}"#),
        (
            "y_object_long_strings", #"{"x":[{"id":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}]}"#,
            #"{"x":[{"id":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}]}"#
        ),
        ("y_number_zero", "[0]", "[0]"),
        ("y_number_negative_zero", "[-0]", "[-0]"),
        ("y_number_exponent_plus", "[1E+2]", "[1E+2]"),
        ("y_number_exponent_minus", "[1e-2]", "[1e-2]"),
        ("y_number_fraction_exponent", "[123.456e78]", "[123.456e78]"),
        ("y_number_huge_exponent", "[1e999999]", "[1e999999]"),
        ("y_number_very_long_integer", "[100000000000000000000000000000001]", "[100000000000000000000000000000001]"),
        ("y_number_min_int64", "[-9223372036854775808]", "[-9223372036854775808]"),
        ("y_string_escapes", #"["\"\\\/\b\f\n\r\t"]"#, #"["\"\\/\b\f\n\r\t"]"#),
        ("y_string_surrogate_pair", #"["\uD834\uDD1E"]"#, "[\"𝄞\"]"),
        ("y_string_uppercase_hex_escape", #"["\u00C9"]"#, "[\"É\"]"),
        ("y_string_escaped_nul", #"["\u0000"]"#, #"["\u0000"]"#),
        ("y_string_utf8_multibyte", "[\"日本\"]", "[\"日本\"]"),
        ("y_string_nonchar_uFFFF", #"["\uFFFF"]"#, "[\"\u{FFFF}\"]"),
        ("y_string_del_raw", "[\"\u{7F}\"]", "[\"\u{7F}\"]"),
        ("y_structure_lonely_true", "true", "true"),
        ("y_structure_lonely_string", #""s""#, #""s""#),
        ("y_structure_lonely_number", "42", "42"),
        ("y_structure_trailing_newline", "[\"a\"]\n", "[\"a\"]"),
    ])
    func accepts(name: String, input: String, compact: String) throws {
        let value = try JSONParser.parse(input)
        #expect(value.serialized(style: .compact) == compact, "\(name)")
    }

    /// Documents RFC 8259 (or this parser's security rules) refuses.
    @Test(arguments: [
        ("n_array_unclosed", "[1"),
        ("n_array_extra_close", "[1]]"),
        ("n_array_leading_comma", "[,1]"),
        ("n_array_double_comma", "[1,,2]"),
        ("n_array_colon_instead_of_comma", #"["a": 1]"#),
        ("n_array_missing_value", "[ , ]"),
        ("n_array_just_comma", "[,]"),
        ("n_object_missing_colon", #"{"a" "b"}"#),
        ("n_object_missing_value", #"{"a":}"#),
        ("n_object_unquoted_key", "{a:1}"),
        ("n_object_single_quote", "{'a':1}"),
        ("n_object_trailing_comma", #"{"a":1,}"#),
        ("n_object_double_colon", #"{"a"::1}"#),
        ("n_object_non_string_key", "{1:1}"),
        ("n_object_duplicate_key", #"{"a":1,"a":1}"#),
        ("n_object_duplicate_key_by_escape", #"{"a":1,"\u0061":2}"#),
        ("n_number_plus", "[+1]"),
        ("n_number_leading_zero", "[012]"),
        ("n_number_leading_dot", "[.5]"),
        ("n_number_trailing_dot", "[1.]"),
        ("n_number_empty_exponent", "[1e]"),
        ("n_number_exponent_sign_only", "[1e+]"),
        ("n_number_hex", "[0x1]"),
        ("n_number_infinity", "[Infinity]"),
        ("n_number_nan", "[NaN]"),
        ("n_number_minus_only", "[-]"),
        ("n_number_minus_space", "[- 1]"),
        ("n_string_single_quotes", "['a']"),
        ("n_string_unescaped_newline", "[\"a\nb\"]"),
        ("n_string_unescaped_tab", "[\"a\tb\"]"),
        ("n_string_bad_escape", #"["\a"]"#),
        ("n_string_short_unicode_escape", #"["\u00"]"#),
        ("n_string_lone_high_surrogate", #"["\uD800"]"#),
        ("n_string_lone_low_surrogate", #"["\uDC00"]"#),
        ("n_string_high_then_non_low", #"["\uD800\u0041"]"#),
        ("n_string_unterminated", #"["abc]"#),
        ("n_literal_capital_true", "[True]"),
        ("n_literal_truncated_null", "[nul]"),
        ("n_structure_empty", ""),
        ("n_structure_only_whitespace", " \n "),
        ("n_structure_two_values", "[] []"),
        ("n_structure_trailing_garbage", "{}x"),
        ("n_structure_comment", "[1] // c"),
        ("n_structure_block_comment", "/* c */ []"),
        ("n_structure_nul_after", "[]\u{0}"),
        ("n_structure_form_feed_whitespace", "\u{0C}[]"),
        ("n_structure_nbsp_whitespace", "\u{A0}[]"),
        ("n_structure_bom", "\u{FEFF}[]"),
    ])
    func refuses(name: String, input: String) {
        #expect(throws: FormatError.self, "\(name)") { try JSONParser.parse(input) }
    }

    @Test func refusesNestingBeyondTheLimit() {
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        let error = #expect(throws: FormatError.self) { try JSONParser.parse(deep) }
        #expect(error?.kind == .tooLarge)
        #expect(error?.offset == 64)
        #expect(error?.message.contains("deeper than 64 levels") == true)
        let ok = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect((try? JSONParser.parse(ok)) != nil)
    }
}
