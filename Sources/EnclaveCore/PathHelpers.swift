#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A symlink's target, whatever its length (the buffer grows until `readlink` fits in it).
///
/// ```swift
/// let target = try SymbolicLink.target(of: "rootfs/etc/mtab")   // Array("/proc/mounts".utf8)
/// ```
public enum SymbolicLink {
    public static func target(of path: String, sizeHint: Int = 255) throws -> [UInt8] {
        var capacity = max(sizeHint, 255) + 1
        while true {
            var buffer = [UInt8](repeating: 0, count: capacity)
            let n = buffer.withUnsafeMutableBufferPointer { ptr in
                ptr.baseAddress.map { base in
                    base.withMemoryRebound(to: CChar.self, capacity: capacity) { readlink(path, $0, capacity) }
                } ?? -1
            }
            guard n >= 0 else { throw SystemError("read the link", path: path, errno: errno) }
            if n < capacity { return Array(buffer[0..<n]) }
            capacity *= 2
        }
    }
}

/// Sizes as QEMU's `-m` takes them: a number with an optional K/M/G/T suffix (binary units, optional
/// `iB`/`B`); a bare number is MiB. Used by `tdx measure --memory` and a recipe's `memory`.
///
/// ```swift
/// MemorySize.parse("2G") == 2 << 30
/// ```
public enum MemorySize {
    public static func parse(_ text: String) -> UInt64? {
        var s = text.uppercased()
        for suffix in ["IB", "B"] where s.hasSuffix(suffix) && s.count > suffix.count {
            s.removeLast(suffix.count)
            break
        }
        let shifts: [Character: UInt64] = ["K": 10, "M": 20, "G": 30, "T": 40]
        var shift: UInt64 = 20
        if let last = s.last, let sh = shifts[last] {
            shift = sh
            s.removeLast()
        }
        guard s.allSatisfy({ $0.isASCII && $0.isNumber }), let n = UInt64(s), n > 0, n <= (UInt64(1) << (62 - shift))
        else { return nil }
        return n << shift
    }
}
