import TOMLKit

/// The one way EnclaveKit reads TOML (recipes, Gramine manifests): TOMLKit's parser (toml++) behind the guards
/// that keep hostile text from crashing the process or being read wrongly.
///
/// - a size limit, checked before anything is parsed;
/// - valid UTF-8 and no NUL byte (TOMLKit hands the text to C++ as a C string, so a NUL would cut it short);
/// - no escaped NUL (`\u0000`, `\U00000000`): TOMLKit returns strings and keys as C strings too, so such a value
///   or key would silently come back shorter than written;
/// - `TOMLPrecheck` (internal): a scan that refuses, with line and column, the shapes on which toml++ asserts instead
///   of reporting an error (see there), and nesting deeper than ``maxNesting``.
///
/// Only then does toml++ parse the text; its errors come back as ``TOMLReadError`` with line and column.
///
/// ```swift
/// let root = try TOMLReader.parse(bytes, what: "manifest", limit: 64 << 20)
/// let size = root["sgx"]?.table?["enclave_size"]?.string
/// ```
public enum TOMLReader {
    /// Arrays and inline tables nested deeper than this are refused before toml++ sees them (toml++ itself
    /// stops at 256). Recipes and Gramine manifests nest three levels at most.
    public static let maxNesting = 128

    /// Parses UTF-8 bytes. `what` names the document in messages ("recipe", "manifest").
    public static func parse(_ bytes: [UInt8], what: String, limit: Int) throws(TOMLReadError) -> TOMLTable {
        guard bytes.count <= limit else {
            throw TOMLReadError(.tooLarge, "the \(what) is \(bytes.count) bytes; at most \(limit) are read")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw TOMLReadError(
                .syntax, at: firstInvalidUTF8(bytes), in: bytes, "the \(what) is not valid UTF-8 text")
        }
        return try parse(text, what: what, limit: limit)
    }

    /// Parses text. `what` names the document in messages ("recipe", "manifest").
    public static func parse(_ text: String, what: String, limit: Int) throws(TOMLReadError) -> TOMLTable {
        let bytes = Array(text.utf8)
        guard bytes.count <= limit else {
            throw TOMLReadError(.tooLarge, "the \(what) is \(bytes.count) bytes; at most \(limit) are read")
        }
        if let at = bytes.firstIndex(of: 0) {
            throw TOMLReadError(.syntax, at: at, in: bytes, "the \(what) contains a NUL byte; TOML text cannot")
        }
        for escape in ["\\u0000", "\\U00000000"] {
            if let at = firstIndex(of: Array(escape.utf8), in: bytes) {
                throw TOMLReadError(
                    .syntax, at: at, in: bytes,
                    "the \(what) contains an escaped NUL character (\(escape)); values and keys cannot")
            }
        }
        try TOMLPrecheck.check(bytes)
        do {
            return try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            let line = error.source.begin.line
            let column = error.source.begin.column
            throw TOMLReadError(
                .syntax, line: line, column: column, offset: lineOffset(line, in: bytes),
                "TOML syntax error: \(error.description)")
        } catch {
            throw TOMLReadError(.syntax, "TOML syntax error: \(error)")
        }
    }

    /// The byte offset where (1-based) `line` starts, if the text has that many lines.
    static func lineOffset(_ line: Int, in bytes: [UInt8]) -> Int? {
        guard line >= 1 else { return nil }
        var current = 1
        var index = 0
        while current < line {
            guard let newline = bytes[index...].firstIndex(of: 0x0a) else { return nil }
            index = newline + 1
            current += 1
        }
        return index
    }

    /// Where the first invalid UTF-8 sequence starts (`bytes.count` if there is none).
    static func firstInvalidUTF8(_ bytes: [UInt8]) -> Int {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var offset = 0
        while case .scalarValue(let scalar) = decoder.decode(&iterator) {
            offset += UTF8.width(scalar)
        }
        return offset
    }

    static func firstIndex(of needle: [UInt8], in bytes: [UInt8]) -> Int? {
        guard !needle.isEmpty, bytes.count >= needle.count else { return nil }
        var i = 0
        while i + needle.count <= bytes.count {
            if bytes[i] == needle[0], bytes[i..<i + needle.count].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }
}

/// Why TOML text was refused: too large, not UTF-8, a NUL, or a syntax error at a line and column.
public struct TOMLReadError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        case tooLarge
        case syntax
    }

    public var kind: Kind
    /// 1-based line and column of the problem, when known.
    public var line: Int?
    public var column: Int?
    /// Byte offset of the start of that line (or of the offending byte), when known.
    public var offset: Int?
    /// What was found and what was expected.
    public var message: String

    public init(_ kind: Kind, line: Int? = nil, column: Int? = nil, offset: Int? = nil, _ message: String) {
        self.kind = kind
        self.line = line
        self.column = column
        self.offset = offset
        self.message = message
    }

    /// An error at byte `at` of `bytes`, with its line and column computed.
    init(_ kind: Kind, at: Int, in bytes: [UInt8], _ message: String) {
        var line = 1
        var lineStart = 0
        for i in 0..<min(at, bytes.count) where bytes[i] == 0x0a {
            line += 1
            lineStart = i + 1
        }
        self.init(kind, line: line, column: at - lineStart + 1, offset: at, message)
    }

    public var description: String {
        guard let line else { return message }
        return "line \(line)\(column.map { ", column \($0)" } ?? ""): \(message)"
    }
}
