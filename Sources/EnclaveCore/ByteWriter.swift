/// Appends integers with explicit byte order, and raw bytes, to a growing buffer.
///
/// ```swift
/// var w = ByteWriter()
/// w.append(".eif".utf8)
/// w.appendU16BE(4)
/// ```
public struct ByteWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public var count: Int { bytes.count }

    public mutating func append<S: Sequence>(_ data: S) where S.Element == UInt8 { bytes.append(contentsOf: data) }
    public mutating func appendU8(_ v: UInt8) { bytes.append(v) }
    public mutating func appendU16LE(_ v: UInt16) { appendLE(v) }
    public mutating func appendU16BE(_ v: UInt16) { appendBE(v) }
    public mutating func appendU32LE(_ v: UInt32) { appendLE(v) }
    public mutating func appendU32BE(_ v: UInt32) { appendBE(v) }
    public mutating func appendU64LE(_ v: UInt64) { appendLE(v) }
    public mutating func appendU64BE(_ v: UInt64) { appendBE(v) }
    public mutating func appendZeros(_ count: Int) { bytes.append(contentsOf: repeatElement(0, count: count)) }

    /// Pads with zeros until the length is a multiple of `alignment`.
    public mutating func pad(toMultipleOf alignment: Int) {
        let rem = bytes.count % alignment
        if rem != 0 { appendZeros(alignment - rem) }
    }

    public mutating func appendLE<T: FixedWidthInteger>(_ v: T) {
        for i in 0..<(T.bitWidth / 8) { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * i))) }
    }

    public mutating func appendBE<T: FixedWidthInteger>(_ v: T) {
        for i in (0..<(T.bitWidth / 8)).reversed() { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * i))) }
    }

    /// Overwrites bytes at `offset` (which must already exist).
    public mutating func overwrite(at offset: Int, with data: [UInt8]) {
        precondition(offset >= 0 && offset + data.count <= bytes.count, "overwrite out of range")
        bytes.replaceSubrange(offset..<offset + data.count, with: data)
    }
}
