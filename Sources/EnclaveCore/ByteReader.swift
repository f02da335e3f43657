/// A bounds-checked cursor over bytes. Every read checks the remaining length first and throws a
/// ``FormatError`` of kind `.truncated` that names the absolute offset, so no parser ever indexes raw
/// bytes or reads past the end.
///
/// ```swift
/// var r = ByteReader(bytes, format: "EIF")
/// let magic = try r.readBytes(4)
/// let version = try r.readU16BE()
/// ```
public struct ByteReader: Sendable {
    public let bytes: [UInt8]
    /// The format name used in errors.
    public let format: String
    /// Added to positions in errors, when `bytes` is a window of a larger file.
    public let baseOffset: UInt64
    /// The position of the next read, relative to the start of `bytes`.
    public private(set) var position: Int

    public init(_ bytes: [UInt8], format: String, baseOffset: UInt64 = 0) {
        self.bytes = bytes
        self.format = format
        self.baseOffset = baseOffset
        self.position = 0
    }

    public var remaining: Int { bytes.count - position }
    public var isAtEnd: Bool { position >= bytes.count }
    /// The absolute offset of the next read.
    public var absoluteOffset: UInt64 { baseOffset + UInt64(position) }

    public func error(_ kind: FormatError.Kind, _ message: String, at position: Int? = nil) -> FormatError {
        FormatError(kind, format: format, offset: baseOffset + UInt64(position ?? self.position), message)
    }

    private func need(_ count: Int, _ what: String) throws(FormatError) {
        guard count >= 0, count <= remaining else {
            throw error(.truncated, "expected \(count) bytes of \(what), only \(remaining) left")
        }
    }

    public mutating func seek(to position: Int) throws(FormatError) {
        guard position >= 0, position <= bytes.count else {
            throw error(.outOfBounds, "position \(position) is outside the \(bytes.count) bytes available")
        }
        self.position = position
    }

    public mutating func skip(_ count: Int, _ what: String = "data") throws(FormatError) {
        try need(count, what)
        position += count
    }

    public mutating func readBytes(_ count: Int, _ what: String = "data") throws(FormatError) -> [UInt8] {
        try need(count, what)
        defer { position += count }
        return Array(bytes[position..<position + count])
    }

    public mutating func readU8(_ what: String = "u8") throws(FormatError) -> UInt8 {
        try need(1, what)
        defer { position += 1 }
        return bytes[position]
    }

    public mutating func readU16LE(_ what: String = "u16") throws(FormatError) -> UInt16 {
        UInt16(truncatingIfNeeded: try readInteger(2, bigEndian: false, what))
    }
    public mutating func readU16BE(_ what: String = "u16") throws(FormatError) -> UInt16 {
        UInt16(truncatingIfNeeded: try readInteger(2, bigEndian: true, what))
    }
    public mutating func readU32LE(_ what: String = "u32") throws(FormatError) -> UInt32 {
        UInt32(truncatingIfNeeded: try readInteger(4, bigEndian: false, what))
    }
    public mutating func readU32BE(_ what: String = "u32") throws(FormatError) -> UInt32 {
        UInt32(truncatingIfNeeded: try readInteger(4, bigEndian: true, what))
    }
    public mutating func readU64LE(_ what: String = "u64") throws(FormatError) -> UInt64 {
        try readInteger(8, bigEndian: false, what)
    }
    public mutating func readU64BE(_ what: String = "u64") throws(FormatError) -> UInt64 {
        try readInteger(8, bigEndian: true, what)
    }

    private mutating func readInteger(_ size: Int, bigEndian: Bool, _ what: String) throws(FormatError) -> UInt64 {
        try need(size, what)
        defer { position += size }
        return Self.integer(bytes, at: position, size: size, bigEndian: bigEndian)
    }

    /// Reads an unsigned integer of `size` bytes from `bytes` at `index` (the caller checks bounds).
    @inline(__always)
    static func integer(_ bytes: [UInt8], at index: Int, size: Int, bigEndian: Bool) -> UInt64 {
        var value: UInt64 = 0
        if bigEndian {
            for i in 0..<size { value = value << 8 | UInt64(bytes[index + i]) }
        } else {
            for i in (0..<size).reversed() { value = value << 8 | UInt64(bytes[index + i]) }
        }
        return value
    }
}

extension Array where Element == UInt8 {
    /// Little-endian integer at `offset`, or nil when it does not fit.
    public func le<T: FixedWidthInteger & UnsignedInteger>(_: T.Type, at offset: Int) -> T? {
        let size = T.bitWidth / 8
        guard offset >= 0, offset <= count - size else { return nil }
        return T(truncatingIfNeeded: ByteReader.integer(self, at: offset, size: size, bigEndian: false))
    }

    /// Big-endian integer at `offset`, or nil when it does not fit.
    public func be<T: FixedWidthInteger & UnsignedInteger>(_: T.Type, at offset: Int) -> T? {
        let size = T.bitWidth / 8
        guard offset >= 0, offset <= count - size else { return nil }
        return T(truncatingIfNeeded: ByteReader.integer(self, at: offset, size: size, bigEndian: true))
    }
}
