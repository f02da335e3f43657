/// A JSON value whose objects keep their key order, so outputs that mimic another tool
/// (`nitro-cli describe-eif`, eif_build's metadata) come out byte for byte, and canonical forms
/// (sorted keys, no whitespace) are one call away.
///
/// ```swift
/// let v: JSONValue = .object([("PCR0", .string(hex)), ("IsSigned", .bool(false))])
/// print(v.serialized(style: .pretty))
/// ```
public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// A number kept as its text, so integers of any size survive a round trip.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func int<T: BinaryInteger>(_ v: T) -> JSONValue { .number(String(v)) }

    public enum Style: Sendable {
        /// No whitespace, keys in stored order (serde_json `to_vec`).
        case compact
        /// Two-space indent, `": "`, keys in stored order (serde_json `to_string_pretty`).
        case pretty
        /// No whitespace, keys sorted by their UTF-8 bytes at every level (canonical form).
        case canonical
    }

    public func serialized(style: Style = .compact) -> String {
        var out = ""
        write(to: &out, style: style, depth: 0)
        return out
    }

    public subscript(key: String) -> JSONValue? {
        guard case .object(let pairs) = self else { return nil }
        return pairs.first { $0.0 == key }?.1
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The strings of an array whose every element is a string; `nil` otherwise.
    public var stringArray: [String]? {
        guard case .array(let items) = self else { return nil }
        var strings: [String] = []
        for item in items {
            guard let s = item.stringValue else { return nil }
            strings.append(s)
        }
        return strings
    }

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.number(let a), .number(let b)): a == b
        case (.string(let a), .string(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)):
            a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    private func write(to out: inout String, style: Style, depth: Int) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let n): out += n
        case .string(let s): JSONValue.writeString(s, to: &out)
        case .array(let items):
            if items.isEmpty {
                out += "[]"
                return
            }
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                if style == .pretty { newline(&out, depth + 1) }
                item.write(to: &out, style: style, depth: depth + 1)
            }
            if style == .pretty { newline(&out, depth) }
            out += "]"
        case .object(let pairs):
            if pairs.isEmpty {
                out += "{}"
                return
            }
            let ordered =
                style == .canonical ? pairs.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) } : pairs
            out += "{"
            for (i, (key, value)) in ordered.enumerated() {
                if i > 0 { out += "," }
                if style == .pretty { newline(&out, depth + 1) }
                JSONValue.writeString(key, to: &out)
                out += style == .pretty ? ": " : ":"
                value.write(to: &out, style: style, depth: depth + 1)
            }
            if style == .pretty { newline(&out, depth) }
            out += "}"
        }
    }

    private func newline(_ out: inout String, _ depth: Int) {
        out += "\n"
        out += String(repeating: "  ", count: depth)
    }

    /// serde_json's escaping: `"` `\` and control characters; `/` and non-ASCII stay raw.
    static func writeString(_ s: String, to out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 {
                    let h = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
