import EnclaveCore

/// A CBOR data item (RFC 8949), as far as EIF signatures, COSE_Sign1 and Nitro attestation documents
/// need it: unsigned/negative integers, byte and text strings, arrays, maps (in stored order), tags,
/// simple values. Written by hand: no maintained Swift CBOR library is available to this project, and
/// eif_build's serde_cbor output has to be matched byte for byte (byte vectors as arrays of uints).
///
/// ```swift
/// let item = CBOR.map([(.text("register_index"), .unsigned(0))])
/// let bytes = item.encoded()
/// ```
public indirect enum CBOR: Sendable, Equatable {
    case unsigned(UInt64)
    /// Negative integer: the value is `-1 - n`.
    case negative(UInt64)
    case bytes([UInt8])
    case text(String)
    case array([CBOR])
    case map([(CBOR, CBOR)])
    case tagged(UInt64, CBOR)
    case simple(UInt8)
    case boolean(Bool)
    case null

    public static func == (lhs: CBOR, rhs: CBOR) -> Bool {
        switch (lhs, rhs) {
        case (.unsigned(let a), .unsigned(let b)), (.negative(let a), .negative(let b)): a == b
        case (.bytes(let a), .bytes(let b)): a == b
        case (.text(let a), .text(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.map(let a), .map(let b)): a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case (.tagged(let t, let a), .tagged(let u, let b)): t == u && a == b
        case (.simple(let a), .simple(let b)): a == b
        case (.boolean(let a), .boolean(let b)): a == b
        case (.null, .null): true
        default: false
        }
    }

    /// A byte vector the way serde_cbor writes a Rust `Vec<u8>` without serde_bytes: an array of uints.
    public static func uintArray(_ bytes: [UInt8]) -> CBOR { .array(bytes.map { .unsigned(UInt64($0)) }) }

    // MARK: Encoding (deterministic: shortest heads, items in stored order)

    public func encoded() -> [UInt8] {
        var w = ByteWriter()
        encode(into: &w)
        return w.bytes
    }

    private static func head(_ major: UInt8, _ value: UInt64, into w: inout ByteWriter) {
        let m = major << 5
        switch value {
        case 0..<24: w.appendU8(m | UInt8(value))
        case 24...0xff:
            w.appendU8(m | 24)
            w.appendU8(UInt8(value))
        case 0x100...0xffff:
            w.appendU8(m | 25)
            w.appendU16BE(UInt16(value))
        case 0x1_0000...0xffff_ffff:
            w.appendU8(m | 26)
            w.appendU32BE(UInt32(value))
        default:
            w.appendU8(m | 27)
            w.appendU64BE(value)
        }
    }

    private func encode(into w: inout ByteWriter) {
        switch self {
        case .unsigned(let v): CBOR.head(0, v, into: &w)
        case .negative(let v): CBOR.head(1, v, into: &w)
        case .bytes(let b):
            CBOR.head(2, UInt64(b.count), into: &w)
            w.append(b)
        case .text(let s):
            let utf8 = Array(s.utf8)
            CBOR.head(3, UInt64(utf8.count), into: &w)
            w.append(utf8)
        case .array(let items):
            CBOR.head(4, UInt64(items.count), into: &w)
            for item in items { item.encode(into: &w) }
        case .map(let pairs):
            CBOR.head(5, UInt64(pairs.count), into: &w)
            for (k, v) in pairs {
                k.encode(into: &w)
                v.encode(into: &w)
            }
        case .tagged(let tag, let item):
            CBOR.head(6, tag, into: &w)
            item.encode(into: &w)
        case .simple(let v):
            if v < 24 {
                w.appendU8(0xe0 | v)
            } else {
                w.appendU8(0xf8)
                w.appendU8(v)
            }
        case .boolean(let b): w.appendU8(b ? 0xf5 : 0xf4)
        case .null: w.appendU8(0xf6)
        }
    }

    // MARK: Accessors

    public subscript(key: String) -> CBOR? {
        guard case .map(let pairs) = self else { return nil }
        return pairs.first { $0.0 == .text(key) }?.1
    }

    public var byteString: [UInt8]? {
        if case .bytes(let b) = self { return b }
        return nil
    }

    public var textString: String? {
        if case .text(let s) = self { return s }
        return nil
    }

    public var unsignedValue: UInt64? {
        if case .unsigned(let v) = self { return v }
        return nil
    }

    public var arrayValue: [CBOR]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// A short rendering for error messages: `"digest"`, `1`, `-35`, `h'…'(48 bytes)`.
    public var briefDescription: String {
        switch self {
        case .unsigned(let v): "\(v)"
        case .negative(let v): v == .max ? "-18446744073709551616" : "-\(v + 1)"
        case .text(let s): "\"\(s.prefix(40))\""
        case .bytes(let b): "h'…'(\(b.count) bytes)"
        case .array(let a): "array(\(a.count))"
        case .map(let m): "map(\(m.count))"
        case .tagged(let t, _): "tag \(t)"
        case .simple(let v): "simple(\(v))"
        case .boolean(let b): "\(b)"
        case .null: "null"
        }
    }

    /// An array of uints each < 256, read back as bytes (serde_cbor's `Vec<u8>`).
    public var uintArrayBytes: [UInt8]? {
        guard case .array(let items) = self else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(items.count)
        for item in items {
            guard case .unsigned(let v) = item, v < 256 else { return nil }
            out.append(UInt8(v))
        }
        return out
    }
}

/// Decodes one CBOR item from untrusted bytes: definite lengths only, nesting at most `maxDepth`,
/// no length larger than the bytes left, and no trailing bytes; every error has the offset.
///
/// Strict (RFC 8949 §4.2.1 preferred serialization, as COSE and Nitro attestation documents need it):
/// every integer and length head is the shortest one, simple values 24…31 in two bytes are rejected, and
/// a map may not hold the same key twice. So a decoded item re-encodes to exactly the bytes it came from,
/// and no two parsers can disagree about which duplicate key wins.
public struct CBORDecoder {
    public static let format = "CBOR"
    public var maxDepth = 16

    public init() {}

    public func decode(_ bytes: [UInt8], baseOffset: UInt64 = 0) throws(FormatError) -> CBOR {
        var reader = ByteReader(bytes, format: Self.format, baseOffset: baseOffset)
        let item = try decodeItem(&reader, depth: 0)
        guard reader.isAtEnd else {
            throw reader.error(.badValue, "\(reader.remaining) unexpected bytes after the CBOR item")
        }
        return item
    }

    private func argument(_ info: UInt8, _ r: inout ByteReader) throws(FormatError) -> UInt64 {
        let start = r.position - 1
        let value: UInt64
        let minimum: UInt64
        switch info {
        case 0..<24: return UInt64(info)
        case 24: (value, minimum) = (UInt64(try r.readU8("CBOR length")), 24)
        case 25: (value, minimum) = (UInt64(try r.readU16BE("CBOR length")), 0x100)
        case 26: (value, minimum) = (UInt64(try r.readU32BE("CBOR length")), 0x1_0000)
        case 27: (value, minimum) = (try r.readU64BE("CBOR length"), 0x1_0000_0000)
        default:
            throw r.error(
                .unsupported, "indefinite or reserved CBOR length (additional info \(info))", at: start)
        }
        guard value >= minimum else {
            throw r.error(
                .badValue,
                "non-minimal CBOR integer or length head: \(value) encoded in \(r.position - start) bytes "
                    + "(deterministic CBOR needs the shortest form)", at: start)
        }
        return value
    }

    private func decodeItem(_ r: inout ByteReader, depth: Int) throws(FormatError) -> CBOR {
        guard depth <= maxDepth else { throw r.error(.tooLarge, "CBOR nested deeper than \(maxDepth) levels") }
        let start = r.position
        let initial = try r.readU8("CBOR item")
        let major = initial >> 5
        let info = initial & 0x1f
        if major == 7 {
            switch info {
            case 20: return .boolean(false)
            case 21: return .boolean(true)
            case 22: return .null
            case 0..<20, 23: return .simple(info)
            case 24:
                let value = try r.readU8("CBOR simple value")
                guard value >= 32 else {
                    throw r.error(.badValue, "CBOR simple value \(value) in two bytes is not well-formed", at: start)
                }
                return .simple(value)
            default: throw r.error(.unsupported, "CBOR floats and break codes are not expected here", at: start)
            }
        }
        let value = try argument(info, &r)
        switch major {
        case 0: return .unsigned(value)
        case 1: return .negative(value)
        case 2, 3:
            guard value <= UInt64(r.remaining) else {
                throw r.error(.truncated, "CBOR string of \(value) bytes, only \(r.remaining) left", at: start)
            }
            let data = try r.readBytes(Int(value), "CBOR string")
            if major == 2 { return .bytes(data) }
            guard let text = String(validating: data, as: UTF8.self) else {
                throw r.error(.badValue, "CBOR text string is not valid UTF-8", at: start)
            }
            return .text(text)
        case 4:
            // Each item takes at least one byte, so a count larger than what is left is malformed.
            guard value <= UInt64(r.remaining) else {
                throw r.error(.truncated, "CBOR array of \(value) items, only \(r.remaining) bytes left", at: start)
            }
            var items: [CBOR] = []
            items.reserveCapacity(Int(value))
            for _ in 0..<value { items.append(try decodeItem(&r, depth: depth + 1)) }
            return .array(items)
        case 5:
            guard value <= UInt64(r.remaining / 2) else {
                throw r.error(.truncated, "CBOR map of \(value) pairs, only \(r.remaining) bytes left", at: start)
            }
            var pairs: [(CBOR, CBOR)] = []
            // Keys compared by their encoded bytes: with shortest heads enforced, equal keys encode equally.
            var seen = Set<ArraySlice<UInt8>>()
            for _ in 0..<value {
                let keyStart = r.position
                let k = try decodeItem(&r, depth: depth + 1)
                guard seen.insert(r.bytes[keyStart..<r.position]).inserted else {
                    throw r.error(.badValue, "duplicate CBOR map key \(k.briefDescription)", at: keyStart)
                }
                let v = try decodeItem(&r, depth: depth + 1)
                pairs.append((k, v))
            }
            return .map(pairs)
        default:  // 6: tag
            return .tagged(value, try decodeItem(&r, depth: depth + 1))
        }
    }
}
