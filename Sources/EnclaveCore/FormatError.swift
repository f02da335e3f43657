/// An error in input that EnclaveKit reads: a file, a stream, a table inside a file.
///
/// Every parser throws this type, so the CLI can print one line that names the file, the byte
/// offset and what was expected, e.g.
/// `image.eif: EIF: offset 28 (0x1c): section 2 offset 999999 is past the end of the file (70000 bytes)`.
/// Two errors are equal when their kind, format and offset are equal (the message may be reworded).
public struct FormatError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, coarse enough for tests and scripts to match on.
    public enum Kind: String, Sendable, Hashable {
        case truncated
        case badMagic
        case badVersion
        case badValue
        case outOfBounds
        case overlap
        case checksum
        case badSignature
        case unsupported
        case missing
        case tooLarge
        case unsafePath
        case digestMismatch
    }

    public var kind: Kind
    /// The format being read, e.g. "EIF", "cpio", "SGXS".
    public var format: String
    /// Byte offset in the file (or stream) where the problem is, when there is one.
    public var offset: UInt64?
    /// What was found and what was expected.
    public var message: String
    /// The file the bytes came from; set by the caller that knows it (see ``in(file:)``).
    public var file: String?

    public init(_ kind: Kind, format: String, offset: UInt64? = nil, _ message: String, file: String? = nil) {
        self.kind = kind
        self.format = format
        self.offset = offset
        self.message = message
        self.file = file
    }

    public init(_ kind: Kind, format: String, offset: Int, _ message: String, file: String? = nil) {
        self.init(kind, format: format, offset: UInt64(max(0, offset)), message, file: file)
    }

    /// The same error, attributed to `file` unless a file is already named.
    public func `in`(file: String) -> FormatError {
        var copy = self
        if copy.file == nil { copy.file = file }
        return copy
    }

    public var description: String {
        var parts: [String] = []
        if let file { parts.append(file) }
        if let offset {
            parts.append("\(format): offset \(offset) (0x\(String(offset, radix: 16)))")
        } else {
            parts.append(format)
        }
        parts.append(message)
        return parts.joined(separator: ": ")
    }

    public static func == (lhs: FormatError, rhs: FormatError) -> Bool {
        lhs.kind == rhs.kind && lhs.format == rhs.format && lhs.offset == rhs.offset
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(kind)
        hasher.combine(format)
        hasher.combine(offset)
    }
}

/// A failure reported by the operating system (open, read, rename…), with the path and errno text.
public struct SystemError: Error, Sendable, Hashable, CustomStringConvertible {
    public var operation: String
    public var path: String
    public var errno: Int32

    public init(_ operation: String, path: String, errno: Int32) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    public var description: String {
        "\(path): cannot \(operation): \(String(cString: strerror(errno)))"
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
