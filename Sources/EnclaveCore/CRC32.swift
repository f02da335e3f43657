internal import CZlib

/// Streaming CRC-32 (ISO-HDLC, the zlib/IEEE polynomial), computed by zlib's `crc32`.
public struct CRC32: Sendable {
    public private(set) var value: UInt32 = 0

    public init() {}

    public mutating func update(_ buffer: UnsafeRawBufferPointer) {
        guard let base = buffer.baseAddress else { return }
        var rest = buffer.count
        var pointer = base.assumingMemoryBound(to: UInt8.self)
        var crc = UInt(value)
        // zlib's length parameter is a uInt (32-bit); feed large buffers in pieces.
        while rest > 0 {
            let n = min(rest, 1 << 30)
            crc = crc32(crc, pointer, UInt32(n))
            pointer += n
            rest -= n
        }
        value = UInt32(truncatingIfNeeded: crc)
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The CRC of `a ‖ b` from the CRCs of `a` and `b` and the length of `b` (zlib's `crc32_combine`),
    /// so a header written last can still be checksummed before a body streamed first.
    public static func combine(_ crcA: UInt32, _ crcB: UInt32, lengthB: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: crc32_combine(UInt(crcA), UInt(crcB), Int(lengthB)))
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var c = CRC32()
        c.update(bytes)
        return c.value
    }
}
